// Ledger::change_generation(): the number the bot's caches (directory,
// rendered 账目) are keyed on, so that a read whose answer is cached skips
// storage. It must move at once for this process's commits, within
// Ledger::kExternalChangeDelay for another process's, and not at all when
// nothing was committed (or no cache would ever be used).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "test_support.h"

namespace sunledger {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr Fen kYuan = 100;
constexpr const char* kChildEnv = "SUNLEDGER_TEST_CHILD_DB_DIR";
// The child's database, when not the folder's sunledger.db (a PostgreSQL
// address, with SUNLEDGER_TEST_DB=postgresql).
constexpr const char* kChildDbEnv = "SUNLEDGER_TEST_CHILD_DB";

// Run in a process of its own (this test binary again, see below): posts one
// line to the ledger in the folder named by kChildEnv, as `sunledger post`
// beside a running server would.
int child_post(const std::string& dir) {
  ManualClock clock{testing::kDec5th2022};
  auto key = Ed25519KeyFile::load(dir + "/log-key.pem", "test.sunledger");
  if (!key.is_ok()) return 2;
  Ledger::Options o;
  const char* db = std::getenv(kChildDbEnv);
  o.db_path = db != nullptr ? db : dir + "/sunledger.db";
  o.signer = key->get();
  o.clock = &clock;
  auto ledger = Ledger::open(o);
  if (!ledger.is_ok()) return 3;
  auto r = (*ledger)->post_transactions("shuangjiang", {testing::txn("2022-12-02", true, "上级拨款", "拨款" + std::to_string(::getpid()), 100 * kYuan)},
                                        testing::official());
  if (!r.is_ok()) std::fprintf(stderr, "child: %s\n", r.status().to_string().c_str());
  return r.is_ok() ? 0 : 4;
}

TEST(ChangeGeneration, MovesAtOnceForThisProcessAndStaysPutOtherwise) {
  if (const char* dir = std::getenv(kChildEnv)) std::_Exit(child_post(dir));
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  uint64_t before = t.ledger->change_generation();
  // Nothing committed: still the same after a check of other processes ran.
  std::this_thread::sleep_for(Ledger::kExternalChangeDelay + milliseconds(100));
  EXPECT_EQ(t.ledger->change_generation(), before);
  EXPECT_EQ(t.ledger->change_generation(), before);
  // A commit through this Ledger: moved before write() returned.
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {testing::txn("2022-12-01", true, "上级拨款", "拨款", kYuan)},
                                          testing::official())
                  .is_ok());
  uint64_t after = t.ledger->change_generation();
  EXPECT_NE(after, before);
  // A write that fails commits nothing; whether it moves is not promised, only
  // that it does not go back.
  EXPECT_FALSE(t.ledger->post_transactions("nowhere", {testing::txn("2022-12-01", true, "上级拨款", "拨款", kYuan)},
                                           testing::official())
                   .is_ok());
  EXPECT_GE(t.ledger->change_generation(), after);
}

// Another process (this binary run again with kChildEnv set) commits while
// this one holds the ledger open: this one's generation moves within
// kExternalChangeDelay of the child's exit, and the entry is there to read.
TEST(ChangeGeneration, AnotherProcessesCommitIsSeenWithinTheDelay) {
  if (const char* dir = std::getenv(kChildEnv)) std::_Exit(child_post(dir));
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  uint64_t before = t.ledger->change_generation();
  std::string command = std::string(kChildEnv) + "=" + t.dir.path().string() + " " + kChildDbEnv + "='" +
                        t.db_path() + "'" +
                        " " + std::filesystem::read_symlink("/proc/self/exe").string() + " --gtest_filter=ChangeGeneration.MovesAtOnceForThisProcessAndStaysPutOtherwise "
                        ">/dev/null";
  // Twice: the first right after a check (the worst case, a whole delay to
  // wait), the second at some point within the delay.
  for (int round = 0; round < 2; ++round) {
    uint64_t size = *t.ledger->log_size("shuangjiang");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    auto committed = steady_clock::now();  // the child committed before it exited
    while (t.ledger->change_generation() == before && steady_clock::now() - committed < std::chrono::seconds(5))
      std::this_thread::sleep_for(milliseconds(2));
    auto waited = steady_clock::now() - committed;
    EXPECT_NE(t.ledger->change_generation(), before) << "round " << round;
    EXPECT_LE(waited, Ledger::kExternalChangeDelay + milliseconds(150)) << "round " << round;
    EXPECT_EQ(*t.ledger->log_size("shuangjiang"), size + 1);
    before = t.ledger->change_generation();
    if (round == 0) std::this_thread::sleep_for(Ledger::kExternalChangeDelay / 3);
  }
}

}  // namespace
}  // namespace sunledger
