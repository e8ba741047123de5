// The edge's index of a request head (webhooks/edge_framing.h): the hot path
// looks headers up there instead of in httplib's case-insensitive std::map
// (issue #18), and must get what httplib's own lookups give, whatever the
// client sends: names in any case, a name twice, empty values, values with
// '%' (httplib percent-decodes them), spaces and tabs around values, bytes
// above 0x7f, more fields than the index holds.
#include <random>

#include "edge_fixture.h"
#include "webhooks/edge_core.h"
#include "webhooks/edge_framing.h"
#include "webhooks/http_edge.h"

namespace sunledger {
namespace {

using namespace sunledger::testing;

TEST(FieldIndex, FirstFieldOfANameInAnyCaseWithItsValueTrimmed) {
  const std::string head =
      "POST /x HTTP/1.1\r\nHost: a\r\nWebhook-Id:  \t msg_1 \t\r\nwebhook-id: msg_2\r\nX-Empty:\r\nX-Pct: a%20b\r\n\r\n";
  edge::FieldIndex index;
  edge::index_fields(head, index);
  ASSERT_TRUE(index.complete);
  ASSERT_EQ(index.count, 5u);
  const auto* f = edge::find_field(head, index, "WEBHOOK-ID");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(head.substr(f->value, f->value_len), "msg_1");
  EXPECT_EQ(head.substr(f->name, f->name_len), "Webhook-Id");
  f = edge::find_field(head, index, "x-empty");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->value_len, 0u);
  EXPECT_EQ(edge::find_field(head, index, "webhook-i"), nullptr);
  EXPECT_EQ(edge::find_field(head, index, "absent"), nullptr);

  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= edge::FieldIndex::kMax; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  edge::index_fields(many + "\r\n", index);
  EXPECT_FALSE(index.complete);  // lookups then go to httplib
}

struct EdgeFields : GenericBotServer {
  EdgeFields() : GenericBotServer("edge-fields-secret-0123") { extra_routes = add_route; }

  static const std::vector<std::string>& names() {
    static const std::vector<std::string> n = {"webhook-id", "Webhook-Signature", "WEBHOOK-TIMESTAMP", "x-a", "X-B",
                                               "host", "x-absent", "transfer-encoding", "x-many-30"};
    return n;
  }

  // Answers how many lookups differed from httplib's and how many the index
  // answered itself (the rest it left to httplib).
  static void add_route(httplib::Server& routes) {
    auto check = [](const httplib::Request& req, httplib::Response& res) {
      int differ = 0, indexed = 0;
      for (const std::string& name : names()) {
        if (EdgeServer::header_value(req, name) != req.get_header_value(name)) ++differ;
        if (EdgeServer::has_header(req, name) != req.has_header(name)) ++differ;
        if (edge::tl_stream != nullptr && edge::tl_stream->field(name)) ++indexed;
      }
      res.set_content(std::to_string(differ) + " " + std::to_string(indexed), "text/plain");
    };
    routes.Get("/test/fields", check);
    routes.Post("/test/fields", check);
  }
};

TEST_F(EdgeFields, EveryLookupGivesWhatHttplibGives) {
  start();
  const std::vector<std::string> names = {"Webhook-Id", "webhook-id", "WEBHOOK-SIGNATURE", "webhook-timestamp", "X-A",
                                          "x-a", "x-b", "X-B"};
  const std::vector<std::string> values = {"v", " v ", "\tv\t", "", " ", "a%20b", "%zz", "%u4e2d", "100%", "a b",
                                           "\xe4\xb8\xad\xe6\x96\x87", "x,y", "v1,abc= v1,def="};
  std::mt19937 rng(20261201);
  int total_indexed = 0;
  for (int i = 0; i < 300; ++i) {
    std::string head = std::string(i % 2 ? "POST" : "GET") + " /test/fields HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    size_t fields = rng() % 6;
    for (size_t k = 0; k < fields; ++k) head += names[rng() % names.size()] + ":" + values[rng() % values.size()] + "\r\n";
    if (i % 10 == 0)  // more fields than the index holds
      for (int k = 0; k < 40; ++k) head += "X-Many-" + std::to_string(k) + ": " + std::to_string(k) + "\r\n";
    head += "Connection: close\r\n\r\n";
    Received r = exchange(head);
    auto answers = split_answers(r.bytes);
    ASSERT_EQ(answers.size(), 1u) << head;
    ASSERT_EQ(answers[0].status, 200) << head;
    int differ = -1, indexed = -1;
    ASSERT_EQ(std::sscanf(answers[0].body.c_str(), "%d %d", &differ, &indexed), 2) << answers[0].body;
    EXPECT_EQ(differ, 0) << head;
    if (i % 10 == 0) {
      EXPECT_EQ(indexed, 0) << head;  // all left to httplib
    }
    total_indexed += indexed;
  }
  // The index answered most lookups itself (absent names, plain values).
  EXPECT_GT(total_indexed, 300 * 4);
}

}  // namespace
}  // namespace sunledger
