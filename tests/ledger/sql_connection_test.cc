// One contract, two engines (issue #17): the same reads, writes and
// transactions through ledger_internal::Connection on a real SQLite file and
// on a real PostgreSQL database (tests/support/pg_cluster.h), then what only
// PostgreSQL has (lock_log blocking, a killed server connection, a read-only
// transaction, COMMIT after a failed statement, connection strings).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <thread>

#include "ledger/pg_connection.h"
#include "ledger/sqlite_session.h"
#include "support/pg_cluster.h"
#include "test_support.h"


namespace sunledger::ledger_internal {
namespace {

using sunledger::testing::held_bytes;
using sunledger::testing::TempDir;
using Kind = sql::Error::Kind;

// The SQLite side of the contract is the ledger's own SqliteConnection, in
// WAL mode as the ledger runs it.
std::unique_ptr<Connection> sqlite_connection(const std::string& path) {
  auto c = std::make_unique<SqliteConnection>(
      std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000));
  c->exec("PRAGMA journal_mode=WAL");
  return c;
}

enum class Engine { kSqlite, kPostgres };

std::string engine_name(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "SQLite" : "PostgreSQL";
}

// Runs fn, expecting an sql::Error; its kind (kOther if none was thrown,
// which the caller's expectation then reports).
template <typename Fn>
Kind error_of(Fn&& fn, std::string* what = nullptr) {
  try {
    fn();
  } catch (const sql::Error& e) {
    if (what != nullptr) *what = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no sql::Error thrown";
  return Kind::kOther;
}

int64_t count_rows(Connection& c, const char* sql) {
  auto& q = c.statement(sql);
  EXPECT_TRUE(q.step());
  int64_t n = q.column_int64(0);
  q.reset();
  return n;
}

// Holds back (exec_later) an insert of key k into the test table u(k).
void insert_later(Connection& c, const char* k) {
  auto& ins = c.statement("INSERT INTO u(k) VALUES (?)");
  ins.bind(1, std::string_view(k));
  ins.exec_later();
}

class SqlConnection : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      conninfo_ = sunledger::testing::pg_fresh_database();
      ASSERT_FALSE(conninfo_.empty());
    }
    db_ = connect();
    ASSERT_NE(db_, nullptr);
  }

  // Another connection to the same database.
  std::unique_ptr<Connection> connect() {
    if (GetParam() == Engine::kSqlite) return sqlite_connection(dir_.file("test.db"));
    auto c = PgConnection::open(conninfo_);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    if (!c.is_ok()) return nullptr;
    return std::move(c.value());
  }

  int64_t count(Connection& c, const char* sql) { return count_rows(c, sql); }

  TempDir dir_;
  std::string conninfo_;
  std::unique_ptr<Connection> db_;
};

TEST_P(SqlConnection, BindsAndReadsEveryKindOfValue) {
  db_->exec("CREATE TABLE v(k INTEGER NOT NULL, i INTEGER, t TEXT, b BLOB)");
  const std::string chinese = "村务公开：修路款 ¥12,345.67 — 王村";
  const std::string blob("\0a\0\xff\x00\x80z", 7);
  auto& ins = db_->statement("INSERT INTO v(k, i, t, b) VALUES (?, ?, ?, ?)");
  ins.bind(1, int64_t{1});
  ins.bind(2, std::numeric_limits<int64_t>::max());
  ins.bind(3, chinese);
  ins.bind_blob(4, blob);
  EXPECT_EQ(ins.exec(), 1);
  auto& again = db_->statement("INSERT INTO v(k, i, t, b) VALUES (?, ?, ?, ?)");
  EXPECT_EQ(&again, &ins);  // one prepared statement per SQL literal
  again.bind(1, int64_t{2});
  again.bind(2, std::numeric_limits<int64_t>::min());
  again.bind(3, std::string_view(""));
  again.bind_blob(4, std::string_view());
  EXPECT_EQ(again.exec(), 1);
  auto& nulls = db_->statement("INSERT INTO v(k, i, t, b) VALUES (?, ?, ?, ?)");
  nulls.bind(1, int64_t{3});
  nulls.bind_null(2);
  nulls.bind_null(3);
  nulls.bind_null(4);
  EXPECT_EQ(nulls.exec(), 1);

  auto& q = db_->statement("SELECT i, t, b FROM v WHERE k = ?");
  q.bind(1, int64_t{1});
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(q.column_text(1), chinese);
  EXPECT_EQ(q.column_text_view(1), chinese);
  EXPECT_EQ(q.column_blob(2), blob);
  EXPECT_EQ(q.column_blob_view(2), blob);
  EXPECT_FALSE(q.column_is_null(2));
  EXPECT_FALSE(q.step());

  q.reset();
  q.bind(1, int64_t{2});  // bindings stay across reset; this one replaces it
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(q.column_text(1), "");
  EXPECT_FALSE(q.column_is_null(1));
  EXPECT_EQ(q.column_blob(2), "");
  q.reset();

  q.bind(1, int64_t{3});
  ASSERT_TRUE(q.step());
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(q.column_is_null(c)) << c;
    EXPECT_EQ(q.column_int64(c), 0) << c;
    EXPECT_EQ(q.column_text(c), "") << c;
    EXPECT_EQ(q.column_blob_view(c), "") << c;
  }
  q.reset();
}

