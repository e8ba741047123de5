// Review R2 of issue #15: an outbox row's columns no signature covers
// (dead_at, dead_reason, next_attempt_at) set with sqlite3 used to stop a
// queued notice with verify intact. Every row given up on or revived is now
// recorded in the signed deliveries log, and verify holds each undelivered
// row to it. The real outbox, sender and deliveries log in a real SQLite
// file, edited as an insider would (tests/insider.h), and the group a real
// HTTP server on loopback.
#include <gtest/gtest.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "bot/deliveries.h"
#include "webhooks/notice_quorum.h"
#include "delivery_fixture.h"
#include "insider.h"

namespace sunledger {
namespace {

constexpr int64_t kYear2100 = 4102444800;  // 2100-01-01T00:00:00Z

struct DeadLetterRecord : DeliveryRecord {
  std::unique_ptr<SQLite::Database> insider() { return testing::open_as_insider(t.db_path(), 5000); }
  uint64_t log_size() { return *t.ledger->log_size(deliveries::kLogName); }
  bool dead(int64_t id) {
    auto letters = Outbox(t.ledger.get()).dead_letters();
    if (!letters.is_ok()) return false;
    for (const auto& d : *letters)
      if (d.id == id) return true;
    return false;
  }
  // Starts a sender (serve's start: dead letters before this version listed,
  // removed bots' rows given up on, changed ones revived) and stops it once
  // `done` holds or after 3 s.
  void run_sender(OutboxSenderOptions options, const std::function<bool()>& done) {
    options.poll_interval_ms = 20;
    OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
    sender.start();
    for (int i = 0; i < 300 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    sender.stop();
  }
  // The deliveries log as an older version started it: no list of dead rows,
  // and no entry for the pushes queued so far (older versions recorded only
  // monthly notices queued, and these are not): the log this version started
  // when they were queued is dropped first.
  void start_log_as_an_older_version() {
    drop_deliveries_log();
    t.reopen();  // as a new version's server meets that database: a Ledger that wrote the log refuses it gone
    ASSERT_TRUE(t.ledger
                    ->write([&](WriteTxn& txn) {
                      auto r = txn.append_to_log(deliveries::kLogName,
                                                 {{"kind", "imported"}, {"outbox_ids", nlohmann::json::array()}},
                                                 {"sunledger", "system", "outbox"}, true);
                      return r.is_ok() ? Status::ok() : r.status();
                    })
                    .is_ok());
  }
  // A sender's pass; then `sent` pushes went out in all, and verify names
  // `push` ("push 3"), or the attack worked: `attack` says which.
  void expect_named_after_a_pass(size_t sent, const std::string& push, const std::string& attack) {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    sender.deliver_due();
    EXPECT_EQ(pushes(), sent);
    std::string reasons = verify_reasons();
    EXPECT_NE(reasons.find(push), std::string::npos) << attack << " (verify: " << reasons << ")";
  }
};

// The attack of review R2: a queued monthly notice stopped by hand, its
// dead_at set with a made-up reason. It is never sent, and verify names it.
TEST_F(DeadLetterRecord, ADeadAtSetByHandOnAQueuedNoticeIsNamedByVerify) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  EXPECT_EQ(verify_reasons(), "");
  insider()->exec("UPDATE outbox SET dead_at=1, dead_reason='attempts', last_error='platform refused' WHERE id=1");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 0u);
  EXPECT_EQ(group.recorded().size(), 0u);
  std::string reasons = verify_reasons();
  EXPECT_NE(reasons.find("deliveries: outbox: push 1 is a dead letter, but no entry of the log records it given up on: "
                         "stopped by hand (dead_at set with sqlite3)?"),
            std::string::npos)
      << "a queued notice stopped by hand passes verify: " << reasons;
}

// Its next attempt put off to the year 2100 (review R1: next_attempt_at is
// no evidence, so the sender must not believe it): a sender started after the
// edit sends it at once, and so does one that set the retry itself, since no
// wait beyond its longest backoff is believed. verify does not judge the
// column, so a clock stepped back is not read as tampering either (below).
TEST_F(DeadLetterRecord, ANextAttemptPushedToTheYear2100HoldsNothingBack) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  group.fail_next = 2;
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 0u);
  ASSERT_EQ(pushes(), 1u);
  EXPECT_EQ(sender.deliver_due(), 0u) << "its own retry, not due yet";
  ASSERT_EQ(pushes(), 1u);
  auto db = insider();
  db->exec("UPDATE outbox SET next_attempt_at=" + std::to_string(kYear2100) + " WHERE id=1");
  EXPECT_EQ(verify_reasons(), "");
  OutboxSender restarted(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(restarted.deliver_due(), 0u) << "the platform refuses it once more";
  ASSERT_EQ(pushes(), 2u) << "a sender started after the edit believed it";
  db->exec("UPDATE outbox SET next_attempt_at=" + std::to_string(kYear2100) + " WHERE id=1");
  t.clock.advance(Outbox::retry_backoff(1));
  EXPECT_EQ(restarted.deliver_due(), 1u) << "a wait longer than any backoff the sender sets was believed";
  EXPECT_EQ(verify_reasons(), "");
}

