// The directory's lifecycle: who was given a role or a token can lose it, at
// once, and an expired token stops working. Against a real ledger.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "bot/bot.h"
#include "bot/directory.h"
#include "bot/outbox.h"
#include "ledger/crypto.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

struct DirectoryAdmin : ::testing::Test {
  testing::TestLedger t{"test.sunledger", Bot::reserved_log_names()};
  std::unique_ptr<Bot> bot;
  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
  }
  std::string say(const std::string& user, const std::string& chat, bool group, const std::string& text) {
    static int n = 0;
    auto r = bot->handle({"b", chat, group, user, user, text, "m" + std::to_string(++n), 0});
    return r.is_ok() ? r->text : r.status().to_string();
  }
};

TEST_F(DirectoryAdmin, ARemovedMemberLosesEveryRoleAtOnce) {
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "", Role::kInspector, "朱亭镇"}).is_ok());
  EXPECT_EQ(bot->list_members("b")->size(), 2u);
  EXPECT_NE(say("wang", "g1", true, "立项 村部维修 5万").find("已立项"), std::string::npos);
  EXPECT_EQ(*bot->remove_member("b", "wang"), 2u);
  EXPECT_TRUE(bot->list_members()->empty());
  // The same Bot (a running server's) refuses at once.
  EXPECT_NE(say("wang", "g1", true, "立项 道路 5万").find("只有"), std::string::npos);
  EXPECT_NE(say("wang", "dm", false, "待办").find("只有"), std::string::npos);
  EXPECT_EQ(bot->remove_member("b", "wang").status().code(), Code::kNotFound);
}

