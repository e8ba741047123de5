// Session 11 review of issue #15's held-row fix: what a delivery records in
// the signed deliveries log, attacked by an insider with sqlite3 and the data
// folder but not the key. The real sender, the real outbox and deliveries
// log in a real SQLite file, and the group a real HTTP server on loopback
// (tests/webhooks/fake_platform.h) counting what it is sent.
#include <gtest/gtest.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include "delivery_fixture.h"

namespace sunledger {
namespace {

// The insider makes the deliveries log refuse one append (its stored size
// edited while the notice goes out): the row is marked delivered without an
// entry (Outbox::mark_delivered's fallback: the push went out, and must not
// go out again and again). That used to say nothing; put right, and the held
// copy put back over the row, nothing was left that knew of the delivery.
// Now the sender says so at once (on_record_refused; `serve` runs its
// integrity check there, alerting inspectors and refusing writes), while the
// edit still stands and verify names it. Pushes are at least once: if the
// insider then undoes the edit and restarts, the copy can go out again, but
// not unsaid.
TEST_F(DeliveryRecord, ANoticeTheLogRefusedToRecordIsSaidAtOnceWhileTheEditStands) {
  enqueue("an earlier push: the deliveries log has a checkpoint");
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  std::vector<std::string> said;
  std::string verify_then;
  OutboxSenderOptions options;
  options.on_record_refused = [&](const std::string& what) {
    said.push_back(what);
    verify_then = verify_reasons();  // what serve's integrity check sees at that moment
  };
  OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
  sender.deliver_due();
  ASSERT_EQ(pushes(), 1u);
  EXPECT_TRUE(said.empty()) << "a recorded delivery is no refusal";
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  db.exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");  // appends refused
  sender.deliver_due();
  ASSERT_EQ(pushes(), 2u);
  EXPECT_TRUE(delivered(2)) << "the push went out: not to be sent again and again";
  ASSERT_EQ(said.size(), 1u) << "the refused record was not said";
  EXPECT_NE(verify_then.find("deliveries"), std::string::npos)
      << "the check run at once does not name the edited log: " << verify_then;
  sender.deliver_due();
  EXPECT_EQ(pushes(), 2u);
  EXPECT_EQ(said.size(), 1u);
}

// The deliveries entry must name the push that went out. It used to be
// written from the row as it stood when the sender marked it delivered, read
// again in that transaction: a trigger planted with sqlite3 (no key needed)
// that clears a released notice's held_push as the row is marked delivered
// left an entry without "held"; the trigger dropped and the copy taken while
// the notice was held put back, the copy matched no entry and went out again
// (under --witness-quorum K, released again once one more witness cosigned).
TEST_F(DeliveryRecord, AHeldPushClearedAsTheNoticeIsMarkedDeliveredIsStillRecorded) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox");  // the copy while it is held
  Outbox outbox(t.ledger.get());
  auto held = outbox.held_notices();
  ASSERT_TRUE(held.is_ok() && held->size() == 1);
  ASSERT_TRUE(*outbox.release(held->front(), held->front().text + "\n— w1 cosigned", 100));
  db.exec("CREATE TRIGGER forget AFTER UPDATE OF delivered_at ON outbox BEGIN"
          " UPDATE outbox SET held_push=NULL WHERE id=NEW.id; END");
  {
    OutboxSender first(t.ledger.get(), by_id, client.get());
    first.deliver_due();
  }
  ASSERT_EQ(pushes(), 1u);
  ASSERT_TRUE(delivered(1));
  db.exec("DROP TRIGGER forget");
  db.exec("DELETE FROM outbox");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  OutboxSender restarted(t.ledger.get(), by_id, client.get());
  restarted.deliver_due();
  EXPECT_EQ(pushes(), 1u) << "the monthly notice reached its group twice";
  EXPECT_FALSE(delivered(1));
  EXPECT_FALSE(verify_intact()) << "verify does not name the held copy put back";
}

// The same for any push: its signature swapped by a trigger as the row is
// marked delivered, the entry recorded a fingerprint nothing was sent with,
// and the genuine copy put back went out again with verify intact.
TEST_F(DeliveryRecord, ASignatureSwappedAsThePushIsMarkedDeliveredIsNotWhatIsRecorded) {
  enqueue("您的投诉已办结");
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox");
  db.exec("CREATE TRIGGER swap AFTER UPDATE OF delivered_at ON outbox BEGIN"
          " UPDATE outbox SET sig=randomblob(64) WHERE id=NEW.id; END");
  {
    OutboxSender first(t.ledger.get(), by_id, client.get());
    first.deliver_due();
  }
  ASSERT_EQ(pushes(), 1u);
  db.exec("DROP TRIGGER swap");
  db.exec("DELETE FROM outbox");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  OutboxSender restarted(t.ledger.get(), by_id, client.get());
  restarted.deliver_due();
  EXPECT_EQ(pushes(), 1u) << "the push was sent twice";
  EXPECT_FALSE(verify_intact());
}

// A held notice is "never lost" (issue #15, point 3): its row deleted with
// sqlite3 before it goes out used to leave no trace (nothing delivered, so
// the deliveries log had nothing to compare; the sender, the release round and
// GET /v1/outbox/held no longer see it) and verify found the deployment
// intact. The "queued" entry written as it was queued names it now.
TEST_F(DeliveryRecord, AHeldNoticeDeletedByHandIsNamedByVerify) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  ASSERT_EQ(Outbox(t.ledger.get()).held_notices()->size(), 1u);
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("DELETE FROM outbox WHERE held_village='shuangjiang'");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  EXPECT_EQ(pushes(), 0u);
  std::string reasons = verify_reasons();
  EXPECT_NE(reasons.find("deliveries: outbox: monthly notice 1 was queued (entry 1) but its row is gone: deleted by hand?"),
            std::string::npos)
      << "a monthly notice deleted before it went out is lost without a word: " << reasons;
}