TEST_P(SqlConnection, AggregatesAndComparisonsReadAsIntegers) {
  db_->exec("CREATE TABLE big(id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  const int64_t over = (int64_t{1} << 40) + 7;  // well over 2^31: BIGINT, not INTEGER
  auto& ins = db_->statement("INSERT INTO big(n) VALUES (?)");
  ins.bind(1, over);
  ins.exec();
  ins.reset();
  ins.bind(1, int64_t{3'000'000'000});
  ins.exec();
  // sum(bigint) is numeric on PostgreSQL; a comparison is a bool.
  auto& q = db_->statement("SELECT sum(n), count(*), max(n) = ?, min(n) > ? FROM big");
  q.bind(1, over);
  q.bind(2, over);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), over + 3'000'000'000);
  EXPECT_EQ(q.column_text(0), std::to_string(over + 3'000'000'000));
  EXPECT_EQ(q.column_int64(1), 2);
  EXPECT_EQ(q.column_int64(2), 1);
  EXPECT_EQ(q.column_int64(3), 0);
  EXPECT_EQ(q.column_text(2), "1");
  q.reset();
}

TEST_P(SqlConnection, QuestionMarksInStringsAndQuotedNamesAreNotPlaceholders) {
  db_->exec("CREATE TABLE q(\"who?\" TEXT, note TEXT)");
  auto& ins = db_->statement("INSERT INTO q(\"who?\", note) VALUES (?, 'what? -- not a comment')");
  ins.bind(1, std::string_view("张三"));
  ins.exec();
  auto& q = db_->statement(
      "SELECT \"who?\", note, '?', ? -- the last ? is a comment's\n"
      " FROM q /* ? */ WHERE \"who?\" = ?");
  q.bind(1, std::string_view("bound"));
  q.bind(2, std::string_view("张三"));
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(0), "张三");
  EXPECT_EQ(q.column_text(1), "what? -- not a comment");
  EXPECT_EQ(q.column_text(2), "?");
  EXPECT_EQ(q.column_text(3), "bound");
  q.reset();
  // Two placeholders: a third is out of range, a mistake in the caller.
  EXPECT_EQ(error_of([&] { q.bind(3, int64_t{1}); }), Kind::kOther);
}

TEST_P(SqlConnection, SchemaStatementsRunAgainQuietly) {
  // Every start runs the modules' CREATE ... IF NOT EXISTS again; PostgreSQL
  // answers each with a notice, which must not reach stderr.
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 2; ++i) db_->exec("CREATE TABLE IF NOT EXISTS again(k TEXT PRIMARY KEY)");
  db_->exec("DROP TABLE IF EXISTS never_made");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(db_->table_exists("again"));
}

TEST_P(SqlConnection, UniqueViolationIsOther) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  auto& ins = db_->statement("INSERT INTO u(k) VALUES (?)");
  ins.bind(1, std::string_view("a"));
  ins.exec();
  ins.reset();
  EXPECT_EQ(error_of([&] { ins.exec(); }), Kind::kOther);
  // A mistake in the SQL is kOther too.
  EXPECT_EQ(error_of([&] { db_->statement("SELEKT 1"); }), Kind::kOther);
}

TEST_P(SqlConnection, ARolledBackSavepointKeepsTheRest) {
  db_->exec("CREATE TABLE s(n INTEGER)");
  auto insert = [&](int64_t n) {
    auto& ins = db_->statement("INSERT INTO s(n) VALUES (?)");
    ins.bind(1, n);
    ins.exec();
  };
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    EXPECT_TRUE(db_->in_transaction());
    insert(1);
    db_->savepoint("w1");
    insert(2);
    db_->rollback_to("w1");
    db_->release("w1");
    db_->savepoint("w2");
    insert(3);
    db_->release("w2");
    t.commit();
  }
  EXPECT_FALSE(db_->in_transaction());
  auto& q = db_->statement("SELECT n FROM s ORDER BY n");
  std::vector<int64_t> got;
  while (q.step()) got.push_back(q.column_int64(0));
  EXPECT_EQ(got, (std::vector<int64_t>{1, 3}));
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    insert(4);
  }  // not committed: rolled back
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM s"), 2);
}

