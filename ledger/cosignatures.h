// Witnesses' cosignatures on the logs' checkpoints (C2SP tlog-cosignature
// v1.0.1 lines, "— NAME base64(key id ‖ time ‖ signature)"), kept beside the
// checkpoint they sign and served with it: Ledger::checkpoint, month_close
// and month_closes append every stored cosignature whose (log, size, root) is
// the note's, so the tiles' checkpoint file, the read API, 核验 and the
// notices carry them without knowing of witnesses. Private to the ledger
// library: the table, and the merge its reads use.
//
// A cosignature needs no signature of ours: it is the witness's, over the
// checkpoint's text, so a row forged by hand fails every verifier that holds
// the witness's key. The table is append-only (triggers) so a careless edit
// fails loudly; a row deleted only makes a checkpoint carry fewer.
#pragma once

#include <cstdint>
#include <string>

namespace SQLite {
class Database;
}

namespace sunledger::ledger_internal {

inline constexpr const char* kCosignaturesTable =
    "CREATE TABLE IF NOT EXISTS cosignatures(log_id INTEGER NOT NULL REFERENCES logs(id), size INTEGER NOT NULL,"
    " root BLOB NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY(log_id, size, witness))";

// Logs a witness refused because it holds a larger tree or another root at
// the same size (a rollback or a fork): never submitted to again, so the
// alarm is raised once, whatever restarts follow. A row deleted by hand (the
// inspectors cleared it) lets the server ask that witness again.
inline constexpr const char* kWitnessRefusalsTable =
    "CREATE TABLE IF NOT EXISTS witness_refusals(log_id INTEGER NOT NULL REFERENCES logs(id), witness TEXT NOT NULL,"
    " witness_size INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(log_id, witness))";

// The note with the stored cosignature lines on its checkpoint appended (as
// it is when there are none). Throws what SQLite throws.
std::string with_cosignatures(SQLite::Database& db, int64_t log_id, std::string note);

}  // namespace sunledger::ledger_internal