// Real dead letters, as the sender makes them: one its bot's configuration
// could not deliver, revived when the configuration changed, given up on
// again after the platform refused it; and the rows of a bot removed from the
// configuration. verify finds every step intact, and the log records each.
TEST_F(DeadLetterRecord, ARealDeadLetterRevivedAndGivenUpOnAgainIsIntact) {
  configure("");
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    EXPECT_EQ(sender.deliver_due(), 0u);
  }
  ASSERT_TRUE(dead(1));
  EXPECT_EQ(verify_reasons(), "");
  uint64_t before = log_size();
  configure(group.url("/push"));
  group.fail_next = 100;
  OutboxSenderOptions options;
  options.max_attempts = 1;
  run_sender(options, [&] { return !group.recorded().empty() && dead(1); });
  ASSERT_EQ(group.recorded().size(), 1u) << "revived and tried once";
  ASSERT_TRUE(dead(1));
  EXPECT_EQ(log_size(), before + 2) << "one revived entry, one dead entry";
  auto last = t.ledger->entries(deliveries::kLogName, before, before + 2);
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(entry_string((*last)[0].fields, "kind"), "revived");
  EXPECT_EQ(entry_string((*last)[1].fields, "kind"), "dead");
  EXPECT_EQ(entry_string((*last)[1].fields, "reason"), "attempts");
  EXPECT_EQ(verify_reasons(), "");
  // A push queued for a bot then removed from the configuration.
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) { return Outbox::enqueue(txn, {"gone", "chat", "通知", Audience::kGroup}); })
                  .is_ok());
  run_sender({}, [&] { return dead(2); });
  ASSERT_TRUE(dead(2));
  EXPECT_EQ(verify_reasons(), "");
  // The one revived and given up on again, revived by hand: named too.
  insider()->exec("UPDATE outbox SET dead_at=NULL, dead_reason=NULL WHERE id=1");
  EXPECT_NE(verify_reasons().find("push 1 is queued, but the log's last entry on it"), std::string::npos)
      << verify_reasons();
}

// A "dead" entry written without the key (appended to the log's rows with
// sqlite3) is not believed: its checkpoint does not cover it, so the row
// stopped by hand is still named, and so is the log.
TEST_F(DeadLetterRecord, ADeadEntryForgedWithoutTheKeyIsNotBelieved) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  auto db = insider();
  std::string sig = db->execAndGet("SELECT sig FROM outbox WHERE id=1").getString();
  nlohmann::json forged = {{"kind", "dead"}, {"outbox_id", 1},
                           {"dead", deliveries::fingerprint_hex(deliveries::fingerprint(sig))}, {"reason", "attempts"},
                           {"author", {{"id", "sunledger"}, {"role", "system"}, {"channel", "outbox"}}},
                           {"recorded_at", "2022-12-01T00:00:00Z"}};
  SQLite::Statement ins(*db, "INSERT INTO entries(log_id, idx, kind, month, leaf) SELECT id, size, 'dead', NULL, ? FROM logs"
                             " WHERE name='deliveries'");
  ins.bind(1, forged.dump());
  ASSERT_EQ(ins.exec(), 1);
  db->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");
  db->exec("UPDATE outbox SET dead_at=1, dead_reason='attempts' WHERE id=1");
  std::string reasons = verify_reasons();
  EXPECT_NE(reasons.find("push 1 is a dead letter, but no entry of the log records it given up on"), std::string::npos)
      << "a forged dead entry was believed: " << reasons;
  auto report = t.ledger->verify(deliveries::kLogName);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->intact()) << "the forged entry is not named";
}