TEST_P(SqlConnection, AReadTransactionDoesNotSeeALaterCommit) {
  db_->exec("CREATE TABLE r(n INTEGER)");
  auto other = connect();
  ASSERT_NE(other, nullptr);
  db_->begin_read();
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM r"), 0);
  {
    Transaction t(*other, Transaction::Kind::kWrite);
    auto& ins = other->statement("INSERT INTO r(n) VALUES (?)");
    ins.bind(1, int64_t{7});
    ins.exec();
    t.commit();
  }
  EXPECT_EQ(count(*other, "SELECT count(*) FROM r"), 1);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM r"), 0);  // the snapshot of the first read
  db_->commit();
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM r"), 1);
}

TEST_P(SqlConnection, LastInsertIdAndTheSchema) {
  db_->exec("CREATE TABLE o(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, sig BLOB)");
  auto& ins = db_->statement("INSERT INTO o(body) VALUES (?)");
  ins.bind(1, std::string_view("第一条"));
  ins.exec();
  EXPECT_EQ(db_->last_insert_id(), 1);
  auto& again = db_->statement("INSERT INTO o(body) VALUES (?)");
  again.bind(1, std::string_view("第二条"));
  again.exec();
  EXPECT_EQ(db_->last_insert_id(), 2);
  EXPECT_EQ(count(*db_, "SELECT max(id) FROM o"), 2);

  EXPECT_TRUE(db_->table_exists("o"));
  EXPECT_FALSE(db_->table_exists("nothing_here"));
  EXPECT_EQ(db_->columns("o"), (std::vector<std::string>{"id", "body", "sig"}));
  db_->exec("ALTER TABLE o ADD COLUMN added INTEGER");
  EXPECT_EQ(db_->columns("o"), (std::vector<std::string>{"id", "body", "sig", "added"}));
  EXPECT_TRUE(db_->columns("nothing_here").empty());
}

TEST_P(SqlConnection, StatementsInterleaveWithARowLoop) {
  db_->exec("CREATE TABLE a(n INTEGER); CREATE TABLE b(n INTEGER)");
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    auto& fill = db_->statement("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) "
                                "INSERT INTO a(n) SELECT i FROM c");
    EXPECT_EQ(fill.exec(), 50);
    // Each row of a read writes a row elsewhere, as the ledger's loops do.
    auto& rows = db_->statement("SELECT n FROM a ORDER BY n");
    int64_t seen = 0, sum = 0;
    while (rows.step()) {
      ++seen;
      auto& ins = db_->statement("INSERT INTO b(n) VALUES (?)");
      ins.bind(1, rows.column_int64(0) * 10);
      ins.exec();
      sum += rows.column_int64(0);
    }
    EXPECT_EQ(seen, 50);
    EXPECT_EQ(sum, 50 * 51 / 2);
    t.commit();
  }
  EXPECT_EQ(count(*db_, "SELECT sum(n) FROM b"), 10 * 50 * 51 / 2);
  // A loop left part-way: reset, then the connection serves another
  // statement, and the same one starts again from its first row.
  auto& rows = db_->statement("SELECT n FROM a ORDER BY n");
  ASSERT_TRUE(rows.step());
  ASSERT_TRUE(rows.step());
  rows.reset();
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM b"), 50);
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.column_int64(0), 1);
  // Abandoned part-way inside a transaction: commit still commits.
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    auto& more = db_->statement("SELECT n FROM a ORDER BY n");
    ASSERT_TRUE(more.step());
    auto& ins = db_->statement("INSERT INTO b(n) VALUES (?)");
    ins.bind(1, int64_t{-1});
    ins.exec();
    db_->reset_all();
    t.commit();
  }
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM b"), 51);
}

