// Appending to a log inside a write: the per-log state, the Merkle frontier
// checked against the last signed checkpoint, and the checkpoint signed at the end.
#include "ledger/ledger.h"

#include <algorithm>
#include <map>

#include "ledger/checkpoint.h"
#include "ledger/line_keys.h"
#include "ledger/merkle.h"

#include "ledger/ledger_internal.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

// ---------------------------------------------------------------------------
// WriteTxn


WriteTxn::WriteTxn(Ledger* ledger, Connection* db, int64_t now) : ledger_(ledger), db_(db), now_(now) {}
WriteTxn::~WriteTxn() = default;

sql::Session& WriteTxn::sql() { return *db_; }

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
    logs_[i]->forget_reads();
    auto& made = logs_[i]->new_nodes;
    uint64_t size = logs_[i]->range.size();
    made.erase(std::remove_if(made.begin(), made.end(), [&](const LogState::NewNode& n) { return n.made_by >= size; }),
               made.end());
    auto& keys = logs_[i]->new_line_keys;
    keys.erase(std::remove_if(keys.begin(), keys.end(), [&](const LogState::NewLineKey& k) { return k.made_by >= size; }),
               keys.end());
    auto& totals = logs_[i]->totals_changes;
    totals.erase(std::remove_if(totals.begin(), totals.end(),
                                [&](const LogState::TotalsChange& t) { return t.made_by >= size; }),
                 totals.end());
  }
}

namespace {

// A log's name as a lock_log key of its own: negative, where log ids are not.
int64_t name_lock_key(const std::string& name) { return -1 - sql::lock_key_of(name); }

// Nodes sharing a database (issue #17): a log not made yet cannot be locked
// by its id, so its name is, by whoever makes it or finds it missing.
void lock_log_name(Connection& db, const std::string& name) { db.lock_log(name_lock_key(name)); }

}  // namespace

Result<uint64_t> WriteTxn::log_size(const std::string& log_name) {
  for (auto& l : logs_)
    if (l->name == log_name) return l->range.size();
  try {
    // Held from here to the commit, as for an append: a writer decides from
    // the log as it stands (the admin log replayed, the deliveries log), and
    // a node sharing the database must not change it in between (two nodes
    // binding one chat to two villages, each having found it unbound). A log
    // not made yet: its name is held instead, as the writer that makes it
    // holds it (append_to_log), so the second of two nodes asking at once
    // finds what the first made.
    auto& q = db_->statement("SELECT 1 FROM logs WHERE name=?");
    q.bind(1, log_name);
    bool exists = q.step();
    q.reset();
    if (!exists) {
      lock_log_name(*db_, log_name);
      q.bind(1, log_name);
      exists = q.step();
      q.reset();
      if (!exists) return uint64_t{0};
    }
    auto held = log_for(log_name);
    if (!held.is_ok()) return held.status();
    return (*held)->range.size();
  } catch (const sql::Error& e) {
    return from_sql(e, "log size");
  }
}

Status WriteTxn::committed_leaves(const std::string& log_name, uint64_t from,
                                  const std::function<void(uint64_t, std::string_view)>& visit) {
  try {
    uint64_t end = 0;
    bool held = false;
    for (const auto& l : logs_)
      if (l->name == log_name) held = true, end = l->committed_size;
    if (!held) {
      // Not appended to by this transaction: what the table holds is committed.
      auto& q = db_->statement("SELECT size FROM logs WHERE name=?");
      q.bind(1, log_name);
      if (q.step()) end = static_cast<uint64_t>(q.column_int64(0));
      q.reset();
    }
    if (from >= end) return Status::ok();
    auto& q = db_->statement(
        "SELECT idx, leaf FROM entries WHERE log_id=(SELECT id FROM logs WHERE name=?) AND idx>=? AND idx<? ORDER BY idx");
    q.bind(1, log_name);
    q.bind(2, static_cast<int64_t>(from));
    q.bind(3, static_cast<int64_t>(end));
    visit_leaf_rows(q, visit);
    return Status::ok();
  } catch (const sql::Error& e) {
    return from_sql(e, "read log " + log_name);
  }
}

