// Two nodes, one truth (issue #17): two `sunledger serve --shared-database`
// processes on one PostgreSQL database (the test binary's throwaway cluster,
// tests/support/pg_cluster.h), eight clients posting to the same village
// through both, one node or the other SIGKILLed and restarted again and
// again. Afterwards: no acknowledged write lost nor half there, no index
// used twice, every checkpoint either node served during the run a head of
// the final log (so each is consistent with every later one), verify intact,
// every push delivered,
// repeated only when a kill may have cut its record, and every message
// redelivered to the other node answered with its first reply.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "ledger/crypto.h"
#include "ledger/merkle.h"
#include "ledger/pg_connection.h"
#include "server_process.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::post_generic;
using testing::Receiver;
using testing::ServerProcess;

constexpr const char* kSecret = "two-nodes-secret-0123456789";
constexpr const char* kMonth = "2022-12";  // open after the demo (its last published month is 2022-11)

json message(int n) {
  std::string mid = "two-" + std::to_string(n);
  if (n % 5 == 2)  // filed in the group: the receipt is pushed to the reporter privately
    return {{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
            {"sender_id", "villager-" + std::to_string(n)}, {"sender_name", "村民"},
            {"text", "投诉 第" + std::to_string(n) + "号投诉"}};
  return {{"message_id", mid}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
          {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"},
          {"text", std::string("记账 ") + kMonth + "\n收入 其他 1 第" + std::to_string(n) + "笔甲 日期:" + kMonth +
                       "-02\n支出 其他 1 第" + std::to_string(n) + "笔乙 日期:" + kMonth + "-02"}};
}

std::optional<std::string> send(int port, const json& body) {
  auto r = post_generic(port, kSecret, body["message_id"].get<std::string>(), body.dump());
  if (!r || r->status != 200) return std::nullopt;
  return json::parse(r->body)["reply"].get<std::string>();
}

// One node: its folder, and the server when it runs (port 0 while down).
struct Node {
  std::string data;
  std::unique_ptr<ServerProcess> server;
  std::atomic<int> port{0};
  std::string logs;  // of the servers killed so far, for a failure's message
  void start(const std::string& config) {
    if (server) logs += *server->log + "--- killed\n";
    server = std::make_unique<ServerProcess>();
    server->extra_args = {"--shared-database"};
    server->start(data, config);
    port = server->port;
  }
};

TEST(TwoNodes, EightClientsThroughTwoServersOneKilledAgainAndAgain) {
  std::string db = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(db.empty());
  testing::TempDir dir;
  Node nodes[2];
  nodes[0].data = dir.file("a");
  nodes[1].data = dir.file("b");
  auto demo = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + nodes[0].data + " --db '" + db +
                                   "' demo --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  // The second machine: a copy of the folder (the same key, id-salt and database).
  std::filesystem::copy(nodes[0].data, nodes[1].data);
  Receiver receiver;
  std::string config = dir.file("bots.json");
  std::ofstream(config) << json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                          {"secret", "whsec_" + base64_encode(kSecret)},
                                          {"push_url", "http://127.0.0.1:" + std::to_string(receiver.port) + "/push"}}}}}
                               .dump();
  ::chmod(config.c_str(), 0600);
  nodes[0].start(config);
  nodes[1].start(config);

  std::mutex mu;
  std::map<int, std::string> acknowledged;  // request -> reply
  std::atomic<int> next{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      while (!done) {
        int n = next++;
        int port = nodes[(n + c) % 2].port;
        if (port == 0) port = nodes[(n + c + 1) % 2].port;
        if (port == 0) continue;
        auto reply = send(port, message(n));
        if (!reply) continue;
        std::lock_guard<std::mutex> lock(mu);
        acknowledged[n] = *reply;
      }
    });
  // The village's checkpoints as both nodes serve them meanwhile (the
  // public tile endpoint): each must be the head of a prefix of the final
  // log, so every one is consistent with every later one.
  std::vector<std::string> checkpoints;
  std::thread sampler([&] {
    while (!done) {
      for (auto& node : nodes) {
        int port = node.port;
        if (port == 0) continue;
        httplib::Client c("127.0.0.1", port);
        c.set_connection_timeout(1, 0);
        c.set_read_timeout(2, 0);
        auto r = c.Get("/logs/shuangjiang/checkpoint");
        if (r && r->status == 200) checkpoints.push_back(r->body);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  int kills = 0;
  std::mt19937 rng(20261201);
  // 12 s, and at least 5 kills (a slower build, ASan's, restarts slower), at most 30 s.
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };
  while ((elapsed() < std::chrono::seconds(12) || kills < 5) && elapsed() < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
    Node& victim = nodes[kills % 2];
    victim.port = 0;
    victim.server->kill_hard();
    ++kills;
    victim.start(config);
  }
  done = true;
  for (auto& t : clients) t.join();
  sampler.join();
  ASSERT_GE(kills, 5);

  // Every acknowledged complaint's receipt reaches its reporter (a node
  // killed while holding its claim leaves it to the other).
  std::set<std::string> reporters;
  for (const auto& [n, reply] : acknowledged)
    if (n % 5 == 2 && reply.find("回执已私信") != std::string::npos) reporters.insert("villager-" + std::to_string(n));
  ASSERT_GT(reporters.size(), 10u);
  std::map<std::string, int> received;  // webhook-id -> times
  std::set<std::string> reached;
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(receiver.mu);
      received.clear();
      reached.clear();
      for (const auto& [id, body] : receiver.pushes) {
        ++received[id];
        reached.insert(json::parse(body).value("chat_id", ""));
      }
    }
    if (std::includes(reached.begin(), reached.end(), reporters.begin(), reporters.end())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& r : reporters) EXPECT_TRUE(reached.count(r)) << "the receipt to " << r << " never arrived";
  int repeats = 0;
  for (const auto& [id, times] : received) repeats += times - 1;
  // Each node sends only the rows it claimed: a push goes out again only
  // when a kill cut it between the platform's answer and its record.
  EXPECT_LE(repeats, kills) << received.size() << " pushes, " << repeats << " repeats";

  // Redelivered to the other node than the one that is likely to have
  // answered: the same reply, nothing done twice.
  int replayed = 0;
  for (const auto& [n, reply] : acknowledged) {
    if (reply.find("已记账") == std::string::npos && reply.find("回执已私信") == std::string::npos) continue;
    auto again = send(nodes[(n + 1) % 2].port, message(n));
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, reply) << "request " << n << " was not replayed";
    if (++replayed == 60) break;
  }

  // What the database holds.
  auto c = ledger_internal::PgConnection::open(db);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  std::map<int, int> lines;
  int64_t size = 0, rows = 0, distinct = 0, top = -1;
  {
    auto& q = (*c)->statement(
        "SELECT e.leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name='shuangjiang' AND e.kind='txn'");
    while (q.step()) {
      json f = json::parse(q.column_blob(0));
      std::string item = f.value("item", "");
      if (item.rfind("第", 0) == 0 && item.find("笔") != std::string::npos)
        ++lines[std::stoi(item.substr(std::string("第").size()))];
    }
    auto& s = (*c)->statement(
        "SELECT l.size, count(*), count(DISTINCT e.idx), max(e.idx) FROM logs l JOIN entries e ON e.log_id=l.id"
        " WHERE l.name='shuangjiang' GROUP BY l.size");
    ASSERT_TRUE(s.step());
    size = s.column_int64(0), rows = s.column_int64(1), distinct = s.column_int64(2), top = s.column_int64(3);
    s.reset();
  }
  EXPECT_EQ(rows, size);
  EXPECT_EQ(distinct, size) << "an index used twice";
  EXPECT_EQ(top, size - 1) << "a gap in the indexes";
  // Every checkpoint served is the root of the final log's first `size`
  // leaves (its second and third lines: size, base64 root).
  std::multimap<uint64_t, Hash> served;
  for (const auto& note : checkpoints) {
    size_t a = note.find('\n'), b = note.find('\n', a + 1), c2 = note.find('\n', b + 1);
    ASSERT_NE(c2, std::string::npos) << note;
    auto root = hash_from_base64(note.substr(b + 1, c2 - b - 1));
    ASSERT_TRUE(root.is_ok()) << note;
    served.emplace(std::stoull(note.substr(a + 1, b - a - 1)), *root);
  }
  EXPECT_GT(served.size(), 20u);
  {
    CompactRange range;
    auto check = [&](uint64_t at) {
      auto [from, to] = served.equal_range(at);
      for (auto it = from; it != to; ++it)
        EXPECT_TRUE(it->second == range.root()) << "the checkpoint of size " << at << " is not a head of the log";
    };
    check(0);
    auto& q = (*c)->statement(
        "SELECT e.leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name='shuangjiang' ORDER BY e.idx");
    while (q.step()) {
      range.append(merkle_leaf_hash(q.column_blob(0)));
      check(range.size());
    }
    EXPECT_LE(served.rbegin()->first, range.size());
  }
  int posts = 0;
  for (const auto& [n, reply] : acknowledged) {
    if (n % 5 == 2 || reply.find("已记账") == std::string::npos) continue;
    EXPECT_EQ(lines[n], 2) << "acknowledged post " << n << " not there exactly once";
    ++posts;
  }
  for (const auto& [n, count] : lines) EXPECT_EQ(count, 2) << "post " << n << " half there, or twice";
  EXPECT_GT(posts, 50);

  EXPECT_EQ(nodes[0].server->stop(), 0) << *nodes[0].server->log;
  EXPECT_EQ(nodes[1].server->stop(), 0) << *nodes[1].server->log;
  auto verify = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + nodes[0].data + " verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  if (HasFailure())
    for (const auto& node : nodes) {
      std::string all = node.logs + *node.server->log;
      std::string wanted;  // the lines that say why, not every retried push
      for (size_t at = 0; at < all.size();) {
        size_t end = all.find('\n', at);
        if (end == std::string::npos) end = all.size();
        std::string line = all.substr(at, end - at);
        if (line.find(" failed (attempt ") == std::string::npos) wanted += line + "\n";
        at = end + 1;
      }
      ADD_FAILURE() << node.data << ":\n" << wanted.substr(0, 20000);
    }
  std::printf("two nodes: %zu acknowledged, %d posts, %zu receipts, %d kills, %d repeated pushes, log size %lld, "
              "%zu checkpoints served\n",
              acknowledged.size(), posts, reporters.size(), kills, repeats, static_cast<long long>(size), served.size());
}

