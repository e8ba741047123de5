#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "ledger/merkle.h"
#include "server_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::official;
using testing::txn;

struct ReadApi : ::testing::Test {
  testing::TestLedger t;
  testing::RunningServer s;

  void SetUp() override {
    Ledger& L = *t.ledger;
    ASSERT_TRUE(L.add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(L.register_project("shuangjiang", {"水利建设", 30'000'000, true}, official()).is_ok());
    ASSERT_TRUE(L.post_transactions("shuangjiang", {txn("2022-11-02", true, "上级拨款", "到账", 30'000'000, "水利建设"),
                                                    txn("2022-11-10", false, "工程款", "水渠", 15'760'000, "水利建设")},
                                    official())
                    .is_ok());
    ASSERT_TRUE(L.close_month("shuangjiang", "2022-11", official()).is_ok());
    s.start(&L);
  }
};

TEST_F(ReadApi, VillagesKeyAndCheckpoint) {
  auto c = s.client();
  auto r = c.Get("/v1/villages");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["villages"][0]["id"], "shuangjiang");
  EXPECT_EQ(j["villages"][0]["size"], 4);
  auto key = c.Get("/v1/key");
  EXPECT_EQ(key->body, t.ledger->verifier_key() + "\n");
  auto cp = c.Get("/v1/villages/shuangjiang/checkpoint");
  EXPECT_EQ(cp->status, 200);
  EXPECT_EQ(cp->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  auto opened = open_checkpoint(cp->body, t.ledger->verifier_key());
  ASSERT_TRUE(opened.is_ok());
  EXPECT_EQ(opened->size, 4u);
  EXPECT_EQ(c.Get("/v1/villages/nowhere/checkpoint")->status, 404);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
}

TEST_F(ReadApi, EntriesCarryTheirLeafBytes) {
  auto c = s.client();
  auto r = c.Get("/v1/villages/shuangjiang/entries?from=1&to=3");
  ASSERT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["index"], 1);
  EXPECT_EQ(j["entries"][0]["amount"], 30'000'000);
  EXPECT_EQ(j["next"], 3);
  // Recompute the leaf hash from what the API returned and prove it.
  std::string leaf = *base64_decode(j["entries"][1]["leaf"].get<std::string>());
  EXPECT_EQ(json::parse(leaf)["item"], "水渠");
  auto p = json::parse(c.Get("/v1/villages/shuangjiang/proof/inclusion?index=2&size=4")->body);
  std::vector<std::string> proof;
  for (const auto& h : p["proof"]) proof.push_back(*base64_decode(h.get<std::string>()));
  auto cp = open_checkpoint(*t.ledger->checkpoint("shuangjiang"), t.ledger->verifier_key());
  EXPECT_TRUE(verify_inclusion(2, 4, as_view(merkle_leaf_hash(leaf)), proof, as_view(cp->root)));
  EXPECT_EQ(json::parse(c.Get("/v1/villages/shuangjiang/entries")->body)["entries"].size(), 4u);
}

TEST_F(ReadApi, ConsistencyProofAndMonth) {
  auto c = s.client();
  auto r = c.Get("/v1/villages/shuangjiang/proof/consistency?from=1&to=4");
  ASSERT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  std::vector<std::string> proof;
  for (const auto& h : j["proof"]) proof.push_back(*base64_decode(h.get<std::string>()));
  EXPECT_TRUE(verify_consistency(1, 4, *base64_decode(j["root_from"].get<std::string>()),
                                 *base64_decode(j["root_to"].get<std::string>()), proof));
  auto m = c.Get("/v1/villages/shuangjiang/months/2022-11");
  ASSERT_EQ(m->status, 200);
  auto mj = json::parse(m->body);
  EXPECT_EQ(mj["statement"]["expense_total"], 15'760'000);
  EXPECT_EQ(mj["lines"].size(), 2u);
  EXPECT_TRUE(open_checkpoint(mj["checkpoint"].get<std::string>(), t.ledger->verifier_key()).is_ok());
}

// Certificate Transparency's get-entries convention: a `to` beyond the log
// gives what exists; the answer says where it stopped.
TEST_F(ReadApi, EntriesClampToToTheLogSize) {
  auto c = s.client();
  auto r = c.Get("/v1/villages/shuangjiang/entries?from=0&to=100");
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["entries"].size(), 4u);
  EXPECT_EQ(j["to"], 4);
  EXPECT_EQ(j["size"], 4);
  EXPECT_FALSE(j.contains("next"));
  auto tail = json::parse(c.Get("/v1/villages/shuangjiang/entries?from=2&to=100")->body);
  EXPECT_EQ(tail["entries"].size(), 2u);
  EXPECT_EQ(tail["entries"][0]["index"], 2);
  auto at_end = c.Get("/v1/villages/shuangjiang/entries?from=4&to=100");
  ASSERT_EQ(at_end->status, 200);
  EXPECT_EQ(json::parse(at_end->body)["entries"].size(), 0u);
  // A `from` past the end, with or without `to`: said so, never "after to 4" for a `to` nobody gave.
  for (const char* path : {"/v1/villages/shuangjiang/entries?from=100", "/v1/villages/shuangjiang/entries?from=100&to=200"}) {
    auto past = c.Get(path);
    ASSERT_EQ(past->status, 400) << path;
    auto e = json::parse(past->body);
    EXPECT_EQ(e["code"], "invalid_argument");
    EXPECT_NE(e["error"].get<std::string>().find("范围超出账本:本村账本共4条"), std::string::npos) << past->body;
    EXPECT_NE(e["error"].get<std::string>().find("from 100 is beyond the log of size 4"), std::string::npos) << past->body;
  }
}

