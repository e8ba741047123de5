// The triggers sunledger makes, defined once by the module that owns each
// table, so verify can tell them from triggers added by hand and name the
// ones dropped by hand.
//
// A trigger runs inside every write, before anything is signed: one added
// with a SQL shell can rewrite a row after the bot wrote it or swallow a record,
// with every table still matching its log. One dropped is how an insider
// edits an append-only table; the edit itself is caught by the hashes, but
// the missing trigger is evidence too, and a server must not quietly go on
// without its second line of defence.
//
// Thread safety: these are values and pure functions (table_sql_after opens
// its own scratch in-memory database, so it lives with the SQLite engine in
// sqlite_engine.cc); safe from any thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ledger/sql.h"

namespace sunledger {

// One trigger, exactly as SQLite keeps it in sqlite_master (SQLite drops an
// "IF NOT EXISTS" from the text it stores, so `sql` has none).
struct SchemaTrigger {
  std::string name;
  std::string table;
  std::string sql;
};

// An index a module makes, from its CREATE INDEX statement (with or without
// "IF NOT EXISTS"): verify compares every index in the database with them.
// A UNIQUE or partial index added by hand can refuse chosen writes (every
// complaint naming someone, after the first) while every row still matches
// its log.
struct SchemaIndex {
  std::string name;
  std::string sql;  // as sqlite_master keeps it: no "IF NOT EXISTS", single spaces
};
SchemaIndex schema_index(const std::string& create_sql);
// The indexes among a module's schema statements (CREATE [UNIQUE] INDEX …):
// what it registers with Ledger::expect_indexes, from the same list it
// creates them from.
std::vector<SchemaIndex> indexes_among(std::span<const char* const> statements);
// The form sqlite_master keeps a statement in, for comparing.
std::string normalized_schema_sql(const std::string& sql);

// A table a module makes, with every form of it verify accepts. A table
// changed by hand answers from rows that every log still matches: a CHECK
// added to complaints (text NOT LIKE '%书记%') refuses every later complaint
// naming the secretary; a DEFAULT, a collation, a type or a generated column
// changes what the bot reads. So verify compares every table and view in the
// database (but SQLite's own, sqlite_…) with the registered ones.
struct SchemaTable {
  std::string name;
  // As sqlite_master keeps them (normalized_schema_sql): the form made today
  // first, then the forms of deployments an older version made and migrated.
  std::vector<std::string> sql;
  // Left by an older version and no longer made: it may be absent.
  bool legacy = false;
};
// From a CREATE TABLE statement (with or without "IF NOT EXISTS"), one form.
SchemaTable schema_table(const std::string& create_sql);
// The tables among a module's schema statements (CREATE TABLE …): what it
// registers with Ledger::expect_tables, from the same list it creates them
// from.
std::vector<SchemaTable> tables_among(std::span<const char* const> statements);
// The text sqlite_master keeps for a table made by `create_sql` and then
// changed by `alters` (ALTER TABLE … ADD COLUMN …) in order: SQLite writes
// each added column's definition into the stored CREATE TABLE text, after
// the last column. Worked out by SQLite itself in a scratch in-memory
// database, so it is the text a migrated deployment holds (normalized).
std::string table_sql_after(const std::string& create_sql, std::span<const char* const> alters);

// The two triggers that keep `table` append-only: `T_no_update` and
// `T_no_delete`, each refusing its statement with `message`.
std::vector<SchemaTrigger> append_only_triggers(const std::string& table, const std::string& message);

// Creates `triggers` (call it in the transaction that created their table):
// never at a later open, so a trigger dropped by hand stays missing and
// verify names it instead of a restart quietly putting it back. Throws
// sql::Error like the CREATE TABLE beside it. (Whether the table existed
// before: sql::Session::table_exists.)
void create_triggers(sql::Session& session, const std::vector<SchemaTrigger>& triggers);

}  // namespace sunledger
