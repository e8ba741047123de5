// What stays engine-specific about the ledger's database, behind one private
// interface: opening connections, making and configuring a new database, the
// cross-process change probe, backups, the schema inventory verify compares,
// memory in use. Everything else of the ledger speaks Connection
// (sql_connection.h) and SQL both engines accept. SQLite's implementation is
// sqlite_engine.cc; PostgreSQL's (issue #17) pg_engine.cc.
//
// What the ledger's SQL says in SQLite's dialect, and how it runs on
// PostgreSQL:
// - the DDL (ledger.cc's kSchema and every module's tables, the append-only
//   triggers of schema.cc): translated by PgConnection::exec (sql_dialect.h);
//   verify compares the schema through Engine::stored_forms;
// - PRAGMAs and sqlite_master: here only, and in cosignatures.cc's check for
//   an older SQLite table (never true on PostgreSQL);
// - INDEXED BY entries_by_month (queries.cc, accounts.cc): dropped by
//   PgConnection's translation (sql_dialect.h), one text for both;
// - typeof(…) checks (verify.cc, log_verifier.cc, cosignatures.cc) and
//   cosignatures.cc's rowid: each statement has a PostgreSQL twin, picked by
//   sql::Session::dialect().
// The DML is otherwise neutral: ON CONFLICT … DO NOTHING / DO UPDATE (the old
// row's columns named with their table), COALESCE, `?` placeholders.
//
// Thread safety: open_reader, exists and storage_memory_in_use from any thread;
// change_probe from one thread at a time (Ledger::change_generation holds a
// mutex); the rest from the thread that opens the ledger. Errors: the
// connection openers throw sql::Error (Ledger::open and initialize turn it
// into a Status); the rest return a Status or, for the probe, -1.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/schema.h"
#include "ledger/sql_connection.h"
#include "ledger/status.h"

namespace sunledger::ledger_internal {

// One object of the schema as the engine stores it: type ("table", "index",
// "trigger", "view", or whatever an insider wrote there), name, the table it
// belongs to, and its SQL text ("" for the engine's own indexes).
struct SchemaObject {
  std::string type, name, table, sql;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Whether the database is there at all (before `sunledger init`, not).
  virtual bool exists() = 0;
  // A read-write connection to a new or existing database, made private to
  // this user first (SQLite: the file 0600, which its -wal and -shm files
  // take) and configured; for Ledger::initialize. A file that cannot be
  // made is a Status; a database that cannot be opened, sql::Error.
  virtual Result<std::unique_ptr<Connection>> create() = 0;
  // The ledger's one writer connection, configured.
  virtual std::unique_ptr<Connection> open_writer() = 0;
  // A read-only connection: for the pool (used by one thread at a time, but
  // by many threads in turn) or, with one_thread, for the one thread that
  // opened it (verify's, which then needs no mutex around every call).
  virtual std::unique_ptr<Connection> open_reader(bool one_thread = false) = 0;

  // Starts what runs beside the writer (SQLite: WAL checkpoints off the
  // commit path); where it cannot start, the engine's own default stays.
  // Stops when the engine is destroyed, which must happen before the
  // writer connection closes.
  virtual void start_background(Connection& writer) = 0;
  // Checkpoints of that background work so far (SQLite's WAL checkpoints).
  virtual uint64_t background_checkpoints() const = 0;

  // A number that changes whenever any process commits to the database
  // (SQLite: PRAGMA data_version on a connection of the probe's own), or -1
  // when it cannot be had (the next call tries afresh).
  virtual int64_t change_probe() noexcept = 0;

  // A consistent copy of the database at dest_path (a new private file),
  // while writers go on.
  virtual Status backup_to(const std::string& dest_path) = 0;

  // Every object of the schema, as stored, read on c (in its snapshot).
  virtual std::vector<SchemaObject> schema_objects(Connection& c) = 0;

  // The registered schema (SQLite's text, as modules write it) in the form
  // schema_objects reads it back on this engine, so verify compares like
  // with like. SQLite stores the text it is given: nothing to do.
  // PostgreSQL keeps no text for a table: it makes each object in a scratch
  // schema inside a transaction it rolls back and reads them back the way
  // schema_objects reads the database's own.
  virtual Status stored_forms(std::map<std::string, SchemaTrigger>& triggers,
                              std::map<std::string, std::string>& indexes, std::map<std::string, SchemaTable>& tables) {
    (void)triggers, (void)indexes, (void)tables;
    return Status::ok();
  }

  // The database's address for messages: a path, or a URI without its
  // password.
  virtual std::string where() const = 0;
};

// Whether db_path names a PostgreSQL database (postgresql:// or
// postgres://) rather than a SQLite file.
bool is_postgresql_address(const std::string& db_path);

// PostgreSQL's engine (pg_engine.cc), for such an address.
std::unique_ptr<Engine> make_pg_engine(const std::string& address);

// The engine for a ledger's database: PostgreSQL for a postgresql:// or
// postgres:// address, else SQLite at the path db_path.
std::unique_ptr<Engine> engine_for(const std::string& db_path);

// Bytes the storage engines hold in memory in this process (page caches of
// every connection, prepared statements).
int64_t storage_memory_in_use();

}  // namespace sunledger::ledger_internal
