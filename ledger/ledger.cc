#include "ledger/ledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <system_error>
#include <thread>
#include <tuple>

#include "ledger/identity.h"
#include "ledger/leaf_fields.h"
#include "ledger/merkle.h"
#include "ledger/names.h"
#include "ledger/wal_checkpointer.h"

namespace sunledger {

using nlohmann::json;

namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr size_t kMaxTextField = 500;

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logs(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " size INTEGER NOT NULL DEFAULT 0, frontier BLOB NOT NULL DEFAULT x'', checkpoint TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS villages(id TEXT PRIMARY KEY, name TEXT NOT NULL, town TEXT NOT NULL,"
    " log_id INTEGER NOT NULL UNIQUE REFERENCES logs(id))",
    "CREATE TABLE IF NOT EXISTS entries(log_id INTEGER NOT NULL REFERENCES logs(id), idx INTEGER NOT NULL,"
    " kind TEXT NOT NULL, month TEXT, leaf BLOB NOT NULL, PRIMARY KEY(log_id, idx)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS entries_by_month ON entries(log_id, month)",
    "CREATE TABLE IF NOT EXISTS nodes(log_id INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " hash BLOB NOT NULL, PRIMARY KEY(log_id, level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS projects(log_id INTEGER NOT NULL REFERENCES logs(id), name TEXT NOT NULL,"
    " approved INTEGER NOT NULL, special INTEGER NOT NULL, entry_idx INTEGER NOT NULL, PRIMARY KEY(log_id, name))",
    "CREATE TABLE IF NOT EXISTS finished_projects(log_id INTEGER NOT NULL REFERENCES logs(id), name TEXT NOT NULL,"
    " entry_idx INTEGER NOT NULL, PRIMARY KEY(log_id, name))",
    "CREATE TABLE IF NOT EXISTS reversals(log_id INTEGER NOT NULL REFERENCES logs(id), target_idx INTEGER NOT NULL,"
    " reversal_idx INTEGER NOT NULL, PRIMARY KEY(log_id, target_idx))",
    // Running totals of every month's income and expense lines (net of
    // reversals), so a post can answer with the month so far in O(1).
    // Derived from the entries; `verify` recomputes and compares them.
    "CREATE TABLE IF NOT EXISTS month_totals(log_id INTEGER NOT NULL REFERENCES logs(id), month TEXT NOT NULL,"
    " income INTEGER NOT NULL, expense INTEGER NOT NULL, PRIMARY KEY(log_id, month)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS month_closes(log_id INTEGER NOT NULL REFERENCES logs(id), month TEXT NOT NULL,"
    " statement_idx INTEGER NOT NULL, tree_size INTEGER NOT NULL, checkpoint TEXT NOT NULL,"
    " PRIMARY KEY(log_id, month))",
};

// A second line of defence behind the hashes: the ledger's own tables refuse
// edits and deletions, so a careless UPDATE fails loudly. Someone who drops
// these triggers is caught by `verify`.
const char* kAppendOnlyTables[] = {"entries", "nodes", "projects", "finished_projects", "reversals", "month_closes"};

Status from_sqlite(const SQLite::Exception& e, const std::string& what) {
  int code = e.getErrorCode();
  if (code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_BUSY || code == SQLITE_LOCKED ||
      code == SQLITE_READONLY || code == SQLITE_CANTOPEN)
    return unavailable("存储暂时不可用,请稍后再试 (storage unavailable: " + what + ": " + e.what() + ")");
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return data_loss(what + ": database is corrupt: " + e.what());
  return internal_error(what + ": " + e.what());
}

bool valid_utf8_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 1 && (c < 0x20 || c == 0x7F)) return false;  // no control characters in a field
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

Status check_text(const std::string& value, const char* zh, const char* en, bool required, size_t max = kMaxTextField) {
  if (required && value.empty())
    return invalid_argument(std::string(zh) + "不能为空 (" + en + " is required)");
  if (value.size() > max)
    return invalid_argument(std::string(zh) + "太长,最多" + std::to_string(max) + "字节 (" + en + " is too long)");
  if (!valid_utf8_text(value))
    return invalid_argument(std::string(zh) + "含有无效字符 (" + en + " has invalid characters)");
  // Signed entries are public and permanent: an identity number typed into
  // any text of them could never be taken back. The error does not repeat it.
  if (looks_like_resident_id(value))
    return invalid_argument("“" + std::string(zh) + "”一栏像是身份证号,身份证号不能写进账目 (the " + en +
                            " looks like an identity number, which must not go into the books)");
  return Status::ok();
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 40) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return id.front() != '-';
}

// The signed registry of villages: one entry per village with its name and
// town, so that verify can check the villages table (a town decides which
// inspectors see a village; a name, which village "账目 双江村" answers for).
constexpr const char* kVillagesLog = "villages";


json village_registration(const Village& v) {
  return {{"kind", "village"}, {"village", v.id}, {"name", v.name}, {"town", v.town}};
}
const Author kRegistrar{"sunledger", "system", "registry"};

Status ensure_private_file(const std::string& path) {
  // SQLite gives the -wal and -shm files the main file's mode, so creating
  // the database 0600 keeps all three private.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot create database file " + path);
  ::close(fd);
  return Status::ok();
}

void configure(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=ON");
}

}  // namespace

// ---------------------------------------------------------------------------
// Validation and canonical bytes

// The names of a line in NFC, or the first one that could impersonate another.
Status normalize_names(TransactionLine& line) {
  struct Field {
    std::string* value;
    const char* zh;
    const char* en;
  };
  for (const Field& f : {Field{&line.category, "类别", "category"}, Field{&line.project, "项目", "project"},
                         Field{&line.fund, "资金来源", "fund"}, Field{&line.counterparty, "对方", "counterparty"}}) {
    auto n = normalize_name(*f.value, f.zh, f.en);
    if (!n.is_ok()) return n.status();
    *f.value = std::move(*n);
  }
  return Status::ok();
}

// reserved: the logs of upper modules (Options::reserved_log_names); the
// ledger's own registry is never a village either.
Status validate_village(const Village& v, const std::set<std::string>& reserved) {
  if (!valid_id(v.id) || v.id == kVillagesLog || reserved.count(v.id))
    return invalid_argument("村编号“" + v.id + "”无效,只能用小写字母、数字和连字符 (village id must be [a-z0-9-], at most 40)");
  if (auto s = check_text(v.name, "村名", "village name", true, 100); !s.is_ok()) return s;
  return check_text(v.town, "乡镇", "town", true, 100);
}

Status validate_transaction(const TransactionLine& line) {
  auto d = parse_date(line.date);
  if (!d.is_ok()) return d.status();
  if (auto s = check_text(line.category, "类别", "category", true, 64); !s.is_ok()) return s;
  if (auto s = check_text(line.item, "摘要", "item", true, 200); !s.is_ok()) return s;
  if (auto s = check_text(line.project, "项目", "project", false, 100); !s.is_ok()) return s;
  if (auto s = check_text(line.fund, "资金来源", "fund", false, 100); !s.is_ok()) return s;
  if (auto s = check_text(line.counterparty, "对方", "counterparty", false, 200); !s.is_ok()) return s;
  if (auto s = check_text(line.note, "备注", "note", false); !s.is_ok()) return s;
  if (line.amount <= 0) return invalid_argument("金额必须大于零 (amount must be positive)");
  if (line.amount > kMaxAmountFen) return invalid_argument("金额过大,超过1亿元 (amount larger than 100,000,000 yuan)");
  return Status::ok();
}

Status validate_project(const ProjectRegistration& p) {
  if (auto s = check_text(p.name, "项目名称", "project name", true, 100); !s.is_ok()) return s;
  if (p.name.find(' ') != std::string::npos)
    return invalid_argument("项目名称不能含空格 (project name must not contain spaces)");
  if (p.approved <= 0 || p.approved > kMaxAmountFen)
    return invalid_argument("批复金额必须大于零且不超过1亿元 (approved budget must be positive and at most 100,000,000 yuan)");
  return Status::ok();
}

Status validate_subsidy(const SubsidyLine& s) {
  if (auto st = check_text(s.program, "补助类别", "program", true, 64); !st.is_ok()) return st;
  if (auto st = check_text(s.name_masked, "姓名", "name", true, 64); !st.is_ok()) return st;
  if (auto st = check_text(s.id_masked, "身份证号", "identity number", true, 32); !st.is_ok()) return st;
  if (s.id_hash.size() != 64) return invalid_argument("身份证号摘要无效 (identity hash must be 64 hex digits)");
  if (s.amount <= 0 || s.amount > kMaxAmountFen) return invalid_argument("金额必须大于零 (amount must be positive)");
  if (s.persons < 1 || s.persons > 50) return invalid_argument("人数应在1到50之间 (persons must be 1 to 50)");
  return Status::ok();
}

Result<std::string> canonical_json(const json& value) {
  try {
    // nlohmann::json keeps object keys in a std::map, so keys come out sorted
    // by their UTF-8 bytes; dump() without indent adds no whitespace.
    return value.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return invalid_argument(std::string("文本不是有效的UTF-8 (text is not valid UTF-8): ") + e.what());
  }
}

// ---------------------------------------------------------------------------
// Connections

class Ledger::StatementCache {
 public:
  explicit StatementCache(SQLite::Database* db) : db_(db) {}
  SQLite::Statement& get(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<SQLite::Statement>(*db_, sql)).first;
    it->second->reset();
    it->second->clearBindings();
    return *it->second;
  }
  // A stepped but unreset SELECT keeps its read snapshot open past COMMIT,
  // and the next BEGIN IMMEDIATE then fails with SQLITE_BUSY_SNAPSHOT once
  // another process has written; so every write ends by resetting them all.
  void reset_all() {
    for (auto& [sql, stmt] : cache_) stmt->reset();
  }

 private:
  SQLite::Database* db_;
  std::map<const char*, std::unique_ptr<SQLite::Statement>> cache_;
};

