#include "ledger/line_keys.h"

#include <SQLiteCpp/SQLiteCpp.h>

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

}  // namespace sunledger::ledger_internal
