#include "ledger/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "test_support.h"

namespace sunledger {
namespace {

off_t file_size(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

struct WalDatabase {
  testing::TempDir dir;
  std::string path = dir.file("wal.db");
  sqlite3* db = nullptr;
  WalDatabase() {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10'000);  // as the ledger's writer: a RESTART holds it back briefly
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE t(v BLOB)");
  }
  ~WalDatabase() { sqlite3_close(db); }
  void exec(const std::string& sql) { ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql; }
  // Commits one row of a page's size per transaction, as the ledger's writes do.
  void commit_pages(int n) {
    for (int i = 0; i < n; ++i) exec("INSERT INTO t VALUES(randomblob(4000))");
  }
};

bool wait_for(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

TEST(WalCheckpointer, CopiesTheWalIntoTheDatabaseOnItsOwnThread) {
  WalDatabase w;
  WalCheckpointer checkpointer;
  ASSERT_TRUE(checkpointer.start(w.db, w.path));
  off_t before = file_size(w.path);
  w.commit_pages(WalCheckpointer::kPagesBeforeCheckpoint / 2 + 10);
  // Each one-row commit writes two pages (the row's page and the table's
  // root), so this crossed the threshold: the thread has work.
  ASSERT_TRUE(wait_for([&] { return checkpointer.checkpoints_done() > 0; }));
  EXPECT_GT(file_size(w.path), before + 1'000'000) << "the pages reached the database file";
  checkpointer.stop();
}

TEST(WalCheckpointer, CatchesUpOnItsOwnOnceReadersLetGo) {
  WalDatabase w;
  WalCheckpointer checkpointer;
  ASSERT_TRUE(checkpointer.start(w.db, w.path));
  // A reader that holds its snapshot keeps every checkpoint from copying the
  // frames written after it, so the database file cannot grow meanwhile. The
  // WAL is emptied first, so the reader reads the database file alone and no
  // frame at all may be copied while it holds on...
  w.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(w.path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM t;", nullptr, nullptr, nullptr), SQLITE_OK);
  off_t before = file_size(w.path);
  w.commit_pages(1200);
  EXPECT_EQ(file_size(w.path), before);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  // ...and once the reader is gone the thread catches up within its
  // one-second round, with no further commit to prompt it.
  ASSERT_TRUE(wait_for([&] { return file_size(w.path) > before + 4'000'000; }));
  checkpointer.stop();
}

TEST(WalCheckpointer, TheWalStartsOverUnderConstantWrites) {
  WalDatabase w;
  WalCheckpointer checkpointer;
  ASSERT_TRUE(checkpointer.start(w.db, w.path));
  // 8,000 WAL pages written without a pause. Were the WAL only ever copied
  // while the writer went on, it would never start over and would hold them
  // all (some 32 MB); restarted, it stays near the threshold.
  off_t largest = 0;
  for (int i = 0; i < 40; ++i) {
    w.commit_pages(100);
    largest = std::max(largest, file_size(w.path + "-wal"));
    // A writer that never pauses at all could starve the checkpoint thread on
    // a loaded 2-core machine (CI builds beside it); a millisecond is no pause.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Far below the 8,000 pages it would hold without restarts.
  EXPECT_LT(largest, 5 * WalCheckpointer::kPagesBeforeCheckpoint * 4200) << "the WAL kept growing";
  EXPECT_GT(checkpointer.checkpoints_done(), 1u);
  checkpointer.stop();
}

TEST(WalCheckpointer, StopGivesTheWriterBackItsAutoCheckpoint) {
  WalDatabase w;
  {
    WalCheckpointer checkpointer;
    ASSERT_TRUE(checkpointer.start(w.db, w.path));
    checkpointer.stop();
  }
  off_t before = file_size(w.path);
  w.commit_pages(WalCheckpointer::kPagesBeforeCheckpoint);  // 2,000 WAL pages: past SQLite's own threshold
  EXPECT_GT(file_size(w.path), before + 1'000'000) << "the committing writer checkpointed by itself";
}

TEST(WalCheckpointer, RefusesADatabaseItCannotOpen) {
  WalDatabase w;
  WalCheckpointer checkpointer;
  EXPECT_FALSE(checkpointer.start(w.db, w.dir.file("missing/none.db")));
  EXPECT_EQ(checkpointer.checkpoints_done(), 0u);
}

}  // namespace
}  // namespace sunledger