// A pooled read-only connection with its own prepared statements; returned to
// the pool when it goes out of scope.
struct Ledger::PooledReader {
  std::unique_ptr<SQLite::Database> db;
  std::unique_ptr<StatementCache> statements;
};

class Ledger::ReadConnection {
 public:
  ReadConnection(Ledger* ledger, std::unique_ptr<PooledReader> r) : ledger_(ledger), r_(std::move(r)) {}
  ReadConnection(ReadConnection&&) = default;
  ~ReadConnection() {
    if (!r_) return;
    r_->statements->reset_all();
    std::lock_guard<std::mutex> lock(ledger_->pool_mu_);
    ledger_->readers_.push_back(std::move(r_));
  }
  SQLite::Database& db() { return *r_->db; }
  SQLite::Statement& stmt(const char* sql) { return r_->statements->get(sql); }

 private:
  Ledger* ledger_;
  std::unique_ptr<PooledReader> r_;
};

Ledger::ReadConnection Ledger::read() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return ReadConnection(this, std::move(r));
    }
  }
  auto r = std::make_unique<PooledReader>();
  r->db = std::make_unique<SQLite::Database>(options_.db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
  r->statements = std::make_unique<StatementCache>(r->db.get());
  return ReadConnection(this, std::move(r));
}

namespace {

// Subtree hashes straight from the nodes table, one prepared statement reused
// for the O(log n) look-ups of a proof.
class SqliteSubtreeSource final : public SubtreeHashSource {
 public:
  SqliteSubtreeSource(SQLite::Statement& q, int64_t log_id) : q_(q), log_id_(log_id) {}
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    q_.reset();
    q_.bind(1, log_id_);
    q_.bind(2, level);
    q_.bind(3, static_cast<int64_t>(index));
    if (!q_.executeStep()) return data_loss("missing subtree hash at level " + std::to_string(level) + " index " + std::to_string(index));
    auto col = q_.getColumn(0);
    if (col.getBytes() != 32) return data_loss("malformed subtree hash");
    Hash h{};
    std::memcpy(h.data(), col.getBlob(), 32);
    return h;
  }

 private:
  SQLite::Statement& q_;
  int64_t log_id_;
};

constexpr const char* kNodeQuery = "SELECT hash FROM nodes WHERE log_id=? AND level=? AND idx=?";

struct LogRow {
  int64_t id = 0;
  uint64_t size = 0;
};

Result<LogRow> find_log(SQLite::Statement& q, const std::string& name) {
  q.bind(1, name);
  if (!q.executeStep()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
  LogRow row{q.getColumn(0).getInt64(), static_cast<uint64_t>(q.getColumn(1).getInt64())};
  q.reset();
  return row;
}

constexpr const char* kFindLog = "SELECT id, size FROM logs WHERE name=?";

Entry entry_from_row(uint64_t idx, const void* blob, int bytes) {
  Entry e;
  e.index = idx;
  e.leaf.assign(static_cast<const char*>(blob), static_cast<size_t>(bytes));
  e.fields = json::parse(e.leaf, nullptr, false);
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------
// WriteTxn

struct WriteTxn::LogState {
  int64_t id = 0;
  std::string name;
  CompactRange range;
  bool touched = false;
};

WriteTxn::WriteTxn(Ledger* ledger, SQLite::Database* db, int64_t now) : ledger_(ledger), db_(db), now_(now) {}
WriteTxn::~WriteTxn() = default;

SQLite::Database& WriteTxn::db() { return *db_; }
SQLite::Statement& WriteTxn::statement(const char* sql) { return ledger_->writer_statements_->get(sql); }

WriteTxn::Snapshot WriteTxn::snapshot() const {
  Snapshot snap;
  snap.log_count = logs_.size();
  for (const auto& l : logs_) snap.states.push_back({l->range, l->touched});
  return snap;
}

void WriteTxn::restore(Snapshot snap) {
  logs_.resize(snap.log_count);
  for (size_t i = 0; i < snap.log_count; ++i) {
    logs_[i]->range = std::move(snap.states[i].first);
    logs_[i]->touched = snap.states[i].second;
  }
}

Result<uint64_t> WriteTxn::log_size(const std::string& log_name) {
  for (auto& l : logs_)
    if (l->name == log_name) return l->range.size();
  try {
    SQLite::Statement q(*db_, "SELECT size FROM logs WHERE name=?");
    q.bind(1, log_name);
    return q.executeStep() ? static_cast<uint64_t>(q.getColumn(0).getInt64()) : uint64_t{0};
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "log size");
  }
}

Result<WriteTxn::LogState*> WriteTxn::log_for(const std::string& name) {
  for (auto& l : logs_)
    if (l->name == name) return l.get();
  auto& q = ledger_->writer_statements_->get("SELECT id, size, frontier, checkpoint FROM logs WHERE name=?");
  q.bind(1, name);
  if (!q.executeStep()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
  auto state = std::make_unique<LogState>();
  state->id = q.getColumn(0).getInt64();
  state->name = name;
  uint64_t size = static_cast<uint64_t>(q.getColumn(1).getInt64());
  auto frontier_col = q.getColumn(2);
  std::string frontier(static_cast<const char*>(frontier_col.getBlob()), static_cast<size_t>(frontier_col.getBytes()));
  std::string note = q.getColumn(3).getString();
  auto range = CompactRange::decode(size, frontier);
  if (!range.is_ok()) return range.status();
  // Never sign a checkpoint inconsistent with the last one: the tree we are
  // about to extend must be exactly the tree the last checkpoint signed.
  if (!note.empty()) {
    auto trusted = ledger_->trusted_notes_.find(name);
    Result<Checkpoint> cp = invalid_argument("unverified");
    if (trusted != ledger_->trusted_notes_.end() && trusted->second == note) {
      // Signed by us before: parsing suffices, the signature needs no check.
      Checkpoint parsed;
      size_t a = note.find('\n'), b = note.find('\n', a + 1), c = note.find('\n', b + 1);
      parsed.size = std::stoull(note.substr(a + 1, b - a - 1));
      auto root = hash_from_base64(note.substr(b + 1, c - b - 1));
      if (root.is_ok()) parsed.root = *root;
      cp = parsed;
    } else {
      cp = open_checkpoint(note, ledger_->verifier_key());
      if (cp.is_ok()) ledger_->trusted_notes_[name] = note;
    }
    if (!cp.is_ok() || cp->size != size || cp->root != range->root())
      return data_loss("日志“" + name + "”的存储状态与上次签名不一致,拒绝写入,请运行 sunledger verify (log state does not match its last checkpoint; run sunledger verify)");
  }
  state->range = std::move(*range);
  logs_.push_back(std::move(state));
  return logs_.back().get();
}

Result<uint64_t> WriteTxn::append(LogState* log, json fields, const Author& author, bool day_resolution) {
  if (std::string failure = ledger_->integrity_failure(); !failure.empty())
    return data_loss("账本未通过核验,暂停记账,请联系乡镇管理员。(the ledger failed verification; writes are refused: " + failure + ")");
  fields["author"] = {{"id", author.id}, {"role", author.role}, {"channel", author.channel}};
  // Day resolution: the local midnight of the day (the deployment's UTC offset).
  int64_t offset = int64_t{ledger_->utc_offset_minutes()} * 60;
  fields["recorded_at"] = utc_timestamp(day_resolution ? now_ - (((now_ + offset) % 86400) + 86400) % 86400 : now_);
  auto leaf = canonical_json(fields);
  if (!leaf.is_ok()) return leaf.status();
  uint64_t index = log->range.size();
  auto created = log->range.append(merkle_leaf_hash(*leaf));
  auto& ins = ledger_->writer_statements_->get("INSERT INTO entries(log_id, idx, kind, month, leaf) VALUES(?,?,?,?,?)");
  ins.bind(1, log->id);
  ins.bind(2, static_cast<int64_t>(index));
  ins.bind(3, entry_string(fields, "kind"));
  std::string month = entry_string(fields, "month");
  if (month.empty()) ins.bind(4);
  else ins.bind(4, month);
  ins.bind(5, leaf->data(), static_cast<int>(leaf->size()));
  ins.exec();
  for (const auto& n : created) {
    auto& node = ledger_->writer_statements_->get("INSERT INTO nodes(log_id, level, idx, hash) VALUES(?,?,?,?)");
    node.bind(1, log->id);
    node.bind(2, n.level);
    node.bind(3, static_cast<int64_t>(n.index));
    node.bind(4, n.hash.data(), 32);
    node.exec();
  }
  log->touched = true;
  return index;
}

Status WriteTxn::finish() {
  for (auto& log : logs_) {
    if (!log->touched) continue;
    Checkpoint cp{ledger_->origin() + "/" + log->name, log->range.size(), log->range.root()};
    auto note = sign_checkpoint(cp, ledger_->signer());
    if (!note.is_ok()) return note.status();
    ledger_->trusted_notes_[log->name] = *note;
    signed_[log->name] = *note;
    auto& up = ledger_->writer_statements_->get("UPDATE logs SET size=?, frontier=?, checkpoint=? WHERE id=?");
    std::string frontier = log->range.encode();
    up.bind(1, static_cast<int64_t>(log->range.size()));
    up.bind(2, frontier.data(), static_cast<int>(frontier.size()));
    up.bind(3, *note);
    up.bind(4, log->id);
    up.exec();
  }
  return Status::ok();
}

namespace {

std::optional<std::string> last_closed(SQLite::Statement& q, int64_t log_id) {
  q.bind(1, log_id);
  std::optional<std::string> out;
  if (q.executeStep() && !q.getColumn(0).isNull()) out = q.getColumn(0).getString();
  q.reset();
  return out;
}

std::optional<std::string> last_closed(SQLite::Database& db, int64_t log_id) {
  SQLite::Statement q(db, "SELECT max(month) FROM month_closes WHERE log_id=?");
  return last_closed(q, log_id);
}

constexpr const char* kLastClosed = "SELECT max(month) FROM month_closes WHERE log_id=?";

// Adds to a month's running totals inside the write.
void add_month_totals(SQLite::Statement& q, int64_t log_id, const std::string& month, Fen income, Fen expense) {
  q.bind(1, log_id);
  q.bind(2, month);
  q.bind(3, income);
  q.bind(4, expense);
  q.exec();
  q.reset();
}

constexpr const char* kAddMonthTotals =
    "INSERT INTO month_totals(log_id, month, income, expense) VALUES(?,?,?,?) "
    "ON CONFLICT(log_id, month) DO UPDATE SET income=income+excluded.income, expense=expense+excluded.expense";

Status check_month_open(const std::optional<std::string>& closed, const std::string& month, const std::string& current) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  if (month > current)
    return invalid_argument("不能记入未来的月份 " + month + " (cannot book into a future month)");
  if (closed && month <= *closed)
    return failed_precondition(month + " 的账目已经公开结账,不能再记入;更正请用冲销 (month " + month +
                               " is closed; corrections are reversals in the open month)");
  return Status::ok();
}

}  // namespace

Result<std::vector<uint64_t>> WriteTxn::post_transactions(const std::string& village,
                                                          const std::vector<TransactionLine>& given,
                                                          const Author& author) {
  if (given.empty()) return invalid_argument("没有要记的账目 (no entries given)");
  std::vector<TransactionLine> lines = given;  // names normalised below
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  std::string current = ledger_->current_month();
  auto closed = last_closed(statement(kLastClosed), (*log)->id);
  std::vector<std::string> errors;
  std::set<Code> error_codes;
  std::map<std::string, bool> known_projects;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    int where = line.source_line > 0 ? line.source_line : static_cast<int>(i + 1);
    std::string prefix = "第" + std::to_string(where) + "行: ";
    Status s = normalize_names(lines[i]);
    if (s.is_ok()) s = validate_transaction(line);
    if (s.is_ok()) s = check_month_open(closed, line.date.substr(0, 7), current);
    if (s.is_ok() && !line.project.empty()) {
      auto it = known_projects.find(line.project);
      if (it == known_projects.end()) {
        auto& q = statement("SELECT 1 FROM projects WHERE log_id=? AND name=?");
        q.bind(1, (*log)->id);
        q.bind(2, line.project);
        it = known_projects.emplace(line.project, q.executeStep()).first;
        q.reset();
      }
      if (!it->second)
        s = invalid_argument("项目“" + line.project + "”尚未立项,请先立项 (unknown project; register it first)");
    }
    if (!s.is_ok()) {
      errors.push_back(prefix + s.message());
      error_codes.insert(s.code());
    }
  }
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + e;
    // One kind of problem keeps its code (a closed month is a state, not a typo).
    return Status(error_codes.size() == 1 ? *error_codes.begin() : Code::kInvalidArgument, joined);
  }
  std::vector<uint64_t> indexes;
  for (const auto& line : lines) {
    json f = {{"kind", "txn"},
              {"village", village},
              {"date", line.date},
              {"month", line.date.substr(0, 7)},
              {"direction", line.income ? "income" : "expense"},
              {"category", line.category},
              {"item", line.item},
              {"amount", line.amount},
              {"project", line.project},
              {"fund", line.fund},
              {"counterparty", line.counterparty},
              {"note", line.note}};
    auto idx = append(*log, std::move(f), author);
    if (!idx.is_ok()) return idx.status();
    indexes.push_back(*idx);
    add_month_totals(statement(kAddMonthTotals), (*log)->id, line.date.substr(0, 7), line.income ? line.amount : 0,
                     line.income ? 0 : line.amount);
  }
  return indexes;
}

