// The sunledger executable: parses the command line and wires the modules
// (ledger, bot, webhooks) together. No business logic lives here.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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
#include "app/demo.h"
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
#include "webhooks/outbox_sender.h"

namespace sunledger::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Where a deployment keeps its files, and the objects built from them.
struct Deployment {
  std::string dir;
  std::string db_path() const { return dir + "/sunledger.db"; }
  std::string key_path() const { return dir + "/log-key.pem"; }
  std::string salt_path() const { return dir + "/id-salt"; }
  std::string bots_path() const { return dir + "/bots.json"; }
  std::string verifier_key_path() const { return dir + "/verifier-key"; }

  // The real time, which the demo may move while it dates its complaints.
  struct DemoClock final : Clock {
    std::optional<int64_t> fixed;
    int64_t now_unix_seconds() override { return fixed ? *fixed : SystemClock().now_unix_seconds(); }
  } clock;
  std::unique_ptr<NoteSigner> key;
  // The bots that can message one person privately, from bots.json: the bot
  // never queues a receipt or a status update for any other. Filled before
  // any thread runs (open(), then serve() once it loaded its config).
  std::shared_ptr<std::set<std::string>> private_bots = std::make_shared<std::set<std::string>>();
  bool verify_only = false;
  int commands_per_minute = 20;
  ComplaintDeadlines deadlines;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Bot> bot;
  std::string salt;

  Status open() {
    auto origin = Ledger::stored_origin(db_path());
    if (!origin.is_ok()) return origin.status();
    if (!std::filesystem::exists(key_path()) && std::filesystem::exists(verifier_key_path())) {
      // A backup folder: it holds the verifier key only, so it can verify but not write.
      std::ifstream vin(verifier_key_path());
      std::string vk;
      std::getline(vin, vk);
      auto v = VerifierOnlyKey::parse(vk);
      if (!v.is_ok()) return v.status();
      key = std::move(*v);
      verify_only = true;
    } else {
      auto k = Ed25519KeyFile::load(key_path(), *origin);
      if (!k.is_ok()) return k.status();
      key = std::move(*k);
    }
    Ledger::Options o;
    o.db_path = db_path();
    o.signer = key.get();
    o.clock = &clock;
    auto l = Ledger::open(o);
    if (!l.is_ok()) return l.status();
    ledger = std::move(*l);
    std::ifstream in(salt_path());
    std::getline(in, salt);
    if (salt.size() < 32 && !verify_only)
      return failed_precondition("identity salt missing at " + salt_path() + " (run `sunledger init`)");
    BotOptions bo;
    bo.identity_salt = salt;
    bo.commands_per_minute = commands_per_minute;
    bo.complaint_deadlines = deadlines;
    // CLI commands (ask) queue pushes that a running server delivers: they
    // need to know what each bot reaches, not its secrets.
    if (std::filesystem::exists(bots_path()))
      if (auto bots = load_bots_config_file(bots_path(), false); bots.is_ok())
        for (const auto& b : *bots)
          if (b.has_private_channel()) private_bots->insert(b.id);
    bo.reaches_person = [reach = private_bots](const std::string& bot_id) { return reach->count(bot_id) > 0; };
    bot = std::make_unique<Bot>(ledger.get(), bo);
    return bot->initialize();
  }
};

Author cli_author() {
  const char* user = std::getenv("USER");
  return Author{user && *user ? user : "cli", "admin", "cli"};
}

int fail(const Status& s) {
  std::cerr << "错误 (error): " << s.message() << "\n";
  return kExitFailure;
}

int usage_error(const std::string& command, const std::string& message) {
  std::cerr << "sunledger " << command << ": " << message << "\n"
            << "Run `sunledger " << command << " --help` for usage.\n";
  return kExitUsage;
}

Result<uint64_t> number_option(const Args& a, const std::string& name) {
  std::string v = a.get(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    return invalid_argument("--" + name + " must be a non-negative integer");
  return static_cast<uint64_t>(std::stoull(v));
}

json hashes_json(const std::vector<Hash>& hs) {
  json a = json::array();
  for (const auto& h : hs) a.push_back(base64_encode(h));
  return a;
}

Status write_private_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return already_exists("cannot create " + path + " (it may exist already)");
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  return ok ? Status::ok() : unavailable("cannot write " + path);
}

Status initialize(Deployment& d, const std::string& origin, int utc_offset) {
  std::error_code ec;
  std::filesystem::create_directories(d.dir, ec);
  if (ec) return unavailable("cannot create data folder " + d.dir + ": " + ec.message());
  ::chmod(d.dir.c_str(), 0700);
  if (std::filesystem::exists(d.key_path()) || std::filesystem::exists(d.db_path()))
    return already_exists("data folder " + d.dir + " is already initialised");
  if (Status s = Ledger::initialize(d.db_path(), origin, utc_offset); !s.is_ok()) return s;
  auto key = Ed25519KeyFile::create(d.key_path(), origin);
  if (!key.is_ok()) return key.status();
  return write_private_file(d.salt_path(), hex_encode(random_bytes(32)) + "\n");
}

