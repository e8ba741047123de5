#include "app/serve.h"

#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/args.h"
#include "app/data_folder.h"
#include "app/serve_internal.h"
#include "demo/demo.h"
#include "bot/bot.h"
#include "ledger/crypto.h"
#include "ledger/csv_import.h"
#include "ledger/merkle.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/ephemeral_sender.h"
#include "webhooks/http_client.h"
#include "webhooks/http_server.h"
#include "webhooks/notice_quorum.h"
#include "webhooks/outbox_sender.h"
#include "webhooks/witness_submitter.h"
#include "web/public_web.h"

namespace sunledger::cli {

namespace {



// Every connection the edge holds is a descriptor. Under the soft limit most
// systems give a service (1,024), accept() fails (EMFILE) long before the
// edge's cap of 2,048, and further clients wait unanswered in the backlog
// until some held connection times out: 1,100 clients that each sent one
// byte kept a normal one waiting 6.5 s. So the soft limit is raised as far as
// the hard one allows, and where that is not enough the edge holds fewer
// connections (past them, a client is answered 503 at once).
size_t fit_descriptor_limit(size_t max_connections) {
  constexpr rlim_t kOthers = 256;  // SQLite's files per connection, pushes, the listener, the log
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_connections;
  rlim_t want = static_cast<rlim_t>(max_connections) + kOthers;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return max_connections;
  size_t fit = static_cast<size_t>(rl.rlim_cur > 2 * kOthers ? rl.rlim_cur - kOthers : rl.rlim_cur / 2);
  std::cerr << "sunledger: the descriptor limit (ulimit -n, LimitNOFILE) is " << rl.rlim_cur << ": holding at most "
            << fit << " connections instead of " << max_connections << "\n";
  return fit;
}

// The demo's bot: answers as the generic platform does, and delivers each
// push by printing it as it would reach its group or person, so a newcomer
// sees the whole loop in the terminal. Never used outside a demo folder.
class ConsoleAdapter final : public PlatformAdapter {
 public:
  ConsoleAdapter(std::unique_ptr<PlatformAdapter> inner, std::function<std::string(const OutboxMessage&)> label)
      : inner_(std::move(inner)), label_(std::move(label)) {}
  const BotConfig& config() const override { return inner_->config(); }
  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override { return inner_->decode(req, now); }
  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t now,
                               std::optional<Push>* active) override {
    return inner_->encode_reply(d, text, now, active);
  }
  int pushes_per_minute() const override { return 600; }
  bool reaches_persons() const override { return true; }
  Status deliver(const OutboxMessage& m, int64_t, HttpClient&) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << "[→ " << label_(m) << "] " << m.text << (m.text.empty() || m.text.back() != '\n' ? "\n" : "") << std::flush;
    return Status::ok();
  }

 private:
  std::unique_ptr<PlatformAdapter> inner_;
  std::function<std::string(const OutboxMessage&)> label_;
  std::mutex mu_;
};

// Where a push goes, as a person would name it: 双江村村民群, or 私信 USER.
std::string push_target(Deployment& d, const OutboxMessage& m) {
  if (m.audience == Audience::kPerson) return "私信 " + m.chat_id;
  if (auto groups = d.bot->list_groups(); groups.is_ok())
    for (const auto& g : *groups)
      if (g.bot_id == m.bot_id && g.chat_id == m.chat_id) {
        auto v = d.ledger->village(g.village);
        return (v.is_ok() ? v->name : g.village) + "村民群";
      }
  return "群 " + m.chat_id;
}

