// One connection to the ledger's database, whatever the engine: the SQL seam
// (sql::Session) plus the transactions the ledger itself runs. Private to
// ledger/: the ledger's own code reaches its tables only through this, so
// that SQLite (ledger/sqlite_session.h) and PostgreSQL (issue #17) are two
// implementations of one class and no ledger source names an engine.
//
// Transactions:
// - begin_write() starts a read-write transaction that holds the database's
//   write lock from its first statement (SQLite: BEGIN IMMEDIATE; PostgreSQL:
//   BEGIN, the ledger serialising appends to one log with lock_log()).
// - begin_read() starts a transaction whose reads all see one snapshot
//   (SQLite: BEGIN DEFERRED; PostgreSQL: REPEATABLE READ, READ ONLY).
// - savepoint/rollback_to/release name a savepoint inside a transaction (the
//   group commit gives each writer its own).
// - lock_log(id) serialises appends to one log across processes sharing the
//   database, inside the write transaction (PostgreSQL:
//   pg_advisory_xact_lock; SQLite: nothing, BEGIN IMMEDIATE already holds
//   the only write lock).
//
// Ownership and thread safety: none; a connection is used by one thread at a
// time (the writer by the group-commit leader, a pooled reader while taken
// from the pool). Errors: every method except rollback() throws sql::Error.
#pragma once

#include <string_view>

#include "ledger/sql.h"

namespace sunledger::ledger_internal {

// How lock_until_commit's refusal of a lock out of order begins (an
// sql::Error, kUnavailable): what the group commit runs again holding none.
// A 55P03 the server raises itself (a lock_timeout an operator set) is not
// this: it is the writer's error, as any other.
inline constexpr std::string_view kLockOrderRefusal = "PostgreSQL 55P03 (lock order):";

class Connection : public sql::Session {
 public:
  virtual void begin_write() = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  // Never throws: called from destructors and after failures; a transaction
  // that cannot be rolled back is abandoned with the connection.
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() = 0;

  virtual void savepoint(const char* name) = 0;
  virtual void rollback_to(const char* name) = 0;
  virtual void release(const char* name) = 0;

  virtual void lock_log(int64_t log_id) = 0;
  // For a writer refused a lock out of order (kLockOrderRefusal), about to
  // run again first in a new transaction, inside its savepoint: takes, in
  // the order every node shares, each lock it held or asked for when it was
  // refused (those it was given this way included), waiting for each as long
  // as need be. It then runs holding them all, and waits for no lock out of
  // order, so it closes no cycle with another node. Nothing on SQLite.
  virtual void take_refused_writers_locks() {}

  // Resets every cached statement (a stepped SELECT must not keep its
  // snapshot open past COMMIT).
  virtual void reset_all() = 0;
};

// A transaction that rolls back unless committed (a scope guard, whatever the engine).
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  Transaction(Connection& c, Kind kind) : c_(c) {
    if (kind == Kind::kWrite)
      c_.begin_write();
    else
      c_.begin_read();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) c_.rollback();
  }
  void commit() {
    c_.commit();
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

}  // namespace sunledger::ledger_internal