Result<MonthTotals> WriteTxn::month_totals(const std::string& log_name, const std::string& month) {
  auto log = log_for(log_name);
  if (!log.is_ok()) return log.status();
  auto& q = statement("SELECT income, expense FROM month_totals WHERE log_id=? AND month=?");
  q.bind(1, (*log)->id);
  q.bind(2, month);
  MonthTotals t;
  if (q.executeStep()) t = {q.getColumn(0).getInt64(), q.getColumn(1).getInt64()};
  q.reset();
  return t;
}

Result<uint64_t> WriteTxn::register_project(const std::string& village, const ProjectRegistration& given,
                                            const Author& author) {
  ProjectRegistration p = given;
  auto name = normalize_name(p.name, "项目名称", "project name");
  if (!name.is_ok()) return name.status();
  p.name = *name;
  if (auto s = validate_project(p); !s.is_ok()) return s;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  SQLite::Statement q(*db_, "SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, p.name);
  if (q.executeStep()) return already_exists("项目“" + p.name + "”已经立项 (project already registered)");
  json f = {{"kind", "project"}, {"village", village}, {"name", p.name}, {"approved", p.approved}, {"special", p.special}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO projects(log_id, name, approved, special, entry_idx) VALUES(?,?,?,?,?)");
  ins.bind(1, (*log)->id);
  ins.bind(2, p.name);
  ins.bind(3, p.approved);
  ins.bind(4, p.special ? 1 : 0);
  ins.bind(5, static_cast<int64_t>(*idx));
  ins.exec();
  return *idx;
}

Result<std::vector<uint64_t>> WriteTxn::post_subsidies(const std::string& village, const std::string& month,
                                                       const std::vector<SubsidyLine>& lines, const Author& author) {
  if (lines.empty()) return invalid_argument("名单为空 (the list is empty)");
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  if (auto s = check_month_open(last_closed(*db_, (*log)->id), month, ledger_->current_month()); !s.is_ok()) return s;
  for (size_t i = 0; i < lines.size(); ++i)
    if (auto s = validate_subsidy(lines[i]); !s.is_ok())
      return invalid_argument("第" + std::to_string(i + 1) + "行: " + s.message());
  std::vector<uint64_t> indexes;
  for (const auto& l : lines) {
    json f = {{"kind", "subsidy"},       {"village", village},     {"month", month},
              {"program", l.program},    {"name_masked", l.name_masked}, {"id_masked", l.id_masked},
              {"id_hash", l.id_hash},    {"amount", l.amount},     {"persons", l.persons}};
    auto idx = append(*log, std::move(f), author);
    if (!idx.is_ok()) return idx.status();
    indexes.push_back(*idx);
  }
  return indexes;
}

Result<uint64_t> WriteTxn::reverse(const std::string& village, uint64_t target, const std::string& reason,
                                   const Author& author) {
  if (auto s = check_text(reason, "冲销原因", "reason", true, 200); !s.is_ok()) return s;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  int64_t log_id = (*log)->id;
  SQLite::Statement q(*db_, "SELECT leaf FROM entries WHERE log_id=? AND idx=?");
  q.bind(1, log_id);
  q.bind(2, static_cast<int64_t>(target));
  if (!q.executeStep()) return not_found("没有第" + std::to_string(target) + "条账目 (no entry #" + std::to_string(target) + ")");
  auto col = q.getColumn(0);
  json original = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  std::string kind = entry_string(original, "kind");
  if (kind != "txn" && kind != "subsidy")
    return failed_precondition("第" + std::to_string(target) + "条不是收支或补助记录,不能冲销 (only income, expense and subsidy lines can be reversed)");
  SQLite::Statement r(*db_, "SELECT reversal_idx FROM reversals WHERE log_id=? AND target_idx=?");
  r.bind(1, log_id);
  r.bind(2, static_cast<int64_t>(target));
  if (r.executeStep())
    return already_exists("第" + std::to_string(target) + "条已被第" + std::to_string(r.getColumn(0).getInt64()) +
                          "条冲销 (already reversed)");
  std::string target_month = entry_string(original, "month");
  auto closed = last_closed(*db_, log_id);
  bool target_closed = closed && target_month <= *closed;
  std::string month = target_month;
  if (target_closed) {
    month = std::max(ledger_->current_month(), next_month(*closed));
  }
  json f = {{"kind", "reversal"},
            {"village", village},
            {"month", month},
            {"target", target},
            {"target_kind", kind},
            {"target_month", target_month},
            {"target_closed", target_closed},
            {"reason", reason},
            {"direction", kind == "txn" ? entry_string(original, "direction") : "expense"},
            {"category", kind == "txn" ? entry_string(original, "category") : entry_string(original, "program")},
            {"project", entry_string(original, "project")},
            {"fund", entry_string(original, "fund")},
            {"amount", entry_fen(original, "amount")}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO reversals(log_id, target_idx, reversal_idx) VALUES(?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, static_cast<int64_t>(target));
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  if (kind == "txn") {
    bool income = entry_string(original, "direction") == "income";
    Fen amount = entry_fen(original, "amount");
    add_month_totals(statement(kAddMonthTotals), log_id, month, income ? -amount : 0, income ? 0 : -amount);
  }
  return *idx;
}

Result<uint64_t> WriteTxn::finish_project(const std::string& village, const std::string& given_name, const Author& author) {
  auto normalized = normalize_name(given_name, "项目名称", "project name");
  if (!normalized.is_ok()) return normalized.status();
  const std::string& name = *normalized;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  auto& q = statement("SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, name);
  bool exists = q.executeStep();
  q.reset();
  if (!exists) return not_found("没有名为“" + name + "”的项目 (no such project)");
  auto& f = statement("SELECT 1 FROM finished_projects WHERE log_id=? AND name=?");
  f.bind(1, (*log)->id);
  f.bind(2, name);
  bool done = f.executeStep();
  f.reset();
  if (done) return already_exists("项目“" + name + "”已经结项 (project already finished)");
  auto idx = append(*log, json{{"kind", "project_finished"}, {"village", village}, {"name", name}}, author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO finished_projects(log_id, name, entry_idx) VALUES(?,?,?)");
  ins.bind(1, (*log)->id);
  ins.bind(2, name);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  return *idx;
}

namespace {

// A month's statement, added up from the month's entries in log order: what
// close_month signs, and what verify recomputes to check what was signed.
struct StatementBuilder {
  Fen income = 0, expense = 0, subsidy_total = 0;
  json income_by_category = json::object(), expense_by_category = json::object(), by_project = json::object();
  json fund_changes = json::object();
  int64_t count = 0, subsidy_lines = 0, reversal_count = 0;
  int64_t first_index = -1, last_index = -1;
  bool overflow = false;

  static bool add_to(json& obj, const std::string& key, Fen delta) {
    Fen cur = obj.contains(key) ? obj[key].get<Fen>() : 0;
    Fen next = 0;
    if (!checked_add(cur, delta, &next)) return false;
    obj[key] = next;
    return true;
  }

  void add(int64_t idx, const json& e) {
    add(idx, entry_string(e, "kind"), entry_fen(e, "amount"), entry_string(e, "target_kind"), entry_string(e, "direction"),
        entry_string(e, "fund"), entry_string(e, "category"), entry_string(e, "project"));
  }
  // The fields add() reads, for a caller that has them without a document (verify).
  void add(int64_t idx, std::string_view kind, Fen amount, std::string_view target_kind, std::string_view direction,
           std::string_view fund_field, std::string_view category, std::string_view project) {
    if (first_index < 0) first_index = idx;
    last_index = idx;
    ++count;
    if (kind == "subsidy") {
      ++subsidy_lines;
      overflow |= !checked_add(subsidy_total, amount, &subsidy_total);
      return;
    }
    bool is_reversal = kind == "reversal";
    if (is_reversal) {
      ++reversal_count;
      if (target_kind == "subsidy") {
        overflow |= !checked_add(subsidy_total, -amount, &subsidy_total);
        return;
      }
    }
    Fen signed_amount = is_reversal ? -amount : amount;
    bool is_income = direction == "income";
    std::string fund = fund_field.empty() ? std::string("一般资金") : std::string(fund_field);
    if (is_income) {
      overflow |= !checked_add(income, signed_amount, &income);
      overflow |= !add_to(income_by_category, std::string(category), signed_amount);
      overflow |= !add_to(fund_changes, fund, signed_amount);
    } else {
      overflow |= !checked_add(expense, signed_amount, &expense);
      overflow |= !add_to(expense_by_category, std::string(category), signed_amount);
      overflow |= !add_to(fund_changes, fund, -signed_amount);
    }
    if (!project.empty()) {
      std::string p(project);
      if (!by_project.contains(p)) by_project[p] = {{"income", 0}, {"expense", 0}};
      overflow |= !add_to(by_project[p], is_income ? "income" : "expense", signed_amount);
    }
  }

  // previous: the fields of the month closed before (null for the first).
  Result<json> statement(const std::string& village, const std::string& month, const json& previous) const {
    Fen opening = previous.is_object() ? entry_fen(previous, "closing") : 0;
    json fund_balances = previous.is_object() && previous.contains("fund_balances") ? previous["fund_balances"] : json::object();
    bool over = overflow;
    for (const auto& [fund, change] : fund_changes.items()) over |= !add_to(fund_balances, fund, change.get<Fen>());
    Fen closing = 0;
    over |= !checked_add(opening, income, &closing) || !checked_add(closing, -expense, &closing);
    if (over) return invalid_argument("金额合计溢出 (totals overflow)");
    return json{{"kind", "statement"},
                {"village", village},
                {"month", month},
                {"opening", opening},
                {"income_total", income},
                {"expense_total", expense},
                {"closing", closing},
                {"income_by_category", income_by_category},
                {"expense_by_category", expense_by_category},
                {"by_project", by_project},
                {"fund_balances", fund_balances},
                {"subsidy_total", subsidy_total},
                {"subsidy_lines", subsidy_lines},
                {"reversals", reversal_count},
                {"entry_count", count},
                {"first_index", first_index},
                {"last_index", last_index}};
  }
};

}  // namespace

Result<uint64_t> WriteTxn::close_month(const std::string& village, const std::string& month, const Author& author,
                                        MonthClose* close) {
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  int64_t log_id = (*log)->id;
  auto closed = last_closed(*db_, log_id);
  if (auto s = check_month_open(closed, month, ledger_->current_month()); !s.is_ok()) return s;
  {
    // Months close in order: an earlier month with open entries must be
    // published first, or its entries would never reach a statement.
    SQLite::Statement q(*db_,
                        "SELECT min(month) FROM entries WHERE log_id=? AND month < ? AND month > ? AND kind != 'statement'");
    q.bind(1, log_id);
    q.bind(2, month);
    q.bind(3, closed.value_or(""));
    if (q.executeStep() && !q.getColumn(0).isNull()) {
      std::string earlier = q.getColumn(0).getString();
      return failed_precondition("请先公开 " + earlier + " 的账目 (close " + earlier + " first)");
    }
  }
  json previous;
  if (closed) {
    SQLite::Statement q(*db_,
                        "SELECT e.leaf FROM month_closes m JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx "
                        "WHERE m.log_id=? AND m.month=?");
    q.bind(1, log_id);
    q.bind(2, *closed);
    if (q.executeStep()) {
      auto col = q.getColumn(0);
      previous = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
    }
  }
  StatementBuilder month_so_far;
  // INDEXED BY: without statistics SQLite prefers walking the whole log in
  // primary-key order to sorting one month's rows, which made every query
  // slower as the current month grew.
  SQLite::Statement q(*db_,
                      "SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? AND kind != 'statement' "
                      "ORDER BY idx");
  q.bind(1, log_id);
  q.bind(2, month);
  while (q.executeStep()) {
    auto col = q.getColumn(1);
    month_so_far.add(q.getColumn(0).getInt64(),
                     json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false));
  }
  auto f = month_so_far.statement(village, month, previous);
  if (!f.is_ok()) return f.status();
  auto idx = append(*log, std::move(*f), author);
  if (!idx.is_ok()) return idx.status();
  // The month's own checkpoint ends exactly at its statement, whatever else
  // this transaction appends afterwards; it is what the monthly notice cites.
  Checkpoint cp{ledger_->origin() + "/" + (*log)->name, (*log)->range.size(), (*log)->range.root()};
  auto note = sign_checkpoint(cp, ledger_->signer());
  if (!note.is_ok()) return note.status();
  SQLite::Statement ins(*db_, "INSERT INTO month_closes(log_id, month, statement_idx, tree_size, checkpoint) VALUES(?,?,?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, month);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.bind(4, static_cast<int64_t>(cp.size));
  ins.bind(5, *note);
  ins.exec();
  if (close != nullptr) {
    SQLite::Statement leaf(*db_, "SELECT leaf FROM entries WHERE log_id=? AND idx=?");
    leaf.bind(1, log_id);
    leaf.bind(2, static_cast<int64_t>(*idx));
    if (!leaf.executeStep()) return internal_error("statement entry not found after appending it");
    auto col = leaf.getColumn(0);
    close->month = month;
    close->statement_index = *idx;
    close->tree_size = cp.size;
    close->checkpoint = *note;
    close->statement =
        json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  }
  return *idx;
}

Result<uint64_t> WriteTxn::append_to_log(const std::string& log_name, const json& fields, const Author& author,
                                         bool day_resolution) {
  {
    SQLite::Statement q(*db_, "INSERT OR IGNORE INTO logs(name) VALUES(?)");
    q.bind(1, log_name);
    q.exec();
  }
  auto log = log_for(log_name);
  if (!log.is_ok()) return log.status();
  return append(*log, fields, author, day_resolution);
}

Result<std::string> WriteTxn::sign(std::string_view message) const { return ledger_->signer().sign(message); }

Status WriteTxn::register_existing_villages() {
  {
    SQLite::Statement q(*db_, "SELECT 1 FROM logs WHERE name=?");
    q.bind(1, kVillagesLog);
    if (q.executeStep()) return Status::ok();
  }
  std::vector<Village> villages;
  {
    SQLite::Statement q(*db_, "SELECT id, name, town FROM villages ORDER BY id");
    while (q.executeStep()) villages.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  }
  if (villages.empty() || !ledger_->signer().sign("").is_ok()) return Status::ok();
  for (const auto& v : villages) {
    json f = village_registration(v);
    f["imported"] = true;
    if (auto r = append_to_log(kVillagesLog, f, kRegistrar); !r.is_ok()) return r.status();
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------
// Ledger

Ledger::Ledger(const Options& options) : options_(options) {}
Ledger::~Ledger() = default;

int64_t Ledger::storage_memory_bytes() { return sqlite3_memory_used(); }

void Ledger::set_integrity_failure(const std::string& what) {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  integrity_failure_ = what;
}

std::string Ledger::integrity_failure() const {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  return integrity_failure_;
}

uint64_t Ledger::wal_checkpoints_done() const { return wal_checkpointer_ ? wal_checkpointer_->checkpoints_done() : 0; }

Status Ledger::initialize(const std::string& db_path, const std::string& origin, int utc_offset_minutes) {
  if (utc_offset_minutes < -12 * 60 || utc_offset_minutes > 14 * 60)
    return invalid_argument("UTC offset must be between -720 and 840 minutes");
  if (origin.empty() || origin.find_first_of(" \t\n+") != std::string::npos)
    return invalid_argument("origin must be non-empty, without spaces or '+' (for example lukou.zhuzhou.gov.cn/sunledger)");
  if (auto s = ensure_private_file(db_path); !s.is_ok()) return s;
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
    configure(db);
    SQLite::Transaction t(db, SQLite::TransactionBehavior::IMMEDIATE);
    for (const char* sql : kSchema) db.exec(sql);
    for (const char* table : kAppendOnlyTables) {
      std::string t1 = table;
      db.exec("CREATE TRIGGER IF NOT EXISTS " + t1 + "_no_update BEFORE UPDATE ON " + t1 +
              " BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END");
      db.exec("CREATE TRIGGER IF NOT EXISTS " + t1 + "_no_delete BEFORE DELETE ON " + t1 +
              " BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END");
    }
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key='origin'");
    if (q.executeStep()) {
      if (q.getColumn(0).getString() != origin)
        return failed_precondition("database already belongs to origin " + q.getColumn(0).getString());
    } else {
      SQLite::Statement ins(db, "INSERT INTO meta(key, value) VALUES('origin', ?), ('utc_offset_minutes', ?)");
      ins.bind(1, origin);
      ins.bind(2, std::to_string(utc_offset_minutes));
      ins.exec();
    }
    t.commit();
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "initialize " + db_path);
  }
  return Status::ok();
}

Result<std::unique_ptr<Ledger>> Ledger::open(const Options& options) {
  if (options.clock == nullptr || options.signer == nullptr) return invalid_argument("a ledger needs a clock and a signer");
  std::unique_ptr<Ledger> ledger(new Ledger(options));
  try {
    struct stat st{};
    if (::stat(options.db_path.c_str(), &st) != 0)
      return not_found("no database at " + options.db_path + " (run `sunledger init` first)");
    ledger->writer_ = std::make_unique<SQLite::Database>(options.db_path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
    configure(*ledger->writer_);
    ledger->writer_statements_ = std::make_unique<StatementCache>(ledger->writer_.get());
    ledger->wal_checkpointer_ = std::make_unique<WalCheckpointer>();
    // Where it cannot start (a read-only file), SQLite's auto-checkpoint stays.
    ledger->wal_checkpointer_->start(ledger->writer_->getHandle(), options.db_path);
    SQLite::Statement q(*ledger->writer_, "SELECT value FROM meta WHERE key='origin'");
    if (!q.executeStep()) return failed_precondition("database has no origin (run `sunledger init` first)");
    ledger->origin_ = q.getColumn(0).getString();
    SQLite::Statement tz(*ledger->writer_, "SELECT value FROM meta WHERE key='utc_offset_minutes'");
    if (tz.executeStep()) ledger->options_.utc_offset_minutes = std::stoi(tz.getColumn(0).getString());
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "open " + options.db_path);
  }
  return ledger;
}

Result<std::string> Ledger::stored_origin(const std::string& db_path) {
  struct stat st{};
  if (::stat(db_path.c_str(), &st) != 0) return not_found("no database at " + db_path + " (run `sunledger init` first)");
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key='origin'");
    if (!q.executeStep()) return failed_precondition("database has no origin (run `sunledger init` first)");
    return q.getColumn(0).getString();
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "read origin");
  }
}

std::string Ledger::current_month() const {
  CivilDate d = local_date(options_.clock->now_unix_seconds(), options_.utc_offset_minutes);
  return format_month(d.year, d.month);
}

std::string Ledger::verifier_key() const {
  return sunledger::verifier_key(options_.signer->key_name(), options_.signer->public_key());
}

// Group commit, after LevelDB's DBImpl::Write: writers queue up; the one at
// the front leads, runs every queued writer's function in its own SAVEPOINT
// inside one transaction, signs one checkpoint per touched log and commits
// once. A durable commit costs one fsync (hundreds of microseconds on this
// machine), so concurrent writers share it instead of waiting in line, while
// each writer's changes still stand or fall alone.
struct Ledger::Writer {
  const std::function<Status(WriteTxn&)>* fn = nullptr;
  Status status;
  std::map<std::string, std::string> notes;
  bool done = false;
  std::condition_variable cv;
};

Status Ledger::write(const std::function<Status(WriteTxn&)>& fn, std::map<std::string, std::string>* signed_checkpoints) {
  Writer self;
  self.fn = &fn;
  std::unique_lock<std::mutex> lock(queue_mu_);
  writers_.push_back(&self);
  while (!self.done && &self != writers_.front()) self.cv.wait(lock);
  if (!self.done) {
    constexpr size_t kMaxBatch = 256;
    std::vector<Writer*> batch(writers_.begin(), writers_.begin() + static_cast<long>(std::min(writers_.size(), kMaxBatch)));
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (Writer* w : batch) {
      writers_.pop_front();
      w->done = true;
      if (w != &self) w->cv.notify_one();
    }
    if (!writers_.empty()) writers_.front()->cv.notify_one();
  }
  if (signed_checkpoints && self.status.is_ok()) *signed_checkpoints = std::move(self.notes);
  return self.status;
}

void Ledger::run_batch(const std::vector<Writer*>& batch) {
  struct ResetOnExit {
    StatementCache* cache;
    ~ResetOnExit() { cache->reset_all(); }
  } reset_on_exit{writer_statements_.get()};
  std::vector<Writer*> applied;
  try {
    SQLite::Transaction t(*writer_, SQLite::TransactionBehavior::IMMEDIATE);
    WriteTxn txn(this, writer_.get(), options_.clock->now_unix_seconds());
    for (Writer* w : batch) {
      auto snapshot = txn.snapshot();
      writer_->exec("SAVEPOINT writer");
      Status s;
      try {
        s = (*w->fn)(txn);
      } catch (const SQLite::Exception& e) {
        s = from_sqlite(e, "write");
      } catch (const json::exception& e) {
        s = internal_error(std::string("json: ") + e.what());
      } catch (const std::exception& e) {
        // Whatever a writer throws must not escape the leader: the writers
        // queued behind it would wait for ever.
        s = internal_error(std::string("write failed: ") + e.what());
      }
      writer_statements_->reset_all();
      if (!s.is_ok()) {
        writer_->exec("ROLLBACK TO writer");
        txn.restore(std::move(snapshot));
      } else {
        applied.push_back(w);
      }
      writer_->exec("RELEASE writer");
      w->status = s;
    }
    if (applied.empty()) return;  // the Transaction destructor rolls back
    Status s = txn.finish();
    if (s.is_ok()) {
      t.commit();  // synchronous=FULL: durable when this returns
      for (Writer* w : applied) w->notes = txn.signed_;
      return;
    }
    for (Writer* w : applied) w->status = s;
  } catch (const SQLite::Exception& e) {
    // The shared transaction failed (BEGIN, SAVEPOINT or COMMIT): nothing of
    // the batch was written, so every writer not already refused hears why.
    for (Writer* w : batch)
      if (w->status.is_ok()) w->status = from_sqlite(e, "write");
  } catch (const std::exception& e) {
    for (Writer* w : batch)
      if (w->status.is_ok()) w->status = internal_error(std::string("write failed: ") + e.what());
  }
}

Status Ledger::add_village(const Village& given) {
  Village v = given;
  for (auto [field, zh, en] : {std::tuple{&v.name, "村名", "village name"}, std::tuple{&v.town, "乡镇", "town"}}) {
    auto n = normalize_name(*field, zh, en);
    if (!n.is_ok()) return n.status();
    *field = *n;
  }
  if (auto s = validate_village(v, options_.reserved_log_names); !s.is_ok()) return s;
  return write([&](WriteTxn& txn) -> Status {
    SQLite::Statement exists(txn.db(), "SELECT 1 FROM villages WHERE id=?");
    exists.bind(1, v.id);
    if (exists.executeStep()) return already_exists("村“" + v.id + "”已经存在 (village already exists)");
    SQLite::Statement log(txn.db(), "INSERT INTO logs(name) VALUES(?)");
    log.bind(1, v.id);
    log.exec();
    SQLite::Statement ins(txn.db(), "INSERT INTO villages(id, name, town, log_id) VALUES(?,?,?,?)");
    ins.bind(1, v.id);
    ins.bind(2, v.name);
    ins.bind(3, v.town);
    ins.bind(4, txn.db().getLastInsertRowid());
    ins.exec();
    // Sign the empty tree so the village has a checkpoint from its first day.
    auto state = txn.log_for(v.id);
    if (!state.is_ok()) return state.status();
    (*state)->touched = true;
    auto registered = txn.append_to_log(kVillagesLog, village_registration(v), kRegistrar);
    return registered.is_ok() ? Status::ok() : registered.status();
  });
}

namespace {
Result<AppendResult> with_checkpoint(const Status& s, std::map<std::string, std::string>& notes,
                                     const std::string& log, std::vector<uint64_t> indexes) {
  if (!s.is_ok()) return s;
  return AppendResult{std::move(indexes), notes[log]};
}
}  // namespace

Result<AppendResult> Ledger::post_transactions(const std::string& village, const std::vector<TransactionLine>& lines,
                                               const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.post_transactions(village, lines, author);
    if (!r.is_ok()) return r.status();
    indexes = *r;
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<AppendResult> Ledger::register_project(const std::string& village, const ProjectRegistration& p,
                                              const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.register_project(village, p, author);
    if (!r.is_ok()) return r.status();
    indexes.push_back(*r);
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<AppendResult> Ledger::reverse(const std::string& village, uint64_t target, const std::string& reason,
                                     const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.reverse(village, target, reason, author);
    if (!r.is_ok()) return r.status();
    indexes.push_back(*r);
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<MonthClose> Ledger::close_month(const std::string& village, const std::string& month, const Author& author) {
  Status s = write([&](WriteTxn& txn) -> Status { return txn.close_month(village, month, author).status(); });
  if (!s.is_ok()) return s;
  return month_close(village, month);
}

Status Ledger::read(const std::function<Status(ReadTxn&)>& fn) {
  class Txn final : public ReadTxn {
   public:
    explicit Txn(ReadConnection& c) : c_(c) {}
    SQLite::Database& db() override { return c_.db(); }
    SQLite::Statement& statement(const char* sql) override { return c_.stmt(sql); }

   private:
    ReadConnection& c_;
  };
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());
    Txn txn(conn);
    return fn(txn);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "read");
  } catch (const json::exception& e) {
    return internal_error(std::string("json: ") + e.what());
  }
}

Status Ledger::backup(const std::string& dest_path) {
  struct stat st{};
  if (::stat(dest_path.c_str(), &st) == 0) return already_exists("backup target " + dest_path + " exists already");
  if (auto s = ensure_private_file(dest_path); !s.is_ok()) return s;
  try {
    SQLite::Database src(options_.db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Database dest(dest_path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
    SQLite::Backup copy(dest, src);
    // Page by page, so writers are blocked for one step at a time; SQLite
    // restarts the copy if a writer changes a page already copied.
    for (;;) {
      int rc = copy.executeStep(256);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return unavailable("backup step failed");
      if (rc != SQLITE_OK) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    dest.exec("PRAGMA journal_mode=WAL");
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "backup to " + dest_path);
  }
  return Status::ok();
}

Result<std::vector<Village>> Ledger::villages() {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT id, name, town FROM villages ORDER BY town, id");
    std::vector<Village> out;
    while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "villages");
  }
}

Result<Village> Ledger::village(const std::string& id) {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT id, name, town FROM villages WHERE id=?");
    q.bind(1, id);
    if (!q.executeStep()) return not_found("没有这个村“" + id + "” (no such village)");
    return Village{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()};
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "village");
  }
}

Result<uint64_t> Ledger::log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    return row->size;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "log size");
  }
}

