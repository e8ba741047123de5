// Issue #15: an operator's remedy for a dead letter. A push given up on after
// its attempts (the platform down for a day) is put back in the queue by
// `sunledger outbox retry ID`, the real binary on the fixture's data folder,
// with its signed "revived" entry in the same write, so verify stays intact;
// the sender, running beside it as serve's does, delivers it once to a real
// HTTP server on loopback. What must not be sent again (a tampered row, a
// delivered one) is refused, nothing changed.
#include <gtest/gtest.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <thread>

#include "bot/deliveries.h"
#include "delivery_fixture.h"
#include "insider.h"

namespace sunledger {
namespace {

struct OutboxRetry : DeliveryRecord {
  void SetUp() override {
    DeliveryRecord::SetUp();
    // The rest of a data folder the CLI opens (the fixture made the key).
    testing::write_file(t.dir.file("id-salt"), std::string(64, 's'));
  }
  testing::CommandResult sl(const std::string& args) {
    return testing::run_command("timeout 30 " + std::string(SUNLEDGER_BINARY) + " --data " + t.dir.path().string() +
                                " " + args + " 2>&1");
  }
  // 0 before anything started the deliveries log.
  uint64_t log_size() {
    auto n = t.ledger->log_size(deliveries::kLogName);
    return n.is_ok() ? *n : 0;
  }
  // The row as an insider reads it: what a refused retry must leave as it was.
  std::string row(int64_t id) {
    auto db = testing::open_as_insider(t.db_path(), 5000);
    SQLite::Statement q(*db, "SELECT coalesce(dead_at, -1), coalesce(dead_reason, ''), attempts, next_attempt_at, "
                             "coalesce(delivered_at, -1) FROM outbox WHERE id=?");
    q.bind(1, static_cast<int64_t>(id));
    if (!q.executeStep()) return "none";
    std::string out;
    for (int i = 0; i < 5; ++i) out += q.getColumn(i).getString() + "|";
    return out;
  }
  // `outbox retry id` exits 1 saying `why`, and neither the row nor the
  // deliveries log changed.
  void expect_refused(int64_t id, const std::string& why) {
    uint64_t before = log_size();
    std::string as_was = row(id);
    auto r = sl("outbox retry " + std::to_string(id));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(why), std::string::npos) << r.output;
    EXPECT_EQ(row(id), as_was);
    EXPECT_EQ(log_size(), before);
  }
  // One pass of a sender giving up after one failed attempt.
  void give_up_after_attempts() {
    group.fail_next = 1;
    OutboxSenderOptions o;
    o.max_attempts = 1;
    OutboxSender sender(t.ledger.get(), by_id, client.get(), o);
    EXPECT_EQ(sender.deliver_due(), 0u);
  }
};

TEST_F(OutboxRetry, ADeadLetterAfterItsAttemptsIsRetriedBesideARunningSenderAndDeliveredOnce) {
  enqueue("【双江村】12月账目已公开");
  give_up_after_attempts();
  ASSERT_EQ(pushes(), 1u);
  ASSERT_TRUE(verify_intact()) << verify_reasons();
  // Listed for the operator: reason and attempts, never the text or the chat.
  auto dead = sl("outbox dead");
  EXPECT_EQ(dead.exit_code, 0) << dead.output;
  EXPECT_NE(dead.output.find("\n1\tbot\tgroup\tattempts\t1\t"), std::string::npos) << dead.output;
  EXPECT_EQ(dead.output.find("sj-group"), std::string::npos) << dead.output;
  EXPECT_EQ(dead.output.find("账目已公开"), std::string::npos) << dead.output;

  // The sender as serve runs it, the operator's command another process beside it.
  OutboxSenderOptions o;
  o.poll_interval_ms = 20;
  OutboxSender sender(t.ledger.get(), by_id, client.get(), o);
  sender.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pushes(), 1u) << "a dead letter was sent again by itself";
  uint64_t before = log_size();
  auto retried = sl("outbox retry 1 --by county-operator");
  EXPECT_EQ(retried.exit_code, 0) << retried.output;
  for (int i = 0; i < 300 && !delivered(1); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a second delivery would show by now
  sender.stop();
  EXPECT_TRUE(delivered(1));
  ASSERT_EQ(pushes(), 2u) << "the retried push must go out once";
  EXPECT_NE(group.recorded()[1].body.find("账目已公开"), std::string::npos);
  // Recorded: revived (by whom) and then delivered, and verify intact.
  auto entries = t.ledger->entries(deliveries::kLogName, before, log_size());
  ASSERT_TRUE(entries.is_ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].fields.value("kind", ""), "revived");
  EXPECT_EQ((*entries)[0].fields.value("by", ""), "county-operator");
  EXPECT_EQ((*entries)[0].fields.value("outbox_id", 0), 1);
  EXPECT_TRUE((*entries)[1].fields.contains("push")) << (*entries)[1].leaf;
  EXPECT_TRUE(verify_intact()) << verify_reasons();
  EXPECT_EQ(sl("verify").exit_code, 0) << sl("verify").output;
  // Delivered now: a second retry is refused and changes nothing.
  expect_refused(1, "push 1 was delivered");
}

// On a folder no serve runs on: queued again, sent at the sender's next start.
TEST_F(OutboxRetry, ARetryWithoutAServerIsSentAtTheNextStart) {
  enqueue("【双江村】投诉进度");
  give_up_after_attempts();
  ASSERT_EQ(sl("outbox retry 1").exit_code, 0);
  EXPECT_EQ(Outbox(t.ledger.get()).dead_letters()->size(), 0u);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 1u);
  EXPECT_EQ(sender.deliver_due(), 0u);
  EXPECT_EQ(pushes(), 2u);
  EXPECT_TRUE(verify_intact()) << verify_reasons();
}

// A tampered dead letter is never put back: its signature does not match, so
// the bot would post in its own name what the key never signed.
TEST_F(OutboxRetry, ATamperedDeadLetterIsRefusedUnchanged) {
  enqueue("【双江村】12月账目已公开");
  testing::open_as_insider(t.db_path(), 5000)->exec("UPDATE outbox SET text='请把钱转到这个账户' WHERE id=1");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 0u);
  ASSERT_EQ(row(1).find("|tampered|"), row(1).find('|')) << row(1);
  expect_refused(1, "dead letter for tampering");
  EXPECT_EQ(pushes(), 0u);
}

// A dead letter given up on for its attempts and edited afterwards (its text
// replaced with sqlite3) is refused too: its dead_reason alone is no proof.
TEST_F(OutboxRetry, ADeadLetterEditedAfterItDiedIsRefused) {
  enqueue("【双江村】12月账目已公开");
  give_up_after_attempts();
  testing::open_as_insider(t.db_path(), 5000)->exec("UPDATE outbox SET text='请把钱转到这个账户' WHERE id=1");
  expect_refused(1, "its signature does not match");
}

TEST_F(OutboxRetry, AnUnknownOrQueuedIdIsRefusedUnchanged) {
  enqueue("【双江村】12月账目已公开");
  expect_refused(99, "no push 99");
  expect_refused(1, "not a dead letter");
  EXPECT_EQ(sl("outbox retry").exit_code, 2);
  EXPECT_EQ(sl("outbox retry one").exit_code, 2);
}

}  // namespace
}  // namespace sunledger
