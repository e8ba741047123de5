// A deployment as the command line sees it: the data folder's files, the
// ledger and bot opened from them, and the helpers every command shares
// (exit codes, errors, options, the integrity check).
//
// Thread safety: a Deployment is built and opened by main's thread; serve()
// shares its ledger and bot (both thread safe) with the server's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/args.h"
#include "bot/bot.h"
#include "webhooks/config.h"
#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"

namespace sunledger::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Where a deployment keeps its files, and the objects built from them.
struct Deployment {
  std::string dir;
  // The PostgreSQL address the ledger lives at (--db, $SUNLEDGER_DB or the
  // folder's record: app/database_option.h), "" for SQLite's DIR/sunledger.db.
  std::string db;
  std::string db_path() const { return db.empty() ? dir + "/sunledger.db" : db; }
  bool on_postgresql() const { return !db.empty(); }
  // Whether the ledger's database holds a ledger already (SQLite: the file is
  // there; PostgreSQL: it has an origin).
  bool database_exists() const;
  std::string key_path() const { return dir + "/log-key.pem"; }
  std::string salt_path() const { return dir + "/id-salt"; }
  std::string bots_path() const { return dir + "/bots.json"; }
  std::string verifier_key_path() const { return dir + "/verifier-key"; }
  // Written by `sunledger demo`: this folder holds the demo, whose bot
  // delivers its pushes to the terminal (and so reaches one person).
  std::string demo_marker_path() const { return dir + "/DEMO"; }
  // Where a serving demo notes its pages' address, so `ask` beside it (another
  // process) names them in 帮助 and notices as the demo does. Demo folders only.
  std::string demo_url_path() const { return dir + "/DEMO-URL"; }
  // Whether this folder is the demo's: its marker AND the demo's origin. The
  // marker alone is a file anyone with the folder can write, and it changes
  // what the bot does (the demo's bot prints pushes instead of sending them).
  bool is_demo() const;

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
  // Which bots of the configuration can push to groups, filled like
  // private_bots: publishing says which bound groups it cannot reach (a bot
  // without push_url, or one not in the configuration) instead of counting
  // them as notified. Unknown (no bots.json): every bot counts as reaching.
  struct GroupPushes {
    bool known = false;
    std::set<std::string> configured, reaching;
  };
  std::shared_ptr<GroupPushes> group_pushes = std::make_shared<GroupPushes>();
  // Bots nobody can write to privately (a WeCom group robot), filled by
  // note_bot: a complaint sent in their group is told where else to go.
  std::shared_ptr<std::set<std::string>> group_only = std::make_shared<std::set<std::string>>();
  // Records which groups one bot of the loaded configuration reaches.
  void note_bot(const BotConfig& b);
  bool verify_only = false;
  int commands_per_minute = 20;
  // serve --witness-quorum K: monthly notices wait for K witnesses'
  // cosignatures (webhooks/notice_quorum.h); publishing says so. 0: today's way.
  int witness_quorum = 0;
  // serve --shared-database (PostgreSQL, issue #17): this server shares its
  // database with other servers started so (a shared hold of the database's
  // serve lock), rather than holding it alone.
  bool shared_database = false;
  ComplaintDeadlines deadlines;
  // --public-url, checked (cli::check_public_url) and without a trailing
  // slash; "" when not given. 帮助 and the monthly notices name it.
  std::string public_url;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Bot> bot;
  std::string salt;

  // Opens the ledger and the bot (the key, or the verifier key of a backup
  // folder; the salt; what each bot of bots.json can reach).
  Status open();
  // Tells the ledger which witnesses' cosignatures to trust: those of the
  // "witnesses" list of config_path (open() uses the folder's bots.json;
  // serve its --config). An unreadable list trusts none, so no cosignature
  // is served and verify names every stored one. Returns the witnesses.
  std::vector<WitnessConfig> trust_witnesses(const std::string& config_path);

 private:
  // The log key, or a backup folder's verifier key (then verify_only).
  Status open_key(const std::string& origin);
  // What the bot is told of this deployment: salt, limits, the public pages
  // and what each bot of bots.json can reach.
  BotOptions bot_options();
};

// "1 entry", "3 entries": a count with its noun in the right number.
std::string count_of(uint64_t n, const char* one, const char* many);
Author cli_author();
int fail(const Status& s);
int usage_error(const std::string& command, const std::string& message);
Result<uint64_t> number_option(const Args& a, const std::string& name);
nlohmann::json hashes_json(const std::vector<Hash>& hs);
Status write_private_file(const std::string& path, const std::string& content);
// Creates the data folder, the database, the log key and the identity salt.
Status initialize(Deployment& d, const std::string& origin, int utc_offset);
// A moment in the deployment's local time, to the minute, with its zone:
// 2026-11-29 14:03 +08:00.
std::string local_time(const Deployment& d, int64_t unix_seconds);
// The same for a stored UTC timestamp (2026-11-29T06:03:00Z); other text as is.
std::string local_time_of(const Deployment& d, const std::string& utc);
// A bot named on the command line must be one of bots.json.
Status known_bot(Deployment& d, const std::string& bot);
// Verifies every log, the complaints and the directory. A failure is never
// served quietly (see the .cc). Returns true when intact.
bool check_integrity(Deployment& d, const char* when, bool alert = true, bool retry_when_unavailable = false);
// Before a command signs anything: the logs it is about to extend (a
// village's, "villages", "admin") and the tables derived from them verify, so
// nothing new is signed on top of altered data. serve refuses writes once a
// verify failed; a CLI write, beside a server or without one, must too.
// Prints what failed and returns false; a log that does not exist yet passes
// (the command itself says so).
bool verified_before_write(Deployment& d, const std::string& log, const char* command);
// One verify problem as the CLI and the server log print it ("TAMPERED …").
std::string tampered_line(const VerifyProblem& p);

// Whether a URL names an address only this machine can open (loopback, 0.0.0.0).
bool names_this_machine_only(const std::string& url);

// Why --public-url cannot be printed on a notice for villagers' phones (not
// an absolute http(s) address with a host, or a character a QR reader or a
// page would cut it at); OK for "" (the listened address is used).
Status check_public_url(const std::string& url);

}  // namespace sunledger::cli