Result<WriteTxn::LogState*> WriteTxn::log_for(const std::string& name) {
  for (auto& l : logs_)
    if (l->name == name) return l.get();
  auto state = std::make_unique<LogState>();
  state->name = name;
  // The id a committed transaction learnt saves this lookup (one round trip
  // per batch on PostgreSQL); the name read back from the locked row below
  // proves it still names this log.
  auto known = ledger_->log_ids_.find(name);
  if (known != ledger_->log_ids_.end()) {
    state->id = known->second;
  } else {
    auto& find = db_->statement(kFindLog);
    find.bind(1, name);
    if (!find.step()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
    state->id = find.column_int64(0);
    find.reset();
  }
  // Appends to this log are serialised from here to the commit, across
  // processes sharing the database, before its size is read: a second node
  // must not extend the same tree from the same size.
  db_->lock_log(state->id);
  // On PostgreSQL the row is locked as well, as the UPDATE at the commit
  // would lock it: every later insert of this transaction that references
  // the log (entries, line keys, month totals) then finds its foreign key's
  // row lock already held. Without it, each writer's savepoint took a share
  // lock of its own, which PostgreSQL keeps as a multixact that grows by one
  // member per writer of the batch.
  auto& q = db_->statement(db_->dialect() == sql::Session::Dialect::kPostgresql
                               ? "SELECT size, frontier, checkpoint, name FROM logs WHERE id=? FOR NO KEY UPDATE"
                               : "SELECT size, frontier, checkpoint, name FROM logs WHERE id=?");
  q.bind(1, state->id);
  if (!q.step() || q.column_text(3) != name) {
    q.reset();
    if (known == ledger_->log_ids_.end()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
    // The row this log's last commit wrote is gone or names another log:
    // only a hand-edited database does that (rows swapped, deleted, or an
    // old copy put back). Following the name to whatever row holds it now
    // would extend another tree, or an empty one, under this log's name.
    Status refused = data_loss("日志“" + name + "”的存储记录被改动过,没有写入,请联系乡镇管理员核验账本 (log " + name +
                               "'s row was changed or deleted since this server last wrote to it; nothing was "
                               "written: the administrator should run `sunledger verify`)");
    ledger_->refused_write(refused.message());
    return refused;
  }
  uint64_t size = static_cast<uint64_t>(q.column_int64(0));
  std::string frontier = q.column_blob(1);
  std::string note = q.column_text(2);
  q.reset();
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
      parsed.origin = note.substr(0, a);
      parsed.size = std::stoull(note.substr(a + 1, b - a - 1));
      auto root = hash_from_base64(note.substr(b + 1, c - b - 1));
      if (root.is_ok()) parsed.root = *root;
      cp = parsed;
    } else {
      cp = open_checkpoint(note, ledger_->verifier_key());
      if (cp.is_ok()) ledger_->trusted_notes_[name] = note;
    }
    // Of this log, too: a row holding another log's signed note is not this log's.
    if (!cp.is_ok() || cp->origin != ledger_->origin() + "/" + name || cp->size != size || cp->root != range->root()) {
      Status refused = data_loss("日志“" + name + "”的存储状态与上次签名不一致,没有写入,请联系乡镇管理员核验账本 (log state does not match its last checkpoint; nothing was written: the administrator should run `sunledger verify`)");
      ledger_->refused_write(refused.message());
      return refused;
    }
  }
  state->range = std::move(*range);
  state->committed_size = size;
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
  if (leaf->size() > kMaxLeafBytes)
    return invalid_argument("这条记录太长(" + std::to_string(leaf->size()) + "字节),上限为65535字节 (entry of " +
                            std::to_string(leaf->size()) + " bytes: a log entry must stay below 64 KiB)");
  uint64_t index = log->range.size();
  std::string kind = entry_string(fields, "kind");
  if (kind != "txn") log->forget_reads();  // see LogState
  auto created = log->range.append(merkle_leaf_hash(*leaf));
  auto& ins = db_->statement("INSERT INTO entries(log_id, idx, kind, month, leaf) VALUES(?,?,?,?,?)");
  ins.bind(1, log->id);
  ins.bind(2, static_cast<int64_t>(index));
  ins.bind(3, kind);
  std::string month = entry_string(fields, "month");
  if (month.empty()) ins.bind_null(4);
  else ins.bind(4, month);
  ins.bind_blob(5, *leaf);
  // Held back (PostgreSQL: sent with the next statement needing an answer):
  // a writer's appends cost no round trip each. Should it fail (storage,
  // not the entry: the index is ours under the log's lock), the failure
  // usually comes back after the writer's release, and the whole group
  // commit fails (sql::Statement::exec_later).
  ins.exec_later();
  for (auto& n : created) log->new_nodes.push_back({index, std::move(n)});
  log->touched = true;
  return index;
}

