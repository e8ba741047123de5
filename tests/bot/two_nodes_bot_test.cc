// Two nodes on one database (issue #17), in one process: two Ledgers and two
// Bots on the same database, sharing nothing in memory, as two `serve
// --shared-database` processes do (on SQLite: the CLI beside a server). Run
// on both engines (bot_tests and bot_tests_on_postgresql): what one node
// changes binds the other at once, and what both do at the same moment is
// done once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "bot/bot.h"
#include "bot/dedupe.h"
#include "ledger/pg_connection.h"
#include "test_support.h"

namespace sunledger {
namespace {

struct TwoNodesBot : ::testing::Test {
  testing::TestLedger t{"test.sunledger", Bot::reserved_log_names()};
  std::unique_ptr<Ledger> second_ledger;
  std::unique_ptr<Bot> a, b;
  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    a = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(a->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
    auto opened = Ledger::open(t.options(Bot::reserved_log_names()));
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    second_ledger = std::move(*opened);
    b = std::make_unique<Bot>(second_ledger.get(), o);
    ASSERT_TRUE(b->initialize().is_ok());
  }
  void TearDown() override {
    b.reset();
    second_ledger.reset();
  }
};

// A token revoked through one node is refused by the other on its next
// request: authentication reads the admin log's size, whatever is cached.
TEST_F(TwoNodesBot, ATokenRevokedThroughOneNodeIsRefusedByTheOtherAtOnce) {
  auto token = a->create_token({Role::kInspector, "", "all", "纪委"}, 30);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  ASSERT_TRUE(b->authenticate(token->token).is_ok());
  ASSERT_TRUE(b->authenticate(token->token).is_ok());  // now cached on b
  ASSERT_TRUE(a->revoke_token(token->id).is_ok());
  auto refused = b->authenticate(token->token);
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << refused.status().to_string();
  // And a role granted through b works through a at once.
  ASSERT_TRUE(a->bind_group("shuangjiang", "bot", "g1").is_ok());
  ASSERT_TRUE(b->add_member({"bot", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  auto r = a->handle({"bot", "g1", true, "wang", "王", "立项 村部维修 5万", "m1", 0});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_NE(r->text.find("已立项"), std::string::npos) << r->text;
}

// Both nodes bind the same chat at the same moment, each to another village:
// one wins, the other is refused as if it had come second (it decides from
// the admin log read under the log's lock, not from a state the other node
// was changing).
TEST_F(TwoNodesBot, OneChatBoundThroughBothNodesAtOnceGoesToOneVillage) {
  for (int round = 0; round < 12; ++round) {
    std::string chat = "race-" + std::to_string(round);
    Status sa, sb;
    std::atomic<int> ready{0};
    std::thread ta([&] {
      ++ready;
      while (ready < 2) {
      }
      sa = a->bind_group("shuangjiang", "bot", chat);
    });
    std::thread tb([&] {
      ++ready;
      while (ready < 2) {
      }
      sb = b->bind_group("nanzhou", "bot", chat);
    });
    ta.join();
    tb.join();
    ASSERT_NE(sa.is_ok(), sb.is_ok()) << sa.to_string() << " / " << sb.to_string();
    EXPECT_EQ((sa.is_ok() ? sb : sa).code(), Code::kAlreadyExists);
    auto groups = b->list_groups();
    ASSERT_TRUE(groups.is_ok());
    for (const auto& g : *groups) {
      if (g.chat_id == chat) {
        EXPECT_EQ(g.village, sa.is_ok() ? "shuangjiang" : "nanzhou");
      }
    }
  }
}

// The platform delivers one message to both nodes at the same moment (a
// retry after a slow answer, balanced to the other node): it is booked once,
// and both answer with the same reply.
TEST_F(TwoNodesBot, OneMessageDeliveredToBothNodesAtOnceIsBookedOnce) {
  ASSERT_TRUE(a->bind_group("shuangjiang", "bot", "g1").is_ok());
  ASSERT_TRUE(a->add_member({"bot", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  for (int round = 0; round < 12; ++round) {
    std::string item = "第" + std::to_string(round) + "笔";
    InboundMessage m{"bot", "g1", true, "wang", "王", "记账 2022-11\n收入 其他 1 " + item + " 日期:2022-11-02",
                     "dup-" + std::to_string(round), 0};
    Result<BotReply> ra = internal_error("not run"), rb = internal_error("not run");
    std::atomic<int> ready{0};
    std::thread ta([&] {
      ++ready;
      while (ready < 2) {
      }
      ra = a->handle(m);
    });
    std::thread tb([&] {
      ++ready;
      while (ready < 2) {
      }
      rb = b->handle(m);
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.is_ok()) << ra.status().to_string();
    ASSERT_TRUE(rb.is_ok()) << rb.status().to_string();
    EXPECT_EQ(ra->text, rb->text);
    EXPECT_NE(ra->text.find("已记账"), std::string::npos) << ra->text;
    EXPECT_NE(ra->replayed, rb->replayed) << "exactly one of them ran it";
    size_t booked = 0;
    auto entries = t.ledger->entries("shuangjiang", 0, *t.ledger->log_size("shuangjiang"));
    ASSERT_TRUE(entries.is_ok());
    for (const auto& e : *entries) booked += e.fields.value("item", "") == item;
    EXPECT_EQ(booked, 1u) << item;
  }
}

// The backstop behind the race above, made to happen every time. The bot
// takes a lock on the message's key before it looks (DedupeRecords::find),
// so here node a records the message without it, in a write held open, as
// only a writer that skipped that lock could: node b takes the lock, looks, finds
// no record, runs the post, and meets a's record at its own INSERT (on
// PostgreSQL it waits there for a's commit; on SQLite b's write cannot begin
// before a commits, so b's look finds the record). Either way b books nothing
// and answers with a's reply; without ON CONFLICT, b's INSERT failed on the
// unique key and the villager was told of an error.
TEST_F(TwoNodesBot, ARecordCommittedAfterTheOtherNodeLookedStopsItsWriteAndGivesItsReply) {
  ASSERT_TRUE(a->bind_group("shuangjiang", "bot", "g1").is_ok());
  ASSERT_TRUE(a->add_member({"bot", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  InboundMessage m{"bot", "g1", true, "wang", "王", "记账 2022-11\n收入 其他 1 慢的一笔 日期:2022-11-02", "slow-1", 0};
  DedupeRecords a_records(t.ledger.get(), "0123456789abcdef0123456789abcdef");
  std::atomic<bool> recorded{false}, go{false};
  std::thread ta([&] {
    Status s = t.ledger->write([&](WriteTxn& txn) -> Status {
      Status r = a_records.record(txn, m, "已记账(a 节点的回复)");
      recorded = true;
      while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return r;
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  });
  while (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  Result<BotReply> rb = internal_error("not run");
  std::thread tb([&] { rb = b->handle(m); });
  if (testing::test_db_is_postgresql()) {
    // b is past its look once a session of this test's database waits on a
    // transaction (a's, whose record b's insert meets). Failures here are
    // not fatal: the threads must be let go and joined below.
    auto probe = ledger_internal::PgConnection::open(t.db_path());
    EXPECT_TRUE(probe.is_ok()) << probe.status().to_string();
    int64_t n = 0;
    if (probe.is_ok()) {
      auto& waiting = (*probe)->statement(
          "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
          "WHERE NOT l.granted AND l.locktype = 'transactionid' AND a.datname = current_database()");
      for (int i = 0; i < 10000 && n == 0 && waiting.step(); ++i) {
        n = waiting.column_int64(0);
        waiting.reset();
        if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    EXPECT_GT(n, 0) << "b never waited on a's record";
  }
  go = true;
  ta.join();
  tb.join();
  ASSERT_TRUE(rb.is_ok()) << rb.status().to_string();
  EXPECT_TRUE(rb->replayed);
  EXPECT_EQ(rb->text, "已记账(a 节点的回复)\n");
  auto entries = t.ledger->entries("shuangjiang", 0, *t.ledger->log_size("shuangjiang"));
  ASSERT_TRUE(entries.is_ok());
  for (const auto& e : *entries) EXPECT_NE(e.fields.value("item", ""), "慢的一笔") << "b booked the post";
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// Both nodes send the day's overdue digest at the same moment: the
// inspector gets it once. Each read the day's mark before either wrote it,
// and on PostgreSQL both queued the digest; the mark's lock now makes the
// second wait for the first and read today's mark.
TEST_F(TwoNodesBot, TheOverdueDigestGoesOnceWhenBothNodesSendItAtOnce) {
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  o.reaches_person = [](const std::string&) { return true; };
  o.takes_private_messages = [](const std::string&) { return true; };
  Bot pa(t.ledger.get(), o), pb(second_ledger.get(), o);
  ASSERT_TRUE(pa.initialize().is_ok());
  ASSERT_TRUE(pb.initialize().is_ok());
  ASSERT_TRUE(pa.bind_group("shuangjiang", "bot", "g1").is_ok());
  ASSERT_TRUE(pa.add_member({"bot", "zt-inspector", "", Role::kInspector, "朱亭镇"}).is_ok());
  ASSERT_TRUE(pa.handle({"bot", "g1", true, "villager", "村民", "账目", "seen", 0}).is_ok());
  auto filed = pa.handle({"bot", "dm-villager", false, "villager", "村民", "投诉 水渠堵了没人修", "filed", 0});
  ASSERT_TRUE(filed.is_ok()) << filed.status().to_string();
  ASSERT_NE(filed->text.find("编号"), std::string::npos) << filed->text;
  for (int day = 0; day < 8; ++day) {
    t.clock.advance(86400);
    if (day < 5) continue;  // not overdue yet
    Result<size_t> qa = internal_error("not run"), qb = internal_error("not run");
    std::atomic<int> ready{0};
    std::thread ta([&] {
      ++ready;
      while (ready < 2) {
      }
      qa = pa.push_overdue_digest();
    });
    std::thread tb([&] {
      ++ready;
      while (ready < 2) {
      }
      qb = pb.push_overdue_digest();
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(qa.is_ok()) << qa.status().to_string();
    ASSERT_TRUE(qb.is_ok()) << qb.status().to_string();
    EXPECT_EQ(*qa + *qb, 1u) << "day " << day << ": queued " << *qa << " and " << *qb;
  }
}

}  // namespace
}  // namespace sunledger
