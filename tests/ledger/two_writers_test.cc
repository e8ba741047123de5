// Two Ledgers writing to one database at once (issue #17: two nodes sharing
// a PostgreSQL database; on SQLite, the CLI beside a server). Run on both
// engines (ledger_tests and ledger_tests_on_postgresql).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "ledger/ledger.h"
#include "ledger/pg_connection.h"
#include "test_support.h"

namespace sunledger {
namespace {

// Each writer holds one log and then wants the other's (as two nodes'
// batches do, each holding the villages its earlier writers appended to).
// On PostgreSQL that is a deadlock: the server rolls back one writer's
// statement, and that writer runs again once the other committed, so both
// writes stand; on SQLite the second waits for the first. Either way both
// logs end with both entries, each index once, and verify is intact.
TEST(TwoWriters, CrossedLogsBothStand) {
  testing::TestLedger t;
  auto opened = Ledger::open(t.options({}));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<Ledger> other = std::move(*opened);
  std::atomic<int> holding{0};
  std::atomic<int> runs{0};
  auto crossed = [&](Ledger& ledger, const std::string& first, const std::string& second) {
    return ledger.write([&](WriteTxn& txn) -> Status {
      ++runs;
      auto a = txn.append_to_log(first, {{"kind", "note"}, {"from", first}}, testing::official());
      if (!a.is_ok()) return a.status();
      // Both hold their first log before either asks for its second (a
      // writer run again does not wait: the other one is done by then).
      ++holding;
      for (int i = 0; i < 200 && holding < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      auto b = txn.append_to_log(second, {{"kind", "note"}, {"from", first}}, testing::official());
      return b.is_ok() ? Status::ok() : b.status();
    });
  };
  Status sa, sb;
  std::thread ta([&] { sa = crossed(*t.ledger, "east", "west"); });
  std::thread tb([&] { sb = crossed(*other, "west", "east"); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.is_ok()) << sa.to_string();
  EXPECT_TRUE(sb.is_ok()) << sb.to_string();
  for (const char* log : {"east", "west"}) {
    auto size = t.ledger->log_size(log);
    ASSERT_TRUE(size.is_ok());
    EXPECT_EQ(*size, 2u) << log;
  }
  auto report = t.ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->problems.front().log << ": " << report->problems.front().reason;
  // On PostgreSQL the deadlock's victim ran again (once, or more when its
  // rerun met the other writer again); on SQLite, where the second waited
  // for the first, each ran once.
  if (testing::test_db_is_postgresql()) EXPECT_GE(runs.load(), 3);
  else EXPECT_EQ(runs.load(), 2);
}

// The deadlocks PostgreSQL counted on the test's database so far, read from a
// connection of its own. Each backend reports its count when it ends (the
// Ledgers are closed first), so the count is read until it is steady.
int64_t deadlocks_counted(const std::string& db) {
  auto c = ledger_internal::PgConnection::open(db);
  if (!c.is_ok()) return -1;
  int64_t seen = -1;
  for (int i = 0; i < 8; ++i) {
    (*c)->begin_read();  // each transaction reads fresh statistics
    auto& q = (*c)->statement("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    int64_t now = q.step() ? q.column_int64(0) : -1;
    q.reset();
    (*c)->commit();
    seen = std::max(seen, now);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return seen;
}

// Two nodes' batches, each of two writers appending to one log apiece, in
// crossed orders: node A's batch holds "east" (its first writer) and its
// second writer wants "west", which node B's batch holds while its second
// writer wants "east". Waiting there would be a deadlock PostgreSQL breaks
// only after deadlock_timeout (a second of both nodes' writes stalled; under
// a mixed load through two nodes it happened every second). Instead the
// second writer finds its log taken while its transaction holds another: its
// batch commits the first writer and runs the second again holding nothing.
// All four entries stand, each index once, and PostgreSQL counted no deadlock.
TEST(TwoWriters, CrossedBatchesNeverDeadlock) {
  testing::TestLedger t;
  auto opened = Ledger::open(t.options({}));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<Ledger> other = std::move(*opened);
  // The logs exist, as villages do: two nodes making one new log at once wait
  // on its row instead (INSERT … ON CONFLICT), where no lock order helps.
  for (const char* log : {"east", "west"}) {
    Status made = t.ledger->write([&](WriteTxn& txn) -> Status {
      auto r = txn.append_to_log(log, {{"kind", "note"}, {"to", log}}, testing::official());
      return r.is_ok() ? Status::ok() : r.status();
    });
    ASSERT_TRUE(made.is_ok()) << made.to_string();
  }
  std::atomic<int> first_writers_holding{0};
  std::atomic<int> runs{0};
  auto note = [&](Ledger& ledger, const std::string& log, bool first) {
    return ledger.write([log, first, &first_writers_holding, &runs](WriteTxn& txn) -> Status {
      ++runs;
      auto a = txn.append_to_log(log, {{"kind", "note"}, {"to", log}}, testing::official());
      if (!a.is_ok()) return a.status();
      if (first) {
        // Both batches hold their first log before either second writer runs.
        ++first_writers_holding;
        for (int i = 0; i < 200 && first_writers_holding < 2; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return Status::ok();
    });
  };
  // Each ledger's leader is kept busy by a blocker until both of its writers
  // are queued behind it, so they go into one batch, in this order.
  std::atomic<bool> release{false};
  auto blocker = [&](Ledger& ledger) {
    return ledger.write([&](WriteTxn&) -> Status {
      for (int i = 0; i < 400 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return Status::ok();
    });
  };
  auto block_a = std::async(std::launch::async, [&] { return blocker(*t.ledger); });
  auto block_b = std::async(std::launch::async, [&] { return blocker(*other); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto a1 = std::async(std::launch::async, [&] { return note(*t.ledger, "east", true); });
  auto b1 = std::async(std::launch::async, [&] { return note(*other, "west", true); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto a2 = std::async(std::launch::async, [&] { return note(*t.ledger, "west", false); });
  auto b2 = std::async(std::launch::async, [&] { return note(*other, "east", false); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  for (auto* f : {&block_a, &block_b, &a1, &b1, &a2, &b2}) {
    Status s = f->get();
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  for (const char* log : {"east", "west"}) {
    auto size = t.ledger->log_size(log);
    ASSERT_TRUE(size.is_ok());
    EXPECT_EQ(*size, 3u) << log;
  }
  auto report = t.ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->problems.front().log << ": " << report->problems.front().reason;
  EXPECT_GE(runs.load(), 4);
  if (testing::test_db_is_postgresql()) {
    other.reset();
    t.ledger.reset();
    EXPECT_EQ(deadlocks_counted(t.db_path()), 0) << "PostgreSQL broke a deadlock between the two batches";
  }
}

// Each Ledger remembers which duplicate-check keys a log's lines have
// (line_keys.h), so that a new line costs no query. A line the other node
// posted since must still count: node A, whose memory of the log predates
// it, refuses the same line as a double, naming the other node's entry; a
// line A rolled back leaves no false memory either way.
TEST(TwoWriters, ALineTheOtherNodePostedIsADoubleOnThisNodeToo) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  auto opened = Ledger::open(t.options({}));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<Ledger> other = std::move(*opened);
  auto line = [](const char* item) { return testing::txn("2022-11-20", false, "办公费", item, Fen{35'000}); };
  // Both nodes learn the log's keys.
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {line("打印纸")}, testing::official()).is_ok());
  ASSERT_TRUE(other->post_transactions("shuangjiang", {line("墨盒")}, testing::official()).is_ok());
  // The other node posts a line; this node, which has not seen it, is asked for the same.
  auto there = other->post_transactions("shuangjiang", {line("订书机")}, testing::official());
  ASSERT_TRUE(there.is_ok()) << there.status().to_string();
  auto here = t.ledger->post_transactions("shuangjiang", {line("订书机")}, testing::official());
  ASSERT_EQ(here.status().code(), Code::kAlreadyExists) << here.status().to_string();
  EXPECT_NE(here.status().message().find("#" + std::to_string(there->indexes[0])), std::string::npos)
      << here.status().message();
  // And the other way round, after this node's own post.
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {line("胶水")}, testing::official()).is_ok());
  EXPECT_EQ(other->post_transactions("shuangjiang", {line("胶水")}, testing::official()).status().code(),
            Code::kAlreadyExists);
  // A post refused as a whole (its second line malformed) leaves its first
  // line's key unremembered: posted again alone, it is booked.
  auto refused = t.ledger->post_transactions("shuangjiang", {line("剪刀"), line("")}, testing::official());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_TRUE(t.ledger->post_transactions("shuangjiang", {line("剪刀")}, testing::official()).is_ok());
  EXPECT_EQ(other->post_transactions("shuangjiang", {line("剪刀")}, testing::official()).status().code(),
            Code::kAlreadyExists);
  auto report = t.ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->problems.front().log << ": " << report->problems.front().reason;
}

}  // namespace
}  // namespace sunledger