Result<uint64_t> Ledger::total_entries() {
  try {
    auto conn = read();
    // Village books only: a count that moved with the complaints log would
    // let anyone scraping /metrics time a filing.
    auto& q = conn.stmt("SELECT coalesce(sum(l.size), 0) FROM logs l JOIN villages v ON v.log_id = l.id");
    uint64_t n = q.executeStep() ? static_cast<uint64_t>(q.getColumn(0).getInt64()) : 0;
    q.reset();
    return n;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "total entries");
  }
}

Result<std::pair<uint64_t, uint64_t>> Ledger::village_count_and_log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto& q = conn.stmt("SELECT (SELECT count(*) FROM villages), coalesce((SELECT size FROM logs WHERE name=?), 0)");
    q.bind(1, log_name);
    std::pair<uint64_t, uint64_t> out{0, 0};
    if (q.executeStep())
      out = {static_cast<uint64_t>(q.getColumn(0).getInt64()), static_cast<uint64_t>(q.getColumn(1).getInt64())};
    q.reset();
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "village count");
  }
}

Result<std::string> Ledger::checkpoint(const std::string& log_name) {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT checkpoint FROM logs WHERE name=?");
    q.bind(1, log_name);
    if (!q.executeStep()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");
    return q.getColumn(0).getString();
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "checkpoint");
  }
}

