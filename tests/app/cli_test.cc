// Drives the real `sunledger` binary, as an operator would.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/merkle.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

struct Cli : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  CommandResult sl(const std::string& args) {
    return run_command(std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args);
  }
  void init_village() {
    ASSERT_EQ(sl("init --origin cli.test/sunledger").exit_code, 0);
    ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
    ASSERT_EQ(sl("project add --village shuangjiang --name 水利建设 --approved 30万 --special").exit_code, 0);
    ASSERT_EQ(sl("project add --village shuangjiang --name 道路拓宽 --approved 200000").exit_code, 0);
  }
  std::string csv(const std::string& rows) {
    std::string path = dir.file("entries.csv");
    write_file(path, "date,type,category,item,amount,project,fund,counterparty,note\n" + rows);
    return path;
  }
};

TEST_F(Cli, InitCreatesPrivateFilesAndPrintsTheVerifierKey) {
  auto r = sl("init --origin cli.test/sunledger");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("cli.test/sunledger+", 0), 0u) << r.output;
  for (const char* f : {"/sunledger.db", "/log-key.pem", "/id-salt"}) {
    struct stat st{};
    ASSERT_EQ(::stat((data() + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  // The folder made by init, private from the start, and held while init
  // ran (the shared hold's lock file: a migrate would have waited for it).
  struct stat dir{};
  ASSERT_EQ(::stat(data().c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(data() + "/in-use.lock"));
  EXPECT_EQ(sl("key show").output, r.output);
  auto again = sl("init --origin cli.test/sunledger");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("already initialised"), std::string::npos);
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(sl("").exit_code, 2);
  EXPECT_EQ(sl("frobnicate").exit_code, 2);
  EXPECT_EQ(sl("init").exit_code, 2);
  EXPECT_EQ(sl("init --origin").exit_code, 2);
  EXPECT_EQ(sl("init --origin x --bogus 1").exit_code, 2);
  EXPECT_EQ(sl("proof").exit_code, 2);
  EXPECT_NE(sl("proof").output.find("proof inclusion"), std::string::npos);
  init_village();
  EXPECT_EQ(sl("village add --id x").exit_code, 2);
  EXPECT_EQ(sl("proof inclusion --village shuangjiang --index -1 --size 2").exit_code, 2);
  EXPECT_EQ(sl("close --village shuangjiang").exit_code, 2);
  EXPECT_EQ(sl("checkpoint --village shuangjiang extra").exit_code, 2);
  EXPECT_EQ(sl("verify --village shuangjiang --special").exit_code, 2);
}

TEST_F(Cli, HelpDescribesEveryCommand) {
  auto r = sl("help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* c : {"init", "key show", "village add", "project add", "post", "close", "checkpoint",
                        "proof inclusion", "proof consistency", "verify", "serve", "demo"})
    EXPECT_NE(r.output.find(c), std::string::npos) << c;
  auto post = sl("post --help");
  EXPECT_EQ(post.exit_code, 0);
  EXPECT_NE(post.output.find("date,type,category"), std::string::npos);
  EXPECT_EQ(sl("help verify").exit_code, 0);
}

TEST_F(Cli, CommandsBeforeInitFailClearly) {
  auto r = sl("village list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("init --origin"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--data DIR"), std::string::npos) << r.output;
}

TEST_F(Cli, PostCloseProveAndVerify) {
  init_village();
  auto post = sl("post --village shuangjiang --file " +
                 csv("2022-11-02,income,上级拨款,水利专项资金,\"300,000.00\",水利建设,专项资金,区水利局,\n"
                     "2022-11-10,expense,工程款,水渠修缮,15.76万,水利建设,专项资金,,\n"
                     "2022-11-20,expense,工程款,道路拓宽,142400,道路拓宽,专项资金,,\n"));
  ASSERT_EQ(post.exit_code, 0) << post.output;
  EXPECT_NE(post.output.find("#2 to #4"), std::string::npos) << post.output;

  // --no-notice: the output is exactly the checkpoint (no groups are bound here anyway).
  auto close = sl("close --village shuangjiang --month 2022-11 --no-notice");
  ASSERT_EQ(close.exit_code, 0) << close.output;
  auto cp = open_checkpoint(close.output, sl("key show").output.substr(0, sl("key show").output.size() - 1));
  ASSERT_TRUE(cp.is_ok()) << cp.status().to_string() << close.output;
  EXPECT_EQ(cp->size, 6u);
  EXPECT_EQ(sl("checkpoint --village shuangjiang").output, close.output);
  EXPECT_EQ(sl("close --village shuangjiang --month 2022-11").exit_code, 1);

  auto inc = sl("proof inclusion --village shuangjiang --index 3 --size 6");
  ASSERT_EQ(inc.exit_code, 0) << inc.output;
  auto j = nlohmann::json::parse(inc.output);
  std::vector<std::string> proof;
  for (const auto& p : j["proof"]) proof.push_back(*base64_decode(p.get<std::string>()));
  EXPECT_TRUE(verify_inclusion(3, 6, *base64_decode(j["leaf_hash"].get<std::string>()), proof, as_view(cp->root)));

  auto con = sl("proof consistency --village shuangjiang --from 2 --to 6");
  ASSERT_EQ(con.exit_code, 0) << con.output;
  auto c = nlohmann::json::parse(con.output);
  proof.clear();
  for (const auto& p : c["proof"]) proof.push_back(*base64_decode(p.get<std::string>()));
  EXPECT_TRUE(verify_consistency(2, 6, *base64_decode(c["root_from"].get<std::string>()), as_view(cp->root), proof));

  EXPECT_EQ(sl("proof inclusion --village shuangjiang --index 6 --size 6").exit_code, 1);
  EXPECT_EQ(sl("proof consistency --village shuangjiang --from 0 --to 6").exit_code, 1);
  EXPECT_EQ(sl("proof inclusion --village nowhere --index 0 --size 1").exit_code, 1);

  auto rev = sl("reverse --village shuangjiang --index 4 --reason 挪用专项资金");
  EXPECT_EQ(rev.exit_code, 0) << rev.output;
  auto ok = sl("verify");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("intact"), std::string::npos);
}