TEST_P(SqlConnection, AScanOf200000RowsHoldsOneRowAtATime) {
  constexpr int64_t kRows = 200'000;
  db_->exec("CREATE TABLE leaves(i INTEGER NOT NULL, t TEXT NOT NULL)");
  db_->exec("CREATE TABLE marks(i INTEGER NOT NULL)");
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    auto& fill = db_->statement(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) "
        "INSERT INTO leaves(i, t) SELECT i, CAST(? AS TEXT) FROM c");
    fill.bind(1, std::string(300, 'x'));  // 200,000 x 300 bytes: 60 MB if held at once
    EXPECT_EQ(fill.exec(), kRows);
    t.commit();
  }
  auto scan = [&](const char* where) {
    int64_t before = held_bytes(), peak = before;
    auto t0 = std::chrono::steady_clock::now();
    auto& q = db_->statement("SELECT i, t FROM leaves ORDER BY i");
    int64_t n = 0, sum = 0, bytes = 0;
    while (q.step()) {
      ++n;
      sum += q.column_int64(0);
      bytes += static_cast<int64_t>(q.column_text_view(1).size());
      if (n % 10'000 == 0) peak = std::max(peak, held_bytes());
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(n, kRows) << where;
    EXPECT_EQ(sum, kRows * (kRows + 1) / 2) << where;
    EXPECT_EQ(bytes, kRows * 300) << where;
    EXPECT_LT(peak - before, int64_t{16} << 20) << where << ": memory held grew by " << (peak - before) / 1024 << " KiB";
    std::printf("scan of %lld rows %s: %.0f rows/s, memory held +%lld KiB\n", static_cast<long long>(n), where,
                n / seconds, static_cast<long long>((peak - before) / 1024));
  };
  scan("alone");
  // The first statement of a read transaction (PostgreSQL: BEGIN went into
  // the pipeline), and a read after writes held back (exec_later): still one
  // row at a time.
  {
    Transaction t(*db_, Transaction::Kind::kRead);
    scan("first in a read transaction");
  }
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    auto& later = db_->statement("INSERT INTO marks(i) VALUES (?)");
    later.bind(1, int64_t{1});
    later.exec_later();
    db_->savepoint("w");
    scan("after a held-back write");
    db_->release("w");
  }
}

INSTANTIATE_TEST_SUITE_P(BothEngines, SqlConnection, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         engine_name);

// What PostgreSQL alone has or does.
class PgOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = sunledger::testing::pg_fresh_database();
    ASSERT_FALSE(conninfo_.empty());
    db_ = connect();
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<PgConnection> connect() {
    auto c = PgConnection::open(conninfo_);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(c.value()) : nullptr;
  }
  std::string conninfo_;
  std::unique_ptr<PgConnection> db_;
};

// A lock is held back with BEGIN until the transaction's next statement
// (pg_connection.h, pipelining): a read makes it take effect.
void read_something(Connection& c) {
  auto& q = c.statement("SELECT 1");
  ASSERT_TRUE(q.step());
  q.reset();
}

TEST_F(PgOnly, LockLogBlocksAnotherConnectionOnTheSameLogUntilCommit) {
  auto other = connect();
  auto third = connect();
  ASSERT_NE(other, nullptr);
  ASSERT_NE(third, nullptr);
  db_->begin_write();
  db_->lock_log(7);
  read_something(*db_);
  std::atomic<bool> acquired{false};
  std::string failure;
  std::thread waiter([&] {
    try {
      other->begin_write();
      other->lock_log(7);
      read_something(*other);
      acquired = true;
      other->commit();
    } catch (const sql::Error& e) {
      failure = e.what();
      acquired = true;
    }
  });
  // Another log's lock is not held: it is taken at once.
  third->begin_write();
  third->lock_log(8);
  read_something(*third);
  third->commit();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(acquired.load()) << "log 7 locked twice";
  db_->commit();
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(failure, "");
  // Outside a transaction the lock would end at once: a mistake.
  EXPECT_EQ(error_of([&] { db_->lock_log(7); }), Kind::kOther);
}