// The same, its id then given by SQLite to the next push (a deleted last row's
// id is reused): a row with that id exists, but it is not the notice queued.
TEST_F(DeliveryRecord, AHeldNoticeDeletedAndItsIdReusedIsNamedByVerify) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("DELETE FROM outbox WHERE id=1");
  enqueue("您的投诉已办结");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  ASSERT_EQ(pushes(), 1u);  // the new push, genuine, goes out
  ASSERT_TRUE(delivered(1));
  std::string reasons = verify_reasons();
  EXPECT_NE(reasons.find("outbox: monthly notice 1 was queued (entry 1) but its row is another push now"), std::string::npos)
      << reasons;
}

// The queued entry is no delivery: a notice queued, released and sent goes
// out once, and verify, comparing it with its row, finds nothing wrong. The
// log's first entry (a queued notice, not a delivery) still imports the rows
// delivered before the log existed.
TEST_F(DeliveryRecord, AQueuedNoticeIsSentOnceAndVerifiesIntact) {
  enqueue("an earlier push, delivered before the deliveries log existed");
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("UPDATE outbox SET delivered_at=1 WHERE id=1");  // as an older version left it: no log
  drop_deliveries_log();  // this version records every push queued: an older version had no log
  t.reopen();  // as a new version's server meets that database: a Ledger that wrote the log refuses it gone
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='deliveries')").getInt(), 2);
  Outbox outbox(t.ledger.get());
  auto held = outbox.held_notices();
  ASSERT_TRUE(held.is_ok() && held->size() == 1);
  ASSERT_TRUE(*outbox.release(held->front(), held->front().text + "\n— w1 cosigned", 100));
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    sender.deliver_due();
  }
  EXPECT_EQ(pushes(), 1u);
  EXPECT_TRUE(delivered(2));
  EXPECT_EQ(verify_reasons(), "");
}

}  // namespace
}  // namespace sunledger
