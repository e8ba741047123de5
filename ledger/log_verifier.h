// One log checked from its stored rows alone: its leaves, its stored subtree
// hashes, its checkpoints and the derived tables it feeds. Internal to the
// ledger library (verify.cc runs it, per log, on its own connections).
#pragma once

#include <cstdint>
#include <string>

#include "ledger/ledger.h"
#include "ledger/sql_connection.h"

namespace sunledger::ledger_internal {

class WitnessKeys;

// One row of `logs`, read in the same snapshot the check runs in.
struct CheckedLog {
  int64_t id = 0;
  std::string name;
  uint64_t stored_size = 0;
  std::string latest_note;  // the latest checkpoint, as stored
  bool is_village = false;
  std::string village_id;  // the villages row pointing at this log, if any
};

// Checks one log inside the caller's read transaction on `db` (borrowed for
// the call) and adds what it finds to `report`: at most one problem, at the
// first bad entry. Throws sql::Error on a storage failure; the caller
// turns it into a Status. Not thread-safe on one `db`; logs may be checked
// concurrently on separate connections.
// With witnesses given, the log's stored cosignatures are checked too
// (ledger/cosignatures.h), as a problem of their own: they vouch for no entry,
// so they never move where the entries are found bad.
void verify_log(Connection& db, const std::string& origin, const std::string& verifier_key, int utc_offset,
                const CheckedLog& row, VerifyReport& report, WitnessKeys* witnesses = nullptr);

}  // namespace sunledger::ledger_internal
