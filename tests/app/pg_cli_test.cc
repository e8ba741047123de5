// The real `sunledger` binary on a PostgreSQL database (issue #17): the
// global --db option, the data folder's record of its database, serve and
// verify there, and the SQLite-only commands refused. The database is a
// throwaway cluster's (tests/support/pg_cluster.h).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "pg_cli_fixture.h"
#include "server_process.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::CliOnPostgres;
using testing::CommandResult;
using testing::kPassword;
using testing::run_command;

TEST_F(CliOnPostgres, InitWithDbThenEveryCommandUsesTheFoldersDatabase) {
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  std::string db = with_password(plain);

  // $SUNLEDGER_DB names a database that does not exist: the option wins.
  std::string nowhere = "SUNLEDGER_DB='" + plain + "_nowhere' ";
  auto init = sl("--db '" + db + "' init --origin pg.test/sunledger", nowhere);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_EQ(init.output.rfind("pg.test/sunledger+", 0), 0u) << init.output;
  // Only the database moved: the key and the salt are in the folder, no SQLite file is.
  EXPECT_FALSE(std::filesystem::exists(data() + "/sunledger.db"));
  EXPECT_TRUE(std::filesystem::exists(data() + "/log-key.pem"));
  EXPECT_TRUE(std::filesystem::exists(data() + "/id-salt"));
  struct stat st {};
  ASSERT_EQ(::stat((data() + "/database").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::read_file(data() + "/database"), plain + "\n");

  // Every later command without --db: the folder's database.
  ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
  std::string secret_raw = "pg-cli-test-secret-0123456789";
  testing::write_file(data() + "/bots.json",
                      nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                                {"secret", "whsec_" + base64_encode(secret_raw)}}}}}.dump());
  ::chmod((data() + "/bots.json").c_str(), 0600);
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat sj-group").exit_code, 0);
  testing::write_file(dir.file("entries.csv"), "date,type,category,item,amount,project,fund,counterparty,note\n"
                                               "2022-11-02,income,上级拨款,困难补助,1200,,,,\n");
  auto post = sl("post --village shuangjiang --file " + dir.file("entries.csv"));
  ASSERT_EQ(post.exit_code, 0) << post.output;
  EXPECT_NE(post.output.find("appended 1 entry"), std::string::npos) << post.output;
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-11 --no-notice").exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(data() + "/sunledger.db"));

  {
    testing::ServerProcess server;  // `--data DIR serve`, no --db
    server.start(data(), "");
    nlohmann::json ask = {{"message_id", "pg-1"}, {"chat_id", "sj-group"}, {"chat_type", "group"},
                          {"sender_id", "villager-1"}, {"sender_name", "村民"}, {"text", "账目"}};
    auto r = testing::post_generic(server.port, secret_raw, "pg-1", ask.dump());
    ASSERT_TRUE(r) << *server.log;
    EXPECT_EQ(r->status, 200) << r->body;
    // The month the CLI closed on PostgreSQL, read back by the server from there.
    std::string reply = nlohmann::json::parse(r->body)["reply"].get<std::string>();
    EXPECT_NE(reply.find("2022年11月"), std::string::npos) << reply;
    EXPECT_NE(reply.find("1,200.00"), std::string::npos) << reply;
    EXPECT_EQ(server.stop(), 0) << *server.log;
    EXPECT_EQ(server.log->find(kPassword), std::string::npos) << *server.log;
  }
  auto verify = sl("verify");  // villages, shuangjiang (entry and statement), admin (the group bound), what serve logged
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("intact: "), std::string::npos) << verify.output;
  EXPECT_EQ(verify.output.find("TAMPERED"), std::string::npos) << verify.output;
  EXPECT_EQ(folder_text().find(kPassword), std::string::npos);
  EXPECT_EQ(init.output.find(kPassword), std::string::npos) << init.output;
}