// Holding locks, a transaction waits for another only when everything it
// holds comes before it in the one order all nodes share: a message's named
// lock, then logs by id. Waiting out of that order could close a cycle with
// another node, so it fails at once (55P03) and the group commit runs the
// writer again holding none. Before the order, a post holding its message's
// lock never waited for its log: every meeting with another node's batch
// cost a rolled-back transaction.
TEST_F(PgOnly, HoldingLocksATransactionWaitsOnlyForOneAfterThemAll) {
  constexpr int32_t kNamed = 0x53554E44;  // a named lock's class (bot's message lock)
  db_->begin_write();
  db_->lock_log(7);
  read_something(*db_);
  struct Waiter {
    std::unique_ptr<PgConnection> c;
    std::atomic<bool> done{false};
    std::string failure;
    std::thread t;
  };
  auto start = [&](Waiter& w, const std::function<void(PgConnection&)>& take_first) {
    w.c = connect();
    ASSERT_NE(w.c, nullptr);
    w.t = std::thread([&w, take_first] {
      try {
        w.c->begin_write();
        take_first(*w.c);
        read_something(*w.c);
        w.c->lock_log(7);
        read_something(*w.c);
        w.c->commit();
      } catch (const sql::Error& e) {
        w.failure = e.what();
        w.c->rollback();
      }
      w.done = true;
    });
  };
  Waiter named, lower, higher;
  start(named, [&](PgConnection& c) { c.lock_until_commit(kNamed, 12345); });
  start(lower, [&](PgConnection& c) { c.lock_log(5); });
  start(higher, [&](PgConnection& c) { c.lock_log(9); });
  higher.t.join();  // out of order: refused at once, without waiting
  EXPECT_NE(higher.failure.find("55P03"), std::string::npos) << higher.failure;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(named.done.load()) << named.failure;  // waiting, in order
  EXPECT_FALSE(lower.done.load()) << lower.failure;
  db_->commit();
  named.t.join();
  lower.t.join();
  EXPECT_EQ(named.failure, "");
  EXPECT_EQ(lower.failure, "");
}

