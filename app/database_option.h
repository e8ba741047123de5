// Which database a data folder's ledger lives in (issue #17): SQLite's file
// DIR/sunledger.db (the default), or a PostgreSQL database named by the
// global option --db postgresql://… (or $SUNLEDGER_DB; the option wins).
// Only the database moves: the log key, the identity salt, bots.json and the
// lock files stay in the folder.
//
// The folder remembers its PostgreSQL address in DIR/database, written by
// `init --db` without the password (libpq reads it from the address given,
// PGPASSWORD or ~/.pgpass), so a later command without --db opens that
// database, never an empty SQLite file beside the keys, and a --db naming
// another database than the folder's is refused: the folder's key signed
// that database's logs.
#pragma once

#include <string>

#include "ledger/database_address.h"
#include "ledger/status.h"

namespace sunledger::cli {

// The file in which a folder records its PostgreSQL address.
std::string database_record_path(const std::string& dir);

// The address a command opens: "" for SQLite (DIR/sunledger.db), else a
// postgresql:// address. given: --db's or $SUNLEDGER_DB's ("" for none).
// failed_precondition, naming what to do, when given names another database
// than the folder's (its record, or its SQLite file).
Result<std::string> choose_database(const std::string& dir, const std::string& given);

// Records address, without its password, as the folder's database (init).
Status remember_database(const std::string& dir, const std::string& address);

// The refusal of a command that works on SQLite's file only (backup), for a
// deployment on PostgreSQL: what to run instead.
Status sqlite_only(const std::string& command, const std::string& address, const std::string& instead);

}  // namespace sunledger::cli
