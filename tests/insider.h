// The database opened as an insider would, to edit rows of append-only
// tables past their triggers, on either engine (TestLedger::db_path(): a
// SQLite file, or with SUNLEDGER_TEST_DB=postgresql a postgresql:// address):
// - SQLite: the file with triggers off on this one connection (what the
//   sqlite3 shell's `.dbconfig enable_trigger off` does);
// - PostgreSQL: a superuser session with session_replication_role = replica
//   (what `psql` as the postgres user can SET), which fires no ordinary
//   trigger for this session.
// Either way the append-only triggers stay in the schema and only the hashes
// and verify catch the edit. (Dropping a trigger is caught as a schema
// problem of its own: LedgerTest.ADroppedTriggerIsNamed.)
//
// The SQL is SQLite's, as the tests write it; on PostgreSQL it runs through
// the connection's translation (ledger/sql_dialect.h), and the session has
// the two SQLite functions the tamper statements use on blobs: replace() on a
// bytea (as UTF-8 text, which every leaf is) and randomblob(n ≤ 64). They live in a
// schema of their own (insider_tools) after public in the search path, so
// the ledger's own schema (what verify compares) is unchanged.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ledger/pg_connection.h"
#include "ledger/sqlite_session.h"
#include "test_support.h"

namespace sunledger::testing {

// The SQLite file alone, as SQLiteCpp's handle (triggers off the same way),
// for the tests that run on SQLite only (and the Insider below, on SQLite).
inline std::unique_ptr<SQLite::Database> open_as_insider(const std::string& db_path, int busy_timeout_ms = 0) {
  auto db = std::make_unique<SQLite::Database>(db_path, SQLite::OPEN_READWRITE, busy_timeout_ms);
  sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  return db;
}

class Insider {
 public:
  Insider(const std::string& db_path, int busy_timeout_ms) {
    if (db_path.rfind("postgresql://", 0) == 0) {
      auto pg = ledger_internal::PgConnection::open(db_path);
      if (!pg.is_ok()) throw std::runtime_error(pg.status().to_string());
      c_ = std::move(*pg);
      c_->exec("SET session_replication_role = replica");
      if (busy_timeout_ms > 0) c_->exec("SET lock_timeout = " + std::to_string(busy_timeout_ms));
      c_->exec(
          "CREATE SCHEMA IF NOT EXISTS insider_tools;"
          "CREATE OR REPLACE FUNCTION insider_tools.replace(bytea, text, text) RETURNS bytea LANGUAGE sql IMMUTABLE "
          "AS 'SELECT convert_to(replace(convert_from($1, ''UTF8''), $2, $3), ''UTF8'')';"
          "CREATE OR REPLACE FUNCTION insider_tools.randomblob(int4) RETURNS bytea LANGUAGE sql "
          "AS 'SELECT substring(sha512(random()::text::bytea) from 1 for $1)';"
          "SET search_path = public, insider_tools");
      return;
    }
    auto db = open_as_insider(db_path, busy_timeout_ms);
    sqlite_ = db.get();
    c_ = std::make_unique<ledger_internal::SqliteConnection>(std::move(db));
  }

  // Runs one or more statements (no bindings).
  void exec(const std::string& sql) { c_->exec(sql); }
  // A statement with bindings (pass a string literal: cached by its address).
  sql::Statement& statement(const char* sql) { return c_->statement(sql); }
  // A statement built at run time (statement() caches by address: each
  // text here is kept for the connection's life).
  sql::Statement& dynamic(const std::string& sql) { return c_->statement(texts_.emplace_back(sql).c_str()); }
  // The first column of the first row of sql, as an integer.
  int64_t value(const char* sql) {
    auto& q = c_->statement(sql);
    int64_t v = q.step() ? q.column_int64(0) : 0;
    q.reset();
    return v;
  }
  bool on_postgresql() const { return sqlite_ == nullptr; }

 private:
  std::unique_ptr<ledger_internal::Connection> c_;
  SQLite::Database* sqlite_ = nullptr;  // c_'s, on SQLite
  std::deque<std::string> texts_;  // dynamic()'s, at stable addresses
};

// The insider on either engine: what a test that runs on both uses.
inline std::unique_ptr<Insider> open_insider(const std::string& db_path, int busy_timeout_ms = 0) {
  return std::make_unique<Insider>(db_path, busy_timeout_ms);
}

// What the database holds, as bytes to search for something that must not be
// stored (an identity number): SQLite's file and its WAL, every page (free
// ones too); on PostgreSQL every row of every table of the schema, each value
// as text (bytea with encode(…, 'escape'), so ASCII stays readable) — the
// rows, not the server's files, which it keeps to itself.
inline std::string stored_bytes(const std::string& db_path) {
  if (db_path.rfind("postgresql://", 0) != 0) return read_file(db_path) + read_file(db_path + "-wal");
  Insider db(db_path, 0);
  std::vector<std::string> selects;
  auto& cols = db.statement(
      "SELECT table_name, string_agg(CASE WHEN data_type = 'bytea' THEN format('encode(%I, ''escape'')', column_name)"
      " ELSE format('%I::text', column_name) END, ', ' ORDER BY ordinal_position) FROM information_schema.columns"
      " WHERE table_schema = current_schema() GROUP BY table_name");
  while (cols.step()) selects.push_back("SELECT concat_ws('|', " + cols.column_text(1) + ") FROM \"" + cols.column_text(0) + "\"");
  cols.reset();
  std::string out;
  for (const auto& sql : selects) {
    auto& rows = db.dynamic(sql);
    while (rows.step()) out += rows.column_text(0) + "\n";
  }
  return out;
}

// An ordinary connection, triggers on: what the append-only triggers refuse.
inline std::unique_ptr<ledger_internal::Connection> open_with_triggers(const std::string& db_path) {
  if (db_path.rfind("postgresql://", 0) == 0) {
    auto pg = ledger_internal::PgConnection::open(db_path);
    if (!pg.is_ok()) throw std::runtime_error(pg.status().to_string());
    return std::move(*pg);
  }
  return std::make_unique<ledger_internal::SqliteConnection>(
      std::make_unique<SQLite::Database>(db_path, SQLite::OPEN_READWRITE));
}

// For a test whose attack is SQLite's alone (its file's mode, its WAL, its
// type affinity, its schema syntax, a database an older version made): on
// PostgreSQL it is skipped, saying why and, where there is one, which test
// makes the same attack there.
#define SUNLEDGER_SQLITE_ONLY(why)                                 \
  if (::sunledger::testing::test_db_is_postgresql()) {             \
    GTEST_SKIP() << "SQLite only: " << why;                        \
  }

}  // namespace sunledger::testing
