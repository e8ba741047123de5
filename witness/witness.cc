#include "witness/witness.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"
#include "witness/note.h"
#include "witness/state_store.h"

namespace sunledger::witness {
namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";
constexpr char kAlgCosignatureV1 = 0x04;

std::string db_path(const std::string& dir) { return dir + "/witness.db"; }
std::string key_path(const std::string& dir) { return dir + "/witness-key.pem"; }

void configure(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode=WAL");
  // The spec: persist the new checkpoint before answering. FULL makes each
  // commit durable across power loss, so a restart never forgets a size it
  // cosigned (forgetting would let a forked log be cosigned).
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA busy_timeout=5000");
}

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trusted_logs(
  origin_prefix TEXT NOT NULL, verifier_key TEXT NOT NULL, added_at INTEGER NOT NULL,
  PRIMARY KEY(origin_prefix, verifier_key));
CREATE TABLE IF NOT EXISTS log_state(
  origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, checkpoint TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS evidence(
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, reason TEXT NOT NULL, request TEXT NOT NULL,
  received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS forgotten_logs(
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, checkpoint TEXT NOT NULL,
  cosigned_at INTEGER NOT NULL, forgotten_by TEXT NOT NULL, reason TEXT NOT NULL, forgotten_at INTEGER NOT NULL);
)";

Answer text(int status, std::string body) {
  Answer a;
  a.status = status;
  a.body = std::move(body) + "\n";
  return a;
}

// Printed on one line of `witness list-logs`: UTF-8 text without control characters.
bool one_line_text(const std::string& s) {
  return !s.empty() && is_note_text(s) && s.find('\n') == std::string::npos;
}

Status read_root(const SQLite::Column& column, const std::string& origin, Hash* root) {
  std::string bytes = column.getString();
  if (bytes.size() != root->size()) return data_loss("stored root of " + origin + " is not 32 bytes");
  std::copy(bytes.begin(), bytes.end(), root->begin());
  return Status::ok();
}

struct ParsedKey {
  std::string name;
  std::string public_key;
  uint32_t id;
};

}  // namespace

struct Witness::Impl {
  std::string dir;
  std::string name;
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<SQLite::Database> db;
  // Guards every use of the one connection.
  mutable std::mutex mu;
  std::unique_ptr<StateStore> store;
  // A second connection for the trust look-up of each request, so that it
  // never waits behind a commit (WAL readers do not block on the writer).
  std::unique_ptr<SQLite::Database> trust_db;
  std::unique_ptr<SQLite::Statement> trust_query;  // prepared once: parsing it cost as much as running it
  std::mutex trust_mu;
  std::mutex claim_mu;
  int lock_fd = -1;  // witness.lock, held while this process records checkpoints

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }
  std::vector<ParsedKey> keys_for(const std::string& origin);
};

