// export-tiles and the independent checker, end to end with the real binary:
// the exported files are the bytes `serve` answers; `check` reads them back
// through Python's http.server, catches a rollback and a rewrite between two
// runs (state file) and a statement that does not add up, and verifies the
// tlog-proof block of a month's notice.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ledger/ledger.h"
#include "ledger/tlog_tiles.h"
#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

// `python3 -m http.server` on 127.0.0.1, port 0: the port it picked is read
// from its first line.
struct StaticServer {
  pid_t pid = -1;
  int port = 0;
  explicit StaticServer(const std::string& dir) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      int null = ::open("/dev/null", O_WRONLY);  // its log of every GET
      ::dup2(null, 2);
      ::execlp("python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(fds[0]);
    auto at = line.find(" port ");
    if (at != std::string::npos) port = std::stoi(line.substr(at + 6));
  }
  ~StaticServer() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
  std::string prefix(const std::string& log) const { return "http://127.0.0.1:" + std::to_string(port) + "/" + log; }
};

struct TilesCli : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  CommandResult sl(const std::string& args) { return run_command(std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args); }
  CommandResult check(const std::string& args) { return run_command(std::string(SUNLEDGER_BINARY) + " check " + args); }
  std::string vkey;

  void SetUp() override {
    auto r = sl("init --origin tiles.test/sunledger");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    vkey = r.output.substr(0, r.output.find('\n'));
    ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
    post(300, "2022-11");
  }
  // item_mark tells a rewritten month from the original: rows posted in the
  // same second with the same text would be the same bytes, no rewrite at all.
  void post(int n, const std::string& month, const std::string& item_mark = "笔") {
    std::string rows = "date,type,category,item,amount,project,fund,counterparty,note\n";
    for (int i = 0; i < n; ++i)
      rows += month + "-0" + std::to_string(1 + i % 9) + "," + (i % 4 == 0 ? "income,上级拨款" : "expense,办公费") + ",第" +
              std::to_string(i) + item_mark + "," + std::to_string(100 + i) + ",,,,\n";
    write_file(dir.file("rows.csv"), rows);
    auto r = sl("post --village shuangjiang --file " + dir.file("rows.csv"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string export_to(const std::string& name) {
    auto r = sl("export-tiles --to " + dir.file(name));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return dir.file(name);
  }
};

TEST_F(TilesCli, ExportedFilesAreTheBytesTheServerServes) {
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-11 --no-notice").exit_code, 0);
  std::string out = export_to("tiles");
  testing::ServerProcess server;
  server.start(data(), "");
  httplib::Client c("127.0.0.1", server.port);
  size_t files = 0;
  for (const auto& f : fs::recursive_directory_iterator(out)) {
    if (!f.is_regular_file()) continue;
    std::string rel = fs::relative(f.path(), out).string();
    auto r = c.Get("/logs/" + rel);
    ASSERT_TRUE(r) << rel;
    EXPECT_EQ(r->status, 200) << rel;
    EXPECT_EQ(r->body, testing::read_file(f.path().string())) << rel;
    ++files;
  }
  // shuangjiang at 301 (300 lines, the statement): checkpoint, 2 bundles, 2 level-0 tiles, 1 level-1 tile.
  EXPECT_EQ(files, 6u);
  EXPECT_TRUE(fs::exists(out + "/shuangjiang/tile/0/001.p/45"));
  EXPECT_TRUE(fs::exists(out + "/shuangjiang/tile/entries/000"));
  server.kill_hard();
}

TEST_F(TilesCli, CheckerCatchesARollbackAndARewriteBetweenRuns) {
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-11 --no-notice").exit_code, 0);
  fs::copy(data(), dir.file("before"), fs::copy_options::recursive);
  post(40, "2022-12");
  std::string state = dir.file("sj.state");
  {
    StaticServer py(export_to("now"));
    ASSERT_GT(py.port, 0);
    auto r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey + " --state " + state);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("tree rebuilt from 341 entries"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 month statements add up"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 statements proven included"), std::string::npos) << r.output;
    // A second run over the same log is consistent with the first.
    r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey + " --state " + state);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("consistent with the checkpoint seen last (size 341)"), std::string::npos) << r.output;
  }
  std::string seen = testing::read_file(state);
  // The operator goes back to the copy: 301 entries, signed with the same key.
  fs::rename(data(), dir.file("latest"));
  fs::rename(dir.file("before"), data());
  {
    StaticServer py(export_to("rolled-back"));
    auto r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey + " --state " + state);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("ROLLBACK: the log shrank from 341 to 301"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("    tiles.test/sunledger/shuangjiang\n    341\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("    tiles.test/sunledger/shuangjiang\n    301\n"), std::string::npos) << r.output;
    EXPECT_EQ(testing::read_file(state), seen);  // the evidence stays in the state file
  }
  // ... and writes a different December from there, past the size seen.
  post(50, "2022-12", "笔(改)");
  {
    StaticServer py(export_to("rewritten"));
    auto r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey + " --state " + state);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("REWRITE: the first 341 entries are not the ones signed before"), std::string::npos) << r.output;
  }
  // Another key, or a witness that never cosigned: refused.
  {
    StaticServer py(dir.file("rewritten"));
    auto r = check("--url " + py.prefix("shuangjiang") + " --key tiles.test/sunledger+00000000+AUieL9vIjMxLD9weaIBPLT4LEH0X7Ob+q0jrk4CPtAZT");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey +
              " --witness w.example+00000000+BEieL9vIjMxLD9weaIBPLT4LEH0X7Ob+q0jrk4CPtAZT");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no valid cosignature by witness w.example"), std::string::npos) << r.output;
  }
}