// A writer whose own locks come out of order (a post to a village whose log
// is newer than the `handled` log it appends to next) is refused the second
// and runs again first in a new transaction: it takes every lock it wanted,
// in order, before it runs. It used to wait for the refused lock holding the
// other, which closed a cycle with another node waiting in order for that
// one: PostgreSQL broke it only after its deadlock_timeout, a second.
TEST_F(PgOnly, AWriterRefusedALockRunsAgainTakingAllItWantedInOrder) {
  auto other = connect();  // the other node, appending to the handled log (20)
  ASSERT_NE(other, nullptr);
  other->begin_write();
  other->lock_log(20);
  read_something(*other);
  db_->begin_write();
  db_->savepoint("writer");
  db_->lock_log(30);  // the village's log
  read_something(*db_);
  std::string refused;
  EXPECT_EQ(error_of([&] { db_->lock_log(20); }, &refused), Kind::kUnavailable);
  EXPECT_NE(refused.find("55P03"), std::string::npos) << refused;
  db_->rollback();
  std::atomic<bool> ran{false};
  std::string failure;
  std::thread again([&] {
    try {
      db_->begin_write();
      db_->take_refused_writers_locks();  // 20, then 30: waits for 20 holding nothing
      read_something(*db_);
      db_->lock_log(30);  // held already: no round trip, no wait
      db_->lock_log(20);
      read_something(*db_);
      ran = true;
      db_->commit();
    } catch (const sql::Error& e) {
      failure = e.what();
      db_->rollback();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(ran.load()) << failure;
  // The other node now wants 30, after the 20 it holds: in order, it waits,
  // and gets it at once, since the writer does not hold 30 while waiting.
  auto t0 = std::chrono::steady_clock::now();
  std::string other_failure;
  try {
    other->lock_log(30);
    read_something(*other);
    other->commit();
  } catch (const sql::Error& e) {
    other_failure = e.what();
    other->rollback();
  }
  EXPECT_EQ(other_failure, "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500)) << "a deadlock, broken by the timeout";
  again.join();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(failure, "");
}

// Relocked, a writer can still be refused a lock it had not asked for (it
// decides from what it reads): the next time it takes that one and all it
// was given before, not the new one alone. The group commit relocks inside
// the writer's savepoint, as here (Ledger::run_segment); relocked before it,
// the locks given were left out, and the writer went round refused.
TEST_F(PgOnly, ARelockedWriterRefusedAgainAsksForAllItWantedTheNextTime) {
  auto other = connect();
  auto third = connect();
  ASSERT_NE(other, nullptr);
  ASSERT_NE(third, nullptr);
  auto run_writer = [&](bool relock) {  // wants 30, then 10, then 5, in its own order
    db_->begin_write();
    db_->savepoint("writer");
    if (relock) db_->take_refused_writers_locks();
    std::string refused;
    try {
      for (int64_t log : {30, 10, 5}) {
        db_->lock_log(log);
        read_something(*db_);
      }
    } catch (const sql::Error& e) {
      refused = e.what();
    }
    db_->rollback();
    return refused;
  };
  other->begin_write();
  other->lock_log(10);
  read_something(*other);
  EXPECT_NE(run_writer(false).find("lock order"), std::string::npos);  // holds 30, refused 10
  other->commit();
  other->begin_write();
  other->lock_log(5);
  read_something(*other);
  EXPECT_NE(run_writer(true).find("lock order"), std::string::npos);  // given 10 and 30, refused 5
  other->commit();
  db_->begin_write();
  db_->savepoint("writer");
  db_->take_refused_writers_locks();
  read_something(*db_);
  third->begin_write();
  for (int64_t log : {5, 10, 30}) {
    auto& q = third->statement("SELECT pg_try_advisory_xact_lock(?, ?)::int");
    q.bind(1, int64_t{PgConnection::kLogLockClass});
    q.bind(2, log);
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.column_int64(0), 0) << "log " << log << " not taken again";
    q.reset();
  }
  third->rollback();
  db_->rollback();
}

TEST_F(PgOnly, AKilledServerConnectionIsUnavailable) {
  auto& q = db_->statement("SELECT 1");
  ASSERT_TRUE(q.step());
  q.reset();
  auto admin = PgConnection::open(sunledger::testing::pg_admin_conninfo());
  ASSERT_TRUE(admin.is_ok()) << admin.status().to_string();
  auto& kill = (*admin)->statement("SELECT pg_terminate_backend(?, 5000)");  // waits for the exit
  kill.bind(1, int64_t{db_->backend_pid()});
  ASSERT_TRUE(kill.step());
  EXPECT_EQ(kill.column_int64(0), 1);
  kill.reset();

  auto t0 = std::chrono::steady_clock::now();
  std::string what;
  EXPECT_EQ(error_of([&] { (void)q.step(); }, &what), Kind::kUnavailable) << what;
  EXPECT_EQ(error_of([&] { q.exec(); }), Kind::kUnavailable);
  EXPECT_EQ(error_of([&] { db_->statement("SELECT 2"); }), Kind::kUnavailable);
  // BEGIN is held back with the transaction's first statement: its commit.
  EXPECT_EQ(error_of([&] {
              db_->begin_write();
              db_->commit();
            }),
            Kind::kUnavailable);
  db_->rollback();  // never throws, even now
  // A transaction (BEGIN goes into the pipeline) fails unavailable, and so
  // does every call after it: the failure that left only a rollback, kept
  // with its kind.
  EXPECT_EQ(error_of([&] {
              db_->begin_write();
              (void)q.step();
            }),
            Kind::kUnavailable);
  EXPECT_EQ(error_of([&] { db_->commit(); }), Kind::kUnavailable);
  db_->rollback();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(PgOnly, AReadTransactionRefusesWritesAsUnavailable) {
  db_->exec("CREATE TABLE w(n INTEGER)");
  db_->begin_read();
  auto& ins = db_->statement("INSERT INTO w(n) VALUES (?)");
  ins.bind(1, int64_t{1});
  EXPECT_EQ(error_of([&] { ins.exec(); }), Kind::kUnavailable);
  db_->rollback();
}

TEST_F(PgOnly, CommitAfterAFailedStatementThrowsAndKeepsNothing) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  db_->begin_write();
  auto& ins = db_->statement("INSERT INTO u(k) VALUES (?)");
  ins.bind(1, std::string_view("a"));
  ins.exec();
  auto& dup = db_->statement("INSERT INTO u(k) VALUES (?)");
  dup.bind(1, std::string_view("a"));
  EXPECT_EQ(error_of([&] { dup.exec(); }), Kind::kOther);
  // PostgreSQL answers this COMMIT with ROLLBACK, and no error of its own.
  EXPECT_EQ(error_of([&] { db_->commit(); }), Kind::kOther);
  EXPECT_FALSE(db_->in_transaction());
  auto& q = db_->statement("SELECT count(*) FROM u");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 0);
}

// What a module that tries an insert and takes a unique violation as "there
// already" must do to go on in the same transaction on both engines: the
// statement inside a savepoint, rolled back to on failure.
TEST_P(SqlConnection, ASavepointRecoversFromAFailedStatement) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  auto insert = [&](const char* k) {
    auto& ins = db_->statement("INSERT INTO u(k) VALUES (?)");
    ins.bind(1, std::string_view(k));
    ins.exec();
  };
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    insert("a");
    db_->savepoint("try_insert");
    EXPECT_EQ(error_of([&] { insert("a"); }), Kind::kOther);
    db_->rollback_to("try_insert");
    db_->release("try_insert");
    insert("b");
    t.commit();
  }
  auto& q = db_->statement("SELECT k FROM u ORDER BY k");
  std::vector<std::string> got;
  while (q.step()) got.push_back(q.column_text(0));
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

// exec_later (pg_connection.h, pipelining): held-back writes are seen by the
// next read of the transaction, rows come whole however many, and the commit
// writes them; outside a transaction the write runs at once.
TEST_P(SqlConnection, HeldBackWritesAreReadBackAndCommitted) {
  db_->exec("CREATE TABLE h(n INTEGER)");
  auto later = [&](int64_t n) {
    auto& ins = db_->statement("INSERT INTO h(n) VALUES (?)");
    ins.bind(1, n);
    ins.exec_later();
  };
  later(0);  // no transaction: at once
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    for (int64_t n = 1; n <= 600; ++n) later(n);  // beyond kMaxPending: some go before the read
    auto& q = db_->statement("SELECT n FROM h ORDER BY n");
    std::vector<int64_t> got;
    while (q.step()) got.push_back(q.column_int64(0));
    ASSERT_EQ(got.size(), 601u);
    EXPECT_EQ(got.front(), 0);
    EXPECT_EQ(got.back(), 600);
    later(601);
    db_->savepoint("w");
    later(602);
    db_->rollback_to("w");  // 602 undone, 601 kept
    db_->release("w");
    t.commit();
  }
  auto other = connect();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(count(*other, "SELECT count(*) FROM h"), 602);
  EXPECT_EQ(count(*other, "SELECT max(n) FROM h"), 601);
}