// The server answers a villager's read from its caches (directory, rendered
// 账目) while nothing is committed. What another process changes (the CLI
// beside `serve`: here a Ledger and Bot of their own on the same file,
// sharing nothing in memory with the server's) reaches those answers within
// Ledger::kExternalChangeDelay, and a right it takes away is gone on the
// holder's very next message.
TEST_F(DirectoryAdmin, AnotherProcessesChangesReachTheServersCachedAnswers) {
  using std::chrono::steady_clock;
  const std::string kNotBound = "还没有绑定", kNovember = "2022年11月";
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  ASSERT_TRUE(bot->post_entries("shuangjiang", {testing::txn("2022-10-12", true, "上级拨款", "十月到账", 1'000'000)},
                                testing::official())
                  .is_ok());
  ASSERT_TRUE(bot->post_entries("shuangjiang", {testing::txn("2022-11-02", true, "上级拨款", "十一月到账", 2'000'000)},
                                testing::official())
                  .is_ok());
  auto october = bot->publish("shuangjiang", "2022-10", testing::official());
  ASSERT_TRUE(october.is_ok()) << october.status().to_string();
  Ledger::Options o = t.options(Bot::reserved_log_names());
  auto cli_ledger = Ledger::open(o);
  ASSERT_TRUE(cli_ledger.is_ok()) << cli_ledger.status().to_string();
  BotOptions bo;
  bo.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot cli(cli_ledger->get(), bo);
  // Asked twice: the second answer comes from the caches, and is the same.
  std::string first = say("v", "g1", true, "账目");
  ASSERT_NE(first.find("2022年10月"), std::string::npos) << first;
  EXPECT_EQ(say("v", "g1", true, "账目"), first);
  ASSERT_NE(say("wang", "g1", true, "立项 村部维修 5万").find("已立项"), std::string::npos);
  // Another process takes wang's role away: refused at once, cached directory or not.
  ASSERT_TRUE(cli.remove_member("b", "wang").is_ok());
  EXPECT_NE(say("wang", "g1", true, "立项 道路维修 5万").find("只有"), std::string::npos);
  // Another process publishes November and binds a second group: both reach
  // villagers' reads within the delay (one question every 100 ms stays under
  // the per-sender limit of 20 a minute).
  auto nov = cli.publish("shuangjiang", "2022-11", testing::official());
  ASSERT_TRUE(nov.is_ok()) << nov.status().to_string();
  ASSERT_TRUE(cli.bind_group("nanzhou", "b", "g2").is_ok());
  auto changed = steady_clock::now();
  std::string accounts, balance;
  for (;;) {
    accounts = say("v", "g1", true, "账目");
    balance = say("v2", "g2", true, "余额");
    bool seen = accounts.find(kNovember) != std::string::npos && balance.find(kNotBound) == std::string::npos;
    if (seen || steady_clock::now() - changed > std::chrono::seconds(5)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(accounts.find(kNovember), std::string::npos) << accounts;
  EXPECT_EQ(balance.find(kNotBound), std::string::npos) << balance;
  EXPECT_LE(steady_clock::now() - changed, Ledger::kExternalChangeDelay + std::chrono::milliseconds(300));
}

// The directory is cached until the admin log or the village registry
// grows (one read of two sizes; it used to count the villages' table, a scan
// per official's message in a province). A village another process adds
// enters the registry in the same transaction, so the next current snapshot
// has it.
TEST_F(DirectoryAdmin, AVillageAnotherProcessAddsIsInTheNextSnapshot) {
  DirectoryStore store(t.ledger.get());
  auto before = store.snapshot();
  ASSERT_TRUE(before.is_ok()) << before.status().to_string();
  EXPECT_EQ((*before)->villages.count("baima"), 0u);
  EXPECT_EQ(*store.snapshot(), *before);  // kept while nothing moved
  auto cli_ledger = Ledger::open(t.options(Bot::reserved_log_names()));
  ASSERT_TRUE(cli_ledger.is_ok()) << cli_ledger.status().to_string();
  ASSERT_TRUE((*cli_ledger)->add_village({"baima", "白马村", "朱亭镇"}).is_ok());
  auto after = store.snapshot();
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  ASSERT_EQ((*after)->villages.count("baima"), 1u);
  EXPECT_EQ((*after)->villages.at("baima").town, "朱亭镇");
}

TEST_F(DirectoryAdmin, AnInspectorWatchesARealTown) {
  EXPECT_EQ(bot->add_member({"b", "li", "", Role::kInspector, "朱停镇"}).code(), Code::kNotFound);
  EXPECT_TRUE(bot->add_member({"b", "li", "", Role::kInspector, "朱亭镇"}).is_ok());
  EXPECT_TRUE(bot->add_member({"b", "chen", "", Role::kInspector, "all"}).is_ok());
  EXPECT_EQ(bot->add_member({"b", "zhao", "nowhere", Role::kOfficial, ""}).code(), Code::kNotFound);
}

// The same for an inspector's API token: a typo would give a token that sees nothing.
TEST_F(DirectoryAdmin, AnInspectorTokenWatchesARealTown) {
  EXPECT_EQ(bot->create_token({Role::kInspector, "", "朱停镇", "纪委"}, 30).status().code(), Code::kNotFound);
  EXPECT_TRUE(bot->create_token({Role::kInspector, "", "朱亭镇", "纪委"}, 30).is_ok());
  EXPECT_TRUE(bot->create_token({Role::kInspector, "", "all", "纪委"}, 30).is_ok());
}

TEST_F(DirectoryAdmin, GroupsAreMovedOnlyOnPurposeAndUnbound) {
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  EXPECT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());  // the same binding again
  EXPECT_EQ(bot->bind_group("nanzhou", "b", "g1").code(), Code::kAlreadyExists);
  EXPECT_EQ(bot->list_groups()->at(0).village, "shuangjiang");
  ASSERT_TRUE(bot->bind_group("nanzhou", "b", "g1", true).is_ok());
  EXPECT_EQ(bot->list_groups()->at(0).village, "nanzhou");
  EXPECT_NE(say("v", "g1", true, "余额").find("南洲村"), std::string::npos);
  ASSERT_TRUE(bot->unbind_group("b", "g1").is_ok());
  EXPECT_TRUE(bot->list_groups()->empty());
  EXPECT_NE(say("v", "g1", true, "余额").find("还没有绑定"), std::string::npos);
  EXPECT_EQ(bot->unbind_group("b", "g1").code(), Code::kNotFound);
}

TEST_F(DirectoryAdmin, TokensExpireAndAreRevoked) {
  auto a = bot->create_token({Role::kOfficial, "shuangjiang", "", "会计站"}, 30);
  auto b = bot->create_token({Role::kInspector, "", "all", "纪委"}, 365);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_TRUE(bot->authenticate(a->token).is_ok());
  auto list = bot->list_tokens();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].expires_at - (*list)[0].created_at, 30 * 86400);
  // Revoked: refused from the next request on, saying so to whoever holds it.
  ASSERT_TRUE(bot->revoke_token(b->id).is_ok());
  EXPECT_EQ(bot->authenticate(b->token).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bot->authenticate(b->token).status().message(), "令牌已被吊销,请向乡镇管理员申请新令牌 (token revoked; ask for a new one)");
  EXPECT_EQ(bot->authenticate("sl_nonexistent-token").status().message(), "令牌无效 (invalid token)");
  EXPECT_EQ(bot->revoke_token(b->id).code(), Code::kNotFound);
  EXPECT_NE(bot->list_tokens()->at(1).revoked_at, 0);
  // Expired: refused, saying so.
  t.clock.advance(30 * 86400);
  auto expired = bot->authenticate(a->token);
  EXPECT_EQ(expired.status().code(), Code::kPermissionDenied);
  EXPECT_NE(expired.status().message().find("过期"), std::string::npos) << expired.status().message();
  EXPECT_EQ(bot->create_token({Role::kOfficial, "shuangjiang", "", ""}, 0).status().code(), Code::kInvalidArgument);
}

