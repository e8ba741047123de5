#include "ledger/schema.h"

#include <SQLiteCpp/SQLiteCpp.h>

namespace sunledger {

std::vector<SchemaTrigger> append_only_triggers(const std::string& table, const std::string& message) {
  std::vector<SchemaTrigger> out;
  for (const char* statement : {"UPDATE", "DELETE"}) {
    std::string suffix = statement[0] == 'U' ? "_no_update" : "_no_delete";
    out.push_back({table + suffix, table,
                   "CREATE TRIGGER " + table + suffix + " BEFORE " + statement + " ON " + table +
                       " BEGIN SELECT RAISE(ABORT, '" + message + "'); END"});
  }
  return out;
}

bool table_exists(SQLite::Database& db, const std::string& table) {
  SQLite::Statement q(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
  q.bind(1, table);
  return q.executeStep();
}

void create_triggers(SQLite::Database& db, const std::vector<SchemaTrigger>& triggers) {
  for (const auto& t : triggers) db.exec(t.sql);
}

}  // namespace sunledger