// A held-back write of the writer still running fails: it is thrown at the
// writer's next read (or the commit), the savepoint undoes it, and the
// transaction goes on.
TEST_P(SqlConnection, AHeldBackWritesFailureIsThrownWhereTheWriterCanUndoIt) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  auto later = [&](const char* k) { insert_later(*db_, k); };
  {
    Transaction t(*db_, Transaction::Kind::kWrite);
    later("a");
    db_->savepoint("writer");
    EXPECT_EQ(error_of([&] {
                later("a");  // SQLite: thrown here; PostgreSQL: at the read
                (void)count(*db_, "SELECT count(*) FROM u");
              }),
              Kind::kOther);
    db_->rollback_to("writer");
    db_->release("writer");
    later("b");
    t.commit();
  }
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM u"), 2);
}

// On PostgreSQL a held-back write travels with its writer's release: when it
// fails only after the group commit counted the writer done (its release
// sent with or after it), rolling back to a later savepoint would undo a
// writer behind the group commit's back. The transaction can then only roll
// back whole: every call but rollback() throws, and nothing is written.
TEST_F(PgOnly, AFailureAfterItsWritersReleaseLeavesOnlyARollback) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  auto later = [&](const char* k) { insert_later(*db_, k); };
  db_->begin_write();
  later("a");
  db_->savepoint("writer");  // writer A
  later("a");                // fails, but nobody reads before A's release
  db_->release("writer");
  db_->savepoint("writer");  // writer B
  std::string what;
  EXPECT_EQ(error_of([&] { (void)count_rows(*db_, "SELECT count(*) FROM u"); }, &what), Kind::kOther);
  EXPECT_NE(what.find("earlier writer"), std::string::npos) << what;
  EXPECT_EQ(error_of([&] { db_->rollback_to("writer"); }), Kind::kOther);  // would undo A's savepoint
  EXPECT_EQ(error_of([&] { db_->commit(); }), Kind::kOther);
  db_->rollback();
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(count_rows(*db_, "SELECT count(*) FROM u"), 0);
  // The connection serves the next transaction.
  db_->begin_write();
  later("c");
  db_->commit();
  EXPECT_EQ(count_rows(*db_, "SELECT count(*) FROM u"), 1);
}

