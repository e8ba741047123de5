// `serve` never serves a tampered ledger as if it were intact, and only one
// serve runs on a data folder. Through the real binary and a real SQLite file
// edited behind its back, as an insider with sqlite3 would.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <set>

#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::run_command;

struct ServeIntegrity : ::testing::Test {
  testing::TempDir dir;
  std::string data() const { return dir.file("data"); }
  testing::CommandResult sl(const std::string& args) {
    return run_command("timeout 30 " + std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args);
  }
  std::string secret_raw() {
    json cfg = json::parse(testing::read_file(data() + "/bots.json"));
    auto s = base64_decode(cfg["bots"][0]["secret"].get<std::string>().substr(6));
    return s.is_ok() ? *s : "";
  }
  std::string ask(int port, const std::string& id, const std::string& text, const std::string& user = "villager-1") {
    json body = {{"message_id", id}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"}, {"sender_id", user},
                 {"sender_name", user}, {"text", text}};
    auto r = testing::post_generic(port, secret_raw(), id, body.dump());
    if (!r || r->status != 200) return "HTTP " + std::to_string(r ? r->status : -1);
    json j = json::parse(r->body);
    return j["reply"].is_string() ? j["reply"].get<std::string>() : "";
  }
  void SetUp() override { ASSERT_EQ(sl("demo --no-serve").exit_code, 0); }
};

TEST_F(ServeIntegrity, ATamperedLedgerIsServedReadOnlyWithAWarning) {
  {
    // An official with file access doubles an amount of a published month.
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER entries_no_update");
    db.exec("UPDATE entries SET leaf=replace(leaf, '\"amount\":14240000', '\"amount\":4240000') "
            "WHERE log_id=(SELECT log_id FROM villages WHERE id='shuangjiang')");
    ASSERT_GT(db.getChanges(), 0);
  }
  // The demo's bot gets a private channel, so the inspectors can be told.
  testing::Receiver receiver;
  json cfg = json::parse(testing::read_file(data() + "/bots.json"));
  cfg["bots"][0]["push_url"] = "http://127.0.0.1:" + std::to_string(receiver.port) + "/push";
  testing::write_file(data() + "/bots.json", cfg.dump());
  ::chmod((data() + "/bots.json").c_str(), 0600);
  testing::ServerProcess p;
  p.start(data(), data() + "/bots.json");
  EXPECT_NE(p.log->find("TAMPERED shuangjiang"), std::string::npos) << *p.log;
  // Each inspector hears of it privately, naming the log and the entry.
  std::set<std::string> told;
  for (int i = 0; i < 300 && told.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(receiver.mu);
    for (const auto& [id, body] : receiver.pushes) {
      json j = json::parse(body, nullptr, false);
      if (j.is_object() && j.value("chat_type", "") == "private" && j.value("text", "").find("账本核验未通过") != std::string::npos &&
          j.value("text", "").find("shuangjiang") != std::string::npos)
        told.insert(j.value("chat_id", ""));
    }
  }
  EXPECT_EQ(told, (std::set<std::string>{"district-inspector", "zhuting-inspector"}));
  // /healthz says so.
  httplib::Client c("127.0.0.1", p.port);
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_NE(h->body.find("shuangjiang"), std::string::npos) << h->body;
  // Every villager answer carries the warning first.
  std::string a = ask(p.port, "q1", "账目");
  EXPECT_EQ(a.rfind("⚠ 账本核验未通过", 0), 0u) << a;
  // Writes are refused, and nothing was appended.
  std::string w = ask(p.port, "w1", "记账 2022-12\n支出 办公费 350 打印纸", "shuangjiang-accountant");
  EXPECT_NE(w.find("本次没有做任何改动"), std::string::npos) << w;
  std::string complaint = ask(p.port, "w2", "匿名投诉 账不对");
  EXPECT_NE(complaint.find("本次没有做任何改动"), std::string::npos) << complaint;
  EXPECT_EQ(p.stop(), 0);
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 1) << v.output;
}

// An insider who forges an amount and also renames a column of a table that
// only verify reads (members: the server takes its directory from the admin
// log) made verify fail to run instead of failing; serve then logged "could
// not run" and served the forged amount as if it were intact. A check that
// cannot run is a failure.
TEST_F(ServeIntegrity, AVerifyThatCannotRunIsAFailure) {
  {
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER entries_no_update");
    db.exec("UPDATE entries SET leaf=replace(leaf, '\"amount\":14240000', '\"amount\":4240000') "
            "WHERE log_id=(SELECT log_id FROM villages WHERE id='shuangjiang')");
    ASSERT_GT(db.getChanges(), 0);
    db.exec("ALTER TABLE members RENAME COLUMN area TO area_x");
  }
  testing::ServerProcess p;
  p.start(data(), data() + "/bots.json");
  EXPECT_EQ(p.log->find("verify at start: intact"), std::string::npos) << *p.log;
  httplib::Client c("127.0.0.1", p.port);
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503) << h->body;
  EXPECT_NE(h->body.find("verify could not run"), std::string::npos) << h->body;
  std::string a = ask(p.port, "q1", "账目");
  EXPECT_EQ(a.rfind("⚠ 账本核验未通过", 0), 0u) << a;
  std::string w = ask(p.port, "w1", "记账 2022-12\n支出 办公费 350 打印纸", "shuangjiang-accountant");
  EXPECT_NE(w.find("本次没有做任何改动"), std::string::npos) << w;
  EXPECT_EQ(p.stop(), 0);
  // ask checks first too, and refuses to write on top of it.
  auto asked = sl("ask --bot " + json::parse(testing::read_file(data() + "/bots.json"))["bots"][0]["id"].get<std::string>() +
                  " --chat shuangjiang-group --user villager-1 账目");
  EXPECT_NE(asked.output.find("⚠"), std::string::npos) << asked.output;
  EXPECT_NE(sl("verify").exit_code, 0);
}