Result<std::vector<Entry>> Ledger::entries(const std::string& log_name, uint64_t from, uint64_t to) {
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    if (from > to || to > row->size)
      return invalid_argument("entry range [" + std::to_string(from) + ", " + std::to_string(to) +
                              ") is outside the log of size " + std::to_string(row->size));
    SQLite::Statement q(conn.db(), "SELECT idx, leaf FROM entries WHERE log_id=? AND idx>=? AND idx<? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, static_cast<int64_t>(from));
    q.bind(3, static_cast<int64_t>(to));
    std::vector<Entry> out;
    while (q.executeStep()) {
      auto col = q.getColumn(1);
      out.push_back(entry_from_row(static_cast<uint64_t>(q.getColumn(0).getInt64()), col.getBlob(), col.getBytes()));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "entries");
  }
}

Result<std::vector<Entry>> Ledger::month_entries(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    // INDEXED BY: see WriteTxn::close_month; a scan of the whole log otherwise.
    auto& q = conn.stmt("SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, month);
    std::vector<Entry> out;
    while (q.executeStep()) {
      auto col = q.getColumn(1);
      out.push_back(entry_from_row(static_cast<uint64_t>(q.getColumn(0).getInt64()), col.getBlob(), col.getBytes()));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month entries");
  }
}

Result<std::vector<Project>> Ledger::projects(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(),
                        "SELECT p.name, p.approved, p.special, p.entry_idx, f.name IS NOT NULL FROM projects p "
                        "LEFT JOIN finished_projects f ON f.log_id=p.log_id AND f.name=p.name WHERE p.log_id=? ORDER BY p.entry_idx");
    q.bind(1, row->id);
    std::vector<Project> out;
    while (q.executeStep())
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt() != 0,
                     static_cast<uint64_t>(q.getColumn(3).getInt64()), q.getColumn(4).getInt() != 0});
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "projects");
  }
}

