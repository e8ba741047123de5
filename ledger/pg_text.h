// Small text helpers of the PostgreSQL connection's source files
// (pg_connection.cc, pg_pipeline.cc): private to ledger/.
#pragma once

#include <string>
#include <string_view>

namespace sunledger::ledger_internal::pg_text {

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The SQL a message names, short enough for a log line.
inline std::string sql_excerpt(std::string_view sql) {
  constexpr size_t kMax = 120;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

// libpq's messages end with a newline and continue on tab-indented lines.
inline std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace sunledger::ledger_internal::pg_text