namespace {

// A multi-row INSERT's texts, "HEAD (?,..),(?,..)..." with 1, 2, 4 ... kMaxRows
// rows: made once, so that the statement cache (keyed by the text's address)
// prepares each once per connection.
class MultiRowInsert {
 public:
  static constexpr size_t kMaxRows = 64;
  MultiRowInsert(const char* head, int columns) : columns_(columns) {
    std::string row = "(?";
    for (int c = 1; c < columns; ++c) row += ",?";
    row += ")";
    for (size_t n = 1; n <= kMaxRows; n *= 2) {
      std::string sql = head;
      for (size_t i = 0; i < n; ++i) sql += (i == 0 ? " " : ",") + row;
      texts_.push_back(std::move(sql));
    }
  }
  // Inserts rows [0, count): bind(q, first_column, row) binds one row's
  // columns from first_column on. The largest power of two of rows that
  // fits what is left goes in each statement, held back (exec_later).
  template <typename Bind>
  void run(Connection& db, size_t count, Bind bind) const {
    for (size_t done = 0; done < count;) {
      size_t rows = kMaxRows, at = texts_.size() - 1;
      while (rows > count - done) rows /= 2, --at;
      auto& q = db.statement(texts_[at].c_str());
      for (size_t i = 0; i < rows; ++i) bind(q, static_cast<int>(i) * columns_ + 1, done + i);
      q.exec_later();
      done += rows;
    }
  }

 private:
  int columns_;
  std::vector<std::string> texts_;
};

const MultiRowInsert& insert_nodes() {
  static const MultiRowInsert m("INSERT INTO nodes(log_id, level, idx, hash) VALUES", 4);
  return m;
}
const MultiRowInsert& insert_line_keys() {
  static const MultiRowInsert m(kInsertLineKeysHead, 3);
  return m;
}

}  // namespace

Status WriteTxn::finish() {
  for (auto& log : logs_) {
    if (!log->touched) continue;
    insert_nodes().run(*db_, log->new_nodes.size(), [&](sql::Statement& q, int c, size_t row) {
      const auto& n = log->new_nodes[row].node;
      q.bind(c, log->id);
      q.bind(c + 1, n.level);
      q.bind(c + 2, static_cast<int64_t>(n.index));
      q.bind_blob(c + 3, std::string_view(reinterpret_cast<const char*>(n.hash.data()), 32));
    });
    log->new_nodes.clear();
    insert_line_keys().run(*db_, log->new_line_keys.size(), [&](sql::Statement& q, int c, size_t row) {
      q.bind(c, log->id);
      q.bind_blob(c + 1, log->new_line_keys[row].key);
      q.bind(c + 2, static_cast<int64_t>(log->new_line_keys[row].made_by));
    });
    std::map<std::string, std::pair<Fen, Fen>> by_month;
    for (const auto& t : log->totals_changes) {
      auto& sum = by_month[t.month];
      sum.first += t.income;
      sum.second += t.expense;
    }
    for (const auto& [month, sum] : by_month)
      add_month_totals(db_->statement(kAddMonthTotals), log->id, month, sum.first, sum.second);
    log->totals_changes.clear();
    Checkpoint cp{ledger_->origin() + "/" + log->name, log->range.size(), log->range.root()};
    auto note = sign_checkpoint(cp, ledger_->signer());
    if (!note.is_ok()) return note.status();
    ledger_->trusted_notes_[log->name] = *note;
    signed_[log->name] = *note;
    auto& up = db_->statement("UPDATE logs SET size=?, frontier=?, checkpoint=? WHERE id=?");
    std::string frontier = log->range.encode();
    up.bind(1, static_cast<int64_t>(log->range.size()));
    up.bind_blob(2, frontier);
    up.bind(3, *note);
    up.bind(4, log->id);
    up.exec_later();  // sent with the COMMIT
  }
  return Status::ok();
}

void WriteTxn::committed() {
  for (auto& log : logs_) {
    ledger_->log_ids_[log->name] = log->id;  // its row is committed now
    if (!log->touched) continue;
    std::vector<std::string> keys;
    keys.reserve(log->new_line_keys.size());
    for (auto& k : log->new_line_keys) keys.push_back(std::move(k.key));
    ledger_->line_keys_seen_->committed(log->id, log->committed_size, log->range.size(), keys);
  }
}

Result<uint64_t> WriteTxn::append_to_log(const std::string& log_name, const json& fields, const Author& author,
                                         bool day_resolution) {
  // A log this transaction holds already exists: the handled log is
  // appended to once per message, and must not cost a statement each time.
  // So does one whose row a committed transaction found (Ledger::log_ids_;
  // log_for refuses the write if that row was deleted since).
  bool held = ledger_->log_ids_.count(log_name) != 0;
  for (const auto& l : logs_) held = held || l->name == log_name;
  if (!held) {
    auto& q = db_->statement("INSERT INTO logs(name) VALUES(?) ON CONFLICT DO NOTHING");
    q.bind(1, log_name);
    if (q.exec() == 1) lock_log_name(*db_, log_name);  // made here: see log_size
  }
  auto log = log_for(log_name);
  if (!log.is_ok()) return log.status();
  return append(*log, fields, author, day_resolution);
}

Result<std::string> WriteTxn::sign(std::string_view message) const { return ledger_->signer().sign(message); }

}  // namespace sunledger
