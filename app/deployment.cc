#include "app/deployment.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string_view>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/args.h"
#include "app/data_folder.h"
#include "app/database_option.h"
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
#include "webhooks/outbox_sender.h"

namespace sunledger::cli {

using nlohmann::json;

namespace {

// The 4-byte key id (hex) that signed a checkpoint: its first signature line
// is the log's, "— NAME base64(key id ‖ signature)" (witnesses' cosignatures,
// which Ledger::checkpoint adds, follow it).
std::string signing_key_id(const std::string& note) {
  size_t split = note.find("\n\n");
  if (split == std::string::npos) return "";
  std::string sig_line = note.substr(split + 2, note.find('\n', split + 2) - (split + 2));
  size_t space = sig_line.rfind(' ');
  if (space == std::string::npos) return "";
  auto raw = base64_decode(sig_line.substr(space + 1));
  if (!raw.is_ok() || raw->size() < 4) return "";
  return hex_encode(raw->substr(0, 4));
}

// A restore with another deployment's log-key.pem would read as tampering
// everywhere (no checkpoint verifies); it is named as what it is.
Status key_matches(Ledger& ledger) {
  auto villages = ledger.villages();
  if (!villages.is_ok() || villages->empty()) return Status::ok();
  auto note = ledger.checkpoint(villages->front().id);
  if (!note.is_ok()) return Status::ok();
  std::string signed_by = signing_key_id(*note);
  std::string vk = ledger.verifier_key();  // name+hexid+base64
  size_t a = vk.find('+'), b = vk.find('+', a == std::string::npos ? 0 : a + 1);
  if (signed_by.empty() || a == std::string::npos || b == std::string::npos) return Status::ok();
  std::string ours = vk.substr(a + 1, b - a - 1);
  if (signed_by == ours) return Status::ok();
  return failed_precondition("log-key.pem 与这个数据库不符:账本由密钥 " + signed_by + " 签名,这里的 log-key.pem 是密钥 " + ours +
                             "。请放回本部署原来的 log-key.pem。(the log key does not match this database: its checkpoints "
                             "are signed by key " + signed_by + ", this log-key.pem is key " + ours +
                             "; put back this deployment's own log-key.pem; nothing was changed)");
}

}  // namespace

bool Deployment::database_exists() const {
  return on_postgresql() ? Ledger::stored_origin(db).is_ok() : std::filesystem::exists(db_path());
}

Status Deployment::open() {
  if (!on_postgresql() && !std::filesystem::exists(db_path()))
    return not_found("no database at " + db_path() + ": name the deployment's folder with --data DIR before the "
                     "command (or set SUNLEDGER_DATA); a new deployment starts with `sunledger --data DIR init "
                     "--origin DOMAIN/NAME`");
  auto origin = Ledger::stored_origin(db_path());
  if (!origin.is_ok()) return origin.status();
  if (Status s = open_key(*origin); !s.is_ok()) return s;
  Ledger::Options o;
  o.db_path = db_path();
  o.signer = key.get();
  o.clock = &clock;
  o.reserved_log_names = Bot::reserved_log_names();
  auto l = Ledger::open(o);
  if (!l.is_ok()) return l.status();
  ledger = std::move(*l);
  // The witnesses first: key_matches reads a checkpoint, and its stored
  // cosignatures would be called unconfigured (a WARNING on every command).
  if (std::filesystem::exists(bots_path())) trust_witnesses(bots_path());
  if (Status s = key_matches(*ledger); !s.is_ok()) return s;
  std::ifstream in(salt_path());
  std::getline(in, salt);
  if (salt.size() < 32 && !verify_only)
    return failed_precondition("这个数据目录没有身份盐 " + salt_path() + "。(identity salt missing at " + salt_path() +
                               ": restoring a backup, put back the copy of this deployment's id-salt kept offline, "
                               "in the data folder (README, \"Backup and restore\"))");
  bot = std::make_unique<Bot>(ledger.get(), bot_options());
  return bot->initialize();
}

std::vector<WitnessConfig> Deployment::trust_witnesses(const std::string& config_path) {
  auto witnesses = load_witnesses_config_file(config_path);
  std::vector<std::string> keys;
  if (witnesses.is_ok()) {
    for (const auto& w : *witnesses) keys.push_back(w.key);
  } else {
    // Said here, on every command: otherwise the only sign of a mistake in the
    // list is verify calling every stored cosignature unconfigured, which
    // reads as tampering in every village.
    std::cerr << "sunledger: WARNING: " << config_path << ": the \"witnesses\" list cannot be used ("
              << witnesses.status().message() << "): no witness's cosignature is trusted until it is fixed\n";
  }
  ledger->set_witness_keys(keys);
  return witnesses.is_ok() ? *witnesses : std::vector<WitnessConfig>{};
}

Status Deployment::open_key(const std::string& origin) {
  if (!std::filesystem::exists(key_path()) && std::filesystem::exists(verifier_key_path())) {
    // A backup folder: it holds the verifier key only, so it can verify but not write.
    std::ifstream vin(verifier_key_path());
    std::string vk;
    std::getline(vin, vk);
    auto v = VerifierOnlyKey::parse(vk);
    if (!v.is_ok()) return v.status();
    key = std::move(*v);
    verify_only = true;
    return Status::ok();
  }
  // A database without its key is a restore half done, not a new
  // deployment: init would refuse the folder anyway.
  if (!std::filesystem::exists(key_path()))
    return failed_precondition("这个数据目录有数据库,但没有日志密钥 " + key_path() +
                               "。(this folder has a database but no log key at " + key_path() +
                               ": restoring a backup, put back the copy of this deployment's log-key.pem kept offline, "
                               "in the data folder (README, \"Backup and restore\"))");
  auto k = Ed25519KeyFile::load(key_path(), origin);
  if (!k.is_ok()) return k.status();
  key = std::move(*k);
  return Status::ok();
}

bool Deployment::is_demo() const {
  if (!std::filesystem::exists(demo_marker_path())) return false;
  if (ledger) return ledger->origin() == kDemoOrigin;
  auto origin = Ledger::stored_origin(db_path());
  return !origin.is_ok() || *origin == kDemoOrigin;  // no database yet: the demo is making it
}

BotOptions Deployment::bot_options() {
  if (public_url.empty() && is_demo()) {
    std::ifstream url_in(demo_url_path());
    std::string url;
    std::getline(url_in, url);
    if (check_public_url(url).is_ok()) public_url = url;
  }
  BotOptions bo;
  bo.identity_salt = salt;
  bo.commands_per_minute = commands_per_minute;
  bo.witness_quorum = witness_quorum;
  bo.complaint_deadlines = deadlines;
  bo.public_url = public_url;
  // CLI commands (ask) queue pushes that a running server delivers: they
  // need to know what each bot reaches, not its secrets.
  if (std::filesystem::exists(bots_path()))
    if (auto bots = load_bots_config_file(bots_path(), false); bots.is_ok()) {
      group_pushes->known = true;
      for (const auto& b : *bots) {
        note_bot(b);
        if (b.has_private_channel()) private_bots->insert(b.id);
      }
    }
  // The demo's bot prints its pushes (see serve), so it reaches everyone.
  if (is_demo()) private_bots->insert(kDemoBotId);
  bo.reaches_person = [reach = private_bots](const std::string& bot_id) { return reach->count(bot_id) > 0; };
  bo.takes_private_messages = [only = group_only](const std::string& bot_id) { return only->count(bot_id) == 0; };
  bo.group_push_problem = [g = group_pushes](const std::string& bot_id) -> std::string {
    if (!g->known || g->reaching.count(bot_id)) return "";
    return g->configured.count(bot_id) ? BotOptions::kNoPushUrl : BotOptions::kNotConfigured;
  };
  return bo;
}

void Deployment::note_bot(const BotConfig& b) {
  group_pushes->known = true;
  group_pushes->configured.insert(b.id);
  if (!b.takes_private_messages()) group_only->insert(b.id);
  // The demo's bot prints its pushes (see serve), so it reaches every group.
  bool demo = b.id == kDemoBotId && b.push_url.empty() && is_demo();
  if (demo || b.reaches_groups()) group_pushes->reaching.insert(b.id);
}

std::string count_of(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Who acts from the command line: the operating-system account, recorded
// as the author of what the CLI writes (entries, admin log changes).
Author cli_author() {
  std::string who;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) who = pw->pw_name;
  if (who.empty()) who = "uid " + std::to_string(::geteuid());
  return Author{who, "admin", "cli"};
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

// --public-url is printed as each notice's QR code and link: a villager's
// phone must be able to open it, so only an absolute http(s) address with a
// host and nothing a page or a QR reader would cut short.
Status check_public_url(const std::string& url) {
  if (url.empty()) return Status::ok();
  std::string rest;
  if (url.rfind("https://", 0) == 0) rest = url.substr(8);
  else if (url.rfind("http://", 0) == 0) rest = url.substr(7);
  else
    return invalid_argument("--public-url " + url + ": give the full address the public opens, starting with https:// "
                            "(e.g. https://sunledger.example.cn)");
  if (rest.empty() || rest[0] == '/')
    return invalid_argument("--public-url " + url + ": the address has no host (e.g. https://sunledger.example.cn)");
  // ASCII letters, digits and - . _ ~ : / % [ ] only: a Unicode space or a
  // direction mark would let text of the sender's choosing follow the
  // address on every notice ("…cn　领取补贴请加微信"), and user@ would
  // show an official host while opening another (an IDN host is given in
  // its xn-- form).
  for (unsigned char c : url)
    if (!std::isalnum(c) && std::string_view("-._~:/%[]").find(static_cast<char>(c)) == std::string_view::npos)
      return invalid_argument("--public-url: give the address in plain ASCII letters, digits and - . _ ~ : / % [ ] "
                              "(no space, quote, @, ?, # or non-ASCII character; an international domain in its xn-- "
                              "form)");
  return Status::ok();
}

// An address only this machine can open (loopback, localhost, 0.0.0.0,
// ::): right for a demo, never on a notice a village board shows.
bool names_this_machine_only(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;  // not an address check_public_url lets through
  std::string host = url.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (!host.empty() && host[0] == '[') host = host.substr(1, host.find(']') - 1);
  else host = host.substr(0, host.find(':'));
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host == "localhost" || host.ends_with(".localhost") || host.rfind("127.", 0) == 0 || host == "0.0.0.0" ||
         host == "::1" || host == "::";
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
  if (std::filesystem::exists(d.key_path()) || (!d.on_postgresql() && d.database_exists()))
    return already_exists("data folder " + d.dir + " is already initialised");
  // A database another folder's key signs: a second key here would sign
  // checkpoints that contradict it.
  if (d.on_postgresql())
    if (auto other = Ledger::stored_origin(d.db); other.is_ok())
      return already_exists("the database " + address_without_password(d.db, "***") + " already holds a ledger (origin " +
                            *other + "): init makes a new deployment in an empty database; nothing was changed");
  if (Status s = Ledger::initialize(d.db_path(), origin, utc_offset); !s.is_ok()) return s;
  auto key = Ed25519KeyFile::create(d.key_path(), origin);
  if (!key.is_ok()) return key.status();
  if (Status s = write_private_file(d.salt_path(), hex_encode(random_bytes(32)) + "\n"); !s.is_ok()) return s;
  return d.on_postgresql() ? remember_database(d.dir, d.db) : Status::ok();
}

std::string local_time(const Deployment& d, int64_t t) {
  int offset = d.ledger ? d.ledger->utc_offset_minutes() : kChinaStandardTimeOffsetMinutes;
  int64_t local = t + int64_t{offset} * 60;
  int64_t in_day = ((local % 86400) + 86400) % 86400;
  char hm[8];
  std::snprintf(hm, sizeof hm, "%02d:%02d", static_cast<int>(in_day / 3600), static_cast<int>(in_day % 3600 / 60));
  // The zone too: a time read beside a server log (UTC) or from another
  // deployment is not ambiguous.
  char zone[16];
  int off = offset < 0 ? -offset : offset;
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset < 0 ? '-' : '+', off / 60, off % 60);
  return format_date(local_date(t, offset)) + " " + hm + " " + zone;
}

std::string local_time_of(const Deployment& d, const std::string& utc) {
  int y = 0, mo = 0, day = 0, h = 0, mi = 0, s = 0;
  char z = 0;
  if (utc.size() != 20 || std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &day, &h, &mi, &s, &z) != 7 || z != 'Z')
    return utc;
  return local_time(d, days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(day)) * 86400 + h * 3600 + mi * 60 + s);
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
  return not_found("unknown bot \"" + bot + "\": it is not in " + d.bots_path() + " (known: " + (ids.empty() ? "none" : ids) + ")");
}