namespace {
const char* kMonthCloseQuery =
    "SELECT m.month, m.statement_idx, m.tree_size, m.checkpoint, e.leaf FROM month_closes m "
    "JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx WHERE m.log_id=?";

MonthClose month_close_from_row(SQLite::Statement& q) {
  MonthClose mc;
  mc.month = q.getColumn(0).getString();
  mc.statement_index = static_cast<uint64_t>(q.getColumn(1).getInt64());
  mc.tree_size = static_cast<uint64_t>(q.getColumn(2).getInt64());
  mc.checkpoint = q.getColumn(3).getString();
  auto col = q.getColumn(4);
  mc.statement = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  return mc;
}
}  // namespace

Result<MonthClose> Ledger::month_close(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(), std::string(kMonthCloseQuery) + " AND m.month=?");
    q.bind(1, row->id);
    q.bind(2, month);
    if (!q.executeStep()) return failed_precondition(month + " 的账目还没有公开 (month " + month + " is not closed yet)");
    return month_close_from_row(q);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month close");
  }
}

Result<std::vector<MonthClose>> Ledger::month_closes(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(), std::string(kMonthCloseQuery) + " ORDER BY m.month");
    q.bind(1, row->id);
    std::vector<MonthClose> out;
    while (q.executeStep()) out.push_back(month_close_from_row(q));
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month closes");
  }
}

Result<std::optional<std::string>> Ledger::last_closed_month(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return last_closed(conn.db(), row->id);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "last closed month");
  }
}

template <typename T>
Result<T> Ledger::with_tree(const std::string& log_name, const char* what,
                            const std::function<Result<T>(MerkleTree&)>& fn) {
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());  // size and nodes from one snapshot
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    SqliteSubtreeSource source(conn.stmt(kNodeQuery), row->id);
    MerkleTree tree(&source, row->size);
    return fn(tree);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, what);
  }
}

Result<Hash> Ledger::root(const std::string& log_name, uint64_t size) {
  return with_tree<Hash>(log_name, "root", [&](MerkleTree& t) { return t.root(size); });
}

Result<std::vector<Hash>> Ledger::inclusion_proof(const std::string& log_name, uint64_t index, uint64_t size) {
  return with_tree<std::vector<Hash>>(log_name, "inclusion proof",
                                      [&](MerkleTree& t) { return t.inclusion_proof(index, size); });
}

Result<std::vector<Hash>> Ledger::consistency_proof(const std::string& log_name, uint64_t from, uint64_t to) {
  return with_tree<std::vector<Hash>>(log_name, "consistency proof",
                                      [&](MerkleTree& t) { return t.consistency_proof(from, to); });
}

// ---------------------------------------------------------------------------
// Verification

namespace {

// Recomputed levels of one log's tree, built from the stored leaves alone.
struct RecomputedTree {
  std::vector<std::vector<Hash>> levels;  // levels[0] = leaf hashes

  void build() {
    while (levels.back().size() > 1) {
      const auto& below = levels.back();
      std::vector<Hash> up;
      up.reserve(below.size() / 2);
      for (size_t i = 0; i + 1 < below.size(); i += 2) up.push_back(merkle_node_hash(below[i], below[i + 1]));
      if (up.empty()) break;
      levels.push_back(std::move(up));
    }
  }
  Hash root(uint64_t size) const {
    if (size == 0) return merkle_empty_root();
    // Perfect subtrees of the decomposition, left to right, combined right to left.
    std::vector<Hash> parts;
    uint64_t begin = 0;
    for (int level = 63; level >= 0; --level) {
      uint64_t width = uint64_t{1} << level;
      if (size - begin >= width) {
        parts.push_back(levels[static_cast<size_t>(level)][begin >> level]);
        begin += width;
      }
    }
    Hash h = parts.back();
    for (size_t i = parts.size() - 1; i-- > 0;) h = merkle_node_hash(parts[i], h);
    return h;
  }
};

struct LogVerifier {
  SQLite::Database& db;
  const std::string& origin;
  const std::string& vkey;
  VerifyReport& report;
  uint64_t first_bad = UINT64_MAX;
  std::string reason;

  std::set<uint64_t> located;  // leaf indexes already found bad

  void bad(uint64_t index, const std::string& why) {
    located.insert(index);
    if (index < first_bad) {
      first_bad = index;
      reason = why;
    }
  }

  // Checkpoint results are kept apart from located problems: a checkpoint
  // that does not match says only that something at or after the last
  // matching checkpoint changed, so it locates the damage only when nothing
  // more precise (a leaf whose stored hash differs, a gap) was found.
  struct CheckpointResult {
    uint64_t size = 0;
    bool ok = false;
    std::string why;
  };
  std::vector<CheckpointResult> checkpoints;