// Given up on while the log refuses appends (its stored size edited): the
// row is dead all the same (not tried again and again), and the sender says
// so at once, for serve to alert the inspectors and check the ledger.
TEST_F(DeadLetterRecord, ADeadLetterTheLogRefusedToRecordIsSaidAtOnce) {
  enqueue("an earlier push: the deliveries log has a checkpoint", {"shuangjiang", "2022-11"});
  configure("");
  enqueue("您的投诉已办结");
  insider()->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");  // appends refused
  std::vector<std::string> said;
  std::string verify_then;
  OutboxSenderOptions options;
  options.on_record_refused = [&](const std::string& what) {
    said.push_back(what);
    verify_then = verify_reasons();
  };
  OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
  EXPECT_EQ(sender.deliver_due(), 0u);
  EXPECT_TRUE(dead(1));
  ASSERT_EQ(said.size(), 2u) << "each dead letter the log refused is said";
  EXPECT_NE(said[0].find("push 1 via bot was given up on but the deliveries log refused to record it"), std::string::npos)
      << said[0];
  EXPECT_NE(verify_then.find("deliveries"), std::string::npos) << verify_then;
}

// Rows dead before this version have no entry: serve's start lists them once
// in the log (an older version's log here), and only them. One stopped by
// hand after is named, and so is a push given a listed row's id later.
TEST_F(DeadLetterRecord, RowsDeadBeforeThisVersionAreListedOnceAndOnlyThey) {
  enqueue("an older version's dead letter");
  enqueue("a push pending at the upgrade");
  enqueue("another older version's dead letter");
  auto db = insider();
  db->exec("UPDATE outbox SET dead_at=1, dead_reason='attempts' WHERE id IN (1, 3)");
  start_log_as_an_older_version();
  EXPECT_EQ(verify_reasons(), "") << "before the list, older dead letters are not judged";
  ASSERT_TRUE(deliveries::start_dead_record(*t.ledger).is_ok());
  EXPECT_EQ(log_size(), 2u);
  ASSERT_TRUE(deliveries::start_dead_record(*t.ledger).is_ok());
  EXPECT_EQ(log_size(), 2u) << "listed once";
  EXPECT_EQ(verify_reasons(), "");
  db->exec("UPDATE outbox SET dead_at=2, dead_reason='attempts' WHERE id=2");
  EXPECT_NE(verify_reasons().find("push 2 is a dead letter, but no entry"), std::string::npos) << verify_reasons();
  db->exec("UPDATE outbox SET dead_at=NULL, dead_reason=NULL WHERE id=2");
  // The last listed row deleted: SQLite gives its id to the next push.
  db->exec("DELETE FROM outbox WHERE id=3");
  t.clock.advance(60);
  enqueue("a push queued after the list, given id 3");
  db->exec("UPDATE outbox SET dead_at=3, dead_reason='attempts' WHERE id=3");
  EXPECT_NE(verify_reasons().find("push 3 is a dead letter, but no entry"), std::string::npos) << verify_reasons();
}

// Review R1 (session 12) of the change above. Each test below demonstrates an
// attack that still works; DISABLED_ until the fix proposed beside it lands.

