#include "ledger/database_copy.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "ledger/database_address.h"
#include "ledger/ledger_internal.h"
#include "ledger/sql_connection.h"
#include "ledger/sql_engine.h"

namespace sunledger {

using ledger_internal::Connection;
using ledger_internal::engine_for;
using ledger_internal::from_sql;

namespace {

// Names come from the databases' own catalogues, but are quoted all the same:
// one module quotes "user", and a name is never spliced in as SQL.
std::string quoted_name(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The tables of the current schema, with their columns' types as
// format_type names them (what a CAST needs).
std::map<std::string, std::map<std::string, std::string>> pg_tables(Connection& pg) {
  std::map<std::string, std::map<std::string, std::string>> out;
  auto& q = pg.statement(
      "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_class c"
      " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
      " WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace");
  while (q.step()) out[q.column_text(0)][q.column_text(1)] = q.column_text(2);
  return out;
}

// Tables in an order that inserts every referenced row before the rows
// referring to it (PostgreSQL checks a foreign key at each statement; a
// table referring to itself is left to its own row order).
std::vector<std::string> foreign_key_order(Connection& pg, const std::vector<std::string>& tables) {
  std::map<std::string, std::set<std::string>> needs;
  auto& q = pg.statement(
      "SELECT a.relname, b.relname FROM pg_constraint k JOIN pg_class a ON a.oid = k.conrelid"
      " JOIN pg_class b ON b.oid = k.confrelid WHERE k.contype = 'f'"
      " AND a.relnamespace = current_schema()::regnamespace");
  while (q.step())
    if (q.column_text(0) != q.column_text(1)) needs[q.column_text(0)].insert(q.column_text(1));
  std::vector<std::string> out;
  std::set<std::string> placed, wanted(tables.begin(), tables.end());
  while (out.size() < tables.size()) {
    size_t before = out.size();
    for (const auto& t : tables) {
      if (placed.count(t)) continue;
      bool ready = true;
      for (const auto& n : needs[t]) ready &= placed.count(n) > 0 || !wanted.count(n);
      if (!ready) continue;
      out.push_back(t);
      placed.insert(t);
    }
    if (out.size() == before)  // a cycle: the rest as they come (the insert names what fails)
      for (const auto& t : tables)
        if (placed.insert(t).second) out.push_back(t);
  }
  return out;
}

std::vector<std::string> sqlite_tables(Connection& src) {
  std::vector<std::string> out;
  // SQLite's own tables (sqlite_sequence, sqlite_stat1) are the engine's, not a module's.
  auto& q = src.statement("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                          " ORDER BY name");
  while (q.step()) out.push_back(q.column_text(0));
  return out;
}

// One stored value, as SQLite's typeof names its kind.
struct Value {
  enum class Kind { kNull, kInteger, kText, kBlob } kind = Kind::kNull;
  int64_t integer = 0;
  std::string bytes;
};

// Rows are sent this many at a time (one INSERT … VALUES (…), (…)); at most
// 65,535 parameters per statement.
constexpr size_t kBatchRows = 256;

class TableCopy {
 public:
  TableCopy(Connection& src, Connection& dst, std::deque<std::string>& texts, std::string table,
            std::vector<std::string> columns, const std::map<std::string, std::string>& types)
      : src_(src), dst_(dst), texts_(texts), table_(std::move(table)), columns_(std::move(columns)) {
    for (const auto& c : columns_) types_.push_back(types.at(c));
    batch_ = std::max<size_t>(1, std::min(kBatchRows, 60000 / std::max<size_t>(1, columns_.size())));
  }

  // Copies every row; returns how many.
  uint64_t run() {
    std::string select = "SELECT ";
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string c = quoted_name(columns_[i]);
      // A real read as text keeps 17 significant digits (SQLite's own text has 15).
      select += std::string(i ? ", " : "") + "typeof(" + c + "), CASE WHEN typeof(" + c + ") = 'real' THEN printf('%!.17g', " +
                c + ") ELSE " + c + " END";
    }
    texts_.push_back(select + " FROM " + quoted_name(table_));
    auto& q = src_.statement(texts_.back().c_str());
    std::vector<Value> pending;
    uint64_t rows = 0;
    while (q.step()) {
      for (size_t i = 0; i < columns_.size(); ++i) {
        Value v;
        std::string_view kind = q.column_text_view(static_cast<int>(2 * i));
        int col = static_cast<int>(2 * i + 1);
        if (kind == "integer") {
          v.kind = Value::Kind::kInteger;
          v.integer = q.column_int64(col);
        } else if (kind == "blob") {
          v.kind = Value::Kind::kBlob;
          v.bytes = q.column_blob(col);
        } else if (kind != "null") {  // text, and a real's digits
          v.kind = Value::Kind::kText;
          v.bytes = q.column_text(col);
        }
        pending.push_back(std::move(v));
      }
      if (pending.size() == batch_ * columns_.size()) send(pending);
      ++rows;
    }
    if (!pending.empty()) send(pending);
    return rows;
  }

 private:
  // The INSERT of n rows, each value cast to its column's type (the server
  // then reads a bytea parameter as the bytes sent).
  sql::Statement& insert(size_t n) {
    auto& text = n == batch_ ? full_sql_ : tail_sql_;
    if (text == nullptr) {
      std::string s = "INSERT INTO " + quoted_name(table_) + "(";
      for (size_t i = 0; i < columns_.size(); ++i) s += (i ? ", " : "") + quoted_name(columns_[i]);
      s += ") VALUES ";
      for (size_t r = 0; r < n; ++r) {
        s += r ? ", (" : "(";
        for (size_t i = 0; i < columns_.size(); ++i) s += std::string(i ? ", " : "") + "CAST(? AS " + types_[i] + ")";
        s += ")";
      }
      texts_.push_back(std::move(s));
      text = texts_.back().c_str();
    }
    return dst_.statement(text);
  }

  void send(std::vector<Value>& pending) {
    size_t n = pending.size() / columns_.size();
    auto& ins = insert(n);
    for (size_t i = 0; i < pending.size(); ++i) {
      const Value& v = pending[i];
      int slot = static_cast<int>(i + 1);
      bool bytea = types_[i % columns_.size()] == "bytea";
      switch (v.kind) {
        case Value::Kind::kNull: ins.bind_null(slot); break;
        case Value::Kind::kInteger: ins.bind(slot, v.integer); break;
        case Value::Kind::kBlob:
        case Value::Kind::kText:
          if (bytea) ins.bind_blob(slot, v.bytes);
          else ins.bind(slot, std::string_view(v.bytes));
          break;
      }
    }
    ins.exec();
    if (n != batch_) tail_sql_ = nullptr;  // another tail size gets its own text
    pending.clear();
  }

  Connection& src_;
  Connection& dst_;
  std::deque<std::string>& texts_;
  std::string table_;
  std::vector<std::string> columns_;
  std::vector<std::string> types_;
  size_t batch_ = 1;
  const char* full_sql_ = nullptr;
  const char* tail_sql_ = nullptr;
};

int64_t count_rows(Connection& c, std::deque<std::string>& texts, const std::string& table) {
  texts.push_back("SELECT count(*) FROM " + quoted_name(table));
  auto& q = c.statement(texts.back().c_str());
  int64_t n = q.step() ? q.column_int64(0) : 0;
  q.reset();
  return n;
}

// Each identity column's sequence, past the largest id now in its table.
void set_sequences(Connection& pg, std::deque<std::string>& texts) {
  std::vector<std::pair<std::string, std::string>> identity;
  auto& q = pg.statement(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
      " AND is_identity = 'YES'");
  while (q.step()) identity.emplace_back(q.column_text(0), q.column_text(1));
  for (const auto& [table, column] : identity) {
    texts.push_back("SELECT setval(pg_get_serial_sequence(?, ?), max(" + quoted_name(column) + ")) FROM " + quoted_name(table) +
                    " HAVING max(" + quoted_name(column) + ") IS NOT NULL");
    auto& s = pg.statement(texts.back().c_str());
    s.bind(1, quoted_name(table));
    s.bind(2, column);
    while (s.step()) {
    }
  }
}

}  // namespace

Result<std::string> first_table_with_rows(const std::string& address) {
  if (!ledger_internal::is_postgresql_address(address)) return invalid_argument("not a postgresql:// address");
  std::deque<std::string> texts;
  try {
    auto pg = engine_for(address)->open_reader(true);
    for (const auto& [table, columns] : pg_tables(*pg)) {
      (void)columns;
      texts.push_back("SELECT 1 FROM " + quoted_name(table) + " LIMIT 1");
      auto& q = pg->statement(texts.back().c_str());
      bool any = q.step();
      q.reset();
      if (any) return table;
    }
  } catch (const sql::Error& e) {
    return from_sql(e, "read " + address_without_password(address, "***"));
  }
  return std::string();
}

Result<std::vector<CopiedTable>> copy_sqlite_to_postgresql(const std::string& sqlite_path, const std::string& address,
                                                           const std::function<void(const CopiedTable&)>& progress) {
  if (ledger_internal::is_postgresql_address(sqlite_path) || !ledger_internal::is_postgresql_address(address))
    return invalid_argument("a migration copies a SQLite file into a postgresql:// database");
  // Declared before the connections: their statement caches are keyed by
  // these texts' addresses, which must not be reused while they live.
  std::deque<std::string> texts;
  std::vector<CopiedTable> copied;
  std::string table;
  try {
    auto src = engine_for(sqlite_path)->open_reader(true);
    auto dst = engine_for(address)->open_writer();
    ledger_internal::Transaction read(*src, ledger_internal::Transaction::Kind::kRead);
    ledger_internal::Transaction write(*dst, ledger_internal::Transaction::Kind::kWrite);
    auto target = pg_tables(*dst);
    std::vector<std::string> tables = sqlite_tables(*src);
    // Every source table and column must have its place, made by its module.
    std::map<std::string, std::vector<std::string>> columns;
    for (const auto& t : tables) {
      auto it = target.find(t);
      if (it == target.end())
        return failed_precondition("the SQLite table " + t + " has no table on PostgreSQL: no module of this version "
                                   "makes it; nothing was copied");
      columns[t] = src->columns(t);
      std::set<std::string> want(columns[t].begin(), columns[t].end()), have;
      for (const auto& [name, type] : it->second) have.insert(name);
      if (want != have)
        return failed_precondition("the table " + t + " has other columns in SQLite than on PostgreSQL (an older "
                                   "version's form?); nothing was copied");
    }
    // What schema creation wrote (a module's first state) gives way to the
    // deployment's own rows; a referring table's rows go first.
    std::vector<std::string> order = foreign_key_order(*dst, tables);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      if (count_rows(*dst, texts, *it) > 0) {
        table = *it;
        texts.push_back("DELETE FROM " + quoted_name(*it));
        dst->statement(texts.back().c_str()).exec();
      }
    for (const auto& t : order) {
      table = t;
      TableCopy copy(*src, *dst, texts, t, columns[t], target[t]);
      CopiedTable done{t, copy.run()};
      int64_t there = count_rows(*dst, texts, t), here = count_rows(*src, texts, t);
      if (there != here || static_cast<uint64_t>(here) != done.rows)
        return data_loss("the table " + t + " holds " + std::to_string(here) + " rows in SQLite but " +
                         std::to_string(there) + " on PostgreSQL after the copy; nothing was committed");
      copied.push_back(done);
      if (progress) progress(done);
    }
    table.clear();
    set_sequences(*dst, texts);
    dst->reset_all();
    write.commit();
  } catch (const sql::Error& e) {
    return from_sql(e, table.empty() ? std::string("copy") : "copy table " + table);
  }
  return copied;
}

}  // namespace sunledger
