// The ledger's Connection (ledger/sql_connection.h) on SQLite, with the
// prepared-statement cache of each connection, which the SQL seam and the
// ledger's own code share. Private to ledger/, and within it to the SQLite
// engine (sqlite_engine.cc) and whoever opens one: no other ledger source
// names SQLite.
//
// Thread safety: none; a connection is used by one thread at a time (the
// writer under the group-commit leader, a pooled reader while it is taken
// from the pool).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/sql_connection.h"

namespace sunledger::ledger_internal {

// What kind of failure a SQLite result code is (see sql::Error::Kind).
sql::Error::Kind error_kind(int sqlite_code);

// Runs fn, throwing what SQLiteCpp throws as sql::Error: the ledger and the
// upper modules catch nothing of SQLite's, and Ledger::read/write turn
// sql::Error into a Status.
template <typename Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw sql::Error(error_kind(e.getErrorCode()), e.what());
  }
}

class SqliteStatement final : public sql::Statement {
 public:
  // Throws SQLite::Exception.
  SqliteStatement(SQLite::Database& db, const std::string& sql);
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

// One SQLite connection with the statements prepared on it, keyed by the SQL
// literal's address.
class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

  // The SQLite handle, for the engine's own work (PRAGMAs, backup, the WAL
  // checkpointer).
  SQLite::Database& database() { return *db_; }

  sql::Statement& statement(const char* sql) override;
  void exec(const std::string& sql) override;
  int64_t last_insert_id() override;
  bool table_exists(const std::string& table) override;
  std::vector<std::string> columns(const std::string& table) override;

  // BEGIN IMMEDIATE: the write lock from the start, so a write transaction
  // never fails half-way with SQLITE_BUSY when it first writes.
  void begin_write() override;
  void begin_read() override;
  void commit() override;
  void rollback() noexcept override;
  bool in_transaction() override;
  void savepoint(const char* name) override;
  void rollback_to(const char* name) override;
  void release(const char* name) override;
  // Nothing: BEGIN IMMEDIATE already holds the database's only write lock.
  void lock_log(int64_t) override {}
  // A stepped but unreset SELECT keeps its read snapshot open past COMMIT,
  // and the next BEGIN IMMEDIATE then fails with SQLITE_BUSY_SNAPSHOT once
  // another process has written; so every write ends by resetting them all.
  void reset_all() override;

 private:
  // Reset, bindings cleared; throws SQLite::Exception.
  SqliteStatement& cached(const char* sql);
  // A statement of the transaction's own (BEGIN, SAVEPOINT ...), not cached.
  void run(const std::string& sql);

  std::unique_ptr<SQLite::Database> db_;
  std::map<const char*, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace sunledger::ledger_internal