// The target, and the day the push was queued when that was not today: the
// demo's story queues status updates in 2022 and 2023, which are printed when
// the demo starts and must not read as news of today.
std::string push_label(Deployment& d, const OutboxMessage& m) {
  int offset = d.ledger->utc_offset_minutes();
  std::string queued = format_date(local_date(m.created_at, offset));
  std::string today = format_date(local_date(d.clock.now_unix_seconds(), offset));
  return push_target(d, m) + (queued == today ? "" : " · " + queued);
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The demo's bot prints its pushes, unless someone gave it a real push_url.
bool prints_pushes(const Deployment& d, const BotConfig& b) {
  return b.id == kDemoBotId && b.push_url.empty() && d.is_demo();
}

std::unique_ptr<PlatformAdapter> adapter_for(Deployment& d, const BotConfig& b) {
  auto a = make_adapter(b);
  if (prints_pushes(d, b))
    return std::make_unique<ConsoleAdapter>(std::move(a), [&d](const OutboxMessage& m) { return push_label(d, m); });
  return a;
}

// How a bot's pushes reach a group, or "" when they cannot.
std::vector<std::string> witness_refusal_lines(Deployment& d, const std::vector<WitnessConfig>& witnesses) {
  auto refusals = d.bot->witness_refusals();
  if (!refusals.is_ok()) return {"the witnesses' refusals could not be read: " + refusals.status().message()};
  std::vector<std::string> out;
  for (const auto& r : refusals->recorded)
    for (const auto& w : witnesses)
      if (w.key_name() == r.witness && !w.retired)
        out.push_back("witness \"" + w.name + "\" (" + r.witness + ") refused log " + r.log + " on " + local_time(d, r.at) +
                      ", holding " + std::to_string(r.witness_size) + " entries: " + r.reason +
                      "; the server asks it no more about that log (README, \"The county's server asks its witnesses\")");
  // Whatever the configuration: a row put in by hand is evidence of tampering.
  for (const auto& r : refusals->unrecorded)
    out.push_back("a refusal of log " + r.log + " by witness " + r.witness +
                  " that no signed admin-log entry records (put in with sqlite3?): not obeyed, the server asks that "
                  "witness all the same; verify names it, the inspectors are alarmed");
  return out;
}

std::string witness_quorum_problem(int quorum, const std::vector<WitnessConfig>& witnesses, const std::string& config_path) {
  size_t asked = 0;
  for (const auto& w : witnesses) asked += w.retired ? 0 : 1;
  if (quorum <= 0 || static_cast<size_t>(quorum) <= asked) return "";
  return "--witness-quorum " + std::to_string(quorum) + ": only " + count_of(asked, "witness is", "witnesses are") +
         " configured and not retired (" + (config_path.empty() ? std::string("no configuration file") : config_path) +
         ", \"witnesses\"), so no monthly notice would ever reach the groups: configure more witnesses or lower the "
         "quorum";
}

std::string group_reach(Deployment& d, const BotConfig& b) {
  if (prints_pushes(d, b)) return "printed to the terminal (demo)";
  switch (b.platform) {
    case Platform::kWeCom:
    case Platform::kDingTalk:
      return b.push_url.empty() ? "" : "to the one group of its push_url (a group robot)";
    case Platform::kFeishu:
      if (!b.app_id.empty()) return "to any group by chat id (the app API)";
      return b.push_url.empty() ? "" : "to the one group of its push_url (a group robot)";
    case Platform::kTelegram: return "to any group by chat id (the Bot API)";
    case Platform::kGeneric: return b.push_url.empty() ? "" : "to its push_url";
  }
  return "";
}

// --config made absolute, relative to the current directory as any path on
// a command line, so every message names the file itself. A missing file is
// named in full, with where a relative one was looked for and the data
// folder's own bots.json, which serve reads when --config is left out.
Result<std::string> config_file(const Deployment& d, const std::string& given) {
  if (given.empty()) return given;
  std::error_code ec;
  std::filesystem::path full = std::filesystem::absolute(given, ec);
  if (ec) return not_found("--config " + given + ": " + ec.message());
  full = full.lexically_normal();
  if (std::filesystem::exists(full, ec)) return full.string();
  std::string why = "--config " + given + ": no such file " + full.string();
  if (std::filesystem::path(given).is_relative())
    why += " (a relative --config is read from the current directory, " + std::filesystem::current_path(ec).string() + ")";
  if (std::filesystem::exists(d.bots_path()))
    why += "; the data folder has " + d.bots_path() + ", which serve reads when --config is left out";
  return not_found(why);
}


// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
// requests finish, finishes the push in progress and returns 0.
namespace {

// The configuration serve loads decides which bots answer and what their
// pushes reach; every bot gets its adapter.
void wire_bots(Deployment& d, const std::vector<BotConfig>& bots, std::vector<std::unique_ptr<PlatformAdapter>>& adapters,
               WebhookWiring& wiring) {
  d.private_bots->clear();
  d.group_pushes->configured.clear();
  d.group_pushes->reaching.clear();
  d.group_pushes->known = true;
  d.group_only->clear();
  for (const auto& b : bots) {
    d.note_bot(b);
    adapters.push_back(adapter_for(d, b));
    wiring.adapters[b.id] = adapters.back().get();
    if (adapters.back()->reaches_persons()) d.private_bots->insert(b.id);
    else
      std::cerr << "sunledger: bot " << b.id << " (" << platform_name(b.platform)
                << ") cannot message one person privately: complaints in its groups are refused, and its reporters and "
                   "inspectors get no pushes (configure the platform's app API; see README)\n";
  }
}

HttpServerOptions server_options(const std::pair<std::string, int>& addr) {
  HttpServerOptions options;
  options.host = addr.first;
  options.port = addr.second;
  options.max_connections = fit_descriptor_limit(options.max_connections);
  // One client never holds more than an eighth of them.
  options.max_connections_per_client =
      std::min(options.max_connections_per_client, std::max<size_t>(1, options.max_connections / 8));
  return options;
}

// Once a minute: the inspectors' overdue digest (sent once a day), and every
// hour the whole ledger verified again. Runs from construction to stop().
// Also at once, on request: a write refused because stored data failed its
// check (Ledger::set_on_refused_write: a month close, a log's stored state),
// and alarms that could not be queued when raised (storage busy), tried again.
class BackgroundChecks {
 public:
  BackgroundChecks(Deployment& d, OutboxSender& sender) : d_(d), sender_(sender), thread_([this] { run(); }) {}
  ~BackgroundChecks() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Has the ledger checked now, on this thread (callers may be inside a write).
  void request_check(const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requested_ = why;
      fresh_ = true;
    }
    cv_.notify_all();
  }
  // Queues `text` privately to the inspectors now; kept and tried again every
  // minute while it cannot be (an insider holding the database locked).
  void alarm(const std::string& text) {
    if (queue_alarm(text)) return;
    std::lock_guard<std::mutex> lock(mu_);
    alarms_.push_back(text);
  }

 private:
  bool queue_alarm(const std::string& text) {
    auto n = d_.bot->alert_inspectors(text);
    if (!n.is_ok()) {
      std::cerr << "sunledger: the inspectors' alarm could not be queued (tried again in a minute): "
                << n.status().to_string() << "\n";
      return false;
    }
    if (*n > 0) sender_.notify();
    return true;
  }
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    auto last_verify = std::chrono::steady_clock::now();
    while (!stopping_) {
      std::string requested = std::move(requested_);
      requested_.clear();
      fresh_ = false;
      std::vector<std::string> alarms = std::move(alarms_);
      alarms_.clear();
      lock.unlock();
      for (size_t i = 0; i < alarms.size(); ++i)
        if (!queue_alarm(alarms[i])) {
          std::lock_guard<std::mutex> keep(mu_);
          alarms_.insert(alarms_.end(), alarms.begin() + static_cast<std::ptrdiff_t>(i), alarms.end());
          break;
        }
      if (!requested.empty() && d_.ledger->integrity_failure().empty()) {
        std::cerr << "sunledger: a write was refused (" << log_safe(requested) << "): checking the ledger now\n";
        // Storage busy: asked again at the next minute's round.
        if (!check_integrity(d_, "(after a refused write)", true, true) && d_.ledger->integrity_failure().empty()) {
          std::lock_guard<std::mutex> keep(mu_);
          if (requested_.empty()) requested_ = requested;
        }
      }
      if (std::chrono::steady_clock::now() - last_verify >= std::chrono::hours(1)) {
        // Storage briefly unavailable: tried again at the next minute's round.
        if (check_integrity(d_, "(hourly)", true, true) || !d_.ledger->integrity_failure().empty())
          last_verify = std::chrono::steady_clock::now();
      }
      if (!d_.ledger->integrity_failure().empty()) sender_.notify();
      auto n = d_.bot->push_overdue_digest();
      if (!n.is_ok()) std::cerr << "sunledger: overdue digest: " << n.status().to_string() << "\n";
      else if (*n > 0) sender_.notify();
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(60), [&] { return stopping_ || fresh_; });
    }
  }

  Deployment& d_;
  OutboxSender& sender_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string requested_;            // guarded by mu_: a check asked for (kept while storage is busy)
  bool fresh_ = false;               // guarded by mu_: asked for since the round began
  std::vector<std::string> alarms_;  // guarded by mu_
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace

