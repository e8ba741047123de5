// A ledger's database address as the command line and messages handle it
// (issue #17): whether it names PostgreSQL, and the same address without its
// password. Implemented in pg_engine.cc.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"

namespace sunledger {

// Whether db_path is a PostgreSQL address (postgresql:// or postgres://)
// rather than a SQLite file's path.
bool names_postgresql(const std::string& db_path);

// A PostgreSQL address with its password replaced by mask (user:PASSWORD@
// and password=PASSWORD), or left out altogether when mask is empty (what a
// data folder may keep: libpq then reads PGPASSWORD or ~/.pgpass). Any other
// text as it is.
std::string address_without_password(const std::string& db_path, const std::string& mask = "");

// One `sunledger serve` per PostgreSQL database, unless every server on it
// says it shares (issue #17, `serve --shared-database`): a session-level
// advisory lock held by a connection of its own while the object lives
// (closing it, or the process dying, releases it), exclusive for a server
// alone on its database, shared by servers that share it. A server alone and
// a shared one exclude each other: a server started without the option
// counts on being the only one (a second machine set up from a copy of the
// folder, by mistake).
class DatabaseLock {
 public:
  virtual ~DatabaseLock() = default;
};
// failed_precondition when another process holds it; unavailable when the
// database cannot be reached.
Result<std::unique_ptr<DatabaseLock>> lock_postgresql_database(const std::string& address, bool shared = false);

}  // namespace sunledger