TEST_F(ServeIntegrity, AnIntactLedgerIsServedAndSkipVerifyIsLoud) {
  testing::ServerProcess p;
  p.start(data(), data() + "/bots.json");
  EXPECT_NE(p.log->find("verify at start: intact"), std::string::npos) << *p.log;
  httplib::Client c("127.0.0.1", p.port);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(ask(p.port, "q1", "余额").find("⚠"), std::string::npos);
  // A second serve on the same folder refuses, naming the first one's pid;
  // CLI commands go on working beside it.
  auto second = sl("serve --listen 127.0.0.1:0");
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("pid " + std::to_string(p.pid)), std::string::npos) << second.output;
  EXPECT_EQ(sl("verify").exit_code, 0);
  EXPECT_EQ(sl("village list").exit_code, 0);
  EXPECT_EQ(sl("backup --to " + dir.file("backup")).exit_code, 0);
  // A member removed with the CLI loses their rights in the running server
  // at once (its directory reloads when the admin log grows).
  auto before = ask(p.port, "o1", "立项 村部维修 5万", "shuangjiang-secretary");
  ASSERT_NE(before.find("已立项"), std::string::npos) << before;
  EXPECT_EQ(sl("member remove --bot " + json::parse(testing::read_file(data() + "/bots.json"))["bots"][0]["id"].get<std::string>() +
               " --user shuangjiang-secretary").exit_code, 0);
  auto after = ask(p.port, "o2", "立项 道路维修 5万", "shuangjiang-secretary");
  EXPECT_NE(after.find("只有"), std::string::npos) << after;
  EXPECT_EQ(p.stop(), 0);
  // With the first one gone, the lock is free again; --skip-verify says what it skips.
  auto skip = run_command("timeout -s TERM 3 " + std::string(SUNLEDGER_BINARY) + " --data " + data() +
                          " serve --listen 127.0.0.1:0 --skip-verify");
  EXPECT_NE(skip.output.find("WARNING: --skip-verify"), std::string::npos) << skip.output;
  EXPECT_EQ(skip.output.find("verify at start"), std::string::npos) << skip.output;
}

// `serve` under a descriptor limit below its connection cap (the soft limit
// of 1,024 most systems give a service): past the limit accept() fails and
// new clients wait in the backlog, unanswered, until some held connection
// times out. Every client must get an answer at once, served or 503.
struct ServeUnderADescriptorLimit : ServeIntegrity {
  testing::ServerProcess server;
  int port = 0;
  void start_with_limit(rlim_t soft, rlim_t hard) {
    server.fd_soft = soft;
    server.fd_hard = hard;
    server.start(data(), "");
    port = server.port;
  }
  void TearDown() override {
    if (server.pid > 0) server.kill_hard();
  }
  int connect_loopback() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  // Seconds until a fresh client's GET /healthz is answered (any status), 30 at most.
  double answer_time(std::string* first_line) {
    auto start = std::chrono::steady_clock::now();
    int fd = connect_loopback();
    if (fd < 0) return 30;
    std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    pollfd p{fd, POLLIN, 0};
    char buf[256];
    ssize_t n = ::poll(&p, 1, 30'000) == 1 ? ::recv(fd, buf, sizeof buf, 0) : 0;
    ::close(fd);
    if (n > 0) *first_line = std::string(buf, static_cast<size_t>(n)).substr(0, std::string(buf, static_cast<size_t>(n)).find('\r'));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void attack_and_measure(const char* expect) {
    // 1,100 clients that each sent one byte of a head: each costs the server a descriptor.
    rlimit mine{};
    ::getrlimit(RLIMIT_NOFILE, &mine);
    if (mine.rlim_cur < 1400) {
      mine.rlim_cur = std::min<rlim_t>(1400, mine.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &mine);
    }
    if (mine.rlim_cur < 1400) GTEST_SKIP() << "this test needs 1,400 descriptors";
    std::vector<int> held;
    for (int i = 0; i < 1100; ++i) {
      int fd = connect_loopback();
      ASSERT_GE(fd, 0);
      (void)!::send(fd, "G", 1, MSG_NOSIGNAL);
      held.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string first;
    double t = answer_time(&first);
    EXPECT_LT(t, 2.0) << "a fresh client waited " << t << " s (answer: " << first << ")";
    EXPECT_EQ(first.rfind(expect, 0), 0u) << first;
    for (int fd : held) ::close(fd);
  }
};

TEST_F(ServeUnderADescriptorLimit, ASoftLimitBelowTheCapIsRaised) {
  start_with_limit(1024, 8192);
  attack_and_measure("HTTP/1.1 200");
}

TEST_F(ServeUnderADescriptorLimit, AHardLimitBelowTheCapLowersTheCap) {
  start_with_limit(1024, 1024);
  attack_and_measure("HTTP/1.1 503");  // past the lowered cap: answered at once, not left in the backlog
}

}  // namespace
}  // namespace sunledger
