#include "ledger/line_keys.h"

#include <utility>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/leaf_fields.h"
#include "ledger/sql_connection.h"

namespace sunledger::ledger_internal {

std::string line_key(std::string_view direction, std::string_view date, Fen amount, std::string_view item,
                     std::string_view counterparty) {
  std::string pre;
  auto put = [&pre](std::string_view s) {
    pre += std::to_string(s.size());
    pre += ':';
    pre += s;
  };
  put(direction);
  put(date);
  put(std::to_string(amount));
  put(item);
  put(counterparty);
  Hash h = sha256(pre);
  return std::string(reinterpret_cast<const char*>(h.data()), 16);
}

void fill_line_keys(Connection& db) {
  auto& q = db.statement("SELECT log_id, idx, leaf FROM entries WHERE kind='txn' ORDER BY log_id, idx");
  auto& ins = db.statement(kInsertLineKey);
  LeafFields f;
  using F = LeafFields;
  while (q.step()) {
    std::string_view col = q.column_blob_view(2);
    if (!f.parse(col))
      continue;  // verify names a leaf that is no JSON; the check simply cannot see it
    std::string key = line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount), f.string(F::kItem),
                               f.string(F::kCounterparty));
    ins.bind(1, q.column_int64(0));
    ins.bind_blob(2, key);
    ins.bind(3, q.column_int64(1));
    ins.exec();
    ins.reset();
  }
}

namespace {
// The (key, entry) of each trailing line of the log that has no row.
std::vector<std::pair<std::string, int64_t>> trailing_without_rows(Connection& db, int64_t log_id) {
  std::vector<std::pair<std::string, int64_t>> out;
  auto& q = db.statement("SELECT idx, leaf FROM entries WHERE log_id=? AND kind='txn' ORDER BY idx DESC");
  auto& has = db.statement("SELECT 1 FROM line_keys WHERE log_id=? AND key=? AND idx=?");
  q.bind(1, log_id);
  LeafFields f;
  using F = LeafFields;
  while (q.step()) {
    std::string_view col = q.column_blob_view(1);
    if (!f.parse(col))
      break;  // verify names it
    std::string key = line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount), f.string(F::kItem),
                               f.string(F::kCounterparty));
    has.bind(1, log_id);
    has.bind_blob(2, key);
    has.bind(3, q.column_int64(0));
    bool found = has.step();
    has.reset();
    if (found) break;
    out.emplace_back(std::move(key), q.column_int64(0));
  }
  q.reset();
  return out;
}
}  // namespace

uint64_t LineKeysSeen::prefix(std::string_view key) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) p = p << 8 | static_cast<unsigned char>(key[i]);
  return p;
}

bool LineKeysSeen::may_have(Connection& db, int64_t log_id, uint64_t committed, std::string_view key) {
  auto it = logs_.find(log_id);
  // Ahead of what is committed cannot be (a log only grows); if it ever
  // were, the set is loaded again rather than trusted.
  if (it == logs_.end() || it->second.covered > committed) {
    if (total_ > kMaxKeys) {
      logs_.clear();
      total_ = 0;
    } else if (it != logs_.end()) {
      total_ -= it->second.prefixes.size();
    }
    Log fresh;
    auto& q = db.statement("SELECT key FROM line_keys WHERE log_id=?");
    q.bind(1, log_id);
    while (q.step()) fresh.prefixes.insert(prefix(q.column_blob_view(0)));
    q.reset();
    fresh.covered = committed;
    total_ += fresh.prefixes.size();
    it = logs_.insert_or_assign(log_id, std::move(fresh)).first;
  } else if (it->second.covered < committed) {
    // Appended since by another writer: its money lines' keys, from the
    // signed leaves (as fill_line_keys makes them).
    auto& q = db.statement("SELECT leaf FROM entries WHERE log_id=? AND idx>=? AND idx<? AND kind='txn'");
    q.bind(1, log_id);
    q.bind(2, static_cast<int64_t>(it->second.covered));
    q.bind(3, static_cast<int64_t>(committed));
    LeafFields f;
    using F = LeafFields;
    while (q.step()) {
      if (!f.parse(q.column_blob_view(0))) continue;  // verify names it
      std::string k = line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount), f.string(F::kItem),
                               f.string(F::kCounterparty));
      if (it->second.prefixes.insert(prefix(k)).second) ++total_;
    }
    q.reset();
    it->second.covered = committed;
  }
  return it->second.prefixes.count(prefix(key)) > 0;
}

void LineKeysSeen::committed(int64_t log_id, uint64_t from, uint64_t to, const std::vector<std::string>& keys) {
  auto it = logs_.find(log_id);
  if (it == logs_.end()) return;
  if (it->second.covered != from) {
    // Not where this transaction began: the set no longer says what lies
    // below where, and is loaded again when next needed.
    total_ -= it->second.prefixes.size();
    logs_.erase(it);
    return;
  }
  for (const auto& k : keys)
    if (it->second.prefixes.insert(prefix(k)).second) ++total_;
  it->second.covered = to;
}

int fill_trailing_line_keys(Connection& db) {
  std::vector<int64_t> logs;
  auto& villages = db.statement("SELECT log_id FROM villages");
  while (villages.step()) logs.push_back(villages.column_int64(0));
  bool missing = false;
  for (int64_t id : logs) missing = missing || !trailing_without_rows(db, id).empty();
  if (!missing) return 0;
  int added = 0;
  Transaction t(db, Transaction::Kind::kWrite);
  auto& ins = db.statement(kInsertLineKey);
  for (int64_t id : logs)
    for (const auto& [key, idx] : trailing_without_rows(db, id)) {
      ins.bind(1, id);
      ins.bind_blob(2, key);
      ins.bind(3, idx);
      ins.exec();
      ins.reset();
      ++added;
    }
  t.commit();
  return added;
}

}  // namespace sunledger::ledger_internal
