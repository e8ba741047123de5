// Appending to a log inside a write: the per-log state, the Merkle frontier
// checked against the last signed checkpoint, and the checkpoint signed at the end.
#include "ledger/ledger.h"

#include "ledger/checkpoint.h"
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
  auto& find = db_->statement(kFindLog);
  find.bind(1, name);
  if (!find.step()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
  auto state = std::make_unique<LogState>();
  state->id = find.column_int64(0);
  state->name = name;
  find.reset();
  // Appends to this log are serialised from here to the commit, across
  // processes sharing the database, before its size is read: a second node
  // must not extend the same tree from the same size.
  db_->lock_log(state->id);
  auto& q = db_->statement("SELECT size, frontier, checkpoint FROM logs WHERE id=?");
  q.bind(1, state->id);
  if (!q.step()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
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
      parsed.size = std::stoull(note.substr(a + 1, b - a - 1));
      auto root = hash_from_base64(note.substr(b + 1, c - b - 1));
      if (root.is_ok()) parsed.root = *root;
      cp = parsed;
    } else {
      cp = open_checkpoint(note, ledger_->verifier_key());
      if (cp.is_ok()) ledger_->trusted_notes_[name] = note;
    }
    if (!cp.is_ok() || cp->size != size || cp->root != range->root()) {
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
  auto created = log->range.append(merkle_leaf_hash(*leaf));
  auto& ins = db_->statement("INSERT INTO entries(log_id, idx, kind, month, leaf) VALUES(?,?,?,?,?)");
  ins.bind(1, log->id);
  ins.bind(2, static_cast<int64_t>(index));
  ins.bind(3, entry_string(fields, "kind"));
  std::string month = entry_string(fields, "month");
  if (month.empty()) ins.bind_null(4);
  else ins.bind(4, month);
  ins.bind_blob(5, *leaf);
  ins.exec();
  for (const auto& n : created) {
    auto& node = db_->statement("INSERT INTO nodes(log_id, level, idx, hash) VALUES(?,?,?,?)");
    node.bind(1, log->id);
    node.bind(2, n.level);
    node.bind(3, static_cast<int64_t>(n.index));
    node.bind_blob(4, std::string_view(reinterpret_cast<const char*>(n.hash.data()), 32));
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
    auto& up = db_->statement("UPDATE logs SET size=?, frontier=?, checkpoint=? WHERE id=?");
    std::string frontier = log->range.encode();
    up.bind(1, static_cast<int64_t>(log->range.size()));
    up.bind_blob(2, frontier);
    up.bind(3, *note);
    up.bind(4, log->id);
    up.exec();
  }
  return Status::ok();
}

Result<uint64_t> WriteTxn::append_to_log(const std::string& log_name, const json& fields, const Author& author,
                                         bool day_resolution) {
  // A log this transaction holds already exists: the handled log is
  // appended to once per message, and must not cost a statement each time.
  bool held = false;
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
