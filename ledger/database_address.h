// A ledger's database address as the command line and messages handle it
// (issue #17): whether it names PostgreSQL, and the same address without its
// password. Implemented in pg_engine.cc.
#pragma once

#include <string>

namespace sunledger {

// Whether db_path is a PostgreSQL address (postgresql:// or postgres://)
// rather than a SQLite file's path.
bool names_postgresql(const std::string& db_path);

// A PostgreSQL address with its password replaced by mask (user:PASSWORD@
// and password=PASSWORD), or left out altogether when mask is empty (what a
// data folder may keep: libpq then reads PGPASSWORD or ~/.pgpass). Any other
// text as it is.
std::string address_without_password(const std::string& db_path, const std::string& mask = "");

}  // namespace sunledger
