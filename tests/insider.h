// The database file opened as an insider with sqlite3 would, to edit rows of
// append-only tables: triggers off on this one connection (what the sqlite3
// shell's `.dbconfig enable_trigger off` does), so the append-only triggers
// stay in the schema and only the hashes and verify catch the edit. (Dropping
// a trigger is caught as a schema problem of its own: LedgerTest.ADroppedTriggerIsNamed.)
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <memory>
#include <string>

namespace sunledger::testing {

inline std::unique_ptr<SQLite::Database> open_as_insider(const std::string& db_path, int busy_timeout_ms = 0) {
  auto db = std::make_unique<SQLite::Database>(db_path, SQLite::OPEN_READWRITE, busy_timeout_ms);
  sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  return db;
}

}  // namespace sunledger::testing
