// Crashes lose nothing: `sunledger serve` is killed with SIGKILL at random
// moments while officials post and villagers complain through the generic
// webhook, then restarted. Every acknowledged write is there exactly once,
// nothing unacknowledged is half there, pending pushes arrive after a
// restart (a repeat only with the same webhook-id) and verify passes.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::post_generic;
using testing::Receiver;
using testing::ServerProcess;

TEST(CrashSafety, SigkillAtRandomMomentsLosesNothing) {
  testing::TempDir dir;
  std::string data = dir.file("data");
  auto demo = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + data + " demo --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  Receiver receiver;
  std::string secret_raw = "crash-test-secret-0123456789";
  std::string config = dir.file("bots.json");
  std::ofstream(config) << json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                          {"secret", "whsec_" + base64_encode(secret_raw)},
                                          {"push_url", "http://127.0.0.1:" + std::to_string(receiver.port) + "/push"}}}}}.dump();
  ::chmod(config.c_str(), 0600);  // serve refuses a config other users could read

  std::mt19937 rng(20221227);
  std::map<int, std::string> acknowledged;  // request number -> reply
  std::set<int> sent;
  int next = 0;
  bool published = false;
  // The month after the demo's last published one (Shuangjiang's 2022-11):
  // open until this test publishes it. Months publish in order, so not the
  // current month, which would skip every month since.
  std::string month = "2022-12";

  auto send = [&](int port, const std::string& mid, const json& body) -> std::optional<std::string> {
    auto r = post_generic(port, secret_raw, mid, body.dump());
    if (!r || r->status != 200) return std::nullopt;
    return json::parse(r->body)["reply"].get<std::string>();
  };

  for (int round = 0; round < 22; ++round) {
    ServerProcess p;
    p.start(data, config);
    std::atomic<bool> killed{false};
    int lifetime_ms = 40 + static_cast<int>(rng() % 260);
    std::thread killer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(lifetime_ms));
      killed = true;
      p.kill_hard();
    });
    while (!killed) {
      int n = next++;
      sent.insert(n);
      std::string mid = "crash-" + std::to_string(n);
      json body;
      if (n % 7 == 3) {
        body = {{"message_id", mid}, {"chat_id", "dm-" + std::to_string(n)}, {"chat_type", "private"},
                {"sender_id", "villager-" + std::to_string(n)}, {"sender_name", "村民"},
                {"text", "投诉 双江村 第" + std::to_string(n) + "号投诉"}};
      } else if (round >= 10 && !published) {
        body = {{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
                {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"}, {"text", "公开 " + month}};
      } else {
        // Two lines: both must be there or neither.
        body = {{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
                {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"},
                {"text", "记账 " + month + "\n收入 其他 1 第" + std::to_string(n) + "笔甲 日期:" + month + "-02\n支出 其他 1 第" +
                             std::to_string(n) + "笔乙 日期:" + month + "-02"}};
      }
      auto reply = send(p.port, mid, body);
      if (reply) {
        acknowledged[n] = *reply;
        // A publish whose answer was lost to a kill committed anyway: the
        // retry is then refused as "already closed". Either way it is out.
        bool publish = body["text"].get<std::string>().rfind("公开 ", 0) == 0;
        if (reply->find("已公开") != std::string::npos || (publish && reply->find("已经公开结账") != std::string::npos))
          published = true;
      }
    }
    killer.join();
  }
  // One last, clean run: redeliver every request once more (as platforms retry),
  // let the outbox drain, then stop with SIGTERM.
  ServerProcess p;
  p.start(data, config);
  for (int n : sent) {
    auto it = acknowledged.find(n);
    if (it == acknowledged.end()) continue;
    // Only changes are deduplicated; a refusal (a post to the month after it
    // was published) wrote nothing and is simply answered again.
    if (it->second.find("已记账") == std::string::npos && it->second.find("编号") == std::string::npos &&
        it->second.find("已公开") == std::string::npos)
      continue;
    json body;  // the retried delivery carries the same id; the reply must be the stored one
    std::string mid = "crash-" + std::to_string(n);
    if (n % 7 == 3)
      body = {{"message_id", mid}, {"chat_id", "dm-" + std::to_string(n)}, {"chat_type", "private"},
              {"sender_id", "villager-" + std::to_string(n)}, {"sender_name", "村民"},
              {"text", "投诉 双江村 第" + std::to_string(n) + "号投诉"}};
    else
      body = {{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
              {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"}, {"text", "记账 " + month + "\n收入 其他 1 x"}};
    auto again = send(p.port, mid, body);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, it->second) << "request " << n << " was not replayed";
  }
  // The push checks below must not be skipped silently.
  ASSERT_TRUE(published) << "the month was never published during the kills";
  {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(receiver.mu);
        bool notice = false;
        for (const auto& push : receiver.pushes) notice |= push.second.find("三务公开") != std::string::npos;
        if (notice) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ(p.stop(), 0);

  // What the database holds.
  std::map<int, int> lines;  // request number -> lines present
  std::map<int, int> complaints;
  {
    SQLite::Database db(data + "/sunledger.db", SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name='shuangjiang' AND e.kind='txn'");
    while (q.executeStep()) {
      json f = json::parse(q.getColumn(0).getString());
      std::string item = f["item"];
      if (item.rfind("第", 0) == 0 && item.find("笔") != std::string::npos)
        ++lines[std::stoi(item.substr(std::string("第").size()))];
    }
    SQLite::Statement c(db, "SELECT text FROM complaints WHERE village='shuangjiang'");
    while (c.executeStep()) {
      std::string text = c.getColumn(0).getString();
      if (text.rfind("第", 0) == 0) ++complaints[std::stoi(text.substr(std::string("第").size()))];
    }
  }
  int checked = 0;
  for (int n : sent) {
    bool acked = acknowledged.count(n) > 0;
    const std::string& reply = acked ? acknowledged[n] : "";
    if (n % 7 == 3) {
      int count = complaints.count(n) ? complaints[n] : 0;
      EXPECT_LE(count, 1) << "complaint " << n << " filed twice";
      if (acked) {
        EXPECT_EQ(count, 1) << "acknowledged complaint " << n << " lost";
      }
    } else if (acked && reply.find("已记账") != std::string::npos) {
      EXPECT_EQ(lines[n], 2) << "acknowledged post " << n << " not there exactly once";
      ++checked;
    } else {
      EXPECT_TRUE(lines[n] == 0 || lines[n] == 2) << "post " << n << " half there: " << lines[n];
    }
  }
  EXPECT_GT(checked, 20);
  {
    std::lock_guard<std::mutex> lock(receiver.mu);
    // The demo's own complaint updates are in the outbox too; look at the notice.
    std::set<std::string> ids;
    for (const auto& [id, body] : receiver.pushes)
      if (body.find("三务公开") != std::string::npos) ids.insert(id);
    EXPECT_EQ(ids.size(), 1u) << "the notice must arrive, and a repeat must carry the same webhook-id";
  }
  auto verify = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + data + " verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

// A full run of the server: secrets, tokens, identity numbers, complaint and
// message texts go in; none of them may come out in a log line.
TEST(Security, LogsNeverCarrySecretsOrTexts) {
  testing::TempDir dir;
  std::string data = dir.file("data");
  ASSERT_EQ(testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + data + " demo --no-serve").exit_code, 0);
  auto token = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + data +
                                    " token create --role official --village shuangjiang");
  ASSERT_EQ(token.exit_code, 0);
  std::string bearer = token.output.substr(0, token.output.find('\n'));
  std::string secret_raw = "log-test-secret-0123456789";
  std::string config = dir.file("bots.json");
  std::ofstream(config) << json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                          {"secret", "whsec_" + base64_encode(secret_raw)}}}}}.dump();
  ::chmod(config.c_str(), 0600);  // serve refuses a config other users could read
  ServerProcess p;
  p.start(data, config);
  auto send = [&](const std::string& mid, const std::string& user, const std::string& chat, const std::string& type,
                  const std::string& text, bool good = true) {
    std::string raw = json{{"message_id", mid}, {"chat_id", chat}, {"chat_type", type}, {"sender_id", user},
                           {"sender_name", user}, {"text", text}}.dump();
    if (good) return post_generic(p.port, secret_raw, mid, raw);
    std::string ts = std::to_string(std::time(nullptr));
    httplib::Client c("127.0.0.1", p.port);
    return c.Post("/webhooks/generic", {{"webhook-id", mid}, {"webhook-timestamp", ts},
                                        {"webhook-signature", "v1," + base64_encode("forged-signature-forged-signature")}},
                  raw, "application/json");
  };
  const std::string complaint = "村会计把低保名额给了自己亲戚秘密举报内容";
  const std::string id_number = "11010519491231002X";
  EXPECT_EQ(send("l1", "v1", "dm-v1", "private", "投诉 双江村 " + complaint)->status, 200);
  EXPECT_EQ(send("l2", "shuangjiang-secretary", "shuangjiang-group", "group", "低保名单 2030-01\n张三 " + id_number + " 620")->status, 200);
  EXPECT_EQ(send("l3", "v2", "shuangjiang-group", "group", "明细 2022-11 支出")->status, 200);
  EXPECT_EQ(send("l4", "v2", "shuangjiang-group", "group", "账目", false)->status, 401);
  httplib::Client c("127.0.0.1", p.port);
  EXPECT_EQ(c.Post("/v1/villages/shuangjiang/projects", {{"Authorization", "Bearer " + bearer}},
                   R"({"name":"日志测试","approved":"1万"})", "application/json")->status, 200);
  EXPECT_EQ(c.Get("/v1/complaints", {{"Authorization", "Bearer " + bearer + "x"}})->status, 401);
  EXPECT_EQ(p.stop(), 0);
  const std::string& log = *p.log;
  EXPECT_NE(log.find("POST webhook:generic 200"), std::string::npos) << log;  // the log is there...
  for (const std::string& secret : {secret_raw, base64_encode(secret_raw), bearer, id_number, complaint,
                                    std::string("明细 2022-11"), std::string("张三")})
    EXPECT_EQ(log.find(secret), std::string::npos) << "the log leaks: " << secret;  // ...without any of these
}

}  // namespace
}  // namespace sunledger
