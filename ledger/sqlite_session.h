// The SQL seam (ledger/sql.h) on SQLite, and the prepared-statement cache of
// each connection, which the ledger's own code shares. Private to ledger/:
// nothing outside it may include this header.
//
// Thread safety: none; a session belongs to one connection, which one thread
// uses at a time (the writer under the group-commit leader, a pooled reader
// while it is taken from the pool).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/sql.h"

namespace sunledger::ledger_internal {

// SQLite's connection under a name of the ledger's own, which ledger.h
// declares without naming SQLite.
class SqliteDatabase final : public SQLite::Database {
 public:
  using SQLite::Database::Database;
};

// What kind of failure a SQLite result code is (see sql::Error::Kind).
sql::Error::Kind error_kind(int sqlite_code);

class SqliteStatement final : public sql::Statement {
 public:
  // Throws SQLite::Exception (the ledger's own code prepares through here).
  SqliteStatement(SQLite::Database& db, const std::string& sql);
  // For the ledger's own code, which speaks SQLiteCpp and catches its exceptions.
  SQLite::Statement& raw() { return q_; }

  void bind(int index, int64_t value) override;
  void bind(int index, std::string_view text) override;
  void bind_blob(int index, std::string_view bytes) override;
  void bind_null(int index) override;
  bool step() override;
  int64_t exec() override;
  int64_t column_int64(int column) override;
  std::string column_text(int column) override;
  std::string column_blob(int column) override;
  bool column_is_null(int column) override;
  std::string_view column_text_view(int column) override;
  std::string_view column_blob_view(int column) override;
  void reset() override;

 private:
  SQLite::Statement q_;
};

// One connection's session: the statements prepared on it, keyed by the SQL
// literal's address, for the seam (statement) and the ledger (raw) alike.
class SqliteSession final : public sql::Session {
 public:
  explicit SqliteSession(SQLite::Database& db) : db_(db) {}

  sql::Statement& statement(const char* sql) override;
  void exec(const std::string& sql) override;
  int64_t last_insert_id() override;
  bool table_exists(const std::string& table) override;
  std::vector<std::string> columns(const std::string& table) override;

  // The cached statement as SQLiteCpp's, throwing SQLite::Exception.
  SQLite::Statement& raw(const char* sql) { return cached(sql).raw(); }
  // A stepped but unreset SELECT keeps its read snapshot open past COMMIT,
  // and the next BEGIN IMMEDIATE then fails with SQLITE_BUSY_SNAPSHOT once
  // another process has written; so every write ends by resetting them all.
  void reset_all();

 private:
  // Reset, bindings cleared; throws SQLite::Exception.
  SqliteStatement& cached(const char* sql);

  SQLite::Database& db_;
  std::map<const char*, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace sunledger::ledger_internal