TEST_F(Cli, PostIsAllOrNothing) {
  init_village();
  auto r = sl("post --village shuangjiang --file " +
              csv("2022-11-02,income,上级拨款,到账,100,,,,\n"
                  "2022-11-03,expense,工程款,x,12.345,,,,\n"
                  "2022-11-04,expense,工程款,y,100,不存在的项目,,,\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("第3行"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was written"), std::string::npos) << r.output;
  // The project check runs in the ledger once the file parses.
  r = sl("post --village shuangjiang --file " + csv("2022-11-04,expense,工程款,y,100,不存在的项目,,,\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("第2行"), std::string::npos) << r.output;
  EXPECT_EQ(sl("post --village shuangjiang --file /nonexistent.csv").exit_code, 1);
  EXPECT_EQ(sl("post --village nowhere --file " + csv("2022-11-02,income,a,b,1,,,,\n")).exit_code, 1);
  auto list = sl("village list");
  EXPECT_NE(list.output.find("双江村\t2"), std::string::npos) << list.output;  // the two projects only
}

TEST_F(Cli, OtherErrorPathsExitOne) {
  init_village();
  EXPECT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 1);
  EXPECT_EQ(sl("village add --id BAD --name x --town y").exit_code, 1);
  EXPECT_EQ(sl("project add --village shuangjiang --name x --approved -5").exit_code, 1);
  EXPECT_EQ(sl("project add --village shuangjiang --name 水利建设 --approved 5").exit_code, 1);
  EXPECT_EQ(sl("close --village shuangjiang --month 2022-13").exit_code, 2);  // a usage error, found before opening
  EXPECT_EQ(sl("checkpoint --village nowhere").exit_code, 1);
  EXPECT_EQ(sl("verify --village nowhere").exit_code, 1);
  EXPECT_EQ(sl("reverse --village shuangjiang --index 99 --reason x").exit_code, 1);
  EXPECT_EQ(sl("serve --listen nonsense").exit_code, 2);  // a usage error, found before opening
  EXPECT_EQ(sl("serve --assign-days 0").exit_code, 2);
  EXPECT_EQ(sl("serve --rate-limit lots").exit_code, 2);
  ::chmod((data() + "/log-key.pem").c_str(), 0644);
  auto r = sl("village list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
}

// Someone with the database file drops the triggers and edits history.
TEST_F(Cli, VerifyNamesTheVillageAndFirstBadEntry) {
  init_village();
  ASSERT_EQ(sl("post --village shuangjiang --file " +
               csv("2022-11-10,expense,工程款,水渠修缮,157600,水利建设,专项资金,,\n"
                   "2022-11-20,expense,工程款,道路拓宽,142400,道路拓宽,专项资金,,\n"))
                .exit_code,
            0);
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER entries_no_update");
    db.exec("UPDATE entries SET leaf=replace(leaf, '14240000', '1424000') WHERE idx=3");
  }
  auto r = sl("verify");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("shuangjiang"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("#3"), std::string::npos) << r.output;
}

TEST_F(Cli, DemoLoadsTheShuangjiangCaseOnce) {
  auto r = sl("demo --no-serve");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("loaded"), std::string::npos);
  EXPECT_NE(sl("demo --no-serve").output.find("already present"), std::string::npos);
  auto list = sl("village list");
  EXPECT_NE(list.output.find("双江村"), std::string::npos);
  EXPECT_EQ(sl("verify").exit_code, 0);
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
TEST_F(Cli, VerifyCoversComplaints) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  ASSERT_EQ(sl("verify").exit_code, 0);
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER complaint_events_no_delete");
    db.exec("DROP TRIGGER complaints_no_delete");
    db.exec("DELETE FROM complaint_events WHERE receipt=(SELECT receipt FROM complaints WHERE village='shuangjiang')");
    db.exec("DELETE FROM complaints WHERE village='shuangjiang'");
  }
  auto r = sl("verify");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("TAMPERED complaints"), std::string::npos) << r.output;
}
}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
TEST_F(Cli, BackupCopiesTheDatabaseAndTheVerifierKey) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string to = dir.file("backup");
  auto r = sl("backup --to " + to);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(to + "/log-key.pem"));
  auto v = run_command(std::string(SUNLEDGER_BINARY) + " --data " + to + " verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("intact"), std::string::npos);
  // The demo has complaints, and a copy without the id-salt cannot check them.
  EXPECT_NE(v.output.find("complaints not checked"), std::string::npos) << v.output;
  EXPECT_EQ(sl("backup --to " + to).exit_code, 1);  // never overwrites
  EXPECT_EQ(sl("backup").exit_code, 2);
  // A copy answers questions asked in a group: who spoke where is a signed
  // row, and a folder that cannot sign records nobody rather than refusing.
  auto asked = run_command(std::string(SUNLEDGER_BINARY) + " --data " + to +
                           " ask --bot generic --chat shuangjiang-group --user v1 余额");
  EXPECT_EQ(asked.exit_code, 0) << asked.output;
  EXPECT_NE(asked.output.find("资金余额"), std::string::npos) << asked.output;
  // The copy's directory is checked against its admin log too (it used to be
  // skipped with the complaints, for want of an id-salt it does not need).
  {
    SQLite::Database db(to + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO members VALUES('generic','mallory','shuangjiang','official','',0)");
  }
  auto forged = run_command(std::string(SUNLEDGER_BINARY) + " --data " + to + " verify");
  EXPECT_EQ(forged.exit_code, 1) << forged.output;
  EXPECT_NE(forged.output.find("members: official mallory"), std::string::npos) << forged.output;
}
}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
// Deleting, swapping or truncating rows behind the ledger's back, as seen by `sunledger verify`.
TEST_F(Cli, VerifyFindsDeletedSwappedAndTruncatedRows) {
  struct Case {
    const char* name;
    std::vector<std::string> sql;
    const char* first_bad;
  } cases[] = {
      {"delete", {"DELETE FROM entries WHERE idx=3"}, "#3"},
      {"swap", {"UPDATE entries SET idx=-1 WHERE idx=2", "UPDATE entries SET idx=2 WHERE idx=3", "UPDATE entries SET idx=3 WHERE idx=-1"}, "#2"},
      {"truncate", {"DELETE FROM entries WHERE idx>=3"}, "#3"},
  };
  for (const auto& c : cases) {
    TempDir d;
    std::string data = d.file("data");
    auto run = [&](const std::string& args) { return run_command(std::string(SUNLEDGER_BINARY) + " --data " + data + " " + args); };
    ASSERT_EQ(run("init --origin cli.test/sunledger").exit_code, 0);
    ASSERT_EQ(run("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
    std::string csv = d.file("e.csv");
    write_file(csv, "date,type,category,item,amount,project,fund,counterparty,note\n"
                    "2022-11-01,income,其他,one,100,,,,\n2022-11-02,expense,办公费,two,50,,,,\n"
                    "2022-11-03,expense,办公费,three,25,,,,\n2022-11-04,expense,办公费,four,5,,,,\n");
    ASSERT_EQ(run("post --village shuangjiang --file " + csv).exit_code, 0);
    {
      SQLite::Database db(data + "/sunledger.db", SQLite::OPEN_READWRITE);
      db.exec("DROP TRIGGER entries_no_update");
      db.exec("DROP TRIGGER entries_no_delete");
      for (const auto& sql : c.sql) db.exec(sql);
    }
    auto r = run("verify");
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(std::string("TAMPERED shuangjiang first bad entry ") + c.first_bad), std::string::npos)
        << c.name << ": " << r.output;
  }
}
}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// Authority through the CLI: a role on a bot nobody runs, an area no village is
// in, or a moved group is refused; what was given can be listed and taken back.
TEST_F(Cli, TheDirectoryHasALifecycle) {
  init_village();
  EXPECT_EQ(sl("member add --bot generic --user wang --village shuangjiang --role official").exit_code, 1);  // no bots.json
  write_file(data() + "/bots.json", R"({"bots":[{"id":"generic","platform":"generic","secret":"whsec_c2VjcmV0LXNlY3JldC0xMjM0"}]})");
  auto typo = sl("member add --bot genric --user wang --village shuangjiang --role official");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.output.find("known: generic"), std::string::npos) << typo.output;
  EXPECT_EQ(sl("member add --bot generic --user li --role inspector --area 朱停镇").exit_code, 1);
  ASSERT_EQ(sl("member add --bot generic --user wang --village shuangjiang --role official").exit_code, 0);
  ASSERT_EQ(sl("member add --bot generic --user li --role inspector --area 朱亭镇").exit_code, 0);
  // The same grant again changes nothing, and says so (it said "is now" twice).
  auto again = sl("member add --bot generic --user wang --village shuangjiang --role official");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.output.find("wang is already official of shuangjiang on generic: nothing changed"), std::string::npos)
      << again.output;
  EXPECT_NE(sl("member list").output.find("wang"), std::string::npos);
  EXPECT_EQ(sl("member remove --bot generic --user wang").exit_code, 0);
  EXPECT_EQ(sl("member list --bot generic").output.find("wang"), std::string::npos);
  EXPECT_EQ(sl("member remove --bot generic --user wang").exit_code, 1);
  ASSERT_EQ(sl("village add --id nanzhou --name 南洲村 --town 南洲镇").exit_code, 0);
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  auto moved = sl("group bind --village nanzhou --bot generic --chat g1");
  EXPECT_EQ(moved.exit_code, 1);
  EXPECT_NE(moved.output.find("--rebind"), std::string::npos) << moved.output;
  EXPECT_EQ(sl("group bind --village nanzhou --bot generic --chat g1 --rebind").exit_code, 0);
  EXPECT_NE(sl("group list").output.find("nanzhou\tgeneric\tg1"), std::string::npos);
  EXPECT_EQ(sl("group unbind --bot generic --chat g1").exit_code, 0);
  EXPECT_EQ(sl("group list").output, "");
  auto token = sl("token create --role official --village shuangjiang --expires 30");
  ASSERT_EQ(token.exit_code, 0);
  EXPECT_NE(token.output.find("\nid: 1\n"), std::string::npos) << token.output;
  EXPECT_NE(sl("token list").output.find("id: 1"), std::string::npos);
  EXPECT_EQ(sl("token revoke --id 1").exit_code, 0);
  EXPECT_NE(sl("token list").output.find("revoked"), std::string::npos);
  EXPECT_EQ(sl("token revoke --id 1").exit_code, 1);
  EXPECT_EQ(sl("token create --role official --village shuangjiang --expires 0").exit_code, 2);
  // Every change above is in the signed admin log, with who made it; the token never is.
  auto log = sl("admin log");
  ASSERT_EQ(log.exit_code, 0) << log.output;
  for (const char* op : {"\tadd_member\t", "\tremove_member\t", "\tbind_group\t", "\tunbind_group\t",
                         "\tcreate_token\t", "\trevoke_token\t"})
    EXPECT_NE(log.output.find(op), std::string::npos) << op << "\n" << log.output;
  EXPECT_EQ(log.output.find(token.output.substr(0, token.output.find('\n'))), std::string::npos);
  EXPECT_EQ(sl("verify").exit_code, 0);
  // The insider with sqlite3 gives himself a role: verify names the row.
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO members VALUES('generic','mallory','shuangjiang','official','',0)");
  }
  auto tampered = sl("verify");
  EXPECT_EQ(tampered.exit_code, 1) << tampered.output;
  EXPECT_NE(tampered.output.find("TAMPERED admin"), std::string::npos) << tampered.output;
  EXPECT_NE(tampered.output.find("members: official mallory"), std::string::npos) << tampered.output;
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// The CLI runs beside a server or without one; either way it must not sign
// anything on top of altered data. The month_closes row of November deleted
// with sqlite3 would let `close` sign a second November statement into the
// log for good; an edited admin log would get a fresh checkpoint on top.
// The append-only triggers exactly as sunledger makes them (SQLite keeps
// this text), to put back after an edit.
constexpr const char* kMonthClosesNoDelete =
    "CREATE TRIGGER month_closes_no_delete BEFORE DELETE ON month_closes BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END";
