#include "ledger/schema.h"

#include <string_view>

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

void create_triggers(sql::Session& session, const std::vector<SchemaTrigger>& triggers) {
  for (const auto& t : triggers) session.exec(t.sql);
}

std::string normalized_schema_sql(const std::string& sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    bool is_space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (is_space) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  const std::string ine = "IF NOT EXISTS ";
  if (auto at = out.find(ine); at != std::string::npos && at < 24) out.erase(at, ine.size());
  return out;
}

std::vector<SchemaIndex> indexes_among(std::span<const char* const> statements) {
  std::vector<SchemaIndex> out;
  for (const char* sql : statements) {
    std::string_view s(sql);
    if (s.rfind("CREATE INDEX", 0) == 0 || s.rfind("CREATE UNIQUE INDEX", 0) == 0) out.push_back(schema_index(sql));
  }
  return out;
}

SchemaTable schema_table(const std::string& create_sql) {
  SchemaTable t;
  t.sql.push_back(normalized_schema_sql(create_sql));
  // "CREATE TABLE name(…"
  const std::string& sql = t.sql.front();
  size_t at = sql.find("TABLE ");
  if (at != std::string::npos) {
    size_t begin = at + 6, end = sql.find_first_of("( ", begin);
    t.name = sql.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  return t;
}

std::vector<SchemaTable> tables_among(std::span<const char* const> statements) {
  std::vector<SchemaTable> out;
  for (const char* sql : statements)
    if (std::string_view(sql).rfind("CREATE TABLE", 0) == 0) out.push_back(schema_table(sql));
  return out;
}

SchemaIndex schema_index(const std::string& create_sql) {
  SchemaIndex i;
  i.sql = normalized_schema_sql(create_sql);
  // "CREATE [UNIQUE] INDEX name ON …"
  size_t at = i.sql.find("INDEX ");
  if (at != std::string::npos) {
    size_t begin = at + 6, end = i.sql.find(' ', begin);
    i.name = i.sql.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  return i;
}

}  // namespace sunledger
