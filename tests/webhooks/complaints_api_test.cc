// The inspectors' complaints API over loopback, with real tokens.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bot/outbox.h"
#include "server_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;

struct ComplaintsApi : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  testing::RunningServer s;
  std::string zhuting, all, official;
  std::string r1, r2;

  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.reaches_person = [](const std::string&) { return true; };
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
    zhuting = *bot->create_token({Role::kInspector, "", "朱亭镇", "zt"});
    all = *bot->create_token({Role::kInspector, "", "all", "district"});
    official = *bot->create_token({Role::kOfficial, "shuangjiang", "", ""});
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) -> Status {
      auto a = bot->complaints().file(txn, "shuangjiang", "水利专项资金被挪用, \"道路\"", Reporter{"generic", "li", "李", "dm-li"});
      auto b = bot->complaints().file(txn, "nanzhou", "保洁费虚报", std::nullopt);
      if (!a.is_ok() || !b.is_ok()) return internal_error("file");
      r1 = a->receipt;
      r2 = b->receipt;
      return Status::ok();
    }).is_ok());
    s.start(t.ledger.get(), bot.get());
  }

  httplib::Result get(const std::string& path, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return s.client().Get(path.c_str(), h);
  }
  httplib::Result post(const std::string& path, const json& body, const std::string& token) {
    return s.client().Post(path.c_str(), {{"Authorization", "Bearer " + token}}, body.dump(), "application/json");
  }
};

TEST_F(ComplaintsApi, ListsByAreaAndFilters) {
  auto z = json::parse(get("/v1/complaints", zhuting)->body);
  ASSERT_EQ(z["complaints"].size(), 1u);
  EXPECT_EQ(z["complaints"][0]["receipt"], r1);
  EXPECT_EQ(z["complaints"][0]["reporter"]["user"], "li");
  EXPECT_EQ(json::parse(get("/v1/complaints", all)->body)["complaints"].size(), 2u);
  EXPECT_EQ(json::parse(get("/v1/complaints?village=nanzhou", zhuting)->body)["complaints"].size(), 0u);
  EXPECT_EQ(json::parse(get("/v1/complaints?village=nanzhou", all)->body)["complaints"][0]["reporter"], nullptr);
  EXPECT_EQ(json::parse(get("/v1/complaints?status=received", all)->body)["complaints"].size(), 2u);
  EXPECT_EQ(json::parse(get("/v1/complaints?status=resolved", all)->body)["complaints"].size(), 0u);
  EXPECT_EQ(json::parse(get("/v1/complaints?overdue=true", all)->body)["complaints"].size(), 0u);
  t.clock.advance(6 * 86400);
  EXPECT_EQ(json::parse(get("/v1/complaints?overdue=true", all)->body)["complaints"].size(), 2u);
  EXPECT_EQ(get("/v1/complaints?status=done", all)->status, 400);
  EXPECT_EQ(get("/v1/complaints?overdue=maybe", all)->status, 400);
}

TEST_F(ComplaintsApi, ARevokedTokenIsToldSo) {
  auto tokens = bot->list_tokens();
  ASSERT_TRUE(tokens.is_ok());
  int64_t id = 0;
  for (const auto& tk : *tokens)
    if (tk.principal.label == "zt") id = tk.id;
  ASSERT_TRUE(bot->revoke_token(id).is_ok());
  auto r = get("/v1/complaints", zhuting);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("令牌已被吊销"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("token revoked"), std::string::npos) << r->body;
  auto wrong = get("/v1/complaints", "sl_wrong_token_value");
  EXPECT_NE(wrong->body.find("令牌无效 (invalid token)"), std::string::npos) << wrong->body;
}

// The dead-letter list is a route of its own in /metrics, not "other".
TEST_F(ComplaintsApi, DeadLettersHaveTheirOwnRouteLabel) {
  ASSERT_EQ(get("/v1/outbox/dead", all)->status, 200);
  std::string m = s.client().Get("/metrics")->body;
  EXPECT_NE(m.find("sunledger_http_requests_total{route=\"/v1/outbox/dead\",status=\"200\"}"), std::string::npos) << m;
  EXPECT_EQ(m.find("route=\"other\""), std::string::npos) << m;
}

TEST_F(ComplaintsApi, TokensAndRoles) {
  EXPECT_EQ(get("/v1/complaints", "")->status, 401);
  EXPECT_EQ(get("/v1/complaints", "sl_wrong")->status, 401);
  EXPECT_EQ(get("/v1/complaints", official)->status, 403);
  EXPECT_EQ(get("/v1/complaints/" + r1, official)->status, 403);
  EXPECT_EQ(get("/v1/complaints.csv", official)->status, 403);
  EXPECT_EQ(get("/v1/complaints/stats", official)->status, 403);
  EXPECT_EQ(post("/v1/complaints/" + r1 + "/transitions", {{"to", "rejected"}, {"note", "x"}}, official)->status, 403);
  EXPECT_EQ(get("/v1/complaints/" + r2, zhuting)->status, 404);  // outside the area: same as unknown
  EXPECT_EQ(get("/v1/complaints/0000-0000-0000", all)->status, 404);
  EXPECT_EQ(get("/v1/complaints/garbage", all)->status, 404);
}