// A statement whose last run failed is handed out clean: its old error was
// thrown once, by that run (SQLiteCpp's reset() threw it again at the next
// statement() and at every reset, until this was fixed).
TEST_P(SqlConnection, AStatementThatFailedIsHandedOutCleanNextTime) {
  db_->exec("CREATE TABLE u(k TEXT PRIMARY KEY)");
  auto insert = [&](const char* k) {
    auto& ins = db_->statement("INSERT INTO u(k) VALUES (?)");
    ins.bind(1, std::string_view(k));
    return ins.exec();
  };
  EXPECT_EQ(insert("a"), 1);
  EXPECT_EQ(error_of([&] { insert("a"); }), Kind::kOther);
  EXPECT_EQ(insert("b"), 1);
  db_->reset_all();
  EXPECT_EQ(insert("c"), 1);
}

TEST_F(PgOnly, TextWithANulByteIsRefusedNotCut) {
  db_->exec("CREATE TABLE t(s TEXT)");
  auto& ins = db_->statement("INSERT INTO t(s) VALUES (?)");
  EXPECT_EQ(error_of([&] { ins.bind(1, std::string_view("a\0b", 3)); }), Kind::kOther);
}

// Attack: a connection string's password must not reach a message (logs,
// the operator's terminal) whatever goes wrong with it.
TEST(PgConnectionOpen, ThePasswordIsInNoMessage) {
  const std::string secret = "hunter2-Secret";
  struct Case {
    std::string conninfo;
    Code code;
  };
  const Case cases[] = {
      {"host=/nonexistent-sunledger user=u password=" + secret + " dbname=d", Code::kUnavailable},
      {"postgresql://u:" + secret + "@%2Fnonexistent-sunledger/d", Code::kUnavailable},
      {"postgresql://u:" + secret + "@%2Fnonexistent-sunledger/d?nosuchoption=" + secret, Code::kInvalidArgument},
      {"host=/nonexistent-sunledger password " + secret, Code::kInvalidArgument},
      {"postgresql://u:" + secret + "%zz@localhost/d", Code::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto r = PgConnection::open(c.conninfo);
    ASSERT_FALSE(r.is_ok()) << c.conninfo;
    EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
    EXPECT_EQ(r.status().message().find(secret), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos) << r.status().message();
  }
}

// Without PostgreSQL's binaries a test that needs them fails, saying how to
// install them; it is never skipped (this binary, run again without them).
TEST(PgCluster, MissingBinariesFailTheTestNamingInstallDeps) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = 0;
  TempDir empty;
  auto r = sunledger::testing::run_command("SUNLEDGER_PG_BINDIR=" + empty.path().string() + " " + self +
                                           " --gtest_filter=PgOnly.TextWithANulByteIsRefusedNotCut");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("scripts/install-deps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  FAILED  ] PgOnly.TextWithANulByteIsRefusedNotCut"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("SKIPPED"), std::string::npos) << r.output;
}

TEST(PgErrorKind, BySqlstate) {
  EXPECT_EQ(pg_error_kind("08006"), Kind::kUnavailable);  // connection failure
  EXPECT_EQ(pg_error_kind("53100"), Kind::kUnavailable);  // disk full
  EXPECT_EQ(pg_error_kind("57P01"), Kind::kUnavailable);  // admin shutdown
  EXPECT_EQ(pg_error_kind("40001"), Kind::kUnavailable);  // serialisation
  EXPECT_EQ(pg_error_kind("40P01"), Kind::kUnavailable);  // deadlock
  EXPECT_EQ(pg_error_kind("25006"), Kind::kUnavailable);  // read-only transaction
  EXPECT_EQ(pg_error_kind("XX001"), Kind::kCorrupt);
  EXPECT_EQ(pg_error_kind("XX002"), Kind::kCorrupt);
  EXPECT_EQ(pg_error_kind("23505"), Kind::kOther);  // unique violation
  EXPECT_EQ(pg_error_kind("42601"), Kind::kOther);  // syntax
  EXPECT_EQ(pg_error_kind(""), Kind::kOther);
}

}  // namespace
}  // namespace sunledger::ledger_internal
