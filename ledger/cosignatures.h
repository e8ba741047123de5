// Witnesses' cosignatures on the logs' checkpoints (C2SP tlog-cosignature
// v1.0.1 lines, "— NAME base64(key id ‖ time ‖ signature)"), kept beside the
// checkpoint they sign and served with it: Ledger::checkpoint, month_close
// and month_closes append every stored cosignature whose (log, size, root) is
// the note's, so the tiles' checkpoint file, the read API, 核验 and the
// notices carry them without knowing of witnesses. Private to the ledger
// library: the table, and the merge its reads use.
//
// A cosignature needs no signature of ours: it is the witness's, over the
// checkpoint's text. But a row is only as good as that signature: an insider
// with a SQL shell can insert a line made up, or one moved from another
// checkpoint, and whatever serves it vouches for it. So every row is checked
// before it is served (with_cosignatures) and by verify, under the key of a
// witness the deployment configured (bots.json "witnesses", handed to the
// ledger by Ledger::set_witness_keys): never a key the database holds, which
// the same insider could write. A row that fails is dropped and logged. The
// table is append-only (triggers) so a careless edit fails loudly; a row
// deleted only makes a checkpoint carry fewer.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>
#include <functional>

#include "ledger/crypto.h"

namespace sunledger::ledger_internal {
class Connection;
}

namespace sunledger::ledger_internal {

// The line is part of the key: with (log, size, witness) alone, a row an
// insider inserted with a bad signature took the slot for good, and the
// witness's genuine cosignature of that checkpoint could never be stored.
// Now a genuine line is stored beside a forged one (add_cosignature skips
// only a slot that holds a row that verifies), only verified lines are
// served (one per witness), and verify names the forged row.
inline constexpr const char* kCosignaturesTable =
    "CREATE TABLE IF NOT EXISTS cosignatures(log_id INTEGER NOT NULL REFERENCES logs(id), size INTEGER NOT NULL,"
    " root BLOB NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY(log_id, size, witness, line))";
// The table as deployments before that made it; Ledger::open rebuilds it in
// today's form (rows and triggers kept).
inline constexpr const char* kCosignaturesTableBySlot =
    "CREATE TABLE IF NOT EXISTS cosignatures(log_id INTEGER NOT NULL REFERENCES logs(id), size INTEGER NOT NULL,"
    " root BLOB NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY(log_id, size, witness))";
// Whether the cosignatures table is of that older form. Throws sql::Error.
bool cosignatures_table_by_slot(Connection& db);
// Rebuilds a cosignatures table of the older form in today's, in the
// caller's write transaction: rows copied, the append-only triggers made
// again. Nothing when it is in today's form already. Throws sql::Error.
void migrate_cosignatures_table(Connection& db);

// Logs a witness refused because it holds a larger tree or another root at
// the same size (a rollback or a fork): never submitted to again, so the
// alarm is raised once, whatever restarts follow. `witness-refusals clear`
// removes a row, and the server asks that witness again. Each row is written
// with a signed record of it (Ledger::refuse_witness's `record`, the bot's
// admin log): a row without one, put in by hand, is not obeyed.
inline constexpr const char* kWitnessRefusalsTable =
    "CREATE TABLE IF NOT EXISTS witness_refusals(log_id INTEGER NOT NULL REFERENCES logs(id), witness TEXT NOT NULL,"
    " witness_size INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(log_id, witness))";

// The configured witnesses' verifier keys, by the name they sign with, and
// the lines already found good under them (an Ed25519 verification is ~50 µs;
// a checkpoint is served thousands of times a second). Thread safe.
class WitnessKeys {
 public:
  // Replaces the keys (cosignature/v1 verifier keys, "name+hexid+base64");
  // forgets what was found good under the old ones.
  void set(const std::vector<std::string>& vkeys);
  // "" when `line` is a valid cosignature/v1 line of `witness`'s configured
  // key on the checkpoint `body` (its origin, size and root lines, ending in
  // a newline); otherwise why not, in English, for logs and verify.
  std::string check(std::string_view body, const std::string& witness, const std::string& line);
  // True the first time `what` is reported: a dropped row is logged once per
  // process, not on every request that reads it.
  bool first_report(const std::string& what);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> keys_;  // by key name
  std::set<std::string> good_;               // body + line, verified
  std::set<std::string> reported_;
};

// The note with the stored cosignature lines on its checkpoint appended (as
// it is when there are none), each checked first under the configured keys:
// a row that does not verify is left out and logged (once) on stderr.
// Throws sql::Error.
std::string with_cosignatures(Connection& db, int64_t log_id, std::string note, WitnessKeys& keys);

// verify's part: every cosignature row of one log checked against the
// log's own tree (`root_at(size)` the recomputed root, `entries` the log's
// size) and the configured keys. One problem per log at most: the first bad
// row, and how many more there are. Throws sql::Error.
struct CosignatureProblem {
  uint64_t size = 0;
  std::string reason;
};
std::vector<CosignatureProblem> check_cosignature_rows(
    Connection& db, int64_t log_id, const std::string& log_origin, uint64_t entries,
    const std::function<Hash(uint64_t)>& root_at, WitnessKeys& keys);

}  // namespace sunledger::ledger_internal
