// `sunledger migrate --to postgresql://…` through the real binary (issue #17):
// the demo's SQLite deployment moved into a throwaway cluster's database
// (tests/support/pg_cluster.h), checked, and used from then on; and what it
// refuses: a database that holds rows, a tampered source, a folder a serve
// or another command holds; and a command started during a migration.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>

#include "ledger/database_copy.h"
#include "ledger/pg_connection.h"
#include "pg_cli_fixture.h"
#include "server_process.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::CommandResult;
using testing::kPassword;
using testing::run_command;

// The folder, the binary and the password that must never show: CliOnPostgres's.
struct CliMigrate : testing::CliOnPostgres {
  // The binary on another folder than data().
  CommandResult sl_in(const std::string& folder, const std::string& args) {
    return run_command(std::string(SUNLEDGER_BINARY) + " --data " + folder + " " + args);
  }
  // What the bot answers, without the lines the CLI adds on stderr (timings).
  std::string answer(const std::string& text) {
    auto r = sl("ask --bot generic --chat shuangjiang-group --user v1 " + text);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string out, line;
    std::istringstream in(r.output);
    while (std::getline(in, line))
      if (line.rfind("sunledger", 0) != 0) out += line + "\n";
    return out;
  }
  // The size line (the note's second) of a checkpoint.
  static uint64_t note_size(const std::string& note) {
    size_t a = note.find('\n');
    return std::stoull(note.substr(a + 1, note.find('\n', a + 1) - a - 1));
  }
  // A one-entry CSV for `post`, dated today in China.
  std::string entries_file(const std::string& item) {
    std::time_t now = std::time(nullptr) + 8 * 3600;
    char today[16];
    std::strftime(today, sizeof today, "%Y-%m-%d", std::gmtime(&now));
    std::string path = dir.file(item + ".csv");
    testing::write_file(path, std::string("date,type,category,item,amount,project,fund,counterparty,note\n") + today +
                                  ",income,上级拨款," + item + ",1200,,,,\n");
    return path;
  }
  // The folder's in-use lock taken as another process takes it (flock on its
  // own open file), LOCK_SH or LOCK_EX; the descriptor, -1 on failure.
  int hold_folder(int how) {
    int fd = ::open((data() + "/in-use.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && ::flock(fd, how | LOCK_NB) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  static std::string note_root(const std::string& note) {
    size_t a = note.find('\n');
    size_t b = note.find('\n', a + 1);
    return note.substr(b + 1, note.find('\n', b + 1) - b - 1);
  }
};

TEST_F(CliMigrate, TheDemoMovesToPostgresqlAndGoesOnFromThere) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  std::string before_answer = answer("账目");
  ASSERT_NE(before_answer.find("账目公开"), std::string::npos) << before_answer;
  auto before_note = sl("checkpoint --village shuangjiang");
  ASSERT_EQ(before_note.exit_code, 0) << before_note.output;
  std::string sqlite_bytes = testing::read_file(data() + "/sunledger.db");
  ASSERT_FALSE(sqlite_bytes.empty());

  auto m = sl("migrate --to '" + with_password(plain) + "'");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  std::printf("%s", m.output.c_str());  // the figures (rows, tables, seconds) the README quotes
  EXPECT_NE(m.output.find("every log's size and root as in SQLite"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("frozen copy"), std::string::npos) << m.output;
  EXPECT_EQ(m.output.find(kPassword), std::string::npos) << m.output;
  // The address recorded without its password; the SQLite file as it was.
  EXPECT_EQ(testing::read_file(data() + "/database"), plain + "\n");
  EXPECT_EQ(folder_text().find(kPassword), std::string::npos);
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the SQLite file changed";

  // From now on the folder's commands read and write PostgreSQL.
  auto verify = sl("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("intact: "), std::string::npos) << verify.output;
  EXPECT_EQ(answer("账目"), before_answer);
  EXPECT_EQ(sl("checkpoint --village shuangjiang").output, before_note.output);  // same note, same signature

  // A new post gets the next index, and its checkpoint extends the old one.
  uint64_t size = note_size(before_note.output);
  std::time_t now = std::time(nullptr) + 8 * 3600;
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", std::gmtime(&now));
  testing::write_file(dir.file("entries.csv"), std::string("date,type,category,item,amount,project,fund,counterparty,note\n") +
                                                   today + ",income,上级拨款,迁移后第一笔,1200,,,,\n");
  auto post = sl("post --village shuangjiang --file " + dir.file("entries.csv"));
  ASSERT_EQ(post.exit_code, 0) << post.output;
  EXPECT_EQ(post.output.rfind("appended 1 entry: #" + std::to_string(size) + "\n", 0), 0u) << post.output;
  auto after_note = sl("checkpoint --village shuangjiang");
  EXPECT_EQ(note_size(after_note.output), size + 1) << after_note.output;
  auto proof = sl("proof consistency --village shuangjiang --from " + std::to_string(size) + " --to " +
                  std::to_string(size + 1));
  ASSERT_EQ(proof.exit_code, 0) << proof.output;
  auto p = nlohmann::json::parse(proof.output);
  EXPECT_EQ(p["root_from"], note_root(before_note.output));
  EXPECT_EQ(p["root_to"], note_root(after_note.output));
  auto again = sl("verify");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  // Nothing of it reached the frozen SQLite file.
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the SQLite file changed";

  // Migrating again is refused: the folder is on PostgreSQL now.
  auto twice = sl("migrate --to '" + plain + "'");
  EXPECT_EQ(twice.exit_code, 1) << twice.output;
  EXPECT_NE(twice.output.find("on PostgreSQL already"), std::string::npos) << twice.output;
}

TEST_F(CliMigrate, ADatabaseHoldingRowsIsRefusedUnchanged) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  std::string other = dir.file("other");
  ASSERT_EQ(sl_in(other, "--db '" + plain + "' init --origin other.test/sunledger").exit_code, 0);
  ASSERT_EQ(sl_in(other, "village add --id nanzhou --name 南洲村 --town 南洲镇").exit_code, 0);
  auto note = sl_in(other, "checkpoint --village nanzhou");

  auto m = sl("migrate --to '" + with_password(plain) + "'");
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_NE(m.output.find("is not empty"), std::string::npos) << m.output;
  EXPECT_EQ(m.output.find(kPassword), std::string::npos) << m.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/database"));
  // The other deployment's database as it was.
  EXPECT_EQ(sl_in(other, "checkpoint --village nanzhou").output, note.output);
  auto v = sl_in(other, "verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // The village's log, the registry and the admin log (init signs its first entry).
  EXPECT_NE(v.output.find("intact: 3 logs"), std::string::npos) << v.output;
  // And this folder goes on with its SQLite file.
  EXPECT_EQ(sl("verify").exit_code, 0);
}

TEST_F(CliMigrate, ATamperedSourceIsRefusedAndNothingIsRecorded) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  {
    // An insider with sqlite3, triggers off on his connection (`.dbconfig enable_trigger off`).
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
    int changed = db.exec(
        "UPDATE entries SET leaf = replace(leaf, '\"amount\":', '\"amount\":1') WHERE (log_id, idx) = "
        "(SELECT log_id, min(idx) FROM entries WHERE log_id = (SELECT id FROM logs WHERE name = 'shuangjiang') "
        "AND CAST(leaf AS TEXT) LIKE '%\"amount\":%')");
    ASSERT_EQ(changed, 1);
  }
  auto m = sl("migrate --to '" + with_password(plain) + "'");
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_NE(m.output.find("TAMPERED"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("nothing was copied"), std::string::npos) << m.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/database"));
  // The target was not touched: no table there holds a row.
  auto used = first_table_with_rows(plain);
  ASSERT_TRUE(used.is_ok()) << used.status().to_string();
  EXPECT_EQ(*used, "");
}

// The target's check after the copy: a database prepared with an empty
// entries table whose trigger rewrites each leaf as it arrives is empty, so
// the copy goes in; the copy then fails verify, and the folder stays on
// SQLite, saying how to drop what was left for inspection.
TEST_F(CliMigrate, ACopyThatDiffersIsNamedAndNothingIsRecorded) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  {
    auto pg = ledger_internal::PgConnection::open(plain);
    ASSERT_TRUE(pg.is_ok()) << pg.status().to_string();
    (*pg)->exec(
        "CREATE TABLE entries(log_id BIGINT NOT NULL, idx BIGINT NOT NULL, kind TEXT NOT NULL, month TEXT, "
        "leaf BYTEA NOT NULL, PRIMARY KEY(log_id, idx))");
    (*pg)->exec(
        "CREATE FUNCTION shave() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.leaf := convert_to(replace(convert_from(NEW.leaf, 'UTF8'), '\"amount\":', '\"amount\":1'), 'UTF8'); "
        "RETURN NEW; END $$");
    (*pg)->exec("CREATE TRIGGER shave BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION shave()");
  }
  std::string sqlite_bytes = testing::read_file(data() + "/sunledger.db");
  auto m = sl("migrate --to '" + with_password(plain) + "'");
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_NE(m.output.find("copy TAMPERED"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("the copy differs from SQLite"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("drop it"), std::string::npos) << m.output;
  EXPECT_EQ(m.output.find(kPassword), std::string::npos) << m.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/database"));
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the SQLite file changed";
  auto v = sl("verify");  // still the SQLite file, intact
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(CliMigrate, RefusedWhileServeHoldsTheFolder) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  testing::ServerProcess server;
  server.start(data(), "");
  auto m = sl("migrate --to '" + with_password(plain) + "'");
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_NE(m.output.find("already serving"), std::string::npos) << m.output;
  EXPECT_EQ(m.output.find(kPassword), std::string::npos) << m.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/database"));
  EXPECT_EQ(server.stop(), 0) << *server.log;
  auto used = first_table_with_rows(plain);
  ASSERT_TRUE(used.is_ok()) << used.status().to_string();
  EXPECT_EQ(*used, "");
  // Without --to, or with anything but a PostgreSQL address: usage errors.
  EXPECT_EQ(sl("migrate").exit_code, 2);
  EXPECT_EQ(sl("migrate --to " + dir.file("copy.db")).exit_code, 2);
}

// A command running on the folder (its shared hold on in-use.lock, taken here
// as the command takes it) keeps migrate out: a post it makes during the copy
// would stay behind in the frozen SQLite file.
TEST_F(CliMigrate, RefusedWhileAnotherCommandHasTheFolder) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  int held = hold_folder(LOCK_SH);
  ASSERT_GE(held, 0);
  std::string sqlite_bytes = testing::read_file(data() + "/sunledger.db");
  auto m = sl("migrate --to '" + with_password(plain) + "'");
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_NE(m.output.find("another sunledger command"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("nothing was changed"), std::string::npos) << m.output;
  EXPECT_EQ(m.output.find(kPassword), std::string::npos) << m.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/database"));
  auto used = first_table_with_rows(plain);
  ASSERT_TRUE(used.is_ok()) << used.status().to_string();
  EXPECT_EQ(*used, "") << "migrate wrote into the database while another command had the folder";
  // Commands beside each other share the folder: a read runs while it is held.
  EXPECT_EQ(sl("checkpoint --village shuangjiang").exit_code, 0);
  ::close(held);
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the SQLite file changed";
  auto again = sl("migrate --to '" + plain + "'");
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

// A post started while migrate holds the folder waits, and once the folder
// records PostgreSQL (migrate's last step, taken here by hand on a copy the
// real migrate made of the same deployment) it is written there: nothing
// lands in the frozen SQLite file.
TEST_F(CliMigrate, ACommandStartedDuringAMigrationWritesToPostgresql) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string plain = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(plain.empty());
  std::string twin = dir.file("twin");
  ASSERT_EQ(run_command("cp -a " + data() + " " + twin).exit_code, 0);
  auto m = sl_in(twin, "migrate --to '" + plain + "'");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  auto before = sl("checkpoint --village shuangjiang");
  ASSERT_EQ(before.exit_code, 0) << before.output;
  uint64_t size = note_size(before.output);
  std::string sqlite_bytes = testing::read_file(data() + "/sunledger.db");

  int held = hold_folder(LOCK_EX);  // migrate's hold
  ASSERT_GE(held, 0);
  std::string csv = entries_file("迁移中提交的一笔");
  auto post = std::async(std::launch::async, [&] { return sl("post --village shuangjiang --file " + csv); });
  EXPECT_EQ(post.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout)
      << "the post did not wait for the migration: " << post.get().output;
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the SQLite file changed";
  // migrate's record, then its release.
  testing::write_file(data() + "/database", testing::read_file(twin + "/database"));
  ASSERT_EQ(::chmod((data() + "/database").c_str(), 0600), 0);
  ::close(held);

  auto done = post.get();
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_NE(done.output.find("正在迁移这个数据目录的数据库"), std::string::npos) << done.output;
  EXPECT_NE(done.output.find("appended 1 entry: #" + std::to_string(size)), std::string::npos) << done.output;
  EXPECT_TRUE(testing::read_file(data() + "/sunledger.db") == sqlite_bytes) << "the post landed in the frozen file";
  auto after = sl_in(twin, "checkpoint --village shuangjiang");  // the same database, read through the twin folder
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(note_size(after.output), size + 1) << after.output;
  EXPECT_EQ(sl("verify").exit_code, 0);
}

}  // namespace
}  // namespace sunledger
