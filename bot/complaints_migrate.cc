// Records of older versions brought into the complaints log once.
#include "bot/complaints.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <set>

#include "ledger/crypto.h"

namespace sunledger {

Status Complaints::record_legacy_exposed_receipts(WriteTxn& txn, const std::string& identity_salt) {
  {
    SQLite::Statement q(txn.db(), "SELECT 1 FROM sqlite_master WHERE type='table' AND name='exposed_receipts'");
    if (!q.executeStep()) return Status::ok();
  }
  {
    SQLite::Statement q(txn.db(), "SELECT 1 FROM exposed_receipts LIMIT 1");
    if (!q.executeStep()) return Status::ok();
  }
  // The refs are keyed by the id-salt: a folder without it (a backup) keeps
  // the table until the server, which has it, starts.
  if (identity_salt.size() < 32) return Status::ok();
  std::set<std::string> refs;
  {
    SQLite::Statement q(txn.db(), "SELECT ref FROM exposed_receipts");
    while (q.executeStep()) refs.insert(q.getColumn(0).getString());
  }
  std::vector<std::string> anonymous;
  {
    SQLite::Statement q(txn.db(), "SELECT receipt FROM complaints WHERE anonymous=1 ORDER BY log_index");
    while (q.executeStep()) anonymous.push_back(q.getColumn(0).getString());
  }
  for (const auto& receipt : anonymous) {
    if (!refs.count(hex_encode(hmac_sha256(identity_salt, "exposed-receipt\n" + receipt)))) continue;
    if (auto c = expose_receipt(txn, receipt); !c.is_ok()) return c.status();
  }
  // Emptied, not dropped: a DROP inside this write meets the statements the
  // appends above keep prepared ("database table is locked"). An empty
  // table grants nothing; the next start finds no row to record.
  txn.db().exec("DELETE FROM exposed_receipts");
  return Status::ok();
}

}  // namespace sunledger