// dead_reason is a column no signature covers, and verify compares only
// whether a row is dead with the log's last entry, not why. A notice its
// bot's configuration could not deliver (recorded "dead", reason
// "configuration") has dead_reason set to 'attempts' with sqlite3: the
// configuration is fixed and serve restarted, and the notice is never
// revived, with verify intact. (dead_config set to the new configuration's
// hash does the same.) Proposed fix: verify requires a dead row's
// dead_reason (and, recorded in the entry, its dead_config) to be the log's
// last "dead" entry's; or revive_configuration_dead decides from the log.
TEST_F(DeadLetterRecord, AConfigurationDeadLetterRelabelledByHandIsNeverRevivedUnnamed) {
  configure("");
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    EXPECT_EQ(sender.deliver_due(), 0u);
  }
  ASSERT_TRUE(dead(1));
  ASSERT_EQ(verify_reasons(), "");
  insider()->exec("UPDATE outbox SET dead_reason='attempts' WHERE id=1");
  configure(group.url("/push"));  // the configuration fixed: serve restarted with it
  run_sender({}, [&] { return pushes() > 0; });
  std::string reasons = verify_reasons();
  EXPECT_TRUE(pushes() == 1 || reasons.find("push 1") != std::string::npos)
      << "the notice was neither revived nor named: stopped for good with verify intact (" << reasons << ")";
}

// The dead-before list believes a listed id for any row whose created_at is
// not after the list, but created_at is read from the row of a dead letter,
// whose signature nothing checks (a dead row is never sent). The listed row
// deleted, its id given to a later push (SQLite reuses the last id), that
// push stopped by hand with dead_at and its created_at set back: verify is
// intact. Proposed fix: a row believed dead through the list must verify
// (Outbox::authentic) with the created_at it shows, or the list names rows
// by (id, signature fingerprint) rather than ids and a time.
TEST_F(DeadLetterRecord, AListedIdReusedAndBackdatedPassesAsDeadBefore) {
  enqueue("a push pending at the upgrade");
  enqueue("an older version's dead letter, the last row");
  auto db = insider();
  db->exec("UPDATE outbox SET dead_at=1, dead_reason='attempts' WHERE id=2");
  start_log_as_an_older_version();
  ASSERT_TRUE(deliveries::start_dead_record(*t.ledger).is_ok());
  ASSERT_EQ(verify_reasons(), "");
  db->exec("DELETE FROM outbox WHERE id=2");
  t.clock.advance(86400);
  enqueue("您的投诉已办结 (a push queued a day after the list, given id 2)");
  ASSERT_EQ(db->execAndGet("SELECT count(*) FROM outbox WHERE id=2 AND dead_at IS NULL").getInt(), 1);
  db->exec("UPDATE outbox SET dead_at=3, dead_reason='attempts', created_at=1 WHERE id=2");
  expect_named_after_a_pass(1, "push 2", "a new push stopped by hand passes for an older dead letter");
  // Its signature cleared too, as an older version's unsigned row: the list says which rows were unsigned.
  db->exec("UPDATE outbox SET sig=NULL WHERE id=2");
  EXPECT_NE(verify_reasons().find("push 2 is a dead letter, but no entry"), std::string::npos) << verify_reasons();
}

// Only monthly notices were recorded when queued. Any other push (a
// reporter's complaint update, a receipt, an inspectors' alarm) deleted with
// sqlite3 while it waited was never sent, and verify was intact: a row that
// is gone was held to nothing. Fixed: a "queued" entry for every push, in
// the write that queues it; verify names a queued push whose row is gone and
// that no entry records delivered.
TEST_F(DeadLetterRecord, APendingComplaintUpdateDeletedByHandIsNamed) {
  enqueue("【双江村 2022年11月 三务公开】", {"shuangjiang", "2022-11"});  // the log exists
  configure("");  // the platform cannot take it yet: the update waits
  ASSERT_TRUE(t.ledger
                  ->write([&](WriteTxn& txn) {
                    return Outbox::enqueue(txn, {"bot", "reporter-7", "您的投诉 TS-2022-0007 已办结:路灯已修好",
                                                 Audience::kPerson});
                  })
                  .is_ok());
  ASSERT_EQ(verify_reasons(), "");
  insider()->exec("DELETE FROM outbox WHERE id=2");
  configure(group.url("/push"));
  expect_named_after_a_pass(1, "push 2", "a reporter's update deleted before it went out is lost unsaid");
  EXPECT_NE(verify_reasons().find("deliveries: outbox: push 2 was queued (entry 2) but its row is gone: deleted by hand?"),
            std::string::npos)
      << verify_reasons();
}