  void check_checkpoint(const std::string& note, const std::string& log_name, const RecomputedTree& tree,
                        uint64_t entries, const std::string& label, uint64_t* signed_size) {
    auto cp = open_checkpoint(note, vkey);
    if (!cp.is_ok()) {
      checkpoints.push_back({0, false, label + ": " + cp.status().message()});
      return;
    }
    if (signed_size) *signed_size = cp->size;
    if (cp->origin != origin + "/" + log_name) {
      checkpoints.push_back({0, false, label + ": origin " + cp->origin + " is not this log's"});
      return;
    }
    if (cp->size > entries) {
      bad(entries, label + " covers " + std::to_string(cp->size) + " entries but only " + std::to_string(entries) +
                       " are stored (entries were deleted or the log truncated)");
      return;
    }
    bool ok = tree.root(cp->size) == cp->root;
    checkpoints.push_back({cp->size, ok, ok ? "" : label + " (size " + std::to_string(cp->size) + ") does not match the stored entries"});
  }

  void locate_checkpoint_failures() {
    for (const auto& failed : checkpoints) {
      if (failed.ok) continue;
      uint64_t good_below = 0;
      for (const auto& c : checkpoints)
        if (c.ok && c.size < failed.size) good_below = std::max(good_below, c.size);
      bad(good_below, failed.why);
    }
  }

  struct Totals {
    Fen income = 0, expense = 0;
    uint64_t first_index = UINT64_MAX;
  };
  std::map<std::string, Totals, std::less<>> totals;
  std::vector<std::pair<uint64_t, std::string>> derived;

  // Each statement added up again from its month's entries before it: a
  // statement signed while an entry was hidden from it (its month column
  // moved, its leaf edited and later put back) does not match.
  std::map<std::string, StatementBuilder, std::less<>> open_months;
  json previous_statement;
  void check_statement(const json& f, const std::string& village, const std::string& month, uint64_t idx) {
    auto it = open_months.find(month);
    const StatementBuilder& added = it != open_months.end() ? it->second : StatementBuilder{};
    auto expected = added.statement(village, month, previous_statement);
    std::string differs = expected.is_ok() ? "" : "totals overflow";
    if (expected.is_ok())
      for (const auto& [key, value] : expected->items()) {
        auto signed_value = f.find(key);  // a field older statements lack is not compared
        if (signed_value != f.end() && !(*signed_value == value)) {
          differs = key;
          break;
        }
      }
    if (!differs.empty())
      derived.emplace_back(idx, "the statement of " + month + " (entry " + std::to_string(idx) +
                                    ") does not add up to the month's entries: " + differs + " differs");
    previous_statement = f;
    if (it != open_months.end()) open_months.erase(it);
  }

  // What the derived tables must hold, rebuilt from the signed entries.
  struct Expected {
    std::map<std::string, uint64_t> statements;  // month -> statement entry
    std::string last_statement_month;
    struct Project {
      Fen approved = 0;
      bool special = false;
      uint64_t idx = 0;
    };
    std::map<std::string, Project> projects;
    std::map<std::string, uint64_t> finished;    // project -> entry
    std::map<uint64_t, uint64_t> reversals;      // target -> reversal entry
    std::map<std::string, std::tuple<std::string, std::string, uint64_t>> villages;  // id -> name, town, entry
  } expect;

  void collect(const LeafFields& f, std::string_view kind, uint64_t idx) {
    using F = LeafFields;
    if (kind == "statement") {
      std::string month(f.string(F::kMonth));
      if (expect.statements.count(month))
        derived.emplace_back(idx, "entry " + std::to_string(idx) + " is a second statement of " + month);
      else if (month <= expect.last_statement_month)
        derived.emplace_back(idx, "the statement of " + month + " (entry " + std::to_string(idx) + ") comes after " +
                                      expect.last_statement_month + "'s");
      expect.statements.emplace(month, idx);
      expect.last_statement_month = std::max(expect.last_statement_month, month);
    } else if (kind == "project") {
      expect.projects[std::string(f.string(F::kName))] = {f.is_integer(F::kApproved) ? f.fen(F::kApproved) : -1,
                                                          f.is_true(F::kSpecial), idx};
    } else if (kind == "project_finished") {
      expect.finished.emplace(std::string(f.string(F::kName)), idx);
    } else if (kind == "reversal") {
      if (f.is_unsigned(F::kTarget)) expect.reversals.emplace(f.unsigned_value(F::kTarget), idx);
    } else if (kind == "village") {
      std::string id(f.string(F::kVillage));
      if (expect.villages.count(id)) derived.emplace_back(idx, "entry " + std::to_string(idx) + " registers " + id + " a second time");
      else expect.villages[id] = {std::string(f.string(F::kName)), std::string(f.string(F::kTown)), idx};
    }
  }

  // The villages table against the registry's entries, both ways.
  void compare_villages(uint64_t size) {
    SQLite::Statement q(db, "SELECT id, name, town FROM villages ORDER BY id");
    auto left = expect.villages;
    while (q.executeStep()) {
      std::string id = q.getColumn(0).getString(), name = q.getColumn(1).getString(), town = q.getColumn(2).getString();
      auto it = left.find(id);
      if (it == left.end()) {
        derived.emplace_back(size, "villages: village " + id + " (" + name + ", " + town + ") has no registration entry");
        continue;
      }
      auto& [reg_name, reg_town, idx] = it->second;
      if (name != reg_name || town != reg_town)
        derived.emplace_back(idx, "villages: village " + id + " is stored as " + name + ", " + town + " but entry " +
                                      std::to_string(idx) + " registered it as " + reg_name + ", " + reg_town);
      left.erase(it);
    }
    for (const auto& [id, reg] : left)
      derived.emplace_back(std::get<2>(reg), "villages: village " + id + " (registered in entry " +
                                                 std::to_string(std::get<2>(reg)) + ") is missing");
  }

  // Each derived table against what its entries say, in both directions: a
  // row edited, deleted or added by hand is named with its table and entry.
  void compare_derived(int64_t log_id) {
    auto e = [](uint64_t i) { return "entry " + std::to_string(i); };
    {
      SQLite::Statement q(db, "SELECT month, statement_idx, tree_size FROM month_closes WHERE log_id=?");
      q.bind(1, log_id);
      std::map<std::string, uint64_t> left = expect.statements;
      while (q.executeStep()) {
        std::string month = q.getColumn(0).getString();
        uint64_t idx = static_cast<uint64_t>(q.getColumn(1).getInt64()), size = static_cast<uint64_t>(q.getColumn(2).getInt64());
        auto it = left.find(month);
        if (it == left.end()) {
          derived.emplace_back(idx, "month_closes: a close of " + month + " without a statement entry of that month");
          continue;
        }
        if (idx != it->second || size != it->second + 1)
          derived.emplace_back(std::min(idx, it->second), "month_closes: the close of " + month + " points at " + e(idx) +
                                                              ", but its statement is " + e(it->second));
        left.erase(it);
      }
      for (const auto& [month, idx] : left)
        derived.emplace_back(idx, "month_closes: the close of " + month + " (statement " + e(idx) + ") is missing");
    }
    {
      SQLite::Statement q(db, "SELECT name, approved, special, entry_idx FROM projects WHERE log_id=?");
      q.bind(1, log_id);
      auto left = expect.projects;
      while (q.executeStep()) {
        std::string name = q.getColumn(0).getString();
        uint64_t idx = static_cast<uint64_t>(q.getColumn(3).getInt64());
        auto it = left.find(name);
        if (it == left.end()) {
          derived.emplace_back(idx, "projects: project " + name + " has no registration entry");
          continue;
        }
        if (q.getColumn(1).getInt64() != it->second.approved || (q.getColumn(2).getInt() != 0) != it->second.special ||
            idx != it->second.idx)
          derived.emplace_back(it->second.idx, "projects: project " + name + " does not match its registration, " + e(it->second.idx));
        left.erase(it);
      }
      for (const auto& [name, p] : left)
        derived.emplace_back(p.idx, "projects: project " + name + " (registered in " + e(p.idx) + ") is missing");
    }
    {
      SQLite::Statement q(db, "SELECT name, entry_idx FROM finished_projects WHERE log_id=?");
      q.bind(1, log_id);
      auto left = expect.finished;
      while (q.executeStep()) {
        std::string name = q.getColumn(0).getString();
        uint64_t idx = static_cast<uint64_t>(q.getColumn(1).getInt64());
        auto it = left.find(name);
        if (it == left.end() || it->second != idx)
          derived.emplace_back(idx, "finished_projects: project " + name + " does not match a finishing entry");
        if (it != left.end()) left.erase(it);
      }
      for (const auto& [name, idx] : left)
        derived.emplace_back(idx, "finished_projects: the finishing of " + name + " (" + e(idx) + ") is missing");
    }
    {
      SQLite::Statement q(db, "SELECT target_idx, reversal_idx FROM reversals WHERE log_id=?");
      q.bind(1, log_id);
      auto left = expect.reversals;
      while (q.executeStep()) {
        uint64_t target = static_cast<uint64_t>(q.getColumn(0).getInt64()), idx = static_cast<uint64_t>(q.getColumn(1).getInt64());
        auto it = left.find(target);
        if (it == left.end() || it->second != idx)
          derived.emplace_back(idx, "reversals: the reversal of " + e(target) + " does not match a reversal entry");
        if (it != left.end()) left.erase(it);
      }
      for (const auto& [target, idx] : left)
        derived.emplace_back(idx, "reversals: the reversal of " + e(target) + " (" + e(idx) + ") is missing");
    }
  }