constexpr const char* kEntriesNoUpdate =
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END";

TEST_F(Cli, WritesRefuseALedgerThatFailsVerification) {
  init_village();
  ASSERT_EQ(sl("post --village shuangjiang --file " + csv("2022-11-10,expense,工程款,水渠修缮,157600,水利建设,专项资金,,\n"))
                .exit_code,
            0);
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-11").exit_code, 0);
  write_file(data() + "/bots.json", R"({"bots":[{"id":"generic","platform":"generic","secret":"whsec_c2VjcmV0LXNlY3JldC0xMjM0"}]})");
  ASSERT_EQ(sl("member add --bot generic --user wang --village shuangjiang --role official").exit_code, 0);
  auto size = [&] {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT group_concat(name || '=' || size) FROM logs ORDER BY name").getString();
  };
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER month_closes_no_delete");
    db.exec("DELETE FROM month_closes WHERE month='2022-11'");
    // Put back, as a careful insider would: a missing trigger refuses every
    // write (Cli.WritesRefuseABrokenSchemaOrAMovedZone).
    db.exec(kMonthClosesNoDelete);
  }
  std::string before = size();
  for (const std::string& cmd : std::vector<std::string>{"close --village shuangjiang --month 2022-11",
                                 "post --village shuangjiang --file " + csv("2022-11-12,expense,办公费,打印纸,100,,,,\n"),
                                 "reverse --village shuangjiang --index 2 --reason 录错",
                                 "project add --village shuangjiang --name 村部维修 --approved 5万"}) {
    auto r = sl(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("拒绝写入"), std::string::npos) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("TAMPERED shuangjiang"), std::string::npos) << cmd << "\n" << r.output;
  }
  EXPECT_EQ(size(), before);
  // Another village's log is intact: its writes go on.
  ASSERT_EQ(sl("village add --id nanzhou --name 南洲村 --town 南洲镇").exit_code, 0);
  ASSERT_EQ(sl("project add --village nanzhou --name 村部维修 --approved 5万").exit_code, 0);

  // The admin log edited without the key: no new grant is signed on top, but
  // authority can still be taken away.
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER entries_no_update");
    db.exec("UPDATE entries SET leaf=replace(leaf, '\"user\":\"wang\"', '\"user\":\"mallory\"') "
            "WHERE log_id=(SELECT id FROM logs WHERE name='admin')");
    db.exec(kEntriesNoUpdate);
  }
  before = size();
  auto grant = sl("member add --bot generic --user zhou --role inspector --area 朱亭镇");
  EXPECT_EQ(grant.exit_code, 1) << grant.output;
  EXPECT_NE(grant.output.find("TAMPERED admin"), std::string::npos) << grant.output;
  EXPECT_EQ(sl("token create --role official --village nanzhou").exit_code, 1);
  EXPECT_EQ(size(), before);
  EXPECT_EQ(sl("member remove --bot generic --user wang").exit_code, 0);
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// verify against the triggers sunledger makes, through the binary on a real
// file: a trigger in our exact append-only form on a bot table (it aborts
// every delivery record, so pushes go out again and again) used to pass, and
// a dropped one was not named; a later start quietly made the complaints'
// again.
TEST_F(Cli, VerifyNamesForeignAndMissingTriggers) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  ASSERT_EQ(sl("verify").exit_code, 0);
  auto edit = [&](const std::string& sql) {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec(sql);
  };
  edit("CREATE TRIGGER outbox_no_update BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END");
  auto r = sl("verify");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("TAMPERED schema: trigger outbox_no_update on table outbox is not one sunledger makes"),
            std::string::npos)
      << r.output;
  edit("DROP TRIGGER outbox_no_update");
  ASSERT_EQ(sl("verify").exit_code, 0);
  for (const std::string dropped : {"complaints_no_delete", "entries_no_update"}) {
    edit("DROP TRIGGER " + dropped);
    ASSERT_EQ(sl("village list").exit_code, 0);  // a start of the binary in between
    r = sl("verify");
    EXPECT_EQ(r.exit_code, 1) << dropped << "\n" << r.output;
    EXPECT_NE(r.output.find("TAMPERED schema: trigger " + dropped + " that keeps table"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("is missing"), std::string::npos) << r.output;
  }
}

