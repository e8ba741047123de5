// copy_sqlite_to_postgresql (ledger/database_copy.h, issue #17's migration)
// from a real SQLite file into a real PostgreSQL database
// (tests/support/pg_cluster.h): every kind of value exactly, tables in
// foreign-key order, the identity sequence past the copied ids, the
// append-only trigger still on, what schema creation wrote replaced, a
// source table without a place refused with the target unchanged, and rows
// streamed rather than held.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <thread>

#include "ledger/database_copy.h"
#include "ledger/pg_connection.h"
#include "ledger/schema.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using ledger_internal::PgConnection;

// The same tables on both engines, as a module writes them (SQLite's
// dialect; PgConnection::exec translates): "a_refers" sorts before the table
// it refers to, so a copy in name order would break its foreign key.
const char* const kTables[] = {
    "CREATE TABLE things(id INTEGER PRIMARY KEY, b BLOB, t TEXT, n INTEGER, r REAL)",
    "CREATE TABLE a_refers(thing INTEGER NOT NULL REFERENCES things(id), note TEXT)",
    "CREATE TABLE first_state(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
};

struct DatabaseCopy : ::testing::Test {
  testing::TempDir dir;
  std::string sqlite_path = dir.file("source.db");
  std::string address;
  std::unique_ptr<SQLite::Database> src;
  std::unique_ptr<PgConnection> pg;

  void SetUp() override {
    address = testing::pg_uri(testing::pg_fresh_database());
    ASSERT_FALSE(address.empty());
    src = std::make_unique<SQLite::Database>(sqlite_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    auto c = PgConnection::open(address);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    pg = std::move(*c);
    for (const char* sql : kTables) {
      src->exec(sql);
      pg->exec(sql);
    }
    for (const auto& t : append_only_triggers("things", "append-only")) {
      src->exec(t.sql);
      pg->exec(t.sql);
    }
  }
  int64_t pg_count(const char* sql) {
    auto& q = pg->statement(sql);
    int64_t n = q.step() ? q.column_int64(0) : -1;
    q.reset();
    return n;
  }
};

TEST_F(DatabaseCopy, EveryValueArrivesExactlyInForeignKeyOrder) {
  // 600 rows: two full batches of 256 and a tail.
  const std::string bytes("\x00\xff\x01'\"\\x41", 8);
  SQLite::Transaction fill(*src);  // one fsync, not 600
  SQLite::Statement ins(*src, "INSERT INTO things(id, b, t, n, r) VALUES (?, ?, ?, ?, ?)");
  for (int i = 1; i <= 600; ++i) {
    ins.bind(1, i * 3);  // gaps: the sequence must pass the largest, not the count
    if (i % 5 == 0) ins.bind(2); else ins.bind(2, bytes.data(), static_cast<int>(bytes.size()));
    if (i % 7 == 0) ins.bind(3); else ins.bind(3, "双江村 #" + std::to_string(i) + " 'quoted' \\x00");
    ins.bind(4, static_cast<int64_t>(i % 2 ? std::numeric_limits<int64_t>::max() - i : std::numeric_limits<int64_t>::min() + i));
    if (i % 3 == 0) ins.bind(5); else ins.bind(5, 0.1 * i);
    ins.exec();
    ins.reset();
  }
  fill.commit();
  src->exec("INSERT INTO a_refers VALUES (3, 'first'), (1800, NULL)");
  src->exec("INSERT INTO first_state VALUES ('origin', 'source')");
  // What a module's schema creation wrote in the target gives way to the source's rows.
  pg->exec("INSERT INTO first_state VALUES ('origin', 'made by the first open'), ('other', 'x')");

  auto copied = copy_sqlite_to_postgresql(sqlite_path, address);
  ASSERT_TRUE(copied.is_ok()) << copied.status().to_string();
  ASSERT_EQ(copied->size(), 3u);
  std::vector<std::string> order;
  for (const auto& t : *copied) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"first_state", "things", "a_refers"}));  // a_refers after what it refers to
  EXPECT_EQ(pg_count("SELECT count(*) FROM things"), 600);
  EXPECT_EQ(pg_count("SELECT count(*) FROM a_refers"), 2);
  EXPECT_EQ(pg_count("SELECT count(*) FROM first_state"), 1);

  SQLite::Statement q(*src, "SELECT id, b, t, n, r FROM things ORDER BY id");
  auto& p = pg->statement("SELECT id, b, t, n, CAST(r AS TEXT) FROM things ORDER BY id");
  int rows = 0;
  while (q.executeStep()) {
    ASSERT_TRUE(p.step());
    ++rows;
    EXPECT_EQ(p.column_int64(0), q.getColumn(0).getInt64());
    EXPECT_EQ(p.column_is_null(1), q.getColumn(1).isNull());
    if (!q.getColumn(1).isNull()) {
      EXPECT_EQ(p.column_blob(1), std::string(static_cast<const char*>(q.getColumn(1).getBlob()),
                                              static_cast<size_t>(q.getColumn(1).getBytes())));
    }
    EXPECT_EQ(p.column_is_null(2), q.getColumn(2).isNull());
    EXPECT_EQ(p.column_text(2), q.getColumn(2).isNull() ? "" : q.getColumn(2).getString());
    EXPECT_EQ(p.column_int64(3), q.getColumn(3).getInt64());
    EXPECT_EQ(p.column_is_null(4), q.getColumn(4).isNull());
    if (!q.getColumn(4).isNull()) {
      EXPECT_EQ(std::stod(p.column_text(4)), q.getColumn(4).getDouble());
    }
  }
  EXPECT_FALSE(p.step());
  EXPECT_EQ(rows, 600);
  EXPECT_EQ(pg_count("SELECT count(*) FROM first_state WHERE value = 'source'"), 1);
  EXPECT_EQ(pg_count("SELECT count(*) FROM a_refers WHERE note IS NULL"), 1);

  // The next row without an id gets the next one; the trigger still refuses updates.
  auto& next = pg->statement("INSERT INTO things(t) VALUES ('next') RETURNING id");
  ASSERT_TRUE(next.step());
  EXPECT_EQ(next.column_int64(0), 1801);
  next.reset();
  EXPECT_THROW(pg->exec("UPDATE things SET t = 'x' WHERE id = 3"), sql::Error);
}

