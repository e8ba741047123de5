// The SQL seam: how upper modules (bot/) reach their own tables, which live in
// the ledger's database so that their rows commit atomically with the
// entries that caused them. It names no storage engine: the ledger implements
// it on SQLite today (ledger/sqlite_session.h, private), and a second engine
// (PostgreSQL, issue #17) implements the same two classes.
//
// SQL written against it uses `?` placeholders (bound by 1-based index) and
// no engine's extensions beyond what both engines accept, so that an engine
// may translate placeholders. A module names only its own tables: the
// ledger's tables (logs, entries, villages, ...) are read through
// WriteTxn/Ledger::ReadTxn, never through SQL.
//
// Ownership and thread safety: a Session and its Statements belong to the
// WriteTxn or Ledger::ReadTxn that hands them out and are valid only inside
// the Ledger::write/read callback that received it, on that callback's
// thread. Errors: every method may throw sql::Error, and only inside such a
// callback, where Ledger::write/read turns it into a Status (storage trouble
// kUnavailable, corruption kDataLoss, anything else kInternal); no exception
// crosses a module boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sunledger::sql {

// A failure of the storage engine, thrown by Session and Statement.
class Error : public std::runtime_error {
 public:
  enum class Kind {
    kUnavailable,  // busy, locked, disk full, I/O, read-only: retry later
    kCorrupt,      // the database is damaged
    kOther,        // a constraint, a mistake in the SQL, ...
  };
  Error(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// A prepared statement. Columns are numbered from 0; a NULL column reads as
// 0 or "" (ask column_is_null to tell).
class Statement {
 public:
  virtual ~Statement() = default;

  virtual void bind(int index, int64_t value) = 0;
  virtual void bind(int index, std::string_view text) = 0;
  virtual void bind_blob(int index, std::string_view bytes) = 0;
  virtual void bind_null(int index) = 0;

  // Advances to the next row: false when there is none.
  [[nodiscard]] virtual bool step() = 0;
  // Runs a statement that returns no rows; the number of rows it changed.
  virtual int64_t exec() = 0;
  // Runs a write whose count of changed rows the caller does not need. An
  // engine may hold it back and send it together with the session's next
  // statement, in one round trip (PostgreSQL: pipeline mode; SQLite runs it
  // at once). Its failure then surfaces from that later call, at the latest
  // from the commit, and may fail the group commit's whole transaction
  // rather than its own writer alone (every writer then hears why, and
  // nothing is written). So it is for writes that fail only when storage
  // does (disk, connection) or on a bug; a caller that handles the
  // statement's own failure (an expected unique violation) uses exec().
  virtual void exec_later() { (void)exec(); }

  virtual int64_t column_int64(int column) = 0;
  int column_int(int column) { return static_cast<int>(column_int64(column)); }
  virtual std::string column_text(int column) = 0;
  virtual std::string column_blob(int column) = 0;
  virtual bool column_is_null(int column) = 0;
  // The same bytes without a copy, for loops over many rows (verify, tiles):
  // valid until the next step() or reset() of this statement.
  virtual std::string_view column_text_view(int column) = 0;
  virtual std::string_view column_blob_view(int column) = 0;

  // Back to before the first step; bindings stay.
  virtual void reset() = 0;
};

// A name (a log's, a receipt, a member, a message's key) as a lock key: 31
// bits of its FNV-1a hash, so that names sharing them only wait for each
// other. The one hash every name lock uses: nodes of one version agree.
inline int64_t lock_key_of(std::string_view name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  return static_cast<int64_t>(h & 0x7FFFFFFF);
}

class Session {
 public:
  virtual ~Session() = default;

  // A prepared statement reused across calls (and, for a write, across
  // writes), reset and with no bindings: pass SQL as a string literal, since
  // the cache is keyed by its address. A statement that returned rows is
  // reset when the callback ends.
  virtual Statement& statement(const char* sql) = 0;
  // Runs schema statements (CREATE, ALTER, DROP ...), which take no bindings.
  // Resets every statement of the session first: none may be part-way
  // through its rows while the schema changes.
  virtual void exec(const std::string& sql) = 0;

  // The id the last INSERT gave its row (an INTEGER PRIMARY KEY).
  virtual int64_t last_insert_id() = 0;
  // Whether `table` exists, for schema upgrades.
  virtual bool table_exists(const std::string& table) = 0;
  // The columns `table` has, in order (none when it does not exist).
  virtual std::vector<std::string> columns(const std::string& table) = 0;

  // Which engine's SQL this session reads, for the few statements no form
  // reads the same on both (SQLite's INDEXED BY, typeof, rowid and
  // sqlite_master): the caller picks one of two literals. SQLite unless an
  // engine says otherwise.
  enum class Dialect { kSqlite, kPostgresql };
  virtual Dialect dialect() const { return Dialect::kSqlite; }

  // Holds the lock (key_class, key) until the transaction ends, where
  // several processes write one database (PostgreSQL: an advisory lock);
  // nothing on SQLite, whose one writer holds the whole file. A transaction
  // waits for a lock only when every lock it holds comes before it in one
  // order all nodes share (named locks before logs' locks, then by class and
  // key); otherwise it fails at once (an Error whose text holds "PostgreSQL
  // 55P03"), and the group commit commits what it has and runs the writer
  // again holding none (Ledger's run_batch), so two nodes never wait for
  // each other in a cycle.
  virtual void lock_until_commit(int32_t key_class, int64_t key) {
    (void)key_class;
    (void)key;
  }
  // The same for a lock named by text (lock_key_of).
  void lock_name_until_commit(int32_t key_class, std::string_view name) {
    lock_until_commit(key_class, lock_key_of(name));
  }
};

}  // namespace sunledger::sql
