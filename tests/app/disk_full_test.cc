// A full disk refuses writes, keeps reads, and recovers: `sunledger serve`
// runs with its data on a real size-limited filesystem (a 4 MiB tmpfs this
// test mounts), a ballast file takes the last free byte, and then:
//  - official posts through the generic webhook are answered 503, so the
//    platform delivers them again later, and nothing of them is written;
//  - the township's HTTP API refuses with 存储暂时不可用 (storage unavailable);
//  - villagers' queries and the read API go on working;
//  - once the ballast is gone, the redelivered post is written exactly once,
//    new writes go through, and `sunledger verify` passes.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::post_generic;
using testing::ServerProcess;

// A tmpfs of `size` mounted at `path` for the life of the object.
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const char* size) : path_(path) {
    std::filesystem::create_directories(path);
    std::string options = std::string("size=") + size + ",mode=0700";
    mounted_ = ::mount("sunledger-test", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Writes `ballast` until the filesystem has no byte left; returns how much it took.
  size_t fill(const std::string& ballast) {
    int fd = ::open(ballast.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    std::string chunk(64 * 1024, 'x');
    size_t total = 0;
    size_t want = chunk.size();
    while (want > 0) {
      ssize_t n = ::write(fd, chunk.data(), want);
      if (n > 0) {
        total += static_cast<size_t>(n);
      } else if (n < 0 && errno == ENOSPC) {
        want /= 2;  // take the last pages with smaller writes
      } else {
        break;
      }
    }
    ::fsync(fd);
    ::close(fd);
    return total;
  }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

TEST(DiskFull, RefusesWritesServesReadsAndRecovers) {
  testing::TempDir dir;
  SmallDisk disk(dir.file("disk"), "4m");
  if (!disk.mounted())
    GTEST_SKIP() << "mounting a size-limited tmpfs needs root (CAP_SYS_ADMIN): " << disk.error()
                 << "; .ci/run runs as root, so CI always runs this test";
  const std::string data = dir.file("disk") + "/data";
  const std::string bin = SUNLEDGER_BINARY;
  auto demo = testing::run_command(bin + " --data " + data + " demo --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  auto token = testing::run_command(bin + " --data " + data + " token create --role official --village shuangjiang");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  const std::string bearer = token.output.substr(0, token.output.find('\n'));
  const std::string secret_raw = "disk-full-secret-0123456789";
  const std::string config = dir.file("bots.json");  // off the small disk: it is not what fills
  std::ofstream(config) << json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                          {"secret", "whsec_" + base64_encode(secret_raw)}}}}}.dump();
  ::chmod(config.c_str(), 0600);  // serve refuses a config other users could read

  ServerProcess server;
  server.start(data, config);
  std::time_t now = std::time(nullptr) + 8 * 3600;  // the open month, China Standard Time
  char month_buf[16];
  std::strftime(month_buf, sizeof month_buf, "%Y-%m", std::gmtime(&now));
  const std::string month = month_buf;

  auto message = [](const std::string& mid, const std::string& sender, const std::string& text) {
    return json{{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
                {"sender_id", sender}, {"sender_name", sender}, {"text", text}}
        .dump();
  };
  auto post_line = [&](int n) {
    return message("full-" + std::to_string(n), "shuangjiang-secretary",
                   "记账 " + month + "\n收入 其他 1 满盘第" + std::to_string(n) + "笔 日期:" + month + "-02");
  };
  auto query = [&](const std::string& mid) {
    auto r = post_generic(server.port, secret_raw, mid, message(mid, "villager-7", "账目"));
    return r ? std::make_pair(r->status, r->status == 200 ? json::parse(r->body)["reply"].get<std::string>() : r->body)
             : std::make_pair(-1, std::string(httplib::to_string(r.error())));
  };
  httplib::Client api("127.0.0.1", server.port);
  const httplib::Headers auth{{"Authorization", "Bearer " + bearer}};
  const std::string api_entry = R"([{"date":")" + month + R"(-03","type":"expense","category":"其他","item":"接口满盘测试","amount":"2"}])";

  auto before = query("q-before");
  ASSERT_EQ(before.first, 200) << before.second;
  ASSERT_NE(before.second.find("双江村"), std::string::npos) << before.second;
  auto ok = post_generic(server.port, secret_raw, "full-0", post_line(0));
  ASSERT_TRUE(ok && ok->status == 200) << (ok ? ok->body : "no answer");
  ASSERT_NE(ok->body.find("已记账"), std::string::npos) << ok->body;
  std::set<int> acknowledged{0};

  ASSERT_GT(disk.fill(dir.file("disk") + "/ballast"), 0u);
  // Space SQLite already holds (a WAL that is reused, free pages) can take
  // a few more posts; the disk has none, so a refusal must come soon.
  int refused = -1;
  for (int n = 1; n <= 400 && refused < 0; ++n) {
    auto r = post_generic(server.port, secret_raw, "full-" + std::to_string(n), post_line(n));
    ASSERT_TRUE(r) << "no answer to post " << n << ": the server must not die";
    if (r->status == 200) {
      ASSERT_NE(r->body.find("已记账"), std::string::npos) << r->body;
      acknowledged.insert(n);
    } else {
      EXPECT_EQ(r->status, 503) << r->body;  // the platform will deliver it again
      EXPECT_NE(r->body.find("请稍后再试"), std::string::npos) << r->body;
      refused = n;
    }
  }
  ASSERT_GT(refused, 0) << "400 posts fitted on a full disk";

  // Still full: every write is refused, politely and completely.
  auto again = post_generic(server.port, secret_raw, "full-" + std::to_string(refused), post_line(refused));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 503);
  auto api_refused = api.Post("/v1/villages/shuangjiang/entries", auth, api_entry, "application/json");
  ASSERT_TRUE(api_refused);
  EXPECT_EQ(api_refused->status, 503) << api_refused->body;
  EXPECT_NE(api_refused->body.find("存储暂时不可用"), std::string::npos) << api_refused->body;
  const std::string complaint_body = json{{"message_id", "full-complaint"}, {"chat_id", "dm-9"}, {"chat_type", "private"},
                                          {"sender_id", "villager-9"}, {"sender_name", "村民"}, {"text", "投诉 双江村 满盘时的投诉"}}
                                         .dump();
  auto complaint = post_generic(server.port, secret_raw, "full-complaint", complaint_body);
  ASSERT_TRUE(complaint);
  EXPECT_EQ(complaint->status, 503) << complaint->body;

  // Reads go on: the chat query, the read API, and the same books as before
  // plus what was acknowledged.
  auto during = query("q-during");
  EXPECT_EQ(during.first, 200) << during.second;
  EXPECT_NE(during.second.find("双江村"), std::string::npos) << during.second;
  auto entries = api.Get("/v1/villages/shuangjiang/entries?limit=5");
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->status, 200) << entries->body;
  auto checkpoint = api.Get("/v1/villages/shuangjiang/checkpoint");
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, 200);

  // Space returns: the platform's redelivery of the refused post is written
  // once, and new writes of every kind go through.
  ASSERT_EQ(::unlink((dir.file("disk") + "/ballast").c_str()), 0);
  auto retried = post_generic(server.port, secret_raw, "full-" + std::to_string(refused), post_line(refused));
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->status, 200) << retried->body;
  EXPECT_NE(retried->body.find("已记账"), std::string::npos) << retried->body;
  acknowledged.insert(refused);
  auto replayed = post_generic(server.port, secret_raw, "full-" + std::to_string(refused), post_line(refused));
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->body, retried->body) << "a repeat delivery is answered, not written again";
  auto api_ok = api.Post("/v1/villages/shuangjiang/entries", auth, api_entry, "application/json");
  ASSERT_TRUE(api_ok);
  EXPECT_EQ(api_ok->status, 200) << api_ok->body;
  auto complaint_ok = post_generic(server.port, secret_raw, "full-complaint", complaint_body);
  ASSERT_TRUE(complaint_ok);
  EXPECT_EQ(complaint_ok->status, 200) << complaint_ok->body;
  EXPECT_EQ(server.stop(), 0) << *server.log;

  // Exactly the acknowledged posts are there, each once.
  std::map<int, int> lines;
  int api_lines = 0;
  {
    SQLite::Database db(data + "/sunledger.db", SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name='shuangjiang' AND e.kind='txn'");
    while (q.executeStep()) {
      std::string item = json::parse(q.getColumn(0).getString())["item"];
      if (item.rfind("满盘第", 0) == 0) ++lines[std::stoi(item.substr(std::string("满盘第").size()))];
      if (item == "接口满盘测试") ++api_lines;
    }
    SQLite::Statement c(db, "SELECT COUNT(*) FROM complaints WHERE text='满盘时的投诉'");
    ASSERT_TRUE(c.executeStep());
    EXPECT_EQ(c.getColumn(0).getInt(), 1);
  }
  for (int n = 0; n <= refused; ++n) EXPECT_EQ(lines[n], acknowledged.count(n) ? 1 : 0) << "post " << n;
  EXPECT_EQ(api_lines, 1);
  auto verify = testing::run_command(bin + " --data " + data + " verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace sunledger