// Who changes the directory from the command line: the operating-system
// account, recorded in the admin log (who, when, what).
Author cli_admin() {
  std::string who;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) who = pw->pw_name;
  if (who.empty()) who = "uid " + std::to_string(::geteuid());
  return Author{who, "admin", "cli"};
}

// A bot named on the command line must be one of bots.json: a typo would
// otherwise give someone a role on a bot nobody runs.
Status known_bot(Deployment& d, const std::string& bot) {
  if (!std::filesystem::exists(d.bots_path()))
    return failed_precondition("no bots.json in " + d.dir + ": write it first (see README), then add members and groups");
  auto bots = load_bots_config_file(d.bots_path(), false);
  if (!bots.is_ok()) return bots.status();
  std::string ids;
  for (const auto& b : *bots) {
    if (b.id == bot) return Status::ok();
    ids += (ids.empty() ? "" : ", ") + b.id;
  }
  return not_found("bot \"" + bot + "\" is not in " + d.bots_path() + " (known: " + ids + ")");
}

// Verifies every log and the complaints. A failure is never served quietly:
// the ledger refuses every write from then on, every chat answer carries a
// warning, /healthz answers 503, and each inspector is told privately which
// log and entry failed. Returns true when intact.
bool check_integrity(Deployment& d, const char* when, bool alert = true) {
  auto start = std::chrono::steady_clock::now();
  auto problems = d.bot->verify_deployment();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!problems.is_ok()) {
    std::cerr << "sunledger: verify " << when << " could not run: " << problems.status().to_string() << "\n";
    return false;
  }
  if (problems->empty()) {
    std::cerr << "sunledger: verify " << when << ": intact (" << seconds << " s)\n";
    return true;
  }
  const VerifyProblem& p = problems->front();
  std::string what = p.log + " 第#" + std::to_string(p.first_bad_index) + "条 (" + p.log + " entry #" +
                     std::to_string(p.first_bad_index) + "): " + p.reason;
  bool first_time = d.ledger->integrity_failure().empty();
  d.ledger->set_integrity_failure(what);
  for (const auto& q : *problems)
    std::cerr << "sunledger: TAMPERED " << q.log << " first bad entry #" << q.first_bad_index << ": " << q.reason << "\n";
  std::cerr << "sunledger: the ledger FAILED verification " << when << "; writes are refused, answers carry a warning, "
               "/healthz answers 503. Restore from a backup (see README) and restart.\n";
  if (first_time && alert) {
    auto n = d.bot->alert_inspectors("【账本核验未通过 (ledger failed verification)】\n" + what +
                                     "\n已暂停一切记账。请核查数据库并从备份恢复。(all writes are refused until it is restored)\n");
    if (!n.is_ok()) std::cerr << "sunledger: inspectors could not be alerted: " << n.status().to_string() << "\n";
  }
  return false;
}

// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
// requests finish, finishes the push in progress and returns 0.
int serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify = false) {
  if (Status s = check_data_folder_private(d.dir, config_path); !s.is_ok()) return fail(s);
  auto lock = ServeLock::acquire(d.dir);
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
  if (!config_path.empty()) {
    auto loaded = load_bots_config_file(config_path);
    if (!loaded.is_ok()) return fail(loaded.status());
    bots = std::move(*loaded);
  }
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  WebhookWiring wiring;
  d.private_bots->clear();
  for (const auto& b : bots) {
    adapters.push_back(make_adapter(b));
    wiring.adapters[b.id] = adapters.back().get();
    if (adapters.back()->reaches_persons()) d.private_bots->insert(b.id);
    else
      std::cerr << "sunledger: bot " << b.id << " (" << platform_name(b.platform)
                << ") cannot message one person privately: complaints in its groups are refused, and its reporters and "
                   "inspectors get no pushes (configure the platform's app API; see README)\n";
  }
  // Before listening: a tampered ledger is never served as if it were intact.
  if (skip_verify)
    std::cerr << "sunledger: WARNING: --skip-verify: serving WITHOUT checking the ledger first; answers may come from "
                 "altered data. The hourly check still runs. Use only in an emergency.\n";
  else
    check_integrity(d, "at start");
  // Each push has 10 s in all (connect, send, answer) and an answer of at most
  // 64 KiB; redirects are never followed.
  auto client = make_http_client(HttpClientOptions{});
  HttpServerOptions options;
  options.host = addr->first;
  options.port = addr->second;
  std::unique_ptr<OutboxSender> sender;
  wiring.on_outbox_write = [&sender] {
    if (sender) sender->notify();
  };
  // Anonymous receipts on API-reply platforms go out from memory, never the outbox.
  auto ephemeral_client = make_http_client(HttpClientOptions{});
  EphemeralSender ephemeral(ephemeral_client.get(), &d.clock);
  wiring.send_ephemeral = [&ephemeral](PlatformAdapter* a, const Push& p) { ephemeral.send(a, p); };
  HttpServer server(d.ledger.get(), d.bot.get(), options, wiring);
  // One lane per bot; a push refused 8 times, or one its bot's configuration
  // cannot deliver, becomes a dead letter (GET /v1/outbox/dead).
  sender = std::make_unique<OutboxSender>(d.ledger.get(), wiring.adapters, client.get(), OutboxSenderOptions{},
                                          &server.metrics());
  auto port = server.bind();
  if (!port.is_ok()) return fail(port.status());

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "sunledger: signal " << sig << ", stopping\n";
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
  });
  sender->start();
  // Once a day the inspectors hear of overdue complaints (checked each minute).
  std::mutex digest_mu;
  std::condition_variable digest_cv;
  bool stopping = false;
  std::thread digest([&] {
    std::unique_lock<std::mutex> lock(digest_mu);
    auto last_verify = std::chrono::steady_clock::now();
    while (!stopping) {
      lock.unlock();
      // Every hour the whole ledger is verified again, in the background.
      if (std::chrono::steady_clock::now() - last_verify >= std::chrono::hours(1)) {
        check_integrity(d, "(hourly)");
        last_verify = std::chrono::steady_clock::now();
      }
      if (!d.ledger->integrity_failure().empty()) sender->notify();
      auto n = d.bot->push_overdue_digest();
      if (!n.is_ok()) std::cerr << "sunledger: overdue digest: " << n.status().to_string() << "\n";
      else if (*n > 0) sender->notify();
      lock.lock();
      digest_cv.wait_for(lock, std::chrono::seconds(60), [&] { return stopping; });
    }
  });
  std::cerr << "sunledger: serving " << d.ledger->origin() << " on http://" << options.host << ":" << *port << " with "
            << bots.size() << " bot(s)\n";
  bool ok = server.listen();
  if (!ok) kill(getpid(), SIGTERM);  // wake the stopper so it can exit
  stopper.join();
  {
    std::lock_guard<std::mutex> lock(digest_mu);
    stopping = true;
  }
  digest_cv.notify_all();
  digest.join();
  sender->stop();
  std::cerr << "sunledger: stopped\n";
  return ok ? kExitOk : kExitFailure;
}

struct Command {
  std::string name;
  std::string synopsis;
  std::string help;
  std::set<std::string> values;
  std::set<std::string> flags;
  std::function<int(Deployment&, const Args&)> run;
  bool needs_ledger = true;
  bool takes_text = false;  // positional words are the command's text
};