TEST_F(ComplaintsApi, TransitionsPushToTheReporter) {
  auto bad = post("/v1/complaints/" + r1 + "/transitions", {{"to", "resolved"}, {"note", "x"}}, zhuting);
  EXPECT_EQ(bad->status, 409) << bad->body;
  EXPECT_EQ(post("/v1/complaints/" + r1 + "/transitions", {{"to", "assigned"}}, zhuting)->status, 400);
  EXPECT_EQ(post("/v1/complaints/" + r1 + "/transitions", {{"to", "reopened"}}, zhuting)->status, 400);
  EXPECT_EQ(post("/v1/complaints/" + r1 + "/transitions", {{"note", "x"}}, zhuting)->status, 400);
  auto ok = post("/v1/complaints/" + r1 + "/transitions", {{"to", "assigned"}, {"assignee", "朱亭镇纪委"}, {"note", "请核查"}}, zhuting);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["status"], "assigned");
  EXPECT_EQ(json::parse(ok->body)["events"][1]["actor"], "api:zt");
  auto due = Outbox(t.ledger.get()).due(t.clock.now_unix_seconds(), 10);
  ASSERT_EQ(due->size(), 1u);
  // To the reporter's own user id, privately.
  EXPECT_EQ((*due)[0].chat_id, "li");
  EXPECT_EQ((*due)[0].audience, Audience::kPerson);
  EXPECT_EQ(post("/v1/complaints/" + r2 + "/transitions", {{"to", "rejected"}, {"note", "x"}}, zhuting)->status, 404);
  EXPECT_EQ(post("/v1/complaints/" + r2 + "/transitions", {{"to", "rejected"}, {"note", "不属实"}}, all)->status, 200);
  EXPECT_EQ(Outbox(t.ledger.get()).due(t.clock.now_unix_seconds(), 10)->size(), 1u);  // anonymous: no push
}

TEST_F(ComplaintsApi, StatsAndCsv) {
  post("/v1/complaints/" + r1 + "/transitions", {{"to", "assigned"}, {"assignee", "纪委"}}, all);
  post("/v1/complaints/" + r1 + "/transitions", {{"to", "investigating"}, {"note", "查"}}, all);
  t.clock.advance(10 * 86400);
  post("/v1/complaints/" + r1 + "/transitions", {{"to", "resolved"}, {"note", "属实"}}, all);
  auto stats = json::parse(get("/v1/complaints/stats", all)->body)["stats"];
  ASSERT_EQ(stats.size(), 2u);
  json sj;
  for (const auto& st : stats)
    if (st["village"] == "shuangjiang") sj = st;
  EXPECT_EQ(sj["received"], 1);
  EXPECT_EQ(sj["resolved"], 1);
  EXPECT_DOUBLE_EQ(sj["median_days_to_resolve"].get<double>(), 10.0);
  EXPECT_TRUE(sj["satisfaction_rate"].is_null()) << sj;  // nobody rated yet
  EXPECT_EQ(sj["reopen_rate"], 0.0) << sj;               // resolved, and not reopened: a measurement
  // Nothing resolved, nothing rated: null, never a 0.0 that reads as a measurement.
  for (const auto& st : stats)
    if (st["village"] == "nanzhou") {
      EXPECT_TRUE(st["median_days_to_resolve"].is_null()) << st;
      EXPECT_TRUE(st["satisfaction_rate"].is_null()) << st;
      EXPECT_TRUE(st["reopen_rate"].is_null()) << st;  // nothing resolved, so nothing could be reopened
    }
  auto csv = get("/v1/complaints.csv", all);
  ASSERT_EQ(csv->status, 200);
  EXPECT_EQ(csv->get_header_value("Content-Type").rfind("text/csv", 0), 0u);
  EXPECT_EQ(csv->body.rfind("receipt,village,status,", 0), 0u);
  EXPECT_NE(csv->body.find(r1 + ",shuangjiang,resolved,"), std::string::npos) << csv->body;
  EXPECT_NE(csv->body.find("\"水利专项资金被挪用, \"\"道路\"\"\""), std::string::npos) << csv->body;
  EXPECT_EQ(get("/v1/complaints.csv", zhuting)->body.find(r2), std::string::npos);
}


// A complaint text is whatever a stranger typed: in the CSV no cell may start
// a spreadsheet formula.
TEST_F(ComplaintsApi, CsvCellsNeverStartAFormula) {
  std::vector<std::string> texts = {"=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"};
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) -> Status {
    for (const auto& text : texts)
      if (auto c = bot->complaints().file(txn, "shuangjiang", text, std::nullopt); !c.is_ok()) return c.status();
    return Status::ok();
  }).is_ok());
  auto csv = get("/v1/complaints.csv", all);
  ASSERT_EQ(csv->status, 200);
  // Split into cells (quoted cells may hold commas and doubled quotes).
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < csv->body.size(); ++i) {
    char ch = csv->body[i];
    if (quoted) {
      if (ch == '"' && i + 1 < csv->body.size() && csv->body[i + 1] == '"') cell += '"', ++i;
      else if (ch == '"') quoted = false;
      else cell += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',' || ch == '\n') {
      cells.push_back(cell);
      cell.clear();
    } else if (ch != '\r') {
      cell += ch;
    }
  }
  int prefixed = 0;
  for (const auto& c : cells) {
    EXPECT_TRUE(c.empty() || std::string("=+-@\t\r").find(c[0]) == std::string::npos) << c;
    prefixed += !c.empty() && c[0] == '\'';
  }
  EXPECT_GE(prefixed, 5);
}

}  // namespace
}  // namespace sunledger