TEST_F(TilesCli, CheckerCatchesAStatementThatDoesNotAddUp) {
  // The operator, holding the log key, appends a November statement whose
  // income is 1 yuan more than its lines: a validly signed log, a false total.
  {
    ManualClock clock(1670205600);
    auto key = Ed25519KeyFile::load(data() + "/log-key.pem", "tiles.test/sunledger");
    ASSERT_TRUE(key.is_ok()) << key.status().message();
    Ledger::Options options;
    options.db_path = data() + "/sunledger.db";
    options.signer = key->get();
    options.clock = &clock;
    auto ledger = Ledger::open(options);
    ASSERT_TRUE(ledger.is_ok()) << ledger.status().message();
    auto honest = (*ledger)->close_month("shuangjiang", "2022-11", {"t", "official", "test"});
    ASSERT_TRUE(honest.is_ok());
    nlohmann::json forged = honest->statement;
    forged["month"] = "2022-12";
    forged["opening"] = honest->statement["closing"];
    forged["income_total"] = 100;
    forged["closing"] = honest->statement["closing"].get<int64_t>() + 100;
    forged["entry_count"] = 0;
    forged["first_index"] = -1;
    forged["last_index"] = -1;
    Status s = (*ledger)->write([&](WriteTxn& w) { return w.append_to_log("shuangjiang", forged, {"t", "official", "test"}).status(); });
    ASSERT_TRUE(s.is_ok()) << s.message();
  }
  StaticServer py(export_to("forged"));
  auto r = check("--url " + py.prefix("shuangjiang") + " --key " + vkey);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("statement #301 (2022-12): income_total is 100 but the month's entries add up to 0"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("its root is the signed root"), std::string::npos) << r.output;  // the log itself is intact
  EXPECT_EQ(r.output.find("statement #300"), std::string::npos) << r.output;           // the honest one adds up
}

TEST_F(TilesCli, TheNoticesProofBlockVerifiesOfflineAndATamperedOneIsRefused) {
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-11 --no-notice").exit_code, 0);
  testing::ServerProcess server;
  server.start(data(), "");
  httplib::Client c("127.0.0.1", server.port);
  auto page = c.Get("/villages/shuangjiang/2022-11/notice");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  server.kill_hard();
  ASSERT_NE(page->body.find("c2sp.org/tlog-proof@v1"), std::string::npos);
  write_file(dir.file("notice.html"), page->body);
  auto r = check("--proof " + dir.file("notice.html") + " --key " + vkey);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("entry #300 is included"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the statement of shuangjiang for 2022-11"), std::string::npos) << r.output;
  // One character of the proof changed, or the index: refused.
  std::string body = page->body;
  size_t at = body.find("index 300\n") + 10;
  body[at] = body[at] == 'A' ? 'B' : 'A';
  write_file(dir.file("tampered.html"), body);
  r = check("--proof " + dir.file("tampered.html") + " --key " + vkey);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  body = page->body;
  body.replace(body.find("index 300"), 9, "index 299");
  write_file(dir.file("moved.html"), body);
  EXPECT_EQ(check("--proof " + dir.file("moved.html") + " --key " + vkey).exit_code, 1);
  EXPECT_EQ(check("--proof " + dir.file("notice.html")).exit_code, 2);  // no key
}

}  // namespace
}  // namespace sunledger
