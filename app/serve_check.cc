// `serve --check` and what the demo checks before it serves: everything
// serve would refuse or quietly do without, found without listening.
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
#include "demo/demo.h"
#include "bot/bot.h"
#include "ledger/crypto.h"
#include "ledger/database_address.h"
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
#include "web/public_web.h"

#include "app/serve_internal.h"

namespace sunledger::cli {

// Whether serve could bind the address now: binds a socket (as httplib does,
// with SO_REUSEADDR) and lets it go. A port taken by another program made
// --check say "ready" while serve then failed.
Status try_bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr)
    return invalid_argument("cannot resolve " + host);
  Status out = unavailable("cannot bind " + host + ":" + std::to_string(port));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    int r = ::bind(fd, a->ai_addr, a->ai_addrlen);
    int err = errno;
    ::close(fd);
    if (r == 0) {
      out = Status::ok();
      break;
    }
    out = unavailable("cannot bind " + host + ":" + std::to_string(port) + ": " + std::strerror(err));
  }
  ::freeaddrinfo(found);
  return out;
}

namespace {

// What --check prints: ✓ good, ✗ a problem (counted), ! worth knowing.
struct CheckReport {
  int problems = 0;
  void bad(const std::string& what) {
    ++problems;
    std::cout << "✗ " << what << "\n";
  }
  static void good(const std::string& what) { std::cout << "✓ " << what << "\n"; }
  static void note(const std::string& what) { std::cout << "! " << what << "\n"; }
  // The last line of a check that found problems; the exit code to return.
  int failed() const {
    std::cout << count_of(problems, "problem", "problems") << (problems == 1 ? ": fix it" : ": fix them")
              << " before going live\n";
    return kExitFailure;
  }
};

// One bot of the configuration: what it can do, and what is bound to it.
void report_bot(Deployment& d, const BotConfig& b, const std::vector<GroupBinding>& groups,
                const std::vector<Membership>& members, CheckReport& r) {
  auto adapter = adapter_for(d, b);
  size_t bound = 0, officials = 0, inspectors = 0;
  for (const auto& g : groups) bound += g.bot_id == b.id;
  for (const auto& m : members)
    if (m.bot_id == b.id) (m.role == Role::kInspector ? inspectors : officials)++;
  std::string reach = group_reach(d, b);
  std::cout << "bot " << b.id << " (" << platform_name(b.platform) << "):\n"
            << "  answers: yes, at POST /webhooks/" << b.id << "\n"
            << "  pushes to groups: " << (reach.empty() ? "no (no push_url" + std::string(b.platform == Platform::kFeishu ? " and no app)" : ")") : "yes, " + reach) << "\n"
            << "  reaches one person privately: "
            << (adapter->reaches_persons() ? "yes" : "no (configure the platform's app API; see README)") << "\n"
            << "  bound: " << count_of(bound, "group", "groups") << ", " << count_of(officials, "official", "officials") << ", "
            << count_of(inspectors, "inspector", "inspectors") << "\n";
  if (bound > 0 && reach.empty()) r.note("bot " + b.id + ": monthly notices to its " + count_of(bound, "group", "groups") + " cannot be delivered");
  if (bound > 1 && reach.find("one group") != std::string::npos)
    r.note("bot " + b.id + ": " + std::to_string(bound) + " groups are bound but its push_url reaches one group: every notice goes there");
  if (!adapter->reaches_persons() && bound > 0)
    r.note("bot " + b.id + ": complaints in its groups are refused (no private channel for the receipt)");
  if (!adapter->reaches_persons() && inspectors > 0) r.note("bot " + b.id + ": its inspectors get no private alerts or digests");
}

// The bots of the configuration, every field and env: secret checked.
std::vector<BotConfig> check_config(Deployment& d, const Result<std::string>& config, const std::string& config_path,
                                    CheckReport& r, bool* unreadable) {
  if (!config.is_ok()) {
    r.bad(config.status().message());
    *unreadable = true;
    return {};
  }
  if (config_path.empty()) {
    r.bad("no bots.json in " + d.dir + " and no --config: serve would answer no chat platform");
    return {};
  }
  auto loaded = load_bots_config_file(config_path);
  if (!loaded.is_ok()) {
    // Every unset env: secret at once, not one a run.
    auto unset = unset_env_secrets(read_text_file(config_path));
    if (unset.empty() || loaded.status().message().find("environment variable") == std::string::npos)
      r.bad(loaded.status().message());
    for (const auto& u : unset) r.bad("bots config: " + u);
    *unreadable = true;
    return {};
  }
  r.good(config_path + ": " + count_of(loaded->size(), "bot", "bots") + ", every field valid and every env: secret set");
  return std::move(*loaded);
}

void check_ledger(Deployment& d, bool skip_verify, CheckReport& r) {
  if (skip_verify) return r.note("ledger not verified (--skip-verify)");
  auto v = d.bot->verify_deployment();
  if (!v.is_ok()) return r.bad("verify could not run: " + v.status().message());
  for (const auto& p : *v) r.bad(tampered_line(p));
  if (v->empty()) r.good("the ledger verifies (every log, checkpoint, the complaints and the directory)");
}

}  // namespace