std::vector<Command> commands() {
  std::vector<Command> c;
  c.push_back({"init", "init --origin NAME [--utc-offset MINUTES]",
               "Creates the database, the Ed25519 log key (mode 0600) and the identity salt in the data folder,\n"
               "and prints the verifier key. The origin names this deployment in every checkpoint\n"
               "(e.g. lukou.example/sunledger). Months are reckoned at UTC+8 unless --utc-offset says otherwise.",
               {"origin", "utc-offset"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"origin"}); !m.empty()) return usage_error("init", "missing " + m);
                 int offset = kChinaStandardTimeOffsetMinutes;
                 if (a.has("utc-offset")) {
                   try {
                     offset = std::stoi(a.get("utc-offset"));
                   } catch (...) {
                     return usage_error("init", "--utc-offset must be a number of minutes");
                   }
                 }
                 if (Status s = initialize(d, a.get("origin"), offset); !s.is_ok()) return fail(s);
                 if (Status s = d.open(); !s.is_ok()) return fail(s);
                 std::cout << d.ledger->verifier_key() << "\n";
                 return kExitOk;
               },
               false});
  c.push_back({"key show", "key show", "Prints the verifier key (name+id+base64 key) that checks every checkpoint.", {}, {},
               [](Deployment& d, const Args&) {
                 std::cout << d.ledger->verifier_key() << "\n";
                 return kExitOk;
               }});
  c.push_back({"village add", "village add --id ID --name NAME --town TOWN",
               "Registers a village and starts its signed log (e.g. --id shuangjiang --name 双江村 --town 朱亭镇).",
               {"id", "name", "town"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"id", "name", "town"}); !m.empty()) return usage_error("village add", "missing " + m);
                 if (Status s = d.ledger->add_village({a.get("id"), a.get("name"), a.get("town")}); !s.is_ok()) return fail(s);
                 std::cout << *d.ledger->checkpoint(a.get("id"));
                 return kExitOk;
               }});
  c.push_back({"village list", "village list", "Lists the villages with the size of each log.", {}, {},
               [](Deployment& d, const Args&) {
                 auto vs = d.ledger->villages();
                 if (!vs.is_ok()) return fail(vs.status());
                 for (const auto& v : *vs)
                   std::cout << v.id << "\t" << v.town << "\t" << v.name << "\t" << d.ledger->log_size(v.id).value() << "\n";
                 return kExitOk;
               }});
  c.push_back({"project add", "project add --village ID --name NAME --approved AMOUNT [--special]",
               "Registers a project and its approved budget (amounts as people write them: 300000, 30万).\n"
               "--special marks special-purpose funds that may be spent on this project only.",
               {"village", "name", "approved"}, {"special"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "name", "approved"}); !m.empty())
                   return usage_error("project add", "missing " + m);
                 auto amount = parse_amount(a.get("approved"));
                 if (!amount.is_ok()) return fail(amount.status());
                 auto r = d.ledger->register_project(a.get("village"), {a.get("name"), *amount, a.has("special")}, cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"post", "post --village ID --file entries.csv",
               "Appends income and expense lines from a CSV file with the header\n"
               "  date,type,category,item,amount,project,fund,counterparty,note\n"
               "(type is income or expense). All rows or none: a bad row is named by its line and nothing is written.",
               {"village", "file"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "file"}); !m.empty()) return usage_error("post", "missing " + m);
                 std::ifstream in(a.get("file"), std::ios::binary);
                 if (!in) return fail(not_found("cannot read " + a.get("file")));
                 std::stringstream ss;
                 ss << in.rdbuf();
                 auto parsed = parse_entries_csv(ss.str());
                 if (!parsed.errors.empty()) return fail(invalid_argument("nothing was written:\n" + describe_row_errors(parsed.errors)));
                 auto r = d.ledger->post_transactions(a.get("village"), parsed.lines, cli_author());
                 if (!r.is_ok()) return fail(invalid_argument("nothing was written:\n" + r.status().message()));
                 std::cout << "appended " << r->indexes.size() << " entries: #" << r->indexes.front() << " to #"
                           << r->indexes.back() << "\n"
                           << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"reverse", "reverse --village ID --index I --reason TEXT",
               "Appends a reversal of entry I; the original stays in the log. A reversal of an entry in a closed\n"
               "month lands in the open month.",
               {"village", "index", "reason"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "index", "reason"}); !m.empty()) return usage_error("reverse", "missing " + m);
                 auto idx = number_option(a, "index");
                 if (!idx.is_ok()) return usage_error("reverse", idx.status().message());
                 auto r = d.ledger->reverse(a.get("village"), *idx, a.get("reason"), cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"close", "close --village ID --month YYYY-MM",
               "Closes the month: appends its statement (opening balance, totals by category and project,\n"
               "closing balance) and prints the signed checkpoint that seals it.",
               {"village", "month"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "month"}); !m.empty()) return usage_error("close", "missing " + m);
                 auto r = d.ledger->close_month(a.get("village"), a.get("month"), cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"group bind", "group bind --village ID --bot BOT --chat CHAT [--rebind]",
               "Binds a chat group of a bot to a village: everyone in the group is a villager of that village.\n"
               "BOT is the id of the bot in bots.json; CHAT is the platform's group id. A chat bound to another\n"
               "village is moved only with --rebind.",
               {"village", "bot", "chat"}, {"rebind"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "bot", "chat"}); !m.empty()) return usage_error("group bind", "missing " + m);
                 if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
                 if (Status s = d.bot->bind_group(a.get("village"), a.get("bot"), a.get("chat"), a.has("rebind"), cli_admin()); !s.is_ok())
                   return fail(s);
                 std::cout << "bound " << a.get("bot") << "/" << a.get("chat") << " to " << a.get("village") << "\n";
                 return kExitOk;
               }});
  c.push_back({"group list", "group list", "Lists every bound chat: village, bot and chat id.", {}, {},
               [](Deployment& d, const Args&) {
                 auto groups = d.bot->list_groups();
                 if (!groups.is_ok()) return fail(groups.status());
                 for (const auto& g : *groups) std::cout << g.village << "\t" << g.bot_id << "\t" << g.chat_id << "\n";
                 return kExitOk;
               }});
  c.push_back({"group unbind", "group unbind --bot BOT --chat CHAT",
               "Unbinds a chat: from the next message on (a running server too) it belongs to no village.",
               {"bot", "chat"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "chat"}); !m.empty()) return usage_error("group unbind", "missing " + m);
                 if (Status s = d.bot->unbind_group(a.get("bot"), a.get("chat"), cli_admin()); !s.is_ok()) return fail(s);
                 std::cout << "unbound " << a.get("bot") << "/" << a.get("chat") << "\n";
                 return kExitOk;
               }});
  c.push_back({"member list", "member list [--bot BOT]", "Lists officials and inspectors: bot, user, role, village or area.",
               {"bot"}, {},
               [](Deployment& d, const Args& a) {
                 auto members = d.bot->list_members(a.get("bot"));
                 if (!members.is_ok()) return fail(members.status());
                 for (const auto& m : *members)
                   std::cout << m.bot_id << "\t" << m.user_id << "\t" << role_name(m.role) << "\t"
                             << (m.role == Role::kOfficial ? m.village : m.area) << "\n";
                 return kExitOk;
               }});
  c.push_back({"member remove", "member remove --bot BOT --user USER",
               "Removes every role of that user on that bot, at once (a running server too).", {"bot", "user"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "user"}); !m.empty()) return usage_error("member remove", "missing " + m);
                 auto n = d.bot->remove_member(a.get("bot"), a.get("user"), cli_admin());
                 if (!n.is_ok()) return fail(n.status());
                 std::cout << "removed " << *n << " role(s) of " << a.get("user") << " on " << a.get("bot") << "\n";
                 return kExitOk;
               }});
  c.push_back({"member add", "member add --bot BOT --user USER --role official|inspector [--village ID] [--area TOWN|all]",
               "Gives a chat user a role: an official of one village (--village), or an inspector of the discipline\n"
               "commission watching a town or the whole deployment (--area 朱亭镇, --area all).",
               {"village", "bot", "user", "role", "area"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "user", "role"}); !m.empty()) return usage_error("member add", "missing " + m);
                 auto role = parse_role(a.get("role"));
                 if (!role || *role == Role::kVillager) return usage_error("member add", "--role must be official or inspector");
                 Membership m{a.get("bot"), a.get("user"), a.get("village"), *role, a.get("area")};
                 if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
                 if (Status s = d.bot->add_member(m, cli_admin()); !s.is_ok()) return fail(s);
                 std::cout << a.get("user") << " is now " << role_name(*role) << "\n";
                 return kExitOk;
               }});
  c.push_back({"token list", "token list", "Lists API tokens (never the tokens themselves): id, role, scope, label, expiry, revoked.",
               {}, {},
               [](Deployment& d, const Args&) {
                 auto tokens = d.bot->list_tokens();
                 if (!tokens.is_ok()) return fail(tokens.status());
                 for (const auto& t : *tokens)
                   std::cout << "id: " << t.id << "\t" << role_name(t.principal.role) << "\t"
                             << (t.principal.role == Role::kOfficial ? t.principal.village : t.principal.area) << "\t"
                             << t.principal.label << "\texpires " << (t.expires_at ? utc_timestamp(t.expires_at) : "never")
                             << (t.revoked_at ? "\trevoked " + utc_timestamp(t.revoked_at) : "") << "\n";
                 return kExitOk;
               }});
  c.push_back({"token revoke", "token revoke --id N", "Revokes a token at once: it gets 401 from the next request on.",
               {"id"}, {},
               [](Deployment& d, const Args& a) {
                 auto id = number_option(a, "id");
                 if (!id.is_ok()) return usage_error("token revoke", id.status().message());
                 if (Status s = d.bot->revoke_token(static_cast<int64_t>(*id), cli_admin()); !s.is_ok()) return fail(s);
                 std::cout << "revoked token " << *id << "\n";
                 return kExitOk;
               }});
  c.push_back({"token create", "token create --role official --village ID | --role inspector --area TOWN|all [--label TEXT] [--expires DAYS]",
               "Creates a bearer token for the HTTP API and prints it once, then its id as `id: N` (for token\n"
               "revoke); only its SHA-256 is stored. An official token writes to its own village only. It expires\n"
               "after --expires days (default 365); an expired token gets 401 saying so.",
               {"role", "village", "area", "label", "expires"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"role"}); !m.empty()) return usage_error("token create", "missing " + m);
                 auto role = parse_role(a.get("role"));
                 if (!role || *role == Role::kVillager) return usage_error("token create", "--role must be official or inspector");
                 int days = 365;
                 if (a.has("expires")) {
                   auto n = number_option(a, "expires");
                   if (!n.is_ok() || *n < 1 || *n > 3650) return usage_error("token create", "--expires must be 1 to 3650 days");
                   days = static_cast<int>(*n);
                 }
                 auto t = d.bot->create_token({*role, a.get("village"), a.get("area"), a.get("label")}, days, cli_admin());
                 if (!t.is_ok()) return fail(t.status());
                 std::cout << t->token << "\nid: " << t->id << "\n";
                 return kExitOk;
               }});
  c.push_back({"admin log", "admin log",
               "Prints the signed admin log: every change of groups, members and tokens, with when, who (the\n"
               "operating-system account that ran the CLI) and what. `verify` rebuilds the directory from it.",
               {}, {},
               [](Deployment& d, const Args&) {
                 auto size = d.ledger->log_size("admin");
                 if (!size.is_ok()) {
                   if (size.status().code() == Code::kNotFound) return kExitOk;  // nothing changed yet
                   return fail(size.status());
                 }
                 auto entries = d.ledger->entries("admin", 0, *size);
                 if (!entries.is_ok()) return fail(entries.status());
                 for (const auto& e : *entries) {
                   nlohmann::json what = e.fields;
                   for (const char* k : {"author", "recorded_at", "kind", "op"}) what.erase(k);
                   std::cout << e.index << "\t" << entry_string(e.fields, "recorded_at") << "\t"
                             << e.fields["author"].value("id", "") << "\t" << entry_string(e.fields, "op") << "\t"
                             << what.dump() << "\n";
                 }
                 return kExitOk;
               }});
  c.push_back({"ask", "ask --bot BOT --chat CHAT --user USER [--private] [--message-id ID] TEXT",
               "Sends one chat message to the bot, as a platform would, and prints the reply (and any pushes).\n"
               "For trying commands and for scripts; writes are real. Use a newline in TEXT for multi-line commands.",
               {"bot", "chat", "user", "message-id"}, {"private"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "chat", "user"}); !m.empty()) return usage_error("ask", "missing " + m);
                 if (a.positional().empty()) return usage_error("ask", "missing the message text");
                 std::string text;
                 for (const auto& p : a.positional()) text += (text.empty() ? "" : " ") + p;
                 // As serve does: nothing is answered from, or signed on top of, a ledger that
                 // fails verification (the server alerts the inspectors; ask does not repeat it).
                 check_integrity(d, "before ask", false);
                 InboundMessage m{a.get("bot"), a.get("chat"), !a.has("private"), a.get("user"), a.get("user"), text,
                                  a.get("message-id"), d.clock.now_unix_seconds()};
                 auto r = d.bot->handle(m);
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << r->text;
                 for (const auto& p : r->pushes) std::cout << "\n[push to " << p.bot_id << "/" << p.chat_id << "]\n" << p.text;
                 return kExitOk;
               },
               true, true});
  c.push_back({"checkpoint", "checkpoint --village ID", "Prints the village's latest signed checkpoint.", {"village"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village"}); !m.empty()) return usage_error("checkpoint", "missing " + m);
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 std::cout << *d.ledger->checkpoint(v->id);
                 return kExitOk;
               }});
  c.push_back({"proof inclusion", "proof inclusion --village ID --index I --size N",
               "Prints, as JSON with base64 hashes, the proof that entry I is in the tree of size N.",
               {"village", "index", "size"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "index", "size"}); !m.empty())
                   return usage_error("proof inclusion", "missing " + m);
                 auto idx = number_option(a, "index");
                 auto size = number_option(a, "size");
                 if (!idx.is_ok()) return usage_error("proof inclusion", idx.status().message());
                 if (!size.is_ok()) return usage_error("proof inclusion", size.status().message());
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 auto proof = d.ledger->inclusion_proof(v->id, *idx, *size);
                 if (!proof.is_ok()) return fail(proof.status());
                 auto entry = d.ledger->entries(v->id, *idx, *idx + 1);
                 auto root = d.ledger->root(v->id, *size);
                 if (!entry.is_ok() || !root.is_ok()) return fail(internal_error("lookup failed"));
                 json out = {{"village", v->id}, {"index", *idx}, {"tree_size", *size},
                             {"leaf_hash", base64_encode(merkle_leaf_hash((*entry)[0].leaf))},
                             {"root", base64_encode(*root)}, {"proof", hashes_json(*proof)}};
                 std::cout << out.dump(2) << "\n";
                 return kExitOk;
               }});
  c.push_back({"proof consistency", "proof consistency --village ID --from M --to N",
               "Prints, as JSON with base64 hashes, the proof that the tree of size M is a prefix of size N.",
               {"village", "from", "to"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "from", "to"}); !m.empty())
                   return usage_error("proof consistency", "missing " + m);
                 auto from = number_option(a, "from");
                 auto to = number_option(a, "to");
                 if (!from.is_ok()) return usage_error("proof consistency", from.status().message());
                 if (!to.is_ok()) return usage_error("proof consistency", to.status().message());
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 auto proof = d.ledger->consistency_proof(v->id, *from, *to);
                 if (!proof.is_ok()) return fail(proof.status());
                 json out = {{"village", v->id}, {"from", *from}, {"to", *to},
                             {"root_from", base64_encode(*d.ledger->root(v->id, *from))},
                             {"root_to", base64_encode(*d.ledger->root(v->id, *to))}, {"proof", hashes_json(*proof)}};
                 std::cout << out.dump(2) << "\n";
                 return kExitOk;
               }});
  c.push_back({"verify", "verify [--village ID]",
               "Recomputes every leaf, subtree hash and tree head from the stored bytes and checks every kept\n"
               "checkpoint's signature. Exit 0 when intact; exit 1 naming the log and the first bad entry.",
               {"village"}, {},
               [](Deployment& d, const Args& a) {
                 auto r = d.ledger->verify(a.get("village"));
                 if (!r.is_ok()) return fail(r.status());
                 std::vector<VerifyProblem> problems = r->problems;
                 if (a.get("village").empty() && d.salt.size() < 32) {
                   std::cout << "complaints not checked: this folder has no id-salt (their commitments are keyed by it)\n";
                 } else if (a.get("village").empty()) {
                   // The same check serve runs: every log, and the complaints against theirs.
                   auto all = d.bot->verify_deployment();
                   if (!all.is_ok()) return fail(all.status());
                   problems = *all;
                 }
                 for (const auto& p : problems)
                   std::cout << "TAMPERED " << p.log << " first bad entry #" << p.first_bad_index << ": " << p.reason << "\n";
                 if (!problems.empty()) return kExitFailure;
                 std::cout << "intact: " << r->logs_checked << " logs, " << r->entries_checked << " entries\n";
                 return kExitOk;
               }});
  c.push_back({"backup", "backup --to DIR",
               "Writes a consistent online copy of the database (SQLite's backup API) and the verifier key into DIR,\n"
               "while the server goes on writing. `sunledger --data DIR verify` checks the copy. The log key and the\n"
               "id-salt are not copied: keep them apart, and put them back beside the database to restore.",
               {"to"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"to"}); !m.empty()) return usage_error("backup", "missing " + m);
                 std::string to = a.get("to");
                 std::error_code ec;
                 std::filesystem::create_directories(to, ec);
                 if (ec) return fail(unavailable("cannot create " + to + ": " + ec.message()));
                 ::chmod(to.c_str(), 0700);
                 if (Status s = d.ledger->backup(to + "/sunledger.db"); !s.is_ok()) return fail(s);
                 std::ofstream out(to + "/verifier-key");
                 out << d.ledger->verifier_key() << "\n";
                 if (!out) return fail(unavailable("cannot write " + to + "/verifier-key"));
                 std::cout << "backed up to " << to << "\n";
                 return kExitOk;
               }});
  c.push_back({"serve", "serve [--listen HOST:PORT] [--config bots.json] [--rate-limit N] [--assign-days 5] [--resolve-days 60] [--skip-verify]",
               "Serves the chat webhooks (/webhooks/{bot-id}), the HTTP API, /healthz and /metrics (default\n"
               "127.0.0.1:8080) and delivers the outbox, until SIGTERM. The bots come from --config, else from\n"
               "bots.json in the data folder if there is one. --rate-limit: chat commands one sender may send a\n"
               "minute (default 20; 0 turns the limit off, for load tests). --assign-days and --resolve-days set this\n"
               "deployment's complaint deadlines (defaults 5 and 60 days). Before listening, and every hour, it\n"
               "verifies the whole ledger; a ledger that fails is served read-only with a warning on every answer,\n"
               "/healthz answers 503 and the inspectors are told. --skip-verify skips the check at start (an\n"
               "emergency only). One serve per data folder: a second one refuses, naming the first one's pid.",
               {"listen", "config", "rate-limit", "assign-days", "resolve-days"}, {"skip-verify"},
               [](Deployment& d, const Args& a) {
                 return serve(d, a.get("listen", "127.0.0.1:8080"), a.get("config"), a.has("skip-verify"));
               }});
  c.push_back({"demo", "demo [--listen HOST:PORT] [--no-serve]",
               "Creates the data folder if needed, loads the Lukou district demo data (the Shuangjiang case among\n"
               "it) unless already loaded, then serves like `sunledger serve`.",
               {"listen"}, {"no-serve"},
               [](Deployment& d, const Args& a) {
                 if (!std::filesystem::exists(d.db_path())) {
                   if (Status s = initialize(d, "sunledger.example/lukou", kChinaStandardTimeOffsetMinutes); !s.is_ok())
                     return fail(s);
                 }
                 if (Status s = d.open(); !s.is_ok()) return fail(s);
                 DemoTime demo_time{[&d](int64_t t) { d.clock.fixed = t; }, [&d] { d.clock.fixed.reset(); }};
                 auto loaded = load_demo_data(*d.ledger, *d.bot, d.salt, demo_time);
                 if (!loaded.is_ok()) return fail(loaded.status());
                 std::cerr << (*loaded ? "sunledger: demo data loaded into " : "sunledger: demo data already present in ")
                           << d.dir << "\n";
                 if (!std::filesystem::exists(d.bots_path())) {
                   // The demo's generic bot, with a fresh secret for signing test requests.
                   std::string secret = "whsec_" + base64_encode(random_bytes(24));
                   nlohmann::json cfg = {{"bots", {{{"id", kDemoBotId}, {"platform", "generic"}, {"secret", secret}}}}};
                   if (Status s = write_private_file(d.bots_path(), cfg.dump(2) + "\n"); !s.is_ok()) return fail(s);
                   std::cerr << "sunledger: wrote " << d.bots_path() << " (the generic webhook's secret is in it)\n";
                 }
                 if (a.has("no-serve")) return kExitOk;
                 return serve(d, a.get("listen", "127.0.0.1:8080"), "");
               },
               false});
  return c;
}