// The wiring, in the order its parts must exist (config, lock, signal mask,
// bots, verify, server, sender, pages, stopper, background checks): one list
// read top to bottom, longer than ~60 lines for that reason.
// The public web answers the GETs no API route claims. Its address for the
// notices' QR codes (base) is the bound port's unless --public-url says
// otherwise. The pages must outlive the server, which calls them until it stops.
static std::unique_ptr<web::PublicWeb> wire_pages(Deployment& d, HttpServer& server, const std::string& base,
                                                   std::function<void()> on_outbox_write) {
  if (std::filesystem::exists(d.demo_marker_path()) && !d.is_demo())
    std::cerr << "sunledger: WARNING: " << d.demo_marker_path() << " marks this folder as the demo's, but its ledger is "
              << d.ledger->origin() << ", not the demo's: the marker is ignored (remove it)\n";
  if (names_this_machine_only(base) && !d.is_demo())
    std::cerr << "sunledger: WARNING: the printed notices' QR codes name " << base
              << ", which villagers' phones cannot open: give serve --public-url the address the public reaches\n";
  auto pages = std::make_unique<web::PublicWeb>(d.ledger.get(), d.bot.get(), web::WebOptions{base},
                                                std::move(on_outbox_write));
  server.serve_pages([p = pages.get()](const std::string& path) -> std::optional<PageAnswer> {
    auto page = p->get(path);
    if (!page) return std::nullopt;
    return PageAnswer{page->status, std::move(page->content_type), std::move(page->body), std::move(page->headers)};
  });
  // The inspector's dashboard: its GETs and its forms' POSTs.
  server.serve_form_pages("/inspect", [p = pages.get()](const FormRequest& r) -> std::optional<PageAnswer> {
    auto page = p->inspect(web::WebRequest{r.method, r.path, r.params, r.cookie});
    if (!page) return std::nullopt;
    return PageAnswer{page->status, std::move(page->content_type), std::move(page->body), std::move(page->headers)};
  });
  return pages;
}