// Once the ledger failed verification every append is refused, the queued
// entry's too; the inspectors' alarm about it must still be queued (a
// notice is not: publishing is refused then anyway).
TEST_F(DeadLetterRecord, AnAlarmIsQueuedWhenTheLedgerFailedVerification) {
  enqueue("【双江村 2022年11月 三务公开】", {"shuangjiang", "2022-11"});  // the log exists
  uint64_t size = log_size();
  t.ledger->set_integrity_failure("deliveries entry #1: edited by hand");
  Status alarm = t.ledger->write([&](WriteTxn& txn) {
    return Outbox::enqueue(txn, {"bot", "inspector-1", "【账本核验未通过 (ledger failed verification)】", Audience::kPerson});
  });
  EXPECT_TRUE(alarm.is_ok()) << alarm.to_string();
  Status notice = t.ledger->write([&](WriteTxn& txn) {
    return Outbox::enqueue(txn, {"bot", "sj-group", "【双江村 2022年12月 三务公开】", Audience::kGroup},
                           {"shuangjiang", "2022-12"});
  });
  EXPECT_FALSE(notice.is_ok()) << "a notice queued with no record of it";
  EXPECT_EQ(insider()->execAndGet("SELECT count(*) FROM outbox").getInt(), 2);
  EXPECT_EQ(log_size(), size);
}

// Pushes queued before this version have no "queued" entry: pending at the
// upgrade they are not flagged, and go out as any other.
TEST_F(DeadLetterRecord, APushPendingFromBeforeItsKindWasRecordedIsNotFlagged) {
  enqueue("an older version's push, pending at the upgrade");
  start_log_as_an_older_version();
  ASSERT_TRUE(deliveries::start_dead_record(*t.ledger).is_ok());
  enqueue("a push this version queued");
  EXPECT_EQ(verify_reasons(), "");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 2u);
  EXPECT_EQ(verify_reasons(), "");
}

// The deliveries log dropped whole with sqlite3 (its logs row, entries,
// subtree hashes and cosignatures) while a notice waits, and the notice
// stopped by hand: verify sees no log and judges nothing (no "queued" entry,
// no dead-before list), so it is intact; Ledger::log_names() no longer names
// the log, so the witness submitter does not ask about it either, until the
// next delivery or start restarts the log, whose first entry then lists the
// stopped notice as dead before. Proposed fix: verify names a missing
// deliveries log once the outbox holds a signed row (every such row was
// recorded or listed); the submitter also asks about every log it has a
// cosignature or known size for, a vanished one being a rollback to 0.
TEST_F(DeadLetterRecord, TheDeliveriesLogDroppedWholeIsNamedByVerify) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  ASSERT_GT(log_size(), 0u);
  ASSERT_EQ(verify_reasons(), "");
  drop_deliveries_log();
  insider()->exec("UPDATE outbox SET dead_at=1, dead_reason='attempts', last_error='platform refused' WHERE id=1");
  auto names = t.ledger->log_names();
  ASSERT_TRUE(names.is_ok());
  EXPECT_EQ(std::count(names->begin(), names->end(), std::string(deliveries::kLogName)), 0)
      << "the submitter would still ask about the log";
  EXPECT_NE(verify_reasons(), "") << "the log dropped whole and a notice stopped by hand: verify intact";
}

