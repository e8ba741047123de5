#include "ledger/line_keys.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <utility>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/leaf_fields.h"

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

void fill_line_keys(SQLite::Database& db) {
  SQLite::Statement q(db, "SELECT log_id, idx, leaf FROM entries WHERE kind='txn' ORDER BY log_id, idx");
  SQLite::Statement ins(db, kInsertLineKey);
  LeafFields f;
  using F = LeafFields;
  while (q.executeStep()) {
    auto col = q.getColumn(2);
    if (!f.parse(std::string_view(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()))))
      continue;  // verify names a leaf that is no JSON; the check simply cannot see it
    std::string key = line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount), f.string(F::kItem),
                               f.string(F::kCounterparty));
    ins.bind(1, q.getColumn(0).getInt64());
    ins.bind(2, key.data(), static_cast<int>(key.size()));
    ins.bind(3, q.getColumn(1).getInt64());
    ins.exec();
    ins.reset();
  }
}

namespace {
// The (key, entry) of each trailing line of the log that has no row.
std::vector<std::pair<std::string, int64_t>> trailing_without_rows(SQLite::Database& db, int64_t log_id) {
  std::vector<std::pair<std::string, int64_t>> out;
  SQLite::Statement q(db, "SELECT idx, leaf FROM entries WHERE log_id=? AND kind='txn' ORDER BY idx DESC");
  SQLite::Statement has(db, "SELECT 1 FROM line_keys WHERE log_id=? AND key=? AND idx=?");
  q.bind(1, log_id);
  LeafFields f;
  using F = LeafFields;
  while (q.executeStep()) {
    auto col = q.getColumn(1);
    if (!f.parse(std::string_view(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()))))
      break;  // verify names it
    std::string key = line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount), f.string(F::kItem),
                               f.string(F::kCounterparty));
    has.bind(1, log_id);
    has.bind(2, key.data(), static_cast<int>(key.size()));
    has.bind(3, q.getColumn(0).getInt64());
    bool found = has.executeStep();
    has.reset();
    if (found) break;
    out.emplace_back(std::move(key), q.getColumn(0).getInt64());
  }
  return out;
}
}  // namespace

int fill_trailing_line_keys(SQLite::Database& db) {
  std::vector<int64_t> logs;
  SQLite::Statement villages(db, "SELECT log_id FROM villages");
  while (villages.executeStep()) logs.push_back(villages.getColumn(0).getInt64());
  bool missing = false;
  for (int64_t id : logs) missing = missing || !trailing_without_rows(db, id).empty();
  if (!missing) return 0;
  int added = 0;
  SQLite::Transaction t(db, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement ins(db, kInsertLineKey);
  for (int64_t id : logs)
    for (const auto& [key, idx] : trailing_without_rows(db, id)) {
      ins.bind(1, id);
      ins.bind(2, key.data(), static_cast<int>(key.size()));
      ins.bind(3, idx);
      ins.exec();
      ins.reset();
      ++added;
    }
  t.commit();
  return added;
}

}  // namespace sunledger::ledger_internal
