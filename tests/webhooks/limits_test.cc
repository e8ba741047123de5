// Request limits and what the logs may never contain.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "edge_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;
using namespace sunledger::testing;

struct Limits : GenericBotServer {
  Limits() : GenericBotServer("limits-secret-0123456789") {}

  httplib::Result signed_post(const std::string& body) {
    std::string id = "m" + std::to_string(std::rand()), ts = std::to_string(t.clock.now_unix_seconds());
    std::string sig = base64_encode(std::string(as_view(hmac_sha256(secret_raw, id + "." + ts + "." + body))));
    return s.client().Post("/webhooks/generic", {{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}},
                           body, "application/json");
  }
};

TEST_F(Limits, DeepJsonNestingIsRefused) {
  start({});
  std::string deep = std::string(5000, '[') + std::string(5000, ']');
  auto r = signed_post(deep);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  auto ok = signed_post(json{{"message_id", "x"}, {"chat_id", "g"}, {"chat_type", "group"}, {"sender_id", "u"},
                             {"sender_name", "u"}, {"text", "余额"}}.dump());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(Limits, ASlowClientIsCutOffByTheReadTimeout) {
  HttpServerOptions o;
  o.read_stall = std::chrono::seconds(1);
  start(o);
  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  std::string partial = "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":";
  ::send(fd, partial.data(), partial.size(), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  auto start_time = std::chrono::steady_clock::now();
  std::string answer;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // the first thing that happens: an answer or the close
  if (n > 0) answer.assign(buf, static_cast<size_t>(n));
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  // Cut off after the read timeout: closed, at most with an error status; never a 200.
  EXPECT_EQ(answer.find(" 200 "), std::string::npos) << answer;
  EXPECT_LT(waited, 4.0) << "the connection was not closed by the read timeout";
  ::close(fd);
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string many_ranges(int n) {
  std::string h = "bytes=0-";
  for (int i = 1; i < n; ++i) h += ",0-";
  return h;
}

// httplib 0.11.4 answers a multi-range request with one copy of the body per
// range, built in memory: 2,000 ranges turned a 29 KB page into 59 MB, and
// ten clients that never read took the server to 981 MB. Range is ignored on
// every route: the answer is the plain body, byte for byte.
TEST_F(Limits, RangeNeverMultipliesAResponse) {
  start({});
  std::vector<TransactionLine> lines;
  for (int i = 0; i < 40; ++i)
    lines.push_back(testing::txn("2022-11-02", true, "上级拨款", "水利专项资金第" + std::to_string(i) + "笔", 100 + i));
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", lines, testing::official()).is_ok());
  const std::string ranges = many_ranges(2000);
  ASSERT_GT(ranges.size(), 5000u);
  for (const char* path : {"/v1/villages/shuangjiang/entries", "/v1/villages", "/healthz", "/metrics-nope",
                           "/v1/villages/nowhere/entries", "/webhooks/generic"}) {
    auto plain = s.client().Get(path);
    ASSERT_TRUE(plain) << path;
    auto ranged = s.client().Get(path, {{"Range", ranges}});
    ASSERT_TRUE(ranged) << path;
    EXPECT_EQ(ranged->status, plain->status) << path;
    EXPECT_EQ(ranged->body.size(), plain->body.size()) << path;
    EXPECT_TRUE(ranged->body == plain->body) << path;  // not EXPECT_EQ: a multiplied body would flood the log
    // A single range is ignored too: never a 206.
    auto one = s.client().Get(path, {{"Range", "bytes=0-9"}});
    ASSERT_TRUE(one);
    EXPECT_NE(one->status, 206) << path;
    EXPECT_EQ(one->body.size(), plain->body.size()) << path;
  }
  auto page = s.client().Get("/v1/villages/shuangjiang/entries");
  ASSERT_GT(page->body.size(), 20'000u) << "the page must be large enough for the attack to matter";

  // Clients that send the request and never read: what the server holds for
  // them must stay small (with the multiplied answers it was ~60 MB each).
  long before = rss_kib();
  std::vector<int> fds;
  std::string req = "GET /v1/villages/shuangjiang/entries HTTP/1.1\r\nHost: x\r\nRange: " + ranges + "\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    int fd = connect_loopback(s.port);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  long after = rss_kib();
  EXPECT_LT(after - before, 40 * 1024) << "RSS grew from " << before << " KiB to " << after << " KiB";
  for (int fd : fds) ::close(fd);
}


// Requests refused before routing still get a metric label and a log line:
// only configured bots become labels, so no client can mint series (or write
// its bytes into the log) by inventing paths.
TEST_F(Limits, UnknownPathsShareOneLabel) {
  start({});
  auto c = s.client();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c.Post(("/webhooks/invented-" + std::to_string(i)).c_str(), std::string(70'000, 'x'), "application/json")->status, 413);
    EXPECT_EQ(c.Post(("/webhooks/made-up%0A" + std::to_string(i)).c_str(), "{}", "application/json")->status, 404);
    EXPECT_EQ(c.Get(("/nowhere/" + std::to_string(i)).c_str())->status, 404);
  }
  EXPECT_EQ(c.Post("/webhooks/generic", std::string(70'000, 'x'), "application/json")->status, 413);
  std::string m = c.Get("/metrics")->body;
  EXPECT_EQ(m.find("invented"), std::string::npos) << m;
  EXPECT_EQ(m.find("made-up"), std::string::npos) << m;
  EXPECT_EQ(m.find("nowhere"), std::string::npos) << m;
  EXPECT_NE(m.find("route=\"webhook_unknown\""), std::string::npos) << m;
  EXPECT_NE(m.find("route=\"webhook:generic\""), std::string::npos) << m;
}


// Every JSON error carries a stable code beside its message (README lists them).
TEST_F(Limits, EveryJsonErrorCarriesAStableCode) {
  start({});
  auto c = s.client();
  const std::set<std::string> known = {"invalid_argument", "unauthenticated", "permission_denied", "not_found",
                                       "method_not_allowed", "conflict", "length_required", "too_large",
                                       "unsupported_media_type", "rate_limited", "unavailable", "internal",
                                       "already_exists", "failed_precondition", "data_loss", "month_out_of_order"};
  std::vector<httplib::Result> answers;
  answers.push_back(c.Get("/nowhere"));
  answers.push_back(c.Get("/v1/villages/nowhere/checkpoint"));
  answers.push_back(c.Get("/v1/villages/shuangjiang/entries?from=x"));
  answers.push_back(c.Post("/webhooks/generic", std::string(70'000, 'x'), "application/json"));
  answers.push_back(c.Post("/webhooks/generic", "{}", "application/json"));
  answers.push_back(c.Post("/webhooks/nobody", "{}", "application/json"));
  answers.push_back(c.Get("/v1/complaints"));
  answers.push_back(c.Post("/v1/villages/shuangjiang/entries", "[]", "application/json"));
  for (auto& a : answers) {
    ASSERT_TRUE(a);
    EXPECT_GE(a->status, 400);
    json j = json::parse(a->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << a->body;
    EXPECT_TRUE(j["error"].is_string()) << a->body;
    ASSERT_TRUE(j["code"].is_string()) << a->body;
    EXPECT_TRUE(known.count(j["code"].get<std::string>())) << a->body;
  }
}

}  // namespace
}  // namespace sunledger