Witness::Witness(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Witness::~Witness() = default;

Status Witness::init(const std::string& dir, const std::string& name) {
  if (name.empty() || name.find_first_of(" \t\n+") != std::string::npos)
    return invalid_argument("witness name must be non-empty, without spaces or '+' (e.g. witness.lukou.example/w1)");
  std::error_code ec;
  if (std::filesystem::exists(db_path(dir)) || std::filesystem::exists(key_path(dir)))
    return already_exists("folder " + dir + " holds a witness already");
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create folder " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  auto key = Ed25519KeyFile::create(key_path(dir), name);
  if (!key.is_ok()) return key.status();
  // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files
  // the main file's mode, so all three stay private like the ledger's.
  int fd = ::open(db_path(dir).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot create " + db_path(dir));
  ::close(fd);
  try {
    SQLite::Database db(db_path(dir), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    configure(db);
    db.exec(kSchema);
    SQLite::Statement q(db, "INSERT INTO meta(key, value) VALUES('name', ?)");
    q.bind(1, name);
    q.exec();
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot create the witness database: ") + e.what());
  }
  return Status::ok();
}

Result<std::unique_ptr<Witness>> Witness::open(const std::string& dir) {
  if (!std::filesystem::exists(db_path(dir)))
    return not_found("no witness in " + dir + " (run `sunledger --data " + dir + " witness init --name NAME` first)");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  try {
    impl->db = std::make_unique<SQLite::Database>(db_path(dir), SQLite::OPEN_READWRITE);
    configure(*impl->db);
    impl->db->exec(kSchema);
    SQLite::Statement q(*impl->db, "SELECT value FROM meta WHERE key='name'");
    if (!q.executeStep()) return data_loss("witness database in " + dir + " has no name");
    impl->name = q.getColumn(0).getString();
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot open the witness database: ") + e.what());
  }
  auto key = Ed25519KeyFile::load(key_path(dir), impl->name);
  if (!key.is_ok()) return key.status();
  impl->key = std::move(*key);
  try {
    impl->trust_db = std::make_unique<SQLite::Database>(db_path(dir), SQLite::OPEN_READONLY);
    impl->trust_db->exec("PRAGMA busy_timeout=5000");
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot open the witness database: ") + e.what());
  }
  impl->store = std::make_unique<StateStore>(*impl->db, impl->mu);
  return std::unique_ptr<Witness>(new Witness(std::move(impl)));
}

Status Witness::claim() {
  std::lock_guard<std::mutex> lock(impl_->claim_mu);
  if (impl_->lock_fd >= 0) return Status::ok();
  std::string path = impl_->dir + "/witness.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return failed_precondition("another witness process serves " + impl_->dir + " (it holds " + path + ")");
  }
  impl_->lock_fd = fd;
  return Status::ok();
}

const std::string& Witness::name() const { return impl_->name; }

std::string Witness::verifier_key() const {
  const std::string& pub = impl_->key->public_key();
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", cosignature_key_id(impl_->name, pub));
  return impl_->name + "+" + hex + "+" + base64_encode(std::string(1, kAlgCosignatureV1) + pub);
}

Status Witness::add_log(const std::string& origin_prefix, const std::string& vkey) {
  if (origin_prefix.empty() || !is_note_text(origin_prefix) || origin_prefix.find('\n') != std::string::npos)
    return invalid_argument("origin prefix must be non-empty text on one line");
  auto parsed = VerifierOnlyKey::parse(vkey);
  if (!parsed.is_ok())
    return invalid_argument("--key must be a log's Ed25519 verifier key (name+id+base64, as `sunledger key show` prints): " +
                            parsed.status().message());
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    // One origin, one key: a prefix overlapping one trusted under another key
    // would let either key holder claim the other's logs (their keys were
    // merged for every origin under both), and the witness keeps one state per
    // origin, not per key.
    SQLite::Statement overlap(*impl_->db, "SELECT origin_prefix, verifier_key FROM trusted_logs");
    auto covers = [](const std::string& prefix, const std::string& other) {
      return prefix == other ||
             (prefix.back() == '/' && other.size() > prefix.size() && other.compare(0, prefix.size(), prefix) == 0);
    };
    while (overlap.executeStep()) {
      std::string p = overlap.getColumn(0).getString();
      if (overlap.getColumn(1).getString() != vkey && (covers(p, origin_prefix) || covers(origin_prefix, p)))
        return failed_precondition("origin prefix " + origin_prefix + " overlaps " + p +
                                   ", trusted under another key: one origin has one log key");
    }
    SQLite::Statement q(*impl_->db, "INSERT OR IGNORE INTO trusted_logs(origin_prefix, verifier_key, added_at) VALUES(?, ?, ?)");
    q.bind(1, origin_prefix);
    q.bind(2, vkey);
    q.bind(3, static_cast<int64_t>(std::time(nullptr)));
    q.exec();
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot store the log: ") + e.what());
  }
  return Status::ok();
}

Result<std::vector<TrustedLog>> Witness::trusted_logs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<TrustedLog> out;
  try {
    SQLite::Statement q(*impl_->db, "SELECT origin_prefix, verifier_key FROM trusted_logs ORDER BY origin_prefix, verifier_key");
    while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot read the logs: ") + e.what());
  }
  return out;
}

Result<std::vector<LogState>> Witness::states() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<LogState> out;
  try {
    SQLite::Statement q(*impl_->db, "SELECT origin, size, root, updated_at FROM log_state ORDER BY origin");
    while (q.executeStep()) {
      LogState s;
      s.origin = q.getColumn(0).getString();
      s.size = static_cast<uint64_t>(q.getColumn(1).getInt64());
      if (Status st = read_root(q.getColumn(2), s.origin, &s.root); !st.is_ok()) return st;
      s.updated_at = q.getColumn(3).getInt64();
      out.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot read the logs' state: ") + e.what());
  }
  return out;
}

Result<int64_t> Witness::evidence_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    return impl_->db->execAndGet("SELECT count(*) FROM evidence").getInt64();
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot read the evidence: ") + e.what());
  }
}

