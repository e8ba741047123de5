// `serve` refuses a data folder other users of the machine could read, naming
// the file and the chmod that fixes it; `init` and `demo` create everything
// private, so a fresh deployment starts. Through the real binary.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

struct DataFolder : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  CommandResult sl(const std::string& args) {
    // The timeout only matters if the check let a server through.
    return run_command("timeout 20 " + std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args);
  }
  static unsigned mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }
  // serve exits 1 naming the file and the exact command that fixes it.
  void expect_refused(const std::string& path, const std::string& fix, const std::string& args = "") {
    auto r = sl("serve --listen 127.0.0.1:0" + args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(path), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(fix + " " + path), std::string::npos) << r.output;
  }
  // The server gets past the check and serves until SIGTERM.
  void expect_starts() {
    testing::ServerProcess p;
    p.start(data(), data() + "/bots.json");
    EXPECT_EQ(p.stop(), 0) << *p.log;
  }
};

TEST_F(DataFolder, DemoCreatesEverythingPrivate) {
  auto r = sl("demo --no-serve");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(mode(data()), 0700u);
  for (const char* f : {"/sunledger.db", "/log-key.pem", "/id-salt", "/bots.json"})
    EXPECT_EQ(mode(data() + f), 0600u) << f;
  // While the server runs, SQLite's -wal and -shm exist with the database's mode.
  testing::ServerProcess p;
  p.start(data(), data() + "/bots.json");
  for (const char* f : {"/sunledger.db-wal", "/sunledger.db-shm"}) {
    if (!std::filesystem::exists(data() + f)) {
      ADD_FAILURE() << f << " missing while the server runs";  // no ASSERT: the server must still be stopped
      continue;
    }
    EXPECT_EQ(mode(data() + f), 0600u) << f;
  }
  EXPECT_EQ(p.stop(), 0) << *p.log;
}

TEST_F(DataFolder, ServeRefusesEachFileOthersCanReadUntilFixed) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  struct Case {
    std::string path;
    mode_t open_mode;
    mode_t fixed_mode;
    std::string fix;
  };
  const Case cases[] = {
      {data(), 0755, 0700, "chmod 700"},
      {data(), 0750, 0700, "chmod 700"},
      {data() + "/sunledger.db", 0644, 0600, "chmod 600"},
      {data() + "/id-salt", 0644, 0600, "chmod 600"},
      {data() + "/log-key.pem", 0644, 0600, "chmod 600"},
      {data() + "/bots.json", 0644, 0600, "chmod 600"},
      {data() + "/bots.json", 0620, 0600, "chmod 600"},  // writable by the group: secrets could be swapped
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    ASSERT_EQ(::chmod(c.path.c_str(), c.open_mode), 0);
    expect_refused(c.path, c.fix);
    ASSERT_EQ(::chmod(c.path.c_str(), c.fixed_mode), 0);
  }
  ::chmod((data() + "/id-salt").c_str(), 0640);
  auto salt = sl("serve --listen 127.0.0.1:0");
  EXPECT_NE(salt.output.find(data() + "/id-salt is readable by other users; run: chmod 600 " + data() + "/id-salt"),
            std::string::npos)
      << salt.output;
  ::chmod((data() + "/id-salt").c_str(), 0600);
  expect_starts();
}

// SQLite's -wal and -shm. SQLite deletes the WAL when the last connection
// closes and gives an empty one the database's mode, so an open mode lasts
// only in a WAL with frames while another process holds the database: this
// test holds it and writes (a table created and dropped, so nothing changes).
TEST_F(DataFolder, ServeRefusesAnOpenWalOrShm) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  SQLite::Database holder(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
  holder.exec("PRAGMA journal_mode=WAL");
  holder.exec("CREATE TABLE scratch(x); DROP TABLE scratch");
  for (const char* f : {"/sunledger.db-wal", "/sunledger.db-shm"}) {
    std::string path = data() + f;
    SCOPED_TRACE(path);
    ASSERT_TRUE(std::filesystem::exists(path));
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    expect_refused(path, "chmod 600");
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  }
  expect_starts();
}

// A --config file outside the folder holds the same secrets.
TEST_F(DataFolder, ServeRefusesAConfigOthersCanRead) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  std::string config = dir.file("my bots.json");  // a space: the hint quotes it
  std::filesystem::copy_file(data() + "/bots.json", config);
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  auto r = sl("serve --listen 127.0.0.1:0 --config '" + config + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("chmod 600 '" + config + "'"), std::string::npos) << r.output;
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  testing::ServerProcess p;
  p.start(data(), config);
  EXPECT_EQ(p.stop(), 0) << *p.log;
}

}  // namespace
}  // namespace sunledger