// Verifies every log and the complaints. A failure is never served quietly:
// the ledger refuses every write from then on, every chat answer carries a
// warning, /healthz answers 503, and each inspector is told privately which
// log and entry failed. Returns true when intact.
bool check_integrity(Deployment& d, const char* when, bool alert, bool retry_when_unavailable) {
  auto start = std::chrono::steady_clock::now();
  auto problems = d.bot->verify_deployment();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string what;
  if (!problems.is_ok()) {
    std::cerr << "sunledger: verify " << when << " could not run: " << problems.status().to_string() << "\n";
    // A check that cannot run proves nothing. Storage that is briefly
    // unavailable is tried again later (an hourly check); anything else (a
    // table or column an insider renamed or dropped, a leaf that cannot be
    // read) is a failure like any other: otherwise one renamed column of a
    // table only verify reads let a forged ledger be served as intact.
    if (problems.status().code() == Code::kUnavailable && retry_when_unavailable) return false;
    what = "核验无法完成 (verify could not run): " + problems.status().message();
  } else if (problems->empty()) {
    std::cerr << "sunledger: verify " << when << ": intact (" << seconds << " s)\n";
    return true;
  } else {
    const VerifyProblem& p = problems->front();
    what = p.log + " 第#" + std::to_string(p.first_bad_index) + "条 (" + p.log + " entry #" +
           std::to_string(p.first_bad_index) + "): " + p.reason;
    if (p.log == "schema") what = p.reason;
    for (const auto& q : *problems) std::cerr << "sunledger: " << tampered_line(q) << "\n";
  }
  bool first_time = d.ledger->integrity_failure().empty();
  d.ledger->set_integrity_failure(what);
  std::cerr << "sunledger: the ledger FAILED verification " << when << "; writes are refused, answers carry a warning, "
               "/healthz answers 503. Restore from a backup (see README) and restart.\n";
  if (first_time && alert) {
    auto n = d.bot->alert_inspectors("【账本核验未通过 (ledger failed verification)】\n" + what +
                                     "\n已暂停一切记账。请核查数据库并从备份恢复。(all writes are refused until it is restored)\n");
    if (!n.is_ok()) std::cerr << "sunledger: inspectors could not be alerted: " << n.status().to_string() << "\n";
  }
  return false;
}