void print_help(const std::vector<Command>& cmds) {
  std::cout << "sunledger: the signed village ledger and its chat bot\n\n"
               "Usage: sunledger [--data DIR] COMMAND [options]\n\n"
               "The data folder (--data, else $SUNLEDGER_DATA, else ./sunledger-data) holds the database,\n"
               "the log key and the identity salt.\n\nCommands:\n";
  for (const auto& c : cmds) std::cout << "  " << c.synopsis << "\n";
  std::cout << "  help [COMMAND]\n\nRun `sunledger COMMAND --help` for details.\n";
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Deployment d;
  const char* env = std::getenv("SUNLEDGER_DATA");
  d.dir = env && *env ? env : "./sunledger-data";
  // Global option before the command.
  while (!args.empty() && args[0].rfind("--data", 0) == 0) {
    if (args[0] == "--data" && args.size() >= 2) {
      d.dir = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].rfind("--data=", 0) == 0) {
      d.dir = args[0].substr(7);
      args.erase(args.begin());
    } else {
      return usage_error("", "--data needs a folder");
    }
  }
  auto cmds = commands();
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    if (args.size() >= 2) {
      std::string name = args[1] + (args.size() >= 3 ? " " + args[2] : "");
          for (const auto& c : cmds)
        if (c.name == name || c.name == args[1]) {
          std::cout << "Usage: sunledger [--data DIR] " << c.synopsis << "\n\n" << c.help << "\n";
          return kExitOk;
        }
    }
    print_help(cmds);
    return args.empty() ? kExitUsage : kExitOk;
  }
  // Longest match: two-word commands first.
  const Command* cmd = nullptr;
  size_t words = 0;
  for (const auto& c : cmds) {
    if (args.size() >= 2 && c.name == args[0] + " " + args[1]) {
      cmd = &c;
      words = 2;
      break;
    }
  }
  if (cmd == nullptr)
    for (const auto& c : cmds)
      if (c.name == args[0]) {
        cmd = &c;
        words = 1;
        break;
      }
  if (cmd == nullptr) {
    std::string group;
    for (const auto& c : cmds)
      if (c.name.rfind(args[0] + " ", 0) == 0) group += "\n  sunledger " + c.synopsis;
    if (!group.empty()) return usage_error(args[0], "needs a subcommand:" + group);
    std::cerr << "sunledger: unknown command '" << args[0] << "'\n";
    print_help(cmds);
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(words), args.end());
  for (const auto& r : rest)
    if (r == "--help" || r == "-h") {
      std::cout << "Usage: sunledger [--data DIR] " << cmd->synopsis << "\n\n" << cmd->help << "\n";
      return kExitOk;
    }
  Args parsed;
  std::string error;
  if (!Args::parse(rest, cmd->values, cmd->flags, &parsed, &error)) return usage_error(cmd->name, error);
  if (!cmd->takes_text && !parsed.positional().empty())
    return usage_error(cmd->name, "unexpected argument '" + parsed.positional()[0] + "'");
  if (parsed.has("rate-limit")) {
    auto n = number_option(parsed, "rate-limit");
    if (!n.is_ok() || *n > 100000) return usage_error(cmd->name, "--rate-limit must be a number of commands a minute");
    d.commands_per_minute = static_cast<int>(*n);
  }
  for (const char* opt : {"assign-days", "resolve-days"}) {
    if (!parsed.has(opt)) continue;
    auto n = number_option(parsed, opt);
    if (!n.is_ok() || *n < 1 || *n > 3650) return usage_error(cmd->name, std::string("--") + opt + " must be 1 to 3650 days");
    (std::string(opt) == "assign-days" ? d.deadlines.assign_days : d.deadlines.resolve_days) = static_cast<int>(*n);
  }
  if (cmd->needs_ledger) {
    if (Status s = d.open(); !s.is_ok()) return fail(s);
  }
  return cmd->run(d, parsed);
}

}  // namespace
}  // namespace sunledger::cli

int main(int argc, char** argv) {
  try {
    return sunledger::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sunledger: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