TEST_F(DatabaseCopy, ASourceTableWithNoPlaceIsRefusedAndTheTargetStaysAsItWas) {
  src->exec("INSERT INTO things(id, t) VALUES (1, 'one')");
  src->exec("CREATE TABLE added_by_hand(x INTEGER)");
  src->exec("INSERT INTO added_by_hand VALUES (1)");
  auto copied = copy_sqlite_to_postgresql(sqlite_path, address);
  ASSERT_FALSE(copied.is_ok());
  EXPECT_NE(copied.status().message().find("added_by_hand"), std::string::npos) << copied.status().to_string();
  auto used = first_table_with_rows(address);
  ASSERT_TRUE(used.is_ok()) << used.status().to_string();
  EXPECT_EQ(*used, "");

  // A column the target lacks, likewise.
  src->exec("DROP TABLE added_by_hand");
  src->exec("ALTER TABLE first_state ADD COLUMN extra TEXT");
  copied = copy_sqlite_to_postgresql(sqlite_path, address);
  ASSERT_FALSE(copied.is_ok());
  EXPECT_NE(copied.status().message().find("first_state"), std::string::npos) << copied.status().to_string();
  EXPECT_EQ(pg_count("SELECT count(*) FROM things"), 0);
}

// 200,000 rows of 300 bytes (60 MB at once) cross with the process growing
// by a few MB: one row from SQLite at a time, one batch to PostgreSQL.
TEST_F(DatabaseCopy, RowsStreamRatherThanBeingHeld) {
  src->exec(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) "
      "INSERT INTO things(id, t, b) SELECT i, printf('%0300d', i), randomblob(32) FROM c");
  int64_t before = testing::held_bytes();
  std::atomic<int64_t> peak{before};
  std::atomic<bool> done{false};
  std::thread watch([&] {
    while (!done) {
      peak = std::max<int64_t>(peak, testing::held_bytes());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  auto copied = copy_sqlite_to_postgresql(sqlite_path, address);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  watch.join();
  ASSERT_TRUE(copied.is_ok()) << copied.status().to_string();
  EXPECT_EQ(pg_count("SELECT count(*) FROM things"), 200000);
  EXPECT_EQ(pg_count("SELECT sum(length(t)) FROM things"), 200000 * 300);
  EXPECT_LT(peak - before, int64_t{16} << 20) << "memory held grew by " << (peak - before) / 1024 << " KiB";
  std::printf("copy of 200000 rows (332 bytes each): %.0f rows/s, memory held +%lld KiB\n", 200000 / seconds,
              static_cast<long long>((peak - before) / 1024));
}

}  // namespace
}  // namespace sunledger