// The insider with sqlite3: every change of a directory table that no admin
// log entry made is named by verify, table and entry.
struct DirectoryTamper : DirectoryAdmin {
  int64_t token_id = 0;
  void SetUp() override {
    DirectoryAdmin::SetUp();
    ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
    ASSERT_TRUE(bot->bind_group("nanzhou", "b", "g2").is_ok());
    ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
    ASSERT_TRUE(bot->add_member({"b", "li", "", Role::kInspector, "朱亭镇"}).is_ok());
    auto t = bot->create_token({Role::kOfficial, "shuangjiang", "", "会计站"}, 30);
    ASSERT_TRUE(t.is_ok());
    token_id = t->id;
    auto clean = bot->verify_deployment();
    ASSERT_TRUE(clean.is_ok());
    ASSERT_TRUE(clean->empty()) << clean->front().reason;
  }
  // Runs SQL as an insider would, then returns what verify says.
  std::string tamper(const std::string& sql) {
    {
      testing::open_insider(t.db_path())->exec(sql);
    }
    auto r = bot->verify_deployment();
    if (!r.is_ok()) return "error: " + r.status().to_string();
    std::string out;
    for (const auto& p : *r) out += p.log + "#" + std::to_string(p.first_bad_index) + ": " + p.reason + "\n";
    return out;
  }
};

TEST_F(DirectoryTamper, AForgedOfficialIsNamed) {
  std::string r = tamper("INSERT INTO members VALUES('b','mallory','shuangjiang','official','',0)");
  EXPECT_NE(r.find("admin#"), std::string::npos) << r;
  EXPECT_NE(r.find("members: official mallory"), std::string::npos) << r;
}

// The running bot answers from the signed admin log, never from the tables:
// a forged row grants nothing, now or after a later legitimate change.
TEST_F(DirectoryTamper, AForgedRowGrantsNothingInARunningServer) {
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("INSERT INTO members VALUES('b','mallory','shuangjiang','official','',0)");
    db->exec("INSERT INTO group_bindings VALUES('b','g9','shuangjiang',0)");
  }
  ASSERT_TRUE(bot->add_member({"b", "newbie", "", Role::kInspector, "all"}).is_ok());  // the admin log grows
  EXPECT_NE(say("mallory", "g1", true, "立项 村部维修 5万").find("只有"), std::string::npos);
  EXPECT_NE(say("v", "g9", true, "余额").find("还没有绑定"), std::string::npos);
}