// An index added by hand can refuse chosen writes: a review's UNIQUE partial
// index refused every complaint naming the secretary after the first, with
// verify saying intact. Every index must be one a module makes.
TEST_F(Cli, VerifyNamesAnIndexAddedOrChangedByHand) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  ASSERT_EQ(sl("verify").exit_code, 0);
  auto edit = [&](const std::string& sql) {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec(sql);
  };
  edit("CREATE UNIQUE INDEX zz_censor ON complaints(village) WHERE text LIKE '%书记%'");
  auto r = sl("verify");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("TAMPERED schema: index zz_censor on table complaints is not one sunledger makes"),
            std::string::npos)
      << r.output;
  // And the writes it would censor are refused before they reach it.
  auto post = sl("ask --bot generic --chat pz --private --user villager-a \"投诉 双江村 村书记挪用水利款\"");
  EXPECT_NE(post.output.find("本次没有做任何改动"), std::string::npos) << post.output;
  edit("DROP INDEX zz_censor");
  ASSERT_EQ(sl("verify").exit_code, 0);
  // One of ours, redefined under its own name, is as foreign.
  edit("DROP INDEX complaints_by_village");
  edit("CREATE UNIQUE INDEX complaints_by_village ON complaints(village) WHERE anonymous=0");
  r = sl("verify");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("TAMPERED schema: index complaints_by_village"), std::string::npos) << r.output;
}