Result<ForgottenLog> Witness::forget_log(const std::string& origin, const std::string& by, const std::string& reason) {
  if (!one_line_text(by) || !one_line_text(reason))
    return invalid_argument("--by and --reason must each be one line of text (who you are, and why: the inspectors' record)");
  std::lock_guard<std::mutex> lock(impl_->mu);
  ForgottenLog f;
  try {
    // IMMEDIATE: the read and the delete see one state, never one a serve's
    // commit changed in between (its compare-and-swap then fails instead).
    SQLite::Transaction t(*impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(*impl_->db, "SELECT size, root, checkpoint, updated_at FROM log_state WHERE origin = ?");
    q.bind(1, origin);
    if (!q.executeStep())
      return not_found("the witness holds no state of " + origin +
                       " (`witness list-logs` prints the logs it holds, by their whole origin); nothing changed");
    f.origin = origin;
    f.size = static_cast<uint64_t>(q.getColumn(0).getInt64());
    if (Status s = read_root(q.getColumn(1), origin, &f.root); !s.is_ok()) return s;
    f.checkpoint = q.getColumn(2).getString();
    f.cosigned_at = q.getColumn(3).getInt64();
    f.by = by;
    f.reason = reason;
    f.forgotten_at = static_cast<int64_t>(std::time(nullptr));
    SQLite::Statement keep(*impl_->db, "INSERT INTO forgotten_logs(origin, size, root, checkpoint, cosigned_at, "
                                       "forgotten_by, reason, forgotten_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    keep.bind(1, origin);
    keep.bind(2, static_cast<int64_t>(f.size));
    keep.bind(3, f.root.data(), static_cast<int>(f.root.size()));
    keep.bind(4, f.checkpoint);
    keep.bind(5, f.cosigned_at);
    keep.bind(6, by);
    keep.bind(7, reason);
    keep.bind(8, f.forgotten_at);
    keep.exec();
    SQLite::Statement drop(*impl_->db, "DELETE FROM log_state WHERE origin = ?");
    drop.bind(1, origin);
    drop.exec();
    t.commit();  // synchronous=FULL: the evidence and the removal are durable together
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot forget the log (nothing changed): ") + e.what());
  }
  return f;
}

Result<std::vector<ForgottenLog>> Witness::forgotten_logs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<ForgottenLog> out;
  try {
    SQLite::Statement q(*impl_->db, "SELECT origin, size, root, checkpoint, cosigned_at, forgotten_by, reason, "
                                    "forgotten_at FROM forgotten_logs ORDER BY id");
    while (q.executeStep()) {
      ForgottenLog f;
      f.origin = q.getColumn(0).getString();
      f.size = static_cast<uint64_t>(q.getColumn(1).getInt64());
      if (Status s = read_root(q.getColumn(2), f.origin, &f.root); !s.is_ok()) return s;
      f.checkpoint = q.getColumn(3).getString();
      f.cosigned_at = q.getColumn(4).getInt64();
      f.by = q.getColumn(5).getString();
      f.reason = q.getColumn(6).getString();
      f.forgotten_at = q.getColumn(7).getInt64();
      out.push_back(std::move(f));
    }
  } catch (const std::exception& e) {
    return unavailable(std::string("cannot read the forgotten logs: ") + e.what());
  }
  return out;
}

std::vector<ParsedKey> Witness::Impl::keys_for(const std::string& origin) {
  std::lock_guard<std::mutex> lock(trust_mu);
  std::vector<ParsedKey> out;
  // A prefix ending in '/' covers the origins under it; any other is one
  // whole origin (`lukou.example/sunledger` must not cover
  // `lukou.example/sunledgerevil/x`). Only the longest matching prefix
  // counts. substr compares bytes.
  if (!trust_query)
    trust_query = std::make_unique<SQLite::Statement>(
        *trust_db, "SELECT verifier_key, length(origin_prefix) AS n FROM trusted_logs "
                   "WHERE origin_prefix = ?1 OR (substr(origin_prefix, -1) = '/' AND length(origin_prefix) < length(?1) "
                   "AND substr(?1, 1, length(origin_prefix)) = origin_prefix) ORDER BY n DESC");
  SQLite::Statement& q = *trust_query;
  q.reset();
  q.clearBindings();
  q.bind(1, origin);
  int64_t longest = -1;
  while (q.executeStep()) {
    int64_t n = q.getColumn(1).getInt64();
    if (longest >= 0 && n < longest) break;
    longest = n;
    auto k = VerifierOnlyKey::parse(q.getColumn(0).getString());
    if (!k.is_ok()) continue;  // checked when added; a hand-edited row is ignored, not trusted
    out.push_back({(*k)->key_name(), (*k)->public_key(), note_key_id((*k)->key_name(), (*k)->public_key())});
  }
  return out;
}

Answer Witness::add_checkpoint(std::string_view body) {
  if (body.size() > kMaxRequestBytes) return text(400, "request too large");
  auto r = parse_add_checkpoint(body);
  if (!r.is_ok()) return text(400, r.status().message());
  std::vector<ParsedKey> keys;
  try {
    keys = impl_->keys_for(r->origin);
  } catch (const std::exception& e) {
    return text(503, std::string("witness storage unavailable: ") + e.what());
  }
  if (keys.empty()) return text(404, "unknown log: no trusted origin prefix matches " + r->origin);
  // signed-note: ignore unknown keys; a known key's bad signature rejects the note.
  bool verified = false;
  for (const auto& s : r->signatures)
    for (const auto& k : keys) {
      if (!s.decoded && s.key_name == k.name) return text(403, "invalid signature by " + k.name + " (not base64)");
      if (s.key_name != k.name || s.key_id != k.id) continue;
      if (!ed25519_verify(k.public_key, r->note_text, s.signature)) return text(403, "invalid signature by " + k.name);
      verified = true;
    }
  if (!verified) return text(403, "no signature from a key trusted for " + r->origin);
  if (r->old_size > r->size) return text(400, "old size is larger than the checkpoint size");

  if (Status s = claim(); !s.is_ok()) return text(503, s.message());
  Answer a = impl_->store->record(*r, body);
  if (a.status != 200) return a;
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  auto sig = impl_->key->sign(cosigned_message(r->note_text, now));
  if (!sig.is_ok()) return text(500, "cannot cosign: " + sig.status().message());
  auto line = cosignature_line(impl_->name, impl_->key->public_key(), *sig, now);
  if (!line.is_ok()) return text(500, "cannot cosign: " + line.status().message());
  a.body = *line;
  return a;
}

uint32_t cosignature_key_id(std::string_view name, std::string_view public_key) {
  const char sep[2] = {'\n', kAlgCosignatureV1};
  Hash h = sha256({name, std::string_view(sep, 2), public_key});
  return static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 | static_cast<uint32_t>(h[2]) << 8 | h[3];
}

std::string cosigned_message(std::string_view checkpoint_body, uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  m.append(checkpoint_body);
  return m;
}

Result<std::string> cosignature_line(std::string_view name, std::string_view public_key, std::string_view ed25519_signature,
                                     uint64_t timestamp) {
  if (ed25519_signature.size() != 64 || timestamp > static_cast<uint64_t>(INT64_MAX))
    return invalid_argument("a cosignature is a 64-byte signature and a timestamp below 2^63");
  uint32_t id = cosignature_key_id(name, public_key);
  std::string blob;
  for (int shift = 24; shift >= 0; shift -= 8) blob.push_back(static_cast<char>(id >> shift));
  for (int shift = 56; shift >= 0; shift -= 8) blob.push_back(static_cast<char>(timestamp >> shift));
  blob.append(ed25519_signature);
  return std::string(kEmDash) + " " + std::string(name) + " " + base64_encode(blob) + "\n";
}

// The ledger's verifier (ledger/tlog_proof.h), the one the log, the checker
// and the notices' proof blocks use: one reading of cosignature/v1, so the
// witness's own tests check the code that vouches for what it signed.
Result<uint64_t> verify_cosignature(std::string_view line, std::string_view checkpoint_body, std::string_view vkey) {
  // The witness's stricter reading of its own key, kept: the id in the
  // verifier key must be the key's (the ledger's verifier goes by the id the
  // line carries).
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return invalid_argument("malformed witness verifier key");
  auto blob = base64_decode(vkey.substr(p2 + 1));
  if (!blob.is_ok() || blob->size() != 33 || (*blob)[0] != kAlgCosignatureV1)
    return invalid_argument("not a cosignature/v1 verifier key");
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", cosignature_key_id(vkey.substr(0, p1), std::string_view(*blob).substr(1)));
  if (vkey.substr(p1 + 1, p2 - p1 - 1) != hex) return invalid_argument("witness verifier key id does not match its key");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.find('\n') != std::string_view::npos) return invalid_argument("not one cosignature line");
  uint64_t time = 0;
  std::string note = std::string(checkpoint_body) + "\n" + std::string(line) + "\n";
  if (Status s = sunledger::verify_cosignature(note, vkey, &time); !s.is_ok()) return s;
  return time;
}

}  // namespace sunledger::witness