// The admin log itself edited without the key (wang's grant made mallory's,
// the row to match): the replay reads leaves as stored, but their tree no
// longer matches the signed checkpoint, so until the log is restored nobody
// acts in a role and no token works; villagers still read.
TEST_F(DirectoryTamper, AnAdminLogEditedWithoutTheKeyGrantsNothing) {
  auto tok = bot->create_token({Role::kInspector, "", "all", "纪委"}, 30);
  ASSERT_TRUE(tok.is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE entries SET leaf=replace(leaf, '\"user\":\"wang\"', '\"user\":\"mallory\"') "
            "WHERE log_id=(SELECT id FROM logs WHERE name='admin')");
    db->exec("UPDATE members SET \"user\"='mallory' WHERE \"user\"='wang'");
  }
  ASSERT_TRUE(bot->add_member({"b", "zhou", "", Role::kInspector, "南洲镇"}).is_ok());  // the directory reloads
  EXPECT_NE(say("mallory", "g1", true, "立项 村部维修 5万").find("只有"), std::string::npos);
  EXPECT_NE(say("wang", "g1", true, "立项 村部维修 5万").find("只有"), std::string::npos);
  EXPECT_EQ(bot->authenticate(tok->token).status().code(), Code::kPermissionDenied);
  EXPECT_NE(say("v", "g1", true, "余额").find("双江村"), std::string::npos);  // villagers still read
}

// The alarm about a tampered ledger goes to the inspectors that the intact
// part of the admin log names: an insider who made a later inspector's grant
// theirs (without the key) used to receive the alarm in that inspector's place.
TEST_F(DirectoryTamper, TheTamperAlarmGoesOnlyToInspectorsOfTheIntactLog) {
  ASSERT_TRUE(bot->add_member({"b", "zhou", "", Role::kInspector, "南洲镇"}).is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE entries SET leaf=replace(leaf, '\"user\":\"zhou\"', '\"user\":\"mallory\"') "
            "WHERE log_id=(SELECT id FROM logs WHERE name='admin')");
    db->exec("UPDATE members SET \"user\"='mallory' WHERE \"user\"='zhou'");
  }
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  o.reaches_person = [](const std::string&) { return true; };
  Bot server(t.ledger.get(), o);
  ASSERT_TRUE(server.initialize().is_ok());
  auto n = server.alert_inspectors("⚠ 账本核验未通过");
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1u);
  auto due = Outbox(t.ledger.get()).due(t.clock.now_unix_seconds(), 10);
  ASSERT_TRUE(due.is_ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].chat_id, "li");  // added before the edited entry
}

// The same edit, made only while the directory is read: the insider flips
// wang's grant to mallory and back, again and again, while a server starts.
// The directory used to replay the leaves in one read and check the log in
// another, so a leaf forged for the replay and put back before the check was
// trusted, and mallory acted as an official until the log next grew, while
// every verify found the log intact. The entries replayed are now the ones
// checked, read in one snapshot.
TEST_F(DirectoryTamper, AnAdminLeafForgedOnlyWhileItIsReadGrantsNothing) {
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    auto db = testing::open_insider(t.db_path(), 10'000);
    if (!db->on_postgresql()) db->exec("PRAGMA synchronous=OFF");
    const std::string admin = " WHERE log_id=(SELECT id FROM logs WHERE name='admin')";
    while (!stop) {
      db->exec("UPDATE entries SET leaf=replace(leaf, '\"user\":\"wang\"', '\"user\":\"mallory\"')" + admin);
      db->exec("UPDATE entries SET leaf=replace(leaf, '\"user\":\"mallory\"', '\"user\":\"wang\"')" + admin);
    }
  });
  int granted = 0;
  for (int i = 0; i < 100 && granted == 0; ++i) {
    // A server starting: a Bot of its own, whose directory is read from scratch.
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    Bot starting(t.ledger.get(), o);
    ASSERT_TRUE(starting.initialize().is_ok());
    auto r = starting.handle({"b", "g1", true, "mallory", "mallory", "预警", "race" + std::to_string(i), 0});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    if (r->text.find("只有") == std::string::npos) ++granted;
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(granted, 0) << "mallory acted as an official on a leaf forged only while it was read";
  auto clean = bot->verify_deployment();
  ASSERT_TRUE(clean.is_ok());
  EXPECT_TRUE(clean->empty()) << clean->front().reason;
}