// A server started without --shared-database serves its database alone:
// one started with it is refused beside it, and the other way round; serve
// --check says which; a SQLite folder is never shared.
TEST(TwoNodes, AServerAloneAndASharedOneExcludeEachOther) {
  std::string db = testing::pg_uri(testing::pg_fresh_database());
  ASSERT_FALSE(db.empty());
  testing::TempDir dir;
  std::string a = dir.file("a"), b = dir.file("b");
  ASSERT_EQ(testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + a + " --db '" + db +
                                 "' init --origin two.test/sunledger").exit_code,
            0);
  std::filesystem::copy(a, b);
  auto serve = [](const std::string& data, const std::string& more) {
    return testing::run_command("timeout 30 " + std::string(SUNLEDGER_BINARY) + " --data " + data +
                                " serve --listen 127.0.0.1:0 " + more);
  };
  {
    ServerProcess alone;
    alone.start(a, "");
    auto shared = serve(b, "--shared-database");
    EXPECT_EQ(shared.exit_code, 1) << shared.output;
    EXPECT_NE(shared.output.find("alone (started without --shared-database)"), std::string::npos) << shared.output;
    EXPECT_EQ(alone.stop(), 0);
  }
  {
    ServerProcess shared;
    shared.extra_args = {"--shared-database"};
    shared.start(a, "");
    auto alone = serve(b, "");
    EXPECT_EQ(alone.exit_code, 1) << alone.output;
    EXPECT_NE(alone.output.find("already serving the database"), std::string::npos) << alone.output;
    auto check = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + b +
                                      " serve --check --shared-database --listen 127.0.0.1:0");
    EXPECT_NE(check.output.find("✓ --shared-database: this server shares the database"), std::string::npos)
        << check.output;
    ServerProcess second;  // a second shared one starts
    second.extra_args = {"--shared-database"};
    second.start(b, "");
    EXPECT_EQ(second.stop(), 0) << *second.log;
    EXPECT_EQ(shared.stop(), 0) << *shared.log;
  }
  // A SQLite folder is served by one server alone.
  std::string lone = dir.file("sqlite");
  ASSERT_EQ(testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + lone + " init --origin two.test/sqlite")
                .exit_code,
            0);
  auto refused = serve(lone, "--shared-database");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("--shared-database: this folder's ledger is a SQLite file"), std::string::npos)
      << refused.output;
  auto check = testing::run_command(std::string(SUNLEDGER_BINARY) + " --data " + lone +
                                    " serve --check --shared-database --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("--shared-database: this folder's ledger is a SQLite file"), std::string::npos)
      << check.output;
}

}  // namespace
}  // namespace sunledger