// A table changed by hand answers from rows every log still matches: a
// CHECK added to complaints refused every complaint naming the secretary, a
// column's DEFAULT or type changes what the bot reads, a view or a table of
// one's own is a foothold. verify said intact to all of them; now every table
// and view must be one a module makes, in a form it makes.
TEST_F(Cli, VerifyNamesATableOrViewChangedByHand) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  ASSERT_EQ(sl("verify").exit_code, 0);
  const std::string db_path = data() + "/sunledger.db";
  auto edit = [&](const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
    db.exec(sql);
  };
  // The table made again with `from` in its CREATE text replaced by `to`, its
  // rows copied and its indexes and triggers made again: only the text differs.
  auto recreate = [&](const std::string& table, const std::string& from, const std::string& to) {
    SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
    std::string sql = db.execAndGet("SELECT sql FROM sqlite_master WHERE type='table' AND name='" + table + "'").getString();
    size_t at = sql.find(from);
    ASSERT_NE(at, std::string::npos) << sql;
    sql.replace(at, from.size(), to);
    std::vector<std::string> with_it;
    {
      SQLite::Statement q(db, "SELECT sql FROM sqlite_master WHERE tbl_name=? AND type IN ('index', 'trigger') AND sql IS NOT NULL");
      q.bind(1, table);
      while (q.executeStep()) with_it.push_back(q.getColumn(0).getString());
    }
    SQLite::Transaction t(db);
    db.exec("CREATE TEMP TABLE kept AS SELECT * FROM " + table);
    db.exec("DROP TABLE " + table);
    db.exec(sql);
    db.exec("INSERT INTO " + table + " SELECT * FROM kept");
    db.exec("DROP TABLE kept");
    for (const auto& s : with_it) db.exec(s);
    t.commit();
  };
  auto named_alone = [&](const std::string& named) {
    auto r = sl("verify");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
    size_t lines = 0;
    for (size_t at = r.output.find("TAMPERED"); at != std::string::npos; at = r.output.find("TAMPERED", at + 1)) ++lines;
    EXPECT_EQ(lines, 1u) << r.output;  // every row still matches its log
  };

  // (a) complaints with a CHECK, every row and trigger and index as before.
  const std::string check = ", CHECK(text NOT LIKE '%书记%')";
  recreate("complaints", "log_index INTEGER NOT NULL)", "log_index INTEGER NOT NULL" + check + ")");
  if (HasFatalFailure()) return;
  named_alone("TAMPERED schema: table complaints is not as sunledger makes it (columns or constraints changed by hand?): …");
  EXPECT_NE(sl("verify").output.find("CHECK(text NOT LIKE '%书记%')"), std::string::npos);  // what differs
  // And the writes it would censor are refused before they reach it.
  auto post = sl("ask --bot generic --chat pz --private --user villager-a \"投诉 双江村 村书记挪用水利款\"");
  EXPECT_NE(post.output.find("本次没有做任何改动"), std::string::npos) << post.output;
  recreate("complaints", check, "");
  ASSERT_EQ(sl("verify").exit_code, 0);

  struct Case {
    const char* what;
    std::string tamper, named, undo;
  } cases[] = {
      {"(b) a column added to a bot table", "ALTER TABLE seen_members ADD COLUMN trusted INTEGER NOT NULL DEFAULT 1",
       "TAMPERED schema: table seen_members is not as sunledger makes it", "ALTER TABLE seen_members DROP COLUMN trusted"},
      {"a generated column", "ALTER TABLE outbox ADD COLUMN shown TEXT GENERATED ALWAYS AS (text) VIRTUAL",
       "TAMPERED schema: table outbox is not as sunledger makes it", "ALTER TABLE outbox DROP COLUMN shown"},
      {"(c) a view", "CREATE VIEW open_complaints AS SELECT receipt, text FROM complaints",
       "TAMPERED schema: view open_complaints is not one sunledger makes (added by hand?)", "DROP VIEW open_complaints"},
      {"(d) a table", "CREATE TABLE notes(receipt TEXT, note TEXT)",
       "TAMPERED schema: table notes is not one sunledger makes (added by hand?)", "DROP TABLE notes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    edit(c.tamper);
    named_alone(c.named);
    edit(c.undo);
    ASSERT_EQ(sl("verify").exit_code, 0);
  }

  // (e) a ledger table's column type changed, its rows copied.
  recreate("projects", "approved INTEGER NOT NULL", "approved NUMERIC NOT NULL");
  if (HasFatalFailure()) return;
  named_alone("TAMPERED schema: table projects is not as sunledger makes it");
  recreate("projects", "approved NUMERIC NOT NULL", "approved INTEGER NOT NULL");
  ASSERT_EQ(sl("verify").exit_code, 0);
}