TEST_F(DirectoryTamper, ATokenUnrevokedByHandStaysRevoked) {
  auto tok = bot->create_token({Role::kInspector, "", "all", "纪委"}, 30);
  ASSERT_TRUE(tok.is_ok());
  ASSERT_TRUE(bot->authenticate(tok->token).is_ok());
  ASSERT_TRUE(bot->revoke_token(tok->id).is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE api_tokens SET revoked_at = NULL, expires_at = expires_at + 86400000");
    db->exec("INSERT INTO api_tokens(hash, role, village, area, label, created_at) VALUES('" +
            hex_encode(sha256("sl_forged-token-0123456789")) + "', 'inspector', '', 'all', 'x', 0)");
  }
  EXPECT_EQ(bot->authenticate(tok->token).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bot->authenticate("sl_forged-token-0123456789").status().code(), Code::kPermissionDenied);
}

// The insider (say, the official about to be removed, or whoever holds a
// leaked inspector token) hides the grant from the tables before the
// township acts: the member's rows deleted, the token's row marked revoked,
// the binding deleted. The CLI used to decide from the tables, answer "no such
// role / no unrevoked token / no group" and log nothing, while the running
// server, which replays the log, went on granting. Each change is now decided
// from the admin log, signed, and takes effect.
TEST_F(DirectoryTamper, HidingAGrantFromTheTablesDoesNotStopItsRemoval) {
  auto tok = bot->create_token({Role::kInspector, "", "all", "纪委"}, 30);
  ASSERT_TRUE(tok.is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM members WHERE \"user\"='wang'");
    db->exec("UPDATE api_tokens SET revoked_at=1 WHERE id=" + std::to_string(tok->id));
    db->exec("DELETE FROM group_bindings WHERE chat='g2'");
    db->exec("INSERT INTO members VALUES('b','zhou','','inspector','all',0)");  // a row no entry made
  }
  // Before: the server (the log) still grants all three.
  ASSERT_NE(say("wang", "g1", true, "立项 村部维修 5万").find("已立项"), std::string::npos);
  ASSERT_TRUE(bot->authenticate(tok->token).is_ok());
  auto removed = bot->remove_member("b", "wang");
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 1u);
  Status revoked = bot->revoke_token(tok->id);
  EXPECT_TRUE(revoked.is_ok()) << revoked.to_string();
  Status unbound = bot->unbind_group("b", "g2");
  EXPECT_TRUE(unbound.is_ok()) << unbound.to_string();
  // Granting a role the tables already show (a forged row) is logged, so it works.
  ASSERT_TRUE(bot->add_member({"b", "zhou", "", Role::kInspector, "all"}).is_ok());
  // After: every change took effect in the running server.
  EXPECT_NE(say("wang", "g1", true, "立项 道路维修 5万").find("只有"), std::string::npos);
  EXPECT_EQ(bot->authenticate(tok->token).status().code(), Code::kPermissionDenied);
  EXPECT_NE(say("v", "g2", true, "余额").find("还没有绑定"), std::string::npos);
  EXPECT_EQ(say("zhou", "dm", false, "待办").find("只有"), std::string::npos);
  // And the tables match the log again.
  auto clean = bot->verify_deployment();
  ASSERT_TRUE(clean.is_ok());
  EXPECT_TRUE(clean->empty()) << clean->front().reason;
  // Nothing granted: still not found.
  EXPECT_EQ(bot->remove_member("b", "nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(bot->revoke_token(tok->id).code(), Code::kNotFound);
  EXPECT_EQ(bot->unbind_group("b", "g2").code(), Code::kNotFound);
}

TEST_F(DirectoryTamper, AMemberDeletedByHandIsNamed) {
  std::string r = tamper("DELETE FROM members WHERE \"user\"='li'");
  EXPECT_NE(r.find("admin#3: members: inspector li"), std::string::npos) << r;
}

TEST_F(DirectoryTamper, AnInspectorsAreaWidenedIsNamed) {
  std::string r = tamper("UPDATE members SET area='all' WHERE \"user\"='li'");
  EXPECT_NE(r.find("members: inspector li on bot b (all) has no admin log entry"), std::string::npos) << r;
}

TEST_F(DirectoryTamper, AnOfficialMovedToAnotherVillageIsNamed) {
  std::string r = tamper("UPDATE members SET village='nanzhou' WHERE \"user\"='wang'");
  EXPECT_NE(r.find("members: official wang on bot b (nanzhou)"), std::string::npos) << r;
}

TEST_F(DirectoryTamper, AGroupMovedToAnotherVillageIsNamed) {
  std::string r = tamper("UPDATE group_bindings SET village='nanzhou' WHERE chat='g1'");
  EXPECT_NE(r.find("admin#0: group_bindings: chat g1 on bot b is bound to nanzhou but the admin log bound it to shuangjiang"),
            std::string::npos)
      << r;
}

TEST_F(DirectoryTamper, AGroupBoundOrUnboundByHandIsNamed) {
  EXPECT_NE(tamper("INSERT INTO group_bindings VALUES('b','g3','shuangjiang',0)").find("chat g3 on bot b is bound to shuangjiang but no admin log entry"),
            std::string::npos);
  EXPECT_NE(tamper("DELETE FROM group_bindings WHERE chat='g2'").find("admin#1: group_bindings: chat g2"), std::string::npos);
}

TEST_F(DirectoryTamper, AForgedTokenIsNamed) {
  std::string r = tamper(
      "INSERT INTO api_tokens(hash, role, village, area, label, created_at) VALUES('00ff', 'inspector', '', 'all', 'x', 0)");
  EXPECT_NE(r.find("api_tokens: token id 2"), std::string::npos) << r;
  EXPECT_NE(r.find("no admin log entry that created it"), std::string::npos) << r;
}

TEST_F(DirectoryTamper, ATokensHashSwappedIsNamed) {
  std::string r = tamper("UPDATE api_tokens SET hash='00ff'");
  EXPECT_NE(r.find("admin#4: api_tokens: token id 1 is stored as"), std::string::npos) << r;
  EXPECT_NE(r.find("with another hash"), std::string::npos) << r;
}

TEST_F(DirectoryTamper, ATokensScopeWidenedIsNamed) {
  EXPECT_NE(tamper("UPDATE api_tokens SET role='inspector', village='', area='all'").find("api_tokens: token id 1"),
            std::string::npos);
}

TEST_F(DirectoryTamper, ATokensExpiryExtendedIsNamed) {
  EXPECT_NE(tamper("UPDATE api_tokens SET expires_at = expires_at + 86400000").find("api_tokens: token id 1"),
            std::string::npos);
}

TEST_F(DirectoryTamper, ARevocationUndoneIsNamed) {
  ASSERT_TRUE(bot->revoke_token(token_id).is_ok());
  EXPECT_NE(tamper("UPDATE api_tokens SET revoked_at = NULL").find("api_tokens: token id 1"), std::string::npos);
}

TEST_F(DirectoryTamper, AnAdminLogEntryDeletedIsNamed) {
  // The admin log is a signed log like the others: its tree must match its checkpoint.
  std::string r = tamper("DELETE FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='admin') AND idx=3");
  EXPECT_NE(r.find("admin#"), std::string::npos) << r;
}

// A village's name and town decide what an inspector sees (an inspector
// watches a town) and which books "账目 双江村" answers with. Moved to another
// town, Shuangjiang's complaints would leave its town's inspector for another
// town's; renamed, another village's books would answer for "双江村".
TEST_F(DirectoryTamper, AVillageMovedToAnotherTownOrRenamedIsNamed) {
  std::string r = tamper("UPDATE villages SET town='南洲镇' WHERE id='shuangjiang'");
  EXPECT_NE(r.find("villages: village shuangjiang"), std::string::npos) << r;
  tamper("UPDATE villages SET town='朱亭镇' WHERE id='shuangjiang'");
  r = tamper("UPDATE villages SET name='双江村' WHERE id='nanzhou'");
  EXPECT_NE(r.find("villages: village nanzhou"), std::string::npos) << r;
  tamper("UPDATE villages SET name='南洲村' WHERE id='nanzhou'");
  EXPECT_EQ(tamper("SELECT 1"), "");
  // A village inserted by hand (with a log of its own) has no registration either.
  r = tamper("INSERT INTO logs(name) VALUES('forged'); "
             "INSERT INTO villages VALUES('forged', '伪造村', '朱亭镇', (SELECT id FROM logs WHERE name='forged'))");
  EXPECT_NE(r.find("villages: village forged"), std::string::npos) << r;
}

// The running server takes each village's name and town from the signed
// registry log, not from the table: moved to another town by hand,
// Shuangjiang's complaints stay with its own town's inspector, and renamed,
// Nanzhou does not answer for "双江村", even after a later change rebuilds
// the directory (until then verify names the edit, above).
TEST_F(DirectoryTamper, AVillageMovedOrRenamedByHandMovesNoInspectorsAreaInARunningServer) {
  DirectoryStore store(t.ledger.get());
  ASSERT_TRUE(store.snapshot().is_ok());
  testing::open_insider(t.db_path())->exec("UPDATE villages SET town='南洲镇' WHERE id='shuangjiang'");
  testing::open_insider(t.db_path())->exec("UPDATE villages SET name='双江村' WHERE id='nanzhou'");
  ASSERT_TRUE(bot->add_member({"b", "zhao", "nanzhou", Role::kOfficial, ""}).is_ok());  // the directory is rebuilt
  auto d = store.snapshot();
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ((*d)->version, *t.ledger->log_size(DirectoryStore::kLogName)) << "not rebuilt after the change";
  EXPECT_EQ((*d)->villages.at("shuangjiang").town, "朱亭镇");
  EXPECT_EQ((*d)->villages.at("nanzhou").name, "南洲村");
  auto watched = bot->villages_in_area("朱亭镇");
  ASSERT_TRUE(watched.is_ok());
  EXPECT_EQ(*watched, std::vector<std::string>{"shuangjiang"});
}

// What the CLI decides from a village is the registered village too: an
// inspector named by a village watches its registered town, and an area is
// a registered town, whatever the table says.
TEST_F(DirectoryTamper, AnInspectorNamedByVillageWatchesItsRegisteredTown) {
  testing::open_insider(t.db_path())->exec("UPDATE villages SET town='南洲镇' WHERE id='shuangjiang'");
  testing::open_insider(t.db_path())->exec("UPDATE villages SET town='假镇' WHERE id='nanzhou'");
  ASSERT_TRUE(bot->add_member({"b", "zhou", "shuangjiang", Role::kInspector, ""}).is_ok());
  auto members = bot->list_members("b");
  ASSERT_TRUE(members.is_ok());
  std::string area;
  for (const auto& m : *members)
    if (m.user_id == "zhou") area = m.area;
  EXPECT_EQ(area, "朱亭镇");
  EXPECT_EQ(bot->add_member({"b", "qian", "", Role::kInspector, "假镇"}).code(), Code::kNotFound);
  EXPECT_TRUE(bot->add_member({"b", "qian", "", Role::kInspector, "南洲镇"}).is_ok());
}

// The state table says whether the rows of an older version were imported.
// Dropped on a deployment whose admin log has entries, it must not get an
// insider's row signed as "imported" by the next command that opens the folder.
TEST_F(DirectoryTamper, DroppingTheStateTableDoesNotLaunderAForgedRow) {
  uint64_t size = *t.ledger->log_size("admin");
  std::string r = tamper("DROP TABLE directory_state; INSERT INTO members VALUES('b','mallory','shuangjiang','official','',0)");
  ASSERT_NE(r.find("mallory"), std::string::npos) << r;
  ASSERT_TRUE(bot->initialize().is_ok());  // what every CLI command and serve do first
  EXPECT_EQ(*t.ledger->log_size("admin"), size);
  r = tamper("SELECT 1");
  EXPECT_NE(r.find("members: official mallory on bot b (shuangjiang) has no admin log entry"), std::string::npos) << r;
}

TEST_F(DirectoryAdmin, EveryChangeIsSignedWithWhoAndWhatButNoSecret) {
  Author admin{"root", "admin", "cli"};
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1", false, admin).is_ok());
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1", false, admin).is_ok());  // no change, no entry
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}, admin).is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}, admin).is_ok());  // no change
  auto tok = bot->create_token({Role::kInspector, "", "all", "纪委"}, 10, admin);
  ASSERT_TRUE(tok.is_ok());
  ASSERT_TRUE(bot->revoke_token(tok->id, admin).is_ok());
  ASSERT_TRUE(bot->remove_member("b", "wang", admin).is_ok());
  ASSERT_TRUE(bot->unbind_group("b", "g1", admin).is_ok());
  auto size = t.ledger->log_size("admin");
  ASSERT_TRUE(size.is_ok());
  ASSERT_EQ(*size, 6u);
  auto entries = t.ledger->entries("admin", 0, 6);
  ASSERT_TRUE(entries.is_ok());
  std::vector<std::string> ops;
  for (const auto& e : *entries) {
    ops.push_back(e.fields.value("op", ""));
    EXPECT_EQ(e.fields["author"]["id"], "root");
    EXPECT_EQ(e.leaf.find(tok->token), std::string::npos) << "the token itself must never be logged";
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"bind_group", "add_member", "create_token", "revoke_token", "remove_member",
                                           "unbind_group"}));
  EXPECT_NE(t.ledger->checkpoint("admin")->find("test.sunledger/admin"), std::string::npos);
  auto r = bot->verify_deployment();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->empty());
  // A village cannot take the admin log's name.
  EXPECT_FALSE(t.ledger->add_village({"admin", "管理村", "朱亭镇"}).is_ok());
}

