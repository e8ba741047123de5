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