// (f) A deployment an older version made: its tables gained their columns by
// ALTER TABLE, which SQLite writes into their CREATE text after the last
// column. The next start migrates it, and verify says intact; the tables
// older versions kept (and the next start drops or empties) are no tampering.
TEST_F(Cli, AMigratedDeploymentVerifiesIntact) {
  init_village();
  ASSERT_EQ(sl("verify").exit_code, 0);
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    for (const char* table : {"outbox", "api_tokens", "seen_members", "bot_state", "group_bindings"}) {
      ASSERT_EQ(db.execAndGet(std::string("SELECT count(*) FROM ") + table).getInt(), 0) << table;
      db.exec(std::string("DROP TABLE ") + table);
    }
    // As the first versions made them.
    db.exec(
        "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, bot TEXT NOT NULL, chat TEXT NOT NULL, text TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " delivered_at INTEGER, last_error TEXT)");
    db.exec("CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt_at) WHERE delivered_at IS NULL");
    db.exec(
        "CREATE TABLE IF NOT EXISTS api_tokens(hash TEXT PRIMARY KEY, role TEXT NOT NULL, village TEXT NOT NULL,"
        " area TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL)");
    db.exec(
        "CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL,"
        " first_seen INTEGER NOT NULL, PRIMARY KEY(bot, user, village))");
    db.exec("CREATE TABLE IF NOT EXISTS bot_state(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    db.exec(
        "CREATE TABLE IF NOT EXISTS group_bindings(bot TEXT NOT NULL, chat TEXT NOT NULL,"
        " village TEXT NOT NULL REFERENCES villages(id), created_at INTEGER NOT NULL, PRIMARY KEY(bot, chat))");
    db.exec("CREATE TABLE IF NOT EXISTS exposed_receipts(ref TEXT PRIMARY KEY, day INTEGER NOT NULL)");
    db.exec(
        "CREATE TABLE IF NOT EXISTS processed_messages(bot TEXT NOT NULL, message_id TEXT NOT NULL, reply TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, PRIMARY KEY(bot, message_id))");
  }
  auto r = sl("verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(sl("village list").exit_code, 0);  // a start of the binary in between
  r = sl("verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // It was the migrated text that verify accepted.
  SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
  auto stored = [&](const char* table) {
    return db.execAndGet(std::string("SELECT sql FROM sqlite_master WHERE name='") + table + "'").getString();
  };
  EXPECT_NE(stored("outbox").find("last_error TEXT, audience TEXT NOT NULL DEFAULT 'person', dead_at INTEGER, dead_reason TEXT,"
                                  " sig BLOB, dead_config TEXT, held_village TEXT, held_month TEXT, released_at INTEGER,"
                                  " held_push TEXT, claimed_by INTEGER, claimed_at INTEGER)"),
            std::string::npos)
      << stored("outbox");
  EXPECT_NE(stored("api_tokens").find("created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER)"), std::string::npos)
      << stored("api_tokens");
  EXPECT_NE(stored("bot_state").find("value TEXT NOT NULL, sig BLOB)"), std::string::npos) << stored("bot_state");
  EXPECT_NE(stored("group_bindings").find("REFERENCES villages(id)"), std::string::npos) << stored("group_bindings");
  // A legacy table in another form than an older version made is not one.
  db.exec("DROP TABLE exposed_receipts");
  db.exec("CREATE TABLE exposed_receipts(ref TEXT PRIMARY KEY, day INTEGER NOT NULL DEFAULT 1)");
  r = sl("verify");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("TAMPERED schema: table exposed_receipts is not as sunledger makes it"), std::string::npos)
      << r.output;
}

