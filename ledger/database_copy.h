// Copying a SQLite deployment's database into PostgreSQL (issue #17,
// `sunledger migrate`): every row of every table, as stored, in one
// transaction of the target. The tables are discovered in the source, not
// named here: each module owns its tables and makes them in the target first
// (the way `init --db` and the first open make them), so the copy only moves
// rows into a schema the modules made and verify knows.
//
// Thread safety: each call opens connections of its own; call from one
// thread. Errors: a Status (nothing thrown), naming the table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

// The first table of the PostgreSQL database at address (its current schema)
// that holds a row, "" when none does: a migration writes into an empty
// database only.
Result<std::string> first_table_with_rows(const std::string& address);

struct CopiedTable {
  std::string name;
  uint64_t rows = 0;
};

// Copies every row of every table of the SQLite database at sqlite_path (one
// read snapshot of it, opened read-only: nothing is written to the file) into
// the same tables of the PostgreSQL database at address, which the modules
// made already. In one transaction of the target, committed only when every
// table's row count there equals the source's:
// - tables in the order their foreign keys need (a referenced table first);
// - rows the target's schema creation wrote (a module's first-open state) are
//   deleted first, so each table ends up holding exactly the source's rows;
// - every value as stored: NULL stays NULL, a blob its bytes (into bytea), an
//   integer its 64 bits, a real its 17 significant digits;
// - the append-only triggers stay on (they allow INSERT);
// - each identity column's sequence is set past the largest id copied, so the
//   next row gets the next id;
// - rows stream: one at a time from SQLite, a batch at a time to PostgreSQL.
// failed_precondition when a source table or column has no place in the
// target (a table no module of this version makes); the target is then
// unchanged (rolled back). progress, when set, is called after each table.
Result<std::vector<CopiedTable>> copy_sqlite_to_postgresql(
    const std::string& sqlite_path, const std::string& address,
    const std::function<void(const CopiedTable&)>& progress = nullptr);

}  // namespace sunledger