TEST(DirectoryUpgrade, RowsMadeBeforeTheAdminLogAreRecordedOnce) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database an older version made; no PostgreSQL database predates it");
  testing::TestLedger t;
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  {
    // A deployment of the previous version: rows, no admin log.
    auto db = testing::open_insider(t.db_path());
    db->exec("DROP TABLE directory_state");
    db->exec("INSERT INTO group_bindings VALUES('b','g1','shuangjiang',0)");
    db->exec("INSERT INTO members VALUES('b','wang','shuangjiang','official','',0)");
    db->exec("INSERT INTO api_tokens(hash, role, village, area, label, created_at) VALUES('ab', 'official', 'shuangjiang', '', 'x', 5)");
  }
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(bot.initialize().is_ok());  // once only
  EXPECT_EQ(*t.ledger->log_size("admin"), 3u);
  auto r = bot.verify_deployment();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->empty()) << r->front().reason;
  EXPECT_TRUE((*t.ledger->entries("admin", 0, 1))[0].fields.value("imported", false));
  // Deleting the state row does not make a forged row importable.
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM directory_state");
    db->exec("INSERT INTO members VALUES('b','mallory','shuangjiang','official','',0)");
  }
  ASSERT_TRUE(bot.initialize().is_ok());
  EXPECT_EQ(*t.ledger->log_size("admin"), 3u);
  auto caught = bot.verify_deployment();
  ASSERT_TRUE(caught.is_ok());
  ASSERT_EQ(caught->size(), 1u);
  EXPECT_NE(caught->front().reason.find("mallory"), std::string::npos);
}

