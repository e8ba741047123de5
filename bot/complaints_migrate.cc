// Records of older versions brought into the complaints log once.
#include "bot/complaints.h"

#include <set>

#include "ledger/crypto.h"

namespace sunledger {

Status Complaints::record_legacy_exposed_receipts(WriteTxn& txn, const std::string& identity_salt) {
  if (!txn.sql().table_exists("exposed_receipts")) return Status::ok();
  {
    auto& q = txn.sql().statement("SELECT 1 FROM exposed_receipts LIMIT 1");
    if (!q.step()) return Status::ok();
  }
  // The refs are keyed by the id-salt: a folder without it (a backup) keeps
  // the table until the server, which has it, starts.
  if (identity_salt.size() < 32) return Status::ok();
  std::set<std::string> refs;
  {
    auto& q = txn.sql().statement("SELECT ref FROM exposed_receipts");
    while (q.step()) refs.insert(q.column_text(0));
  }
  std::vector<std::string> anonymous;
  {
    auto& q = txn.sql().statement("SELECT receipt FROM complaints WHERE anonymous=1 ORDER BY log_index");
    while (q.step()) anonymous.push_back(q.column_text(0));
  }
  for (const auto& receipt : anonymous) {
    if (!refs.count(hex_encode(hmac_sha256(identity_salt, "exposed-receipt\n" + receipt)))) continue;
    if (auto c = expose_receipt(txn, receipt); !c.is_ok()) return c.status();
  }
  // Emptied, not dropped: a DROP inside this write meets the statements the
  // appends above keep prepared ("database table is locked"). An empty
  // table grants nothing; the next start finds no row to record.
  txn.sql().exec("DELETE FROM exposed_receipts");
  return Status::ok();
}

}  // namespace sunledger