std::string tampered_line(const VerifyProblem& p) {
  // A schema problem (a trigger added by hand) is about no log and no entry.
  if (p.log == "schema") return "TAMPERED " + p.reason;
  return "TAMPERED " + p.log + " first bad entry #" + std::to_string(p.first_bad_index) + ": " + p.reason;
}

bool verified_before_write(Deployment& d, const std::string& log, const char* command) {
  // Besides the log it extends: the schema, since a trigger added by hand
  // runs inside this very write (it could rewrite the row just signed), and
  // the village registry, which records the deployment's time zone: a zone
  // moved in meta puts every entry this write dates into another month.
  std::vector<VerifyProblem> problems;
  Status failed;
  std::vector<std::string> logs = {log};
  if (log != Ledger::kRegistryLog) logs.push_back(Ledger::kRegistryLog);
  for (const auto& name : logs) {
    auto report = d.ledger->verify(name);
    if (!report.is_ok() && report.status().code() == Code::kNotFound) continue;  // not yet made: the command says so
    if (!report.is_ok()) failed = report.status();
    else problems.insert(problems.end(), report->problems.begin(), report->problems.end());
  }
  auto schema = d.ledger->verify_schema();
  if (!schema.is_ok()) failed = schema.status();
  else problems.insert(problems.end(), schema->begin(), schema->end());
  if (!failed.is_ok()) {
    std::cerr << "sunledger " << command << ": 无法核验账本,未写入 (cannot verify the ledger; nothing was written): "
              << failed.to_string() << "\n";
    return false;
  }
  if (problems.empty()) return true;
  for (const auto& p : problems) std::cerr << "sunledger: " << tampered_line(p) << "\n";
  std::cerr << "sunledger " << command << ": 账本未通过核验,拒绝写入 (the ledger failed verification; nothing was "
               "written). Run `sunledger verify`, and restore from a backup (see README).\n";
  return false;
}

}  // namespace sunledger::cli