  void run(int64_t log_id, const std::string& log_name, uint64_t stored_size, const std::string& latest_note,
           bool is_village, const std::string& village_id) {
    // The villages table maps a village to its log: pointed at another
    // village's log, every answer about one would be the other's books.
    if (is_village && village_id != log_name)
      derived.emplace_back(0, "villages: village " + village_id + " points at the log of " + log_name);
    RecomputedTree tree;
    tree.levels.emplace_back();
    auto& leaves = tree.levels[0];
    leaves.reserve(stored_size);
    // 1. Leaves: contiguous indexes, and the queryable columns agree with the
    //    signed bytes (a doctored month column would hide an entry).
    SQLite::Statement q(db, "SELECT idx, kind, month, leaf FROM entries WHERE log_id=? ORDER BY idx");
    q.bind(1, log_id);
    uint64_t expected = 0;
    using F = LeafFields;
    LeafFields f;
    while (q.executeStep()) {
      uint64_t idx = static_cast<uint64_t>(q.getColumn(0).getInt64());
      if (idx != expected) {
        bad(expected, "entry " + std::to_string(expected) + " is missing");
        expected = idx;
        leaves.resize(idx, Hash{});
      }
      auto col = q.getColumn(3);
      std::string_view leaf(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()));
      leaves.push_back(merkle_leaf_hash(leaf));
      bool parsed = f.parse(leaf);
      auto text = [&](int i) {
        auto c = q.getColumn(i);
        const char* p = c.getText();  // NULL reads as ""; the text first, then its length
        return std::string_view(p, static_cast<size_t>(c.getBytes()));
      };
      std::string_view month = text(2), kind = f.string(F::kKind);
      if (!parsed || kind != text(1) || f.string(F::kMonth) != month || (is_village && f.string(F::kVillage) != log_name))
        bad(idx, "entry " + std::to_string(idx) + " does not match its indexed columns");
      if (parsed) collect(f, kind, idx);
      if (is_village && parsed) {
        // A statement is one entry a month: its whole document is compared.
        // Every other entry of a month feeds that month's recount from the
        // fields LeafFields read, without a JSON document.
        if (kind == "statement") check_statement(json::parse(leaf, nullptr, false), log_name, std::string(month), idx);
        else if (!month.empty()) {
          auto m = open_months.find(month);
          if (m == open_months.end()) m = open_months.emplace(std::string(month), StatementBuilder{}).first;
          m->second.add(static_cast<int64_t>(idx), kind, f.fen(F::kAmount), f.string(F::kTargetKind), f.string(F::kDirection),
                        f.string(F::kFund), f.string(F::kCategory), f.string(F::kProject));
        }
      }
      if (kind == "txn" || (kind == "reversal" && f.string(F::kTargetKind) == "txn")) {
        auto it = totals.find(month);
        if (it == totals.end()) it = totals.emplace(std::string(month), Totals{}).first;
        auto& t = it->second;
        if (t.first_index == UINT64_MAX) t.first_index = idx;
        Fen amount = kind == "txn" ? f.fen(F::kAmount) : -f.fen(F::kAmount);
        (f.string(F::kDirection) == "income" ? t.income : t.expense) += amount;
      }
      ++expected;
      ++report.entries_checked;
    }
    uint64_t count = leaves.size();
    if (count != stored_size) bad(std::min(count, stored_size), "the log records size " + std::to_string(stored_size) + " but holds " + std::to_string(count) + " entries");
    if (count > 0) tree.build();

    // The running month totals (a derived table) agree with the entries.
    SQLite::Statement tq(db, "SELECT month, income, expense FROM month_totals WHERE log_id=?");
    tq.bind(1, log_id);
    std::map<std::string, std::pair<Fen, Fen>> stored;
    while (tq.executeStep()) stored[tq.getColumn(0).getString()] = {tq.getColumn(1).getInt64(), tq.getColumn(2).getInt64()};
    for (const auto& [month, t] : totals) {
      auto it = stored.find(month);
      if (it == stored.end() || it->second.first != t.income || it->second.second != t.expense)
        derived.emplace_back(t.first_index, "the running totals of " + month + " do not match its entries");
      if (it != stored.end()) stored.erase(it);
    }
    for (const auto& [month, t] : stored)
      if (t.first != 0 || t.second != 0) derived.emplace_back(0, "running totals recorded for " + month + ", which has no entries");
    compare_derived(log_id);
    if (log_name == kVillagesLog) compare_villages(count);

    // 2. Stored subtree hashes (what proofs are served from) match the recomputation.
    SQLite::Statement nq(db, "SELECT level, idx, hash FROM nodes WHERE log_id=? ORDER BY level, idx");
    nq.bind(1, log_id);
    while (nq.executeStep()) {
      size_t level = static_cast<size_t>(nq.getColumn(0).getInt());
      uint64_t idx = static_cast<uint64_t>(nq.getColumn(1).getInt64());
      auto col = nq.getColumn(2);
      uint64_t first_leaf = level < 63 ? idx << level : UINT64_MAX;
      uint64_t end_leaf = level < 63 ? (idx + 1) << level : UINT64_MAX;
      if (level >= tree.levels.size() || idx >= tree.levels[level].size() || col.getBytes() != 32 ||
          std::memcmp(col.getBlob(), tree.levels[level][idx].data(), 32) != 0) {
        // A parent differs whenever a leaf below it does; report it only when
        // no leaf below explains it (the parent hash itself was edited).
        auto below = located.lower_bound(first_leaf);
        if (below != located.end() && *below < end_leaf) continue;
        located.insert(first_leaf);
        bad(first_leaf, "stored hash at level " + std::to_string(level) + " index " + std::to_string(idx) +
                            " does not match entry " + std::to_string(first_leaf) + " onwards");
      }
    }

    // 3. Every kept checkpoint is signed by our key and matches the tree.
    uint64_t latest_size = 0;
    if (latest_note.empty()) bad(0, "the log has no checkpoint");
    else check_checkpoint(latest_note, log_name, tree, count, "the latest checkpoint", &latest_size);
    if (latest_size < count && first_bad == UINT64_MAX)
      bad(latest_size, "entries from " + std::to_string(latest_size) + " on are not covered by the latest checkpoint");
    SQLite::Statement mq(db, "SELECT month, statement_idx, tree_size, checkpoint FROM month_closes WHERE log_id=? ORDER BY month");
    mq.bind(1, log_id);
    uint64_t previous = 0;
    while (mq.executeStep()) {
      std::string month = mq.getColumn(0).getString();
      uint64_t size = 0;
      check_checkpoint(mq.getColumn(3).getString(), log_name, tree, count, "the checkpoint of " + month, &size);
      if (size < previous) bad(size, "the checkpoint of " + month + " is smaller than an earlier month's");
      if (size != static_cast<uint64_t>(mq.getColumn(2).getInt64()) ||
          static_cast<uint64_t>(mq.getColumn(1).getInt64()) >= size)
        bad(size, "the close record of " + month + " does not match its checkpoint");
      previous = size;
    }
    // Derived tables and checkpoints only say that something changed; they
    // locate the damage when no leaf or stored hash does.
    if (first_bad == UINT64_MAX)
      for (const auto& [index, why] : derived) bad(index, why);
    if (first_bad == UINT64_MAX) locate_checkpoint_failures();
    if (first_bad != UINT64_MAX) report.problems.push_back({log_name, first_bad, reason});
    ++report.logs_checked;
  }
};

}  // namespace

Result<VerifyReport> Ledger::verify(const std::string& log_name) {
  // The logs are independent, so they are checked on two threads (the
  // machine's two cores at start-up, before serve listens). Each thread
  // checks every log it takes within one read transaction of its own, reading
  // the log's row (size, latest checkpoint, village) in that same snapshot, so
  // each log is checked against one consistent state even while a server
  // writes.
  struct LogName {
    int64_t id;
    std::string name;
  };
  std::vector<LogName> logs;
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT id, name FROM logs WHERE ?='' OR name=? ORDER BY name");
    q.bind(1, log_name);
    q.bind(2, log_name);
    while (q.executeStep()) logs.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString()});
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "verify");
  }
  if (logs.empty() && !log_name.empty()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");

  std::vector<VerifyReport> per_log(logs.size());  // merged in name order, as one thread would report them
  std::atomic<size_t> next{0};
  const std::string vkey = verifier_key();
  auto work = [&]() -> Status {
    try {
      // A connection of its own, not a pooled one: verify does not hold one
      // of the server's readers for seconds, and a connection only this
      // thread uses needs no mutex around every SQLite call (they were 8% of
      // verify's time).
      SQLite::Database db(options_.db_path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
      SQLite::Transaction snapshot(db);
      SQLite::Statement q(db,
                          "SELECT l.size, l.checkpoint, v.id IS NOT NULL, coalesce(v.id, '') FROM logs l "
                          "LEFT JOIN villages v ON v.log_id=l.id WHERE l.id=?");
      for (size_t i; (i = next++) < logs.size();) {
        q.reset();
        q.bind(1, logs[i].id);
        while (q.executeStep()) {
          LogVerifier v{db, origin_, vkey, per_log[i], UINT64_MAX, "", {}, {}, {}, {}, {}, {}, {}};
          v.run(logs[i].id, logs[i].name, static_cast<uint64_t>(q.getColumn(0).getInt64()), q.getColumn(1).getString(),
                q.getColumn(2).getInt() != 0, q.getColumn(3).getString());
        }
      }
      return Status::ok();
    } catch (const SQLite::Exception& e) {
      next = logs.size();  // the other thread stops too
      return from_sqlite(e, "verify");
    } catch (const std::exception& e) {
      next = logs.size();
      return internal_error(std::string("verify: ") + e.what());
    }
  };
  Status helper_status;
  std::thread helper;
  if (logs.size() > 1) {
    try {
      helper = std::thread([&] { helper_status = work(); });
    } catch (const std::system_error&) {
      // No thread to be had: this one checks every log.
    }
  }
  Status status = work();
  if (helper.joinable()) helper.join();
  if (!status.is_ok()) return status;
  if (!helper_status.is_ok()) return helper_status;
  VerifyReport report;
  for (auto& r : per_log) {
    report.logs_checked += r.logs_checked;
    report.entries_checked += r.entries_checked;
    for (auto& p : r.problems) report.problems.push_back(std::move(p));
  }
  return report;
}

}  // namespace sunledger