// A deployment made before the village registry existed records its villages
// once, as "imported" registrations, and is covered from then on.
TEST(DirectoryUpgrade, VillagesMadeBeforeTheRegistryAreRecordedOnce) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database an older version made; no PostgreSQL database predates it");
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
  {
    // The previous version: villages, and no registry log.
    testing::open_insider(t.db_path())
        ->exec("DELETE FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='villages');"
               "DELETE FROM nodes WHERE log_id=(SELECT id FROM logs WHERE name='villages');"
               "DELETE FROM logs WHERE name='villages'");
  }
  // Opened as the new version opens that database: a Ledger that wrote the
  // registry's row itself refuses a write once the row is gone (LogRows).
  t.reopen();
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(bot.initialize().is_ok());  // once only
  ASSERT_EQ(*t.ledger->log_size("villages"), 2u);
  auto entries = t.ledger->entries("villages", 0, 2);
  EXPECT_TRUE((*entries)[0].fields.value("imported", false));
  EXPECT_EQ((*entries)[1].fields.value("town", ""), "朱亭镇");
  auto r = bot.verify_deployment();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->empty()) << r->front().reason;
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE villages SET town='南洲镇' WHERE id='shuangjiang'");
  }
  ASSERT_TRUE(bot.initialize().is_ok());
  auto caught = bot.verify_deployment();
  ASSERT_TRUE(caught.is_ok());
  ASSERT_EQ(caught->size(), 1u);
  EXPECT_NE(caught->front().reason.find("villages: village shuangjiang is stored as 双江村, 南洲镇"), std::string::npos)
      << caught->front().reason;
}

}  // namespace
}  // namespace sunledger