// Long (about 80 lines) on purpose: it is the server's wiring in the order
// things must start and stop (lock, signal mask, bots, verify, sender, pages,
// stopper, background checks), each part one call; split, the lifetimes that
// tie them (the pages and the sender outlive the server) would hide.
int serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify) {
  const std::string& public_url = d.public_url;
  auto config = config_file(d, config_path);
  if (!config.is_ok()) return fail(config.status());
  config_path = *config;
  if (Status s = check_data_folder_private(d.dir, config_path); !s.is_ok()) return fail(s);
  if (d.shared_database && d.db.empty())
    return fail(failed_precondition("--shared-database: this folder's ledger is a SQLite file, which one server alone "
                                    "serves (see `sunledger migrate --to postgresql://…`)"));
  auto lock = ServeLock::acquire(d.dir, d.db, d.shared_database);
  if (!lock.is_ok()) return fail(lock.status());
  // Blocked before any thread starts, so every thread inherits the mask and
  // SIGTERM reaches only the stopper's sigwait (a thread started earlier
  // would take it and die with the default action).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto addr = parse_listen_address(listen);
  if (!addr.is_ok()) return fail(addr.status());
  if (config_path.empty() && std::filesystem::exists(d.bots_path())) config_path = d.bots_path();
  std::vector<BotConfig> bots;
  std::vector<WitnessConfig> witnesses;
  if (!config_path.empty()) {
    auto loaded = load_bots_config_file(config_path);
    if (!loaded.is_ok()) return fail(loaded.status());
    bots = std::move(*loaded);
    auto asked = load_witnesses_config_file(config_path);
    if (!asked.is_ok()) return fail(asked.status());
    witnesses = std::move(*asked);
    d.trust_witnesses(config_path);  // before the check at start: its cosignatures are checked under these keys
  }
  if (std::string why = witness_quorum_problem(d.witness_quorum, witnesses, config_path); !why.empty())
    return fail(failed_precondition(why));
  // Before the refusals are judged (here, by the check at start and by the
  // submitter): the rows an older version made, listed once, signed.
  if (Status s = d.bot->list_witness_refusals_before(); !s.is_ok())
    std::cerr << "sunledger: the witness refusals made before this version could not be listed: " << s.to_string() << "\n";
  // Said at every start, not only in the one alarm the refusal raised.
  for (const auto& line : witness_refusal_lines(d, witnesses)) std::cerr << "sunledger: WARNING: " << line << "\n";
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  WebhookWiring wiring;
  wire_bots(d, bots, adapters, wiring);
  // Before listening: a tampered ledger is never served as if it were intact.
  if (skip_verify)
    std::cerr << "sunledger: WARNING: --skip-verify: serving WITHOUT checking the ledger first; answers may come from "
                 "altered data. The hourly check still runs. Use only in an emergency.\n";
  else
    check_integrity(d, "at start");
  // Each push has 10 s in all (connect, send, answer) and an answer of at most
  // 64 KiB; redirects are never followed.
  auto client = make_http_client(HttpClientOptions{});
  HttpServerOptions options = server_options(*addr);
  // Monthly notices held until the witness quorum cosigned (K = 0: never held).
  NoticeQuorum quorum(d.ledger.get(), d.witness_quorum, witnesses);
  std::unique_ptr<OutboxSender> sender;
  wiring.on_outbox_write = [&sender] {
    if (sender) sender->notify();
  };
  // Anonymous receipts on API-reply platforms go out from memory, never the outbox.
  auto ephemeral_client = make_http_client(HttpClientOptions{});
  EphemeralSender ephemeral(ephemeral_client.get(), &d.clock);
  wiring.send_ephemeral = [&ephemeral](PlatformAdapter* a, const Push& p) { ephemeral.send(a, p); };
  wiring.cli = "sunledger " + data_option(d.dir);
  std::unique_ptr<web::PublicWeb> pages;  // before the server, which calls it until it stops
  HttpServer server(d.ledger.get(), d.bot.get(), options, wiring);
  // One lane per bot; a push refused 8 times, or one its bot's configuration
  // cannot deliver, becomes a dead letter (GET /v1/outbox/dead).
  OutboxSenderOptions sender_options;
  sender_options.quorum = &quorum;
  // A push out whose delivery the log refused to record: the ledger is
  // checked now, not at the next hourly check, while whatever made the log
  // refuse still stands (inspectors alerted, writes refused).
  // The inspectors are told of the refusal itself first: the check may find
  // the database busy (an insider holding it locked) and wait for the next
  // minute; the alarm is kept and queued as soon as it can be.
  BackgroundChecks* checks_ptr = nullptr;  // set before the sender starts
  sender_options.on_record_refused = [&d, &checks_ptr](const std::string& what) {
    // Once the ledger failed verification every append is refused: checked
    // (and inspectors alerted) then already, not again after every push.
    if (!d.ledger->integrity_failure().empty()) return;
    if (checks_ptr != nullptr)
      checks_ptr->alarm("【推送记录被拒 (the deliveries log refused a record)】推送记录账本拒绝登记一次推送,数据库可能被人直接改过。"
                        "正在核验账本。(" + what + "; the database may have been changed by hand; checking the ledger "
                        "now)\n");
    check_integrity(d, "(a record the deliveries log refused)", true, true);
  };
  // A held notice given up on by the quorum's round, its record refused: the same alarm.
  quorum.set_on_record_refused(sender_options.on_record_refused);
  sender = std::make_unique<OutboxSender>(d.ledger.get(), wiring.adapters, client.get(), sender_options,
                                          &server.metrics());
  auto port = server.bind();
  if (!port.is_ok()) return fail(port.status());
  std::string base = public_url.empty() ? "http://" + options.host + ":" + std::to_string(*port) : public_url;
  pages = wire_pages(d, server, base, wiring.on_outbox_write);

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "sunledger: signal " << sig << ", stopping\n";
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
  });
  BackgroundChecks checks(d, *sender);
  checks_ptr = &checks;
  // A write refused because stored data failed its check (a month close
  // whose village log does not verify, a log whose stored state no longer
  // matches its checkpoint): the whole ledger checked at once, inspectors
  // alerted. Cleared below before `checks` goes.
  d.ledger->set_on_refused_write([&checks](const std::string& what) { checks.request_check(what); });
  sender->start();
  // The witnesses: each log's checkpoints cosigned, a fork or rollback one of
  // them saw alarmed to the inspectors at once.
  auto witness_client = make_http_client(HttpClientOptions{});
  WitnessSubmitterOptions witness_options;
  witness_options.alarm = [&d, &sender](const std::string& text) {
    auto n = d.bot->alert_inspectors(text);
    if (!n.is_ok()) std::cerr << "sunledger: the inspectors' alarm could not be queued: " << n.status().to_string() << "\n";
    else if (*n > 0) sender->notify();
  };
  // Each round ends by releasing the notices whose month is now cosigned by K.
  witness_options.after_round = [&quorum, &sender] {
    auto n = quorum.release_round();
    if (!n.is_ok()) std::cerr << "sunledger: held notices: " << n.status().to_string() << "\n";
    else if (*n > 0) sender->notify();
  };
  if (d.witness_quorum > 0)
    std::cerr << "sunledger: monthly notices go to the groups once " << d.witness_quorum << " of the witnesses cosigned "
              << "their month's checkpoint (--witness-quorum); held ones are said here\n";
  WitnessSubmitter submitter(d.ledger.get(), d.bot.get(), witnesses, witness_client.get(), witness_options);
  submitter.start();
  std::cerr << "sunledger: serving " << d.ledger->origin() << " on http://" << options.host << ":" << *port << " with "
            << count_of(bots.size(), "bot", "bots")
            << (witnesses.empty() ? std::string() : ", asking " + count_of(witnesses.size(), "witness", "witnesses"))
            << "\n"
            << "sunledger: public pages (every village's published accounts, for anyone): " << base
            << "/ ; a month's printable notice: " << base << "/villages/VILLAGE/YYYY-MM/notice\n";
  bool ok = server.listen();
  if (!ok) kill(getpid(), SIGTERM);  // wake the stopper so it can exit
  stopper.join();
  submitter.stop();
  d.ledger->set_on_refused_write(nullptr);
  checks.stop();
  sender->stop();
  std::cerr << "sunledger: stopped\n";
  return ok ? kExitOk : kExitFailure;
}

}  // namespace sunledger::cli