// A write checks the schema and the recorded time zone besides the log it
// extends: a trigger added by hand runs inside the very write (it could
// rewrite the row just signed), and a zone moved in meta dates every new
// entry into another month. Both used to let every write through.
TEST_F(Cli, WritesRefuseABrokenSchemaOrAMovedZone) {
  init_village();
  auto sizes = [&] {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT group_concat(name || '=' || size) FROM logs ORDER BY name").getString();
  };
  auto edit = [&](const std::string& sql) {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec(sql);
  };
  std::string post = "post --village shuangjiang --file " + csv("2022-11-12,expense,办公费,打印纸,100,,,,\n");
  struct Case {
    const char* what;
    std::string tamper, named, undo;
  } cases[] = {
      {"a trigger added", "CREATE TRIGGER quiet AFTER INSERT ON entries BEGIN SELECT 1; END",
       "TAMPERED schema: trigger quiet", "DROP TRIGGER quiet"},
      {"a trigger dropped", "DROP TRIGGER entries_no_update", "trigger entries_no_update that keeps table entries",
       kEntriesNoUpdate},
      {"the zone moved", "UPDATE meta SET value='0' WHERE key='utc_offset_minutes'", "TAMPERED villages",
       "UPDATE meta SET value='480' WHERE key='utc_offset_minutes'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    edit(c.tamper);
    std::string before = sizes();
    for (const std::string& cmd : {post, std::string("project add --village shuangjiang --name 村部维修 --approved 5万"),
                                   std::string("village add --id nanzhou --name 南洲村 --town 南洲镇")}) {
      auto r = sl(cmd);
      EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.output;
      EXPECT_NE(r.output.find("拒绝写入"), std::string::npos) << cmd << "\n" << r.output;
      EXPECT_NE(r.output.find(c.named), std::string::npos) << cmd << "\n" << r.output;
    }
    EXPECT_EQ(sizes(), before);
    edit(c.undo);
    ASSERT_EQ(sl("verify").exit_code, 0);
  }
  EXPECT_EQ(sl(post).exit_code, 0);
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
// A backup of a deployment nobody has complained in yet has nothing the
// id-salt would check: its verify says nothing of it.
TEST_F(Cli, VerifyOfABackupWithoutComplaintsSaysNothingOfTheIdSalt) {
  init_village();
  if (HasFatalFailure()) return;
  std::string to = dir.file("backup");
  ASSERT_EQ(sl("backup --to " + to).exit_code, 0);
  auto v = run_command(std::string(SUNLEDGER_BINARY) + " --data " + to + " verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_EQ(v.output.find("complaints not checked"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("intact"), std::string::npos) << v.output;
}
}  // namespace
}  // namespace sunledger
