// One connection to a PostgreSQL 15 database over libpq (issue #17): the
// Connection the ledger and the upper modules use on SQLite, on PostgreSQL.
// Private to ledger/. Its statements are PgStatement (pg_statement.h); its
// pipeline is in pg_pipeline.cc.
//
// What SQL written for SQLite becomes here (ledger/sql_dialect.h):
// statement() numbers `?` placeholders as $1..$n and prepares the statement
// once per connection (keyed by the SQL literal's address, like
// SqliteConnection); exec() translates schema statements' SQLite types.
//
// Rows stream: step() reads one row at a time (libpq's single-row mode), so a
// scan of a million leaves holds one row, not the result. A connection runs
// one statement at a time, so a statement that needs the connection while
// another is part-way through its rows first reads the rest of that one's
// rows into memory (the interleaved case costs memory; a plain scan does not).
// reset() of a part-read statement reads and drops its remaining rows.
//
// Pipelining: on this machine's virtual CPUs a round trip to the server costs
// 40-100 µs, mostly system calls and wake-ups, so a statement whose answer
// nobody waits for goes into libpq's pipeline and its answer is read later,
// with the next statement that needs one, in one round trip: exec_later()
// inside a transaction, BEGIN, SAVEPOINT, RELEASE and the blocking advisory
// lock; so BEGIN and lock_log take effect at the transaction's next
// statement. The statement that needs an answer still streams its rows one
// at a time (single-row mode inside the pipeline). commit() reads everything
// owed. A statement that failed in the pipeline is thrown from the call that
// read its answer; if a savepoint's release went after it (the group
// commit's writer counted as done), the transaction can then only roll back:
// every call but rollback() throws. At most kMaxPending answers are owed at
// once (each is small, so the server never waits for us to read while we
// write).
//
// Values: rows come as text; bytea is decoded from its \x hex form, integer
// types, integer-valued numeric (what sum(bigint) returns) and bool (1/0)
// read as int64; a NULL reads as 0 or "". Blobs are bound in binary format
// (NUL bytes survive); text may not hold a NUL (PostgreSQL's text cannot).
//
// Transactions differ from SQLite's in one way callers must know: after a
// failed statement PostgreSQL rejects every further statement of the
// transaction until it rolls back (to a savepoint), and commit() of such a
// transaction throws rather than committing the rest.
//
// lock_log outside a transaction throws: the lock would end with the
// statement (SQLite's lock_log does nothing at all).
//
// Errors: sql::Error by SQLSTATE (connection, resources, shutdown,
// serialisation, deadlock, read-only: kUnavailable; data corrupted:
// kCorrupt; everything else, unique violations included: kOther). A lost
// connection is kUnavailable, from then on for every call.
//
// Thread safety: none; one thread at a time, like every Connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/sql_connection.h"
#include "ledger/status.h"

struct pg_conn;
struct pg_result;

namespace sunledger::ledger_internal {

class PgStatement;

// What kind of failure a SQLSTATE is (see sql::Error::Kind).
sql::Error::Kind pg_error_kind(std::string_view sqlstate);

class PgConnection final : public Connection {
 public:
  // The class key of lock_log's advisory locks ("SUNL"), so that a log's
  // lock never collides with another application's locks on the database.
  static constexpr int32_t kLogLockClass = 0x53554E4C;

  // conninfo: a postgresql:// URI or a "key=value ..." string. A failure is
  // kUnavailable (server unreachable, authentication refused) or
  // kInvalidArgument (malformed), its message never holding the password.
  static Result<std::unique_ptr<PgConnection>> open(const std::string& conninfo);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // sql::Session
  sql::Statement& statement(const char* sql) override;
  void exec(const std::string& sql) override;
  int64_t last_insert_id() override;
  bool table_exists(const std::string& table) override;
  std::vector<std::string> columns(const std::string& table) override;
  Dialect dialect() const override { return Dialect::kPostgresql; }

  // Connection
  void begin_write() override;
  void begin_read() override;
  void commit() override;
  void rollback() noexcept override;
  bool in_transaction() override;
  void savepoint(const char* name) override;
  void rollback_to(const char* name) override;
  void release(const char* name) override;
  void lock_log(int64_t log_id) override;
  void lock_until_commit(int32_t key_class, int64_t key) override;
  void take_refused_writers_locks() override;
  void reset_all() override;