Status serve_can_start(Deployment& d, const std::string& listen) {
  if (std::filesystem::exists(d.dir)) {
    auto lock = ServeLock::acquire(d.dir);
    if (!lock.is_ok()) return lock.status();
  }
  auto addr = parse_listen_address(listen);
  if (!addr.is_ok()) return addr.status();
  return try_bind(addr->first, addr->second);
}

int check_unopened(Deployment& d, std::string config_path, const Status& why) {
  CheckReport report;
  std::cout << "sunledger serve --check: " << d.dir << "\n";
  auto config = config_file(d, config_path);
  if (!config.is_ok()) report.bad(config.status().message());
  auto problems = data_folder_problems(d.dir, config.is_ok() ? *config : "");
  for (const auto& s : problems) report.bad(s.message());
  // A key file others may read is among the folder's problems already.
  if (problems.empty() || why.code() != Code::kPermissionDenied) report.bad(why.message());
  CheckReport::note("the ledger, the configuration and the bots are checked once the data folder opens");
  return report.failed();
}

// Long (about 65 lines): the checklist itself, one line per thing serve
// needs, in the order they are printed; each check is a call.
int check_serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify) {
  const std::string& public_url = d.public_url;
  CheckReport report;
  auto bad = [&](const std::string& what) { report.bad(what); };
  auto good = CheckReport::good;
  auto note = CheckReport::note;
  // The database too when it is not the folder's own file: an operator with
  // several deployments must see which one the checks below are about.
  std::cout << "sunledger serve --check: " << d.dir << " (" << d.ledger->origin() << ")"
            << (d.on_postgresql() ? ", database " + address_without_password(d.db, "***") : std::string()) << "\n";
  auto config = config_file(d, config_path);
  config_path = config.is_ok() ? *config : "";
  auto private_problems = data_folder_problems(d.dir, config_path);
  for (const auto& s : private_problems) bad(s.message());  // every one, so one run names them all
  if (private_problems.empty()) good("the data folder and its files are private to this account");
  auto lock = ServeLock::acquire(d.dir, d.db, d.shared_database);
  if (auto addr = parse_listen_address(listen); !addr.is_ok()) {
    bad("--listen " + listen + ": " + addr.status().message());
  } else if (Status b = try_bind(addr->first, addr->second); !b.is_ok()) {
    // Beside a running server of this folder the port is its own: checking
    // before a restart is what --check is for.
    if (lock.is_ok()) bad("--listen " + listen + ": " + b.message() + " (another program holds the port)");
    else note("--listen " + listen + ": in use, by the server already running on this folder");
  } else {
    good("listen address " + listen);
  }
  // The folder's own server running is what a check before a restart sees;
  // the database held with the folder free is a server of another folder (a
  // second machine set up from a copy): this one would not start at all.
  bool own_server = !lock.is_ok() && !ServeLock::acquire(d.dir).is_ok();
  if (own_server)
    note(lock.status().message() + ": serve refuses to start until it stops (checking before a restart is fine)");
  else if (!lock.is_ok())
    bad(lock.status().message() + ": serve refuses to start while it does");
  else if (d.shared_database && d.db.empty())
    bad("--shared-database: this folder's ledger is a SQLite file, which one server alone serves");
  else if (d.shared_database)
    good("--shared-database: this server shares the database with the other servers started so (outbox rows "
         "claimed one node at a time; rate limits per node)");
  if (public_url.empty())
    note("no --public-url: the printed notices' QR codes name the listened address, http://" + listen +
         ", and 帮助 and the monthly notices name no web address");
  else if (names_this_machine_only(public_url))
    note("--public-url " + public_url + " names this machine only: villagers' phones cannot open it (give the address "
         "the public reaches, e.g. https://lukou.example.cn)");
  else
    good("public pages at " + public_url + "/ (named by 帮助, the monthly notices and their QR codes)");
  if (config_path.empty() && std::filesystem::exists(d.bots_path())) config_path = d.bots_path();
  bool config_unreadable = false;  // then which bots it names is unknown
  std::vector<BotConfig> bots = check_config(d, config, config_path, report, &config_unreadable);
  if (!config_path.empty() && !config_unreadable) {
    // The same keys serve would trust, before the ledger is verified under them.
    auto witnesses = d.trust_witnesses(config_path);
    if (auto listed = load_witnesses_config_file(config_path); !listed.is_ok())
      bad(config_path + ": the \"witnesses\" list: " + listed.status().message() +
          " (serve refuses to start; until it is fixed no cosignature is trusted and verify names every stored one)");
    auto refused = witness_refusal_lines(d, witnesses);
    for (const auto& line : refused) bad(line);
    if (!witnesses.empty() && refused.empty())
      good(count_of(witnesses.size(), "witness", "witnesses") + " configured, none refused a log");
    for (const auto& reach : reach_witnesses(d, witnesses)) {
      if (reach.ok) good(reach.line);
      else bad(reach.line);
    }
    if (std::string why = witness_quorum_problem(d.witness_quorum, witnesses, config_path); !why.empty()) bad(why);
    else if (d.witness_quorum > 0)
      good("monthly notices wait for " + std::to_string(d.witness_quorum) + " witnesses' cosignatures (--witness-quorum)");
  } else if (!config_unreadable && d.witness_quorum > 0) {
    bad(witness_quorum_problem(d.witness_quorum, {}, ""));
  }
  check_ledger(d, skip_verify, report);
  auto groups = d.bot->list_groups();
  auto members = d.bot->list_members();
  if (!groups.is_ok() || !members.is_ok()) {
    bad("the directory could not be read");
    return kExitFailure;
  }
  std::set<std::string> ids;
  for (const auto& b : bots) {
    ids.insert(b.id);
    report_bot(d, b, *groups, *members, report);
  }
  // A configuration that did not load (an unset env: secret) is one problem,
  // not one more per group and member of its bots.
  if (config_unreadable && (!groups->empty() || !members->empty()))
    note("groups and members not checked against the bots: fix the configuration first");
  for (const auto& g : *groups)
    if (!config_unreadable && !ids.count(g.bot_id))
      bad("group " + g.chat_id + " (village " + g.village + ") is bound to bot " + g.bot_id +
          ", which is not in the configuration: its messages would get 404");
  for (const auto& m : *members)
    if (!config_unreadable && !ids.count(m.bot_id))
      bad("member " + m.user_id + " is registered on bot " + m.bot_id + ", which is not in the configuration");
  if (report.problems == 0) {
    std::cout << "ready: `sunledger serve` would start with " << count_of(bots.size(), "bot", "bots") << "\n";
    return kExitOk;
  }
  return report.failed();
}

}  // namespace sunledger::cli