// The folder's key signed one database's logs: a command naming another
// (by --db or $SUNLEDGER_DB) is refused before anything is opened or made,
// and saying so never prints the password.
TEST_F(CliOnPostgres, AnotherDatabaseThanTheFoldersIsRefused) {
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  std::string other = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(other.empty());
  ASSERT_EQ(sl("--db '" + plain + "' init --origin pg.test/sunledger").exit_code, 0);
  ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
  for (const std::string& how : {"--db='" + with_password(other) + "' ", std::string()}) {
    std::string env = how.empty() ? "SUNLEDGER_DB='" + with_password(other) + "' " : "";
    auto r = sl(how + "village add --id nanzhou --name 南洲村 --town 南洲镇", env);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("belongs to the database " + plain), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(kPassword), std::string::npos) << r.output;
  }
  // The same database with its password: fine (the record holds it without).
  auto same = sl("--db '" + with_password(plain) + "' village list");
  EXPECT_EQ(same.exit_code, 0) << same.output;
  EXPECT_NE(same.output.find("shuangjiang"), std::string::npos) << same.output;
  // The other database got nothing: a fresh folder can init there.
  testing::TempDir second;
  auto init2 = run_command(std::string(SUNLEDGER_BINARY) + " --data " + second.file("d") + " --db '" + other +
                           "' init --origin pg.test/other");
  EXPECT_EQ(init2.exit_code, 0) << init2.output;
  // A database that holds a ledger already is not a new deployment's.
  auto again = run_command(std::string(SUNLEDGER_BINARY) + " --data " + second.file("e") + " --db '" + plain +
                           "' init --origin pg.test/sunledger");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("already holds a ledger"), std::string::npos) << again.output;
  EXPECT_FALSE(std::filesystem::exists(second.file("e") + "/log-key.pem"));

  // A SQLite folder: --db is refused, its file untouched.
  testing::TempDir lite;
  std::string lite_data = lite.file("d");
  ASSERT_EQ(run_command(std::string(SUNLEDGER_BINARY) + " --data " + lite_data + " init --origin lite.test/x").exit_code, 0);
  auto mixed = run_command(std::string(SUNLEDGER_BINARY) + " --data " + lite_data + " --db '" + other + "' verify");
  EXPECT_EQ(mixed.exit_code, 1) << mixed.output;
  EXPECT_NE(mixed.output.find("holds a SQLite deployment"), std::string::npos) << mixed.output;
  // Not a PostgreSQL address: a usage error.
  EXPECT_EQ(sl("--db " + dir.file("x.db") + " verify").exit_code, 2);
  EXPECT_EQ(sl("verify --db '" + plain + "'").exit_code, 2);
  EXPECT_EQ(sl("verify", "SUNLEDGER_DB=" + dir.file("x.db") + " ").exit_code, 2);
  // A command that reaches no database does not care what $SUNLEDGER_DB says.
  EXPECT_EQ(sl("--version", "SUNLEDGER_DB=" + dir.file("x.db") + " ").exit_code, 0);
}

// What works on SQLite's file only says what to do on PostgreSQL instead,
// exits 1 and changes nothing.
TEST_F(CliOnPostgres, BackupIsRefusedNamingPgDump) {
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  ASSERT_EQ(sl("--db '" + plain + "' init --origin pg.test/sunledger").exit_code, 0);
  auto backup = sl("backup --to " + dir.file("copy"));
  EXPECT_EQ(backup.exit_code, 1) << backup.output;
  EXPECT_NE(backup.output.find("pg_dump"), std::string::npos) << backup.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("copy")));
  // The record is one of the folder's private files: serve --check names it when others may write it.
  ::chmod((data() + "/database").c_str(), 0644);
  auto check = sl("serve --check");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("chmod 600 " + data() + "/database"), std::string::npos) << check.output;
}

// Two folders holding the same key and naming the same database (a second
// machine set up from a copy of the folder) would run two senders of one
// outbox: one serve per database until several nodes can share one.
TEST_F(CliOnPostgres, OneServePerDatabaseAcrossFolders) {
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  ASSERT_EQ(sl("--db '" + plain + "' init --origin pg.test/sunledger").exit_code, 0);
  testing::TempDir other;
  std::string twin = other.file("twin");
  std::filesystem::copy(data(), twin);
  testing::ServerProcess server;
  server.start(data(), "");
  // (timeout: a second server that did start would otherwise serve for ever.)
  auto second = run_command("timeout 30 " + std::string(SUNLEDGER_BINARY) + " --data " + twin + " serve --listen 127.0.0.1:0");
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("another sunledger serve is already serving the database " + plain), std::string::npos)
      << second.output;
  auto check = run_command(std::string(SUNLEDGER_BINARY) + " --data " + twin + " serve --check --listen 127.0.0.1:0");
  EXPECT_NE(check.output.find("already serving the database"), std::string::npos) << check.output;
  // Not "ready": the twin's serve would refuse to start (a newcomer read the
  // note and the exit 0 as a go for a second machine). The header names the
  // database the checks are about.
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find(", database " + plain), std::string::npos) << check.output;
  // Beside its own folder's server, checking before a restart stays fine.
  auto own = run_command(std::string(SUNLEDGER_BINARY) + " --data " + data() + " serve --check --listen 127.0.0.1:0");
  EXPECT_NE(own.output.find("checking before a restart is fine"), std::string::npos) << own.output;
  EXPECT_EQ(server.stop(), 0) << *server.log;
  // The lock goes with the server: the twin may serve now (and stops at once).
  testing::ServerProcess after;
  after.start(twin, "");
  EXPECT_EQ(after.stop(), 0) << *after.log;
}

}  // namespace
}  // namespace sunledger