// A crash at the worst moment. When the deliveries log refuses a delivery's
// entry, the row is marked delivered without it (write_recording's second
// write) and serve's alarm and check follow in later writes, the alarm kept
// only in memory while the database is busy. serve killed in between (here:
// the sender gone once on_record_refused is called, having written nothing),
// the insider undoes the log edit and puts back a copy of the row taken
// while it waited: verify is intact, and the push goes out a second time.
// Fixed: the fallback write itself records the refusal in the signed admin
// log ("deliveries_record_refused", naming the push, in the same
// transaction), which verify names until the inspectors clear it (so serve's
// check at every start alarms them again until then).
TEST_F(DeadLetterRecord, ACrashAfterARefusedDeliveryRecordLetsItsCopyGoOutAgainUnnamed) {
  enqueue("【双江村 2022年11月 三务公开】", {"shuangjiang", "2022-11"});
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    ASSERT_EQ(sender.deliver_due(), 1u);
  }
  enqueue("您的投诉 TS-2022-0007 已受理");
  auto db = insider();
  db->exec("CREATE TABLE saved AS SELECT * FROM outbox WHERE id=2");
  db->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");  // appends refused
  int refused = 0;
  {
    OutboxSenderOptions options;
    options.on_record_refused = [&](const std::string&) { ++refused; };  // serve killed before its alarm's write
    OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
    EXPECT_EQ(sender.deliver_due(), 1u);
  }
  ASSERT_EQ(refused, 1);
  ASSERT_EQ(pushes(), 2u);
  db->exec("UPDATE logs SET size=size-1 WHERE name='deliveries'");
  db->exec("DELETE FROM outbox WHERE id=2");
  db->exec("INSERT INTO outbox SELECT * FROM saved");
  db->exec("DROP TABLE saved");
  std::string reasons = verify_reasons();
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  EXPECT_TRUE(pushes() == 2u || reasons.find("push 2") != std::string::npos)
      << "sent " << pushes() - 1 << " times, verify: " << (reasons.empty() ? "intact" : reasons);
  EXPECT_NE(reasons.find("admin: deliveries_record_refused: the deliveries log refused to record push 2 delivered"),
            std::string::npos)
      << reasons;
  // Named until cleared, with who and why, in the signed admin log.
  Bot bot(t.ledger.get(), {});
  auto problems = bot.verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  std::optional<uint64_t> named;
  for (const auto& p : *problems)
    if (p.reason.find("deliveries_record_refused") != std::string::npos) named = p.first_bad_index;
  ASSERT_TRUE(named) << reasons;
  uint64_t entry = *named;
  EXPECT_EQ(bot.clear_refused_record(entry + 1, "纪委李", "核对过").code(), Code::kNotFound);
  EXPECT_EQ(bot.clear_refused_record(entry, "", "核对过").code(), Code::kInvalidArgument);
  ASSERT_TRUE(bot.clear_refused_record(entry, "纪委李", "核对过").is_ok());
  EXPECT_EQ(verify_reasons().find("deliveries_record_refused"), std::string::npos) << verify_reasons();
  EXPECT_EQ(bot.clear_refused_record(entry, "纪委李", "核对过").code(), Code::kNotFound) << "cleared once";
}

// The change alarms the inspectors when the deliveries log refuses a record
// (OutboxSenderOptions::on_record_refused), but not on every path that can
// be refused: a push that went out while the database was busy (its
// mark_delivered unavailable) is marked delivered at the next pass through
// settle_unsent, which calls Outbox::mark_delivered without `refused`. If the
// log refuses then, the row is marked delivered without its entry and no one
// is told (serve's refused-write check still runs, and finds nothing once the
// edit is undone). Proposed fix: settle_unsent passes &refused and calls
// record_refused, as record_outcome does.
TEST_F(DeadLetterRecord, ARefusalWhenMarkingAPushSentWhileTheDatabaseWasBusyIsSaid) {
  enqueue("【双江村 2022年11月 三务公开】", {"shuangjiang", "2022-11"});
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    ASSERT_EQ(sender.deliver_due(), 1u);
  }
  enqueue("您的投诉 TS-2022-0007 已受理");
  auto locker = insider();
  // The platform takes the push; meanwhile the insider holds the write lock,
  // so that marking it delivered finds the database busy.
  group.on_request = [&] { locker->exec("BEGIN IMMEDIATE"); };
  std::vector<std::string> said;
  OutboxSenderOptions options;
  options.on_record_refused = [&](const std::string& what) { said.push_back(what); };
  OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
  EXPECT_EQ(sender.deliver_due(), 0u) << "marked delivered although the database was locked";
  ASSERT_EQ(pushes(), 2u);
  locker->exec("COMMIT");
  group.on_request = nullptr;
  ASSERT_FALSE(delivered(2));
  insider()->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");  // appends refused
  sender.deliver_due();
  EXPECT_TRUE(delivered(2));
  EXPECT_EQ(pushes(), 2u) << "not sent again";
  EXPECT_EQ(said.size(), 1u) << "the log refused the delivery's record and no one was told";
}

