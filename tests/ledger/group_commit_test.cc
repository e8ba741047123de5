// The group commit (ledger/group_commit.cc) and the log rows it writes
// through: concurrent writers share commits, writers that arrive while a
// batch runs join it, and a log's row changed by hand under a running Ledger
// is refused rather than followed. Both engines (ledger_tests and
// ledger_tests_on_postgresql).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "insider.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "test_support.h"

namespace sunledger {
namespace {

// Concurrent writers share commits; each still stands or falls alone.
TEST(GroupCommit, ConcurrentWritersAreAtomicEachAndDurableTogether) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th)
    threads.emplace_back([&, th] {
      for (int i = 0; i < kEach; ++i) {
        bool bad = (th * kEach + i) % 10 == 0;
        std::string n = std::to_string(th * kEach + i);  // distinct lines: identical ones are refused as doubles
        std::vector<TransactionLine> lines = {testing::txn("2022-11-02", true, "上级拨款", "到账" + n, 100),
                                              testing::txn(bad ? "2022-11-31" : "2022-11-03", false, "办公费", "纸" + n, 50)};
        auto r = t.ledger->post_transactions("shuangjiang", lines, testing::official());
        if (r.is_ok()) {
          ++ok;
          auto cp = open_checkpoint(r->checkpoint, t.ledger->verifier_key());
          EXPECT_TRUE(cp.is_ok());
          EXPECT_GT(cp->size, r->indexes.back());
        } else {
          ++refused;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), kThreads * kEach / 10);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), static_cast<uint64_t>(ok.load()) * 2);
  auto entries = t.ledger->entries("shuangjiang", 0, *t.ledger->log_size("shuangjiang"));
  for (size_t i = 0; i < entries->size(); i += 2) {
    // Both lines of one post are adjacent: no half-applied writer.
    EXPECT_EQ((*entries)[i].fields["direction"], "income");
    EXPECT_EQ((*entries)[i + 1].fields["direction"], "expense");
  }
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// An insider swaps two logs' rows (their names) under a running Ledger:
// the next write to either is refused, not appended to the other's tree and
// signed under this log's name; a Ledger opened afterwards refuses it too
// (the row's checkpoint is of the other log). Nothing is written.
TEST(LogRows, RowsSwappedByHandAreRefusedNotFollowed) {
  testing::TestLedger t;
  for (const char* v : {"shuangjiang", "nanzhou"}) {
    ASSERT_TRUE(t.ledger->add_village({v, v, "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->post_transactions(v, {testing::txn("2022-11-02", true, "其他", v, 100)}, testing::official()).is_ok());
  }
  auto entries = [&] { return testing::open_insider(t.db_path())->value("SELECT count(*) FROM entries"); };
  int64_t before = entries();
  testing::open_insider(t.db_path())
      ->exec("UPDATE logs SET name='swap' WHERE name='shuangjiang';"
             "UPDATE logs SET name='shuangjiang' WHERE name='nanzhou';"
             "UPDATE logs SET name='nanzhou' WHERE name='swap'");
  for (int round = 0; round < 2; ++round) {
    for (const char* v : {"shuangjiang", "nanzhou"}) {
      auto r = t.ledger->post_transactions(v, {testing::txn("2022-11-03", true, "其他", "又一笔", 100)}, testing::official());
      EXPECT_EQ(r.status().code(), Code::kDataLoss) << round << " " << v << ": " << r.status().to_string();
    }
    t.reopen();  // round 1: as the server started again on that database
  }
  EXPECT_EQ(entries(), before);
}

// A log's row deleted by hand (with its entries and nodes) under a running
// Ledger: the next write to it is refused, not made on a new, empty tree
// signed under the log's name.
TEST(LogRows, ARowDeletedByHandIsRefusedNotMadeAgain) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  auto append = [&] {
    return t.ledger->write([&](WriteTxn& txn) {
      return txn.append_to_log("handled", {{"kind", "handled"}, {"key", "k"}}, testing::official()).status();
    });
  };
  ASSERT_TRUE(append().is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    const std::string log = "(SELECT id FROM logs WHERE name='handled')";
    for (const char* table : {"entries", "nodes"}) db->exec(std::string("DELETE FROM ") + table + " WHERE log_id=" + log);
    db->exec("DELETE FROM logs WHERE name='handled'");
  }
  Status s = append();
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.to_string();
  EXPECT_EQ(testing::open_insider(t.db_path())->value("SELECT count(*) FROM logs WHERE name='handled'"), 0);
}

// A writer that queues while a batch runs joins that batch's commit rather
// than waiting for it and then for a commit of its own: with many clients
// that doubles what one fsync serves (issue #17: 16 clients on PostgreSQL
// went from about 4,000/s to about 6,500/s). Both writers are told the same
// signed checkpoint, which holds both their lines.
TEST(GroupCommit, AWriterQueuedWhileABatchRunsJoinsItsCommit) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  std::atomic<bool> first_running{false}, second_started{false};
  std::map<std::string, std::string> first_notes, second_notes;
  std::thread first([&] {
    Status s = t.ledger->write(
        [&](WriteTxn& txn) -> Status {
          auto r = txn.post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", "先", 100)}, testing::official());
          first_running = true;
          while (!second_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          // The second writer queues within this time (it only has to reach write()).
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          return r.status();
        },
        &first_notes);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  });
  while (!first_running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread second([&] {
    second_started = true;
    Status s = t.ledger->write(
        [&](WriteTxn& txn) {
          return txn.post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", "后", 100)}, testing::official())
              .status();
        },
        &second_notes);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  });
  first.join();
  second.join();
  ASSERT_EQ(first_notes.count("shuangjiang"), 1u);
  EXPECT_EQ(first_notes, second_notes) << "the second writer committed on its own";
  auto cp = open_checkpoint(first_notes["shuangjiang"], t.ledger->verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->size, *t.ledger->log_size("shuangjiang"));
  EXPECT_TRUE(t.ledger->verify()->intact());
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// The month's totals are read from the table once per transaction and kept
// (a post's answer reads them for every writer of a batch): each writer
// still sees the committed totals plus what the writers before it in the
// batch added, and nothing of a writer that failed.
TEST(GroupCommit, EachWriterOfABatchReadsTheMonthsTotalsAsItsOwnWritesLeftThem) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {testing::txn("2022-11-01", true, "其他", "已有", 5)},
                                          testing::official())
                  .is_ok());
  auto post_and_read = [&](WriteTxn& txn, const char* text, Fen amount, Fen* income) -> Status {
    auto r = txn.post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", text, amount)},
                                   testing::official());
    if (!r.is_ok()) return r.status();
    auto totals = txn.month_totals("shuangjiang", "2022-11");
    if (!totals.is_ok()) return totals.status();
    *income = totals->income;
    return Status::ok();
  };
  std::atomic<bool> first_running{false};
  std::atomic<int> queued{0};
  Fen first_income = 0, failed_income = 0, last_income = 0;
  std::map<std::string, std::string> first_notes, last_notes;
  std::thread first([&] {
    Status s = t.ledger->write(
        [&](WriteTxn& txn) -> Status {
          Status p = post_and_read(txn, "先", 100, &first_income);
          first_running = true;
          while (queued < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both reach write() meanwhile
          return p;
        },
        &first_notes);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  });
  while (!first_running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread failing([&] {
    ++queued;
    Status s = t.ledger->write([&](WriteTxn& txn) -> Status {
      Status p = post_and_read(txn, "作废", 1000, &failed_income);
      return p.is_ok() ? invalid_argument("refused after posting") : p;
    });
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.to_string();
  });
  std::thread last([&] {
    ++queued;
    Status s = t.ledger->write([&](WriteTxn& txn) { return post_and_read(txn, "后", 10, &last_income); }, &last_notes);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  });
  first.join();
  failing.join();
  last.join();
  EXPECT_EQ(first_notes, last_notes) << "not one batch: the kept read was not exercised";
  EXPECT_EQ(first_income, 105);
  EXPECT_EQ(last_income, 115);  // the failed writer's 1,000 is not in it, whichever ran first
  MonthTotals committed;
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) -> Status {
    auto r = txn.month_totals("shuangjiang", "2022-11");
    if (r.is_ok()) committed = *r;
    return r.status();
  }).is_ok());
  EXPECT_EQ(committed.income, 115);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

}  // namespace
}  // namespace sunledger
