// SQLite's dialect as PostgreSQL reads it: a small lexer that knows only what
// must not be rewritten (strings, quoted identifiers, comments) and words.
#include "ledger/sql_dialect.h"

#include <cctype>
#include <regex>

namespace sunledger::ledger_internal {

namespace {

// The end of the string, quoted identifier or comment that starts at i, or i
// when none starts there. An unterminated one runs to the end of the text
// (the server then reports the mistake, with its position).
size_t skip_non_code(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  char c = s[i];
  if (c == '\'' || c == '"') {
    // A doubled quote inside ('it''s') closes and reopens: the same span.
    size_t j = i + 1;
    while (j < s.size()) {
      if (s[j] == c) {
        if (j + 1 < s.size() && s[j + 1] == c) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return s.size();
  }
  if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
    size_t j = s.find('\n', i);
    return j == std::string_view::npos ? s.size() : j + 1;
  }
  if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
    size_t j = s.find("*/", i + 2);
    return j == std::string_view::npos ? s.size() : j + 2;
  }
  return i;
}

bool word_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

bool same_word(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The word that starts at or after i, skipping spaces and comments; `start`
// and `end` bound it (empty when the next thing is not a word).
std::string_view next_word(std::string_view s, size_t i, size_t* start, size_t* end) {
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = skip_non_code(s, i);
    if (j != i && s[i] != '\'' && s[i] != '"') {
      i = j;  // a comment
      continue;
    }
    break;
  }
  size_t j = i;
  while (j < s.size() && word_char(s[j])) ++j;
  *start = i;
  *end = j;
  return s.substr(i, j - i);
}

// Whether what was written so far ends a table's body, where table options
// follow (") WITHOUT ROWID, STRICT"): a column named strict stays.
bool at_table_options(const std::string& out) {
  size_t n = out.size();
  while (n > 0 && std::isspace(static_cast<unsigned char>(out[n - 1]))) --n;
  if (n > 0 && out[n - 1] == ',') {
    --n;
    while (n > 0 && std::isspace(static_cast<unsigned char>(out[n - 1]))) --n;
  }
  return n > 0 && out[n - 1] == ')';
}

// Drops the spaces and the comma a removed table option leaves behind.
void drop_option_separator(std::string& out) {
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  if (!out.empty() && out.back() == ',') out.pop_back();
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
}

}  // namespace

std::string pg_placeholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  size_t i = 0;
  while (i < sql.size()) {
    size_t j = skip_non_code(sql, i);
    if (j != i) {
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (sql[i] == '?') {
      out += '$';
      out += std::to_string(++n);
    } else if (word_char(sql[i]) && (i == 0 || !word_char(sql[i - 1]))) {
      // A word: SQLite's index hint "INDEXED BY name" is dropped whole
      // (PostgreSQL has none, and its planner keeps statistics); any other
      // word is copied.
      size_t s1, e1, s2, e2, s3, e3;
      std::string_view w1 = next_word(sql, i, &s1, &e1);
      if (same_word(w1, "INDEXED") && same_word(next_word(sql, e1, &s2, &e2), "BY") &&
          !next_word(sql, e2, &s3, &e3).empty()) {
        i = e3;
        continue;
      }
      out.append(w1);
      i = e1;
      continue;
    } else {
      out += sql[i];
    }
    ++i;
  }
  if (count != nullptr) *count = n;
  return out;
}

std::string pg_ddl(std::string_view sql) {
  if (std::string trigger = pg_append_only_trigger(sql); !trigger.empty()) return trigger;
  std::string out;
  out.reserve(sql.size() + 64);
  size_t i = 0;
  while (i < sql.size()) {
    size_t j = skip_non_code(sql, i);
    if (j != i) {
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (!word_char(sql[i])) {
      out += sql[i++];
      continue;
    }
    size_t e = i;
    while (e < sql.size() && word_char(sql[e])) ++e;
    std::string_view w = sql.substr(i, e - i);
    if (same_word(w, "X") && e < sql.size() && sql[e] == '\'') {
      // A blob literal (x'0a1b'); PostgreSQL reads x'...' as a bit string.
      size_t end = skip_non_code(sql, e);
      std::string_view hex = sql.substr(e + 1, end > e + 1 ? end - e - 2 : 0);
      out += "'\\x";
      out.append(hex);
      out += "'::bytea";
      i = end;
      continue;
    }
    if (same_word(w, "INTEGER")) {
      size_t s1, e1, s2, e2, s3, e3;
      if (same_word(next_word(sql, e, &s1, &e1), "PRIMARY") && same_word(next_word(sql, e1, &s2, &e2), "KEY")) {
        out += "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
        i = same_word(next_word(sql, e2, &s3, &e3), "AUTOINCREMENT") ? e3 : e2;
        continue;
      }
      out += "BIGINT";
    } else if (same_word(w, "BLOB")) {
      out += "BYTEA";
    } else if (same_word(w, "REAL")) {
      out += "DOUBLE PRECISION";
    } else if (same_word(w, "WITHOUT") && at_table_options(out)) {
      size_t s1, e1;
      if (same_word(next_word(sql, e, &s1, &e1), "ROWID")) {
        drop_option_separator(out);
        i = e1;
        continue;
      }
      out.append(w);
    } else if (same_word(w, "STRICT") && at_table_options(out)) {
      drop_option_separator(out);
    } else {
      out.append(w);
    }
    i = e;
  }
  return out;
}

const char* const kPgRefuseFunction =
    "CREATE OR REPLACE FUNCTION sunledger_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END$$";

std::string pg_append_only_trigger(std::string_view sql) {
  // Exactly the form schema.cc's append_only_triggers writes, and no other:
  // a trigger of any other form fails on PostgreSQL as written.
  static const std::regex form(
      R"(\s*CREATE\s+TRIGGER\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+BEFORE\s+(UPDATE|DELETE)\s+ON\s+)"
      R"(([A-Za-z_][A-Za-z0-9_]*)\s+BEGIN\s+SELECT\s+RAISE\(ABORT,\s*'([^']*)'\);\s*END\s*)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(sql.begin(), sql.end(), m, form)) return "";
  std::string out = std::string(kPgRefuseFunction) + ";\nCREATE TRIGGER " + m[2].str() + " BEFORE " + m[3].str() +
                    " ON " + m[4].str() + " FOR EACH ROW EXECUTE FUNCTION sunledger_refuse('" + m[5].str() + "')";
  // TRUNCATE empties a table without one DELETE trigger firing: the delete
  // trigger brings a statement trigger refusing it too.
  if (m[3].str() == "DELETE")
    out += ";\nCREATE TRIGGER " + m[2].str() + "_truncate BEFORE TRUNCATE ON " + m[4].str() +
           " FOR EACH STATEMENT EXECUTE FUNCTION sunledger_refuse('" + m[5].str() + "')";
  return out;
}

}  // namespace sunledger::ledger_internal
