// Pins of evidence kept in other logs (see evidence_pins.h). Written through
// WriteTxn's public seam (append_to_log, sql()), like account_map.cc; verify
// checks them in log_verifier.cc.
#include "ledger/evidence_pins.h"

#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;

Result<uint64_t> pin_evidence(WriteTxn& txn, const std::string& village, const std::string& log_name, uint64_t index,
                              const Author& author) {
  // append_to_log would start a log of any name: the village must exist.
  auto& v = txn.sql().statement("SELECT 1 FROM villages WHERE id=?");
  v.bind(1, village);
  bool found = v.step();
  v.reset();
  if (!found) return not_found("没有村“" + village + "” (no such village)");
  // The leaf as this transaction sees it: the evidence may have been
  // appended by it a moment ago.
  auto& q = txn.sql().statement(
      "SELECT e.leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name=? AND e.idx=?");
  q.bind(1, log_name);
  q.bind(2, static_cast<int64_t>(index));
  if (!q.step()) {
    q.reset();
    return not_found("no entry " + std::to_string(index) + " in log " + log_name + " to pin");
  }
  std::string leaf = q.column_blob(0);
  q.reset();
  json f = {{"kind", kForkReportedKind},
            {"village", village},
            {"log", log_name},
            {"index", index},
            {"leaf_sha256", hex_encode(sha256(leaf))}};
  return txn.append_to_log(village, f, author, true);
}

}  // namespace sunledger