// The month answer's fields are the ones README's read API table names.
TEST_F(ReadApi, MonthAnswerHasTheDocumentedFields) {
  auto j = json::parse(s.client().Get("/v1/villages/shuangjiang/months/2022-11")->body);
  for (const char* k : {"village", "month", "statement", "statement_index", "tree_size", "checkpoint", "lines"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["statement_index"], 3);
  EXPECT_EQ(j["tree_size"], 4);
}

TEST_F(ReadApi, BadRequestsGet4xxWithJson) {
  auto c = s.client();
  struct Case {
    const char* path;
    int status;
  } cases[] = {
      {"/v1/villages/nowhere/entries", 404},
      {"/v1/villages/shuangjiang/entries?from=3&to=2", 400},
      {"/v1/villages/shuangjiang/entries?from=5&to=99", 400},
      {"/v1/villages/shuangjiang/entries?from=-1", 400},
      {"/v1/villages/shuangjiang/entries?from=abc", 400},
      {"/v1/villages/shuangjiang/entries?from=99999999999999999999", 400},
      {"/v1/villages/shuangjiang/proof/inclusion?index=4&size=4", 400},
      {"/v1/villages/shuangjiang/proof/inclusion?index=0&size=5", 400},
      {"/v1/villages/shuangjiang/proof/inclusion?index=0", 400},
      {"/v1/villages/shuangjiang/proof/consistency?from=0&to=4", 400},
      {"/v1/villages/shuangjiang/proof/consistency?from=3&to=2", 400},
      {"/v1/villages/shuangjiang/months/2022-13", 400},
      {"/v1/villages/shuangjiang/months/2022-10", 404},
      {"/v1/villages/nowhere/months/2022-11", 404},
      {"/v1/nothing", 404},
  };
  for (const auto& k : cases) {
    auto r = c.Get(k.path);
    ASSERT_TRUE(r) << k.path;
    EXPECT_EQ(r->status, k.status) << k.path << " " << r->body;
    auto j = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << k.path << " " << r->body;
  }
}

// Raw sockets: httplib's client would not send these.
std::string raw_request(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  ::send(fd, request.data(), request.size(), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  return out;
}

TEST_F(ReadApi, RefusesBodiesItCannotBound) {
  EXPECT_NE(raw_request(s.port, "POST /v1/key HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                .find(" 411 "),
            std::string::npos);
  EXPECT_NE(raw_request(s.port, "POST /v1/key HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")
                .find(" 415 "),
            std::string::npos);
  // Neither Content-Length nor Transfer-Encoding: an empty body (RFC 9112
  // §6.3), so the request is routed (no POST route here: 404), never 411.
  EXPECT_NE(raw_request(s.port, "POST /v1/key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").find(" 404 "),
            std::string::npos);
  auto c = s.client();
  auto big = c.Post("/v1/key", std::string(70 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

TEST_F(ReadApi, MetricsCountRequests) {
  auto c = s.client();
  c.Get("/v1/villages");
  c.Get("/v1/villages/nowhere/checkpoint");
  // A request is counted by the logger after its answer went out, possibly
  // after the next request (on another connection) was served: wait for it.
  auto m = c.Get("/metrics");
  for (int i = 0; i < 100 && m->body.find("status=\"404\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = c.Get("/metrics");
  }
  EXPECT_NE(m->body.find("sunledger_http_requests_total{route=\"/v1/villages\",status=\"200\"} 1"), std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("route=\"/v1/villages/{id}/checkpoint\",status=\"404\""), std::string::npos);
  EXPECT_NE(m->body.find("sunledger_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m->body.find("sunledger_ledger_entries 4"), std::string::npos) << m->body;
  auto at = m->body.find("\nsunledger_storage_memory_bytes ");
  ASSERT_NE(at, std::string::npos) << m->body;
  EXPECT_GT(std::stod(m->body.substr(at + 32)), 0.0);
}

TEST(ListenAddress, Parses) {
  auto a = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  EXPECT_EQ(parse_listen_address("[::1]:0")->first, "::1");
  EXPECT_EQ(parse_listen_address(":9")->first, "0.0.0.0");
  EXPECT_FALSE(parse_listen_address("nonsense").is_ok());
  EXPECT_FALSE(parse_listen_address("h:99999").is_ok());
}

}  // namespace
}  // namespace sunledger