  // The server process serving this connection (pg_terminate_backend's
  // argument, for tests of a lost connection).
  int backend_pid() const;

 private:
  friend class PgStatement;
  explicit PgConnection(pg_conn* conn);

  // A statement sent into the open pipeline whose answer is not read yet.
  struct Sent {
    std::string sql;
    bool release;  // RELEASE SAVEPOINT: the writer before it counts as done
  };
  static constexpr size_t kMaxPending = 256;

  // Runs a statement without parameters or rows (BEGIN, DDL; several
  // statements separated by `;` allowed), after reading what the pipeline
  // owes; returns the command tag.
  std::string run(const std::string& sql);
  // One statement without parameters (SAVEPOINT, RELEASE, COMMIT) and what
  // the pipeline owes, in one round trip; returns the command tag.
  std::string command(const std::string& sql);
  // Puts a prepared statement (`prepared` its name, bound to values, null
  // and binary) or, prepared null, a command without parameters into the
  // pipeline, opening it if need be, without waiting for its answer. libpq
  // sends it with the sync (pushing each at once measured no faster: a
  // system call each, on virtual CPUs).
  void send(const char* prepared, const std::string& sql, const std::vector<std::string>* values,
            const std::vector<char>* null, const std::vector<int>* binary);
  // Ends the pipeline: a sync, then every answer read (but the last one's
  // rows, for kStream). Throws the first failure (PostgreSQL skipped what
  // came after it).
  // kWhole: the last statement's whole result is returned (the caller
  // clears it); kStream: its rows are left to read one at a time (step(),
  // then end_stream()); kNone: nothing is returned.
  enum class Last { kNone, kWhole, kStream };
  pg_result* sync(Last last);
  // Whether statements wait in the pipeline for their answers.
  bool pipelining() const { return !sent_.empty(); }
  void flush() {
    if (pipelining()) sync(Last::kNone);
  }
  // After the rows of a statement read in pipeline mode (kStream): reads
  // the sync's result and leaves pipeline mode. Nothing otherwise.
  void end_stream();
  // Leaves the pipeline whatever it owes, answers dropped (rollback()).
  void abandon_pipeline() noexcept;
  // Before another statement uses the connection: the one reading rows reads
  // the rest into memory.
  void take_wire(PgStatement* next);
  // Throws the error of a failed result (consumed), or of the connection.
  [[noreturn]] void fail(pg_result* res, const std::string& what);
  sql::Error error_of(pg_result* res, const std::string& what);
  // Throws while a failure in the pipeline has left only a rollback possible:
  // that failure again, of its kind.
  void check_usable() const;
  // Remembers e as what left only a rollback, and throws it.
  [[noreturn]] void break_with(const sql::Error& e);
  // The connection's own failure (libpq's message), kUnavailable.
  sql::Error lost(const std::string& what);
  // Sends BEGIN into the pipeline: it goes with the transaction's first statement.
  void begin(const char* sql);
  // A transaction's end or start: no lock held, waits as by default.
  void forget_locks();

  pg_conn* conn_;
  PgStatement* streaming_ = nullptr;
  bool in_txn_ = false;
  // The advisory locks this transaction holds, and what it held at each open
  // savepoint (PostgreSQL releases a lock taken inside a savepoint rolled
  // back to); cleared by BEGIN, COMMIT and ROLLBACK.
  using LockKey = std::pair<int32_t, int64_t>;
  std::set<LockKey> held_;
  std::vector<std::set<LockKey>> held_at_savepoint_;
  // What the last writer refused a lock out of order held (beyond what its
  // transaction held before its savepoint) and asked for: what
  // take_refused_writers_locks takes. Kept past the rollback, until taken.
  std::set<LockKey> refused_wanted_;
  // The one order of advisory locks every node shares: a transaction waits
  // for a lock only when all it holds come before it (lock_until_commit).
  static bool lock_order_before(const LockKey& a, const LockKey& b);
  bool streaming_in_pipeline_ = false;  // streaming_'s rows come before a sync's result
  std::vector<Sent> sent_;
  std::optional<sql::Error> broken_;  // set: only rollback() is left (check_usable)
  int next_name_ = 0;
  std::map<const char*, std::unique_ptr<PgStatement>> cache_;
};

}  // namespace sunledger::ledger_internal