// The quorum's round gives up on a held notice edited by hand (tampered):
// when the deliveries log refuses that record, it is said to the same
// callback serve alarms the inspectors from, not only on stderr (review R1).
TEST_F(DeadLetterRecord, ARefusedDeadLetterOfTheQuorumsRoundIsSaid) {
  enqueue("an earlier push: the deliveries log has a checkpoint", {"shuangjiang", "2022-11"});
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    ASSERT_EQ(sender.deliver_due(), 1u);
  }
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  auto db = insider();
  db->exec("UPDATE outbox SET text='【双江村 2022年12月 三务公开】改过' WHERE id=2");
  db->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");  // appends refused
  NoticeQuorum quorum(t.ledger.get(), 1, {});
  std::vector<std::string> said;
  quorum.set_on_record_refused([&](const std::string& what) { said.push_back(what); });
  ASSERT_TRUE(quorum.release_round().is_ok());
  EXPECT_TRUE(dead(2));
  ASSERT_EQ(said.size(), 1u) << "the log refused the dead letter's record and no one was told";
  EXPECT_NE(said[0].find("held push 2"), std::string::npos) << said[0];
}

// Known and said in README ("What is still not caught"), demonstrated here so
// that the fix has a test: next_attempt_at moved forward by less than the
// bound (600 s backoff + 300 s slack) every quarter hour (a cron job with
// sqlite3) holds a notice back for as long as the insider likes, verify
// intact at every moment. Proposed fix: the sender keeps the retry times it
// set in memory and takes a row it has not tried since it started as due at
// once, so the column is read only at a start (and verify could bound it by
// attempts: a row with attempts = 0 must be due at its created_at).
TEST_F(DeadLetterRecord, ANextAttemptMovedForwardAgainAndAgainIsNotAnIndefiniteHold) {
  enqueue("【双江村 2022年12月 三务公开】", {"shuangjiang", "2022-12"});
  auto db = insider();
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  std::string reasons;
  for (int round = 0; round < 16 && pushes() == 0 && reasons.empty(); ++round) {  // four hours
    db->exec("UPDATE outbox SET next_attempt_at=" + std::to_string(t.clock.now_unix_seconds() + 890) + " WHERE id=1");
    t.clock.advance(880);
    sender.deliver_due();
    reasons = verify_reasons();
  }
  EXPECT_TRUE(pushes() == 1 || !reasons.empty()) << "held back four hours, verify intact at every check";
}

// A false verdict, and with it a denial of service: verify bounds a pending
// row's next attempt by now + 600 s + 300 s of slack, "now" being the
// verifying process's clock. A server clock stepped back by more than 5
// minutes (an NTP correction after a VM's suspend; unauthenticated NTP, which
// anyone on the path can answer) while a push waits out its longest backoff
// (a platform down for a quarter of an hour) makes the row read "held back
// by hand": serve's hourly check then marks the whole ledger as failing
// verification, refuses every write and alarms the inspectors of tampering
// (app/deployment.cc check_integrity), until an administrator restores a
// backup. Proposed fix: a next attempt too far ahead is not evidence of
// tampering when the sender can simply not believe it: the sender takes a
// row due at most kMaxBackoffSeconds after now whatever the column says (and
// keeps its own schedule in memory, see the test above), and verify drops
// the bound or reports it without failing the ledger.
TEST_F(DeadLetterRecord, AClockSteppedBackWhileAPushWaitsIsNotTampering) {
  enqueue("您的投诉 TS-2022-0007 已受理");
  group.fail_next = 100;
  OutboxSenderOptions options;
  options.max_attempts = 100;
  OutboxSender sender(t.ledger.get(), by_id, client.get(), options);
  for (int attempt = 0; attempt <= 10; ++attempt) {
    if (attempt > 0) t.clock.advance(Outbox::retry_backoff(attempt - 1));
    sender.deliver_due();
  }
  ASSERT_EQ(pushes(), 11u);
  ASSERT_EQ(verify_reasons(), "") << "the sender's own longest backoff";
  t.clock.advance(-400);  // the clock corrected back by under 7 minutes
  EXPECT_EQ(verify_reasons(), "") << "a clock step back reads as tampering";
}

}  // namespace
}  // namespace sunledger
