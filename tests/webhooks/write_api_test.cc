// The township accounting API over loopback, with real tokens.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bot/outbox.h"
#include "server_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;

struct WriteApi : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  testing::RunningServer s;
  std::string token, other_token, inspector_token;

  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"zhuting", "朱亭村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", "generic", "g1").is_ok());
    token = *bot->create_token({Role::kOfficial, "shuangjiang", "", "station"});
    other_token = *bot->create_token({Role::kOfficial, "zhuting", "", ""});
    inspector_token = *bot->create_token({Role::kInspector, "", "all", ""});
    s.start(t.ledger.get(), bot.get());
  }

  httplib::Result post(const std::string& path, const std::string& body, const std::string& type,
                       const std::string& bearer) {
    auto c = s.client();
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    return c.Post(path.c_str(), h, body, type.c_str());
  }
};

const std::string kCsv =
    "date,type,category,item,amount,project,fund,counterparty,note\n"
    "2022-11-02,income,上级拨款,水利专项资金,\"300,000.00\",水利建设,专项资金,区水利局,\n"
    "2022-11-10,expense,工程款,水渠修缮,15.76万,水利建设,专项资金,,\n";

TEST_F(WriteApi, ProjectsEntriesAndPublish) {
  auto p = post("/v1/villages/shuangjiang/projects", R"({"name":"水利建设","approved":"30万","special":true})",
                "application/json", token);
  ASSERT_EQ(p->status, 200) << p->body;
  EXPECT_EQ(json::parse(p->body)["index"], 0);

  auto e = post("/v1/villages/shuangjiang/entries", kCsv, "text/csv", token);
  ASSERT_EQ(e->status, 200) << e->body;
  auto j = json::parse(e->body);
  EXPECT_EQ(j["indexes"], json::array({1, 2}));
  EXPECT_TRUE(open_checkpoint(j["checkpoint"].get<std::string>(), t.ledger->verifier_key()).is_ok());

  auto js = post("/v1/villages/shuangjiang/entries",
                 R"([{"date":"2022-11-20","type":"expense","category":"工程款","item":"道路","amount":142400,"project":"","fund":"专项资金"}])",
                 "application/json", token);
  ASSERT_EQ(js->status, 200) << js->body;
  EXPECT_EQ(json::parse(js->body)["indexes"], json::array({3}));

  auto pub = post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", token);
  ASSERT_EQ(pub->status, 200) << pub->body;
  auto pj = json::parse(pub->body);
  EXPECT_EQ(pj["groups_notified"], 1);
  EXPECT_EQ(pj["statement"]["expense_total"], 30'000'000);
  EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 1);
  // No witness quorum here: sent at once; the row still names its month
  // (a server run with --witness-quorum would hold it, see WitnessQuorum.*).
  EXPECT_EQ(pj["waiting_for_witnesses"], 0);
  auto held = Outbox(t.ledger.get()).held_notices();
  ASSERT_TRUE(held.is_ok());
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].held_village, "shuangjiang");
  EXPECT_EQ((*held)[0].held_month, "2022-11");
  EXPECT_TRUE(Outbox(t.ledger.get()).authentic((*held)[0]));
  EXPECT_EQ(post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", token)->status, 409);
}

// Publishing a later month is 409 with its own code and the month to publish
// first; nothing is closed (the skipped months used to be sealed silently).
TEST_F(WriteApi, PublishingALaterMonthNamesTheMonthToPublishFirst) {
  auto e = post("/v1/villages/shuangjiang/entries",
                "date,type,category,item,amount,project,fund,counterparty,note\n2022-10-05,income,租金,鱼塘承包,2000,,,,\n",
                "text/csv", token);
  ASSERT_EQ(e->status, 200) << e->body;
  auto early = post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", token);
  ASSERT_EQ(early->status, 409) << early->body;
  EXPECT_EQ(json::parse(early->body)["code"], "month_out_of_order");
  EXPECT_EQ(json::parse(early->body)["month_to_close"], "2022-10");
  ASSERT_EQ(post("/v1/villages/shuangjiang/months/2022-10/publish", "", "application/json", token)->status, 200);
  uint64_t size = *t.ledger->log_size("shuangjiang");
  auto skip = post("/v1/villages/shuangjiang/months/2022-12/publish", "", "application/json", token);
  ASSERT_EQ(skip->status, 409) << skip->body;
  auto j = json::parse(skip->body);
  EXPECT_EQ(j["code"], "month_out_of_order");
  EXPECT_EQ(j["month_to_close"], "2022-11");
  EXPECT_NE(j["error"].get<std::string>().find("close 2022-11 first"), std::string::npos) << skip->body;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), size);
  // A month already closed keeps its own code.
  auto again = post("/v1/villages/shuangjiang/months/2022-10/publish", "", "application/json", token);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(json::parse(again->body)["code"], "failed_precondition");
  EXPECT_EQ(post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", token)->status, 200);
  EXPECT_EQ(post("/v1/villages/shuangjiang/months/2022-12/publish", "", "application/json", token)->status, 200);
}

TEST_F(WriteApi, EveryBadRowIsNamedAndNothingWritten) {
  auto r = post("/v1/villages/shuangjiang/entries",
                "date,type,category,item,amount,project,fund,counterparty,note\n"
                "2022-11-02,income,a,b,100,,,,\n"
                "2022-11-02,gift,a,b,100,,,,\n"
                "2022-11-31,income,a,b,100,,,,\n",
                "text/csv", token);
  ASSERT_EQ(r->status, 400);
  auto j = json::parse(r->body);
  ASSERT_EQ(j["errors"].size(), 2u);
  EXPECT_EQ(j["errors"][0]["line"], 3);
  EXPECT_EQ(j["errors"][1]["line"], 4);
  // Errors found by the ledger (unknown project) are structured too.
  r = post("/v1/villages/shuangjiang/entries",
           R"([{"date":"2022-11-02","type":"income","category":"其他","item":"b","amount":"1"},
               {"date":"2022-11-02","type":"income","category":"其他","item":"b","amount":"1","project":"无"}])",
           "application/json", token);
  ASSERT_EQ(r->status, 400) << r->body;
  j = json::parse(r->body);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["line"], 2);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", "[]", "application/json", token)->status, 400);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", "{", "application/json", token)->status, 400);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", std::string(100, '[') + std::string(100, ']'), "application/json", token)->status, 400);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", "x", "text/plain", token)->status, 415);
  EXPECT_EQ(post("/v1/villages/shuangjiang/projects", R"({"name":"x","approved":"-1"})", "application/json", token)->status, 400);
  EXPECT_EQ(post("/v1/villages/shuangjiang/projects", R"({"name":"x","approved":"1","special":"yes"})", "application/json", token)->status, 400);
  EXPECT_EQ(post("/v1/villages/shuangjiang/months/2022-13/publish", "", "application/json", token)->status, 400);
}

// The JSON rows take the CSV's correction types (issue #16): an opening
// balance, a transfer (to_fund, or counterparty as in the CSV) and a return,
// each its own entry kind; a bad type names the five.
TEST_F(WriteApi, JsonRowsTakeOpeningBalancesTransfersAndReturns) {
  ASSERT_EQ(post("/v1/villages/shuangjiang/projects", R"({"name":"水利建设","approved":"30万","special":true})",
                 "application/json", token)->status, 200);
  auto r = post("/v1/villages/shuangjiang/entries",
                R"([{"date":"2022-11-01","type":"期初余额","amount":"5000","fund":"现金"},
                    {"date":"2022-11-01","type":"opening","amount":"20万","fund":"银行存款"},
                    {"date":"2022-11-03","type":"income","category":"上级拨款","item":"到账","amount":300000,"project":"水利建设","fund":"专项资金"},
                    {"date":"2022-11-10","type":"transfer","item":"取备用金","amount":"2000","fund":"银行存款","to_fund":"现金"},
                    {"date":"2022-11-11","type":"转账","amount":"500","fund":"现金","counterparty":"银行存款"},
                    {"date":"2022-11-20","type":"return","item":"结余退回","amount":"142400","project":"水利建设","counterparty":"区财政局"}])",
                "application/json", token);
  ASSERT_EQ(r->status, 200) << r->body;
  auto indexes = json::parse(r->body)["indexes"];
  ASSERT_EQ(indexes.size(), 6u);
  auto entries = t.ledger->entries("shuangjiang", indexes[0].get<uint64_t>(), indexes[5].get<uint64_t>() + 1);
  ASSERT_TRUE(entries.is_ok());
  EXPECT_EQ(entry_string((*entries)[0].fields, "kind"), "opening_balance");
  EXPECT_EQ(entry_string((*entries)[3].fields, "kind"), "transfer");
  EXPECT_EQ(entry_string((*entries)[3].fields, "to_fund"), "现金");
  EXPECT_EQ(entry_string((*entries)[4].fields, "to_fund"), "银行存款");
  EXPECT_EQ(entry_string((*entries)[4].fields, "counterparty"), "");
  EXPECT_EQ(entry_string((*entries)[5].fields, "kind"), "special_return");
  EXPECT_EQ(entry_string((*entries)[5].fields, "counterparty"), "区财政局");
  // A return above what the project has left is refused by the ledger, as a row error; a bad type names the five.
  auto over = post("/v1/villages/shuangjiang/entries",
                   R"([{"date":"2022-11-21","type":"return","amount":"157600.01","project":"水利建设"}])", "application/json", token);
  ASSERT_EQ(over->status, 409) << over->body;
  EXPECT_NE(json::parse(over->body)["errors"][0]["reason"].get<std::string>().find("尚未使用的专项资金157,600.00元"), std::string::npos)
      << over->body;
  auto bad = post("/v1/villages/shuangjiang/entries", R"([{"date":"2022-11-21","type":"gift","amount":"1"}])",
                  "application/json", token);
  ASSERT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("期初余额、转账 或 退回"), std::string::npos) << bad->body;
  auto pub = post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", token);
  ASSERT_EQ(pub->status, 200) << pub->body;
  auto st = json::parse(pub->body)["statement"];
  EXPECT_EQ(st["opening_balances"], 205'000'00);
  EXPECT_EQ(st["transfers"], 2'500'00);
  EXPECT_EQ(st["returned"], 142'400'00);
  EXPECT_EQ(st["fund_balances"]["现金"], 6'500'00);
}

// nlohmann keeps the last of two equal keys, so "amount":"1","amount":"99999999"
// booked 99,999,999.00元 where a reviewer reading the body saw 1元. Refused.
TEST_F(WriteApi, DuplicateJsonKeysAreRefused) {
  auto r = post("/v1/villages/shuangjiang/entries",
                R"([{"date":"2022-11-02","type":"income","category":"其他","item":"b","amount":"1","amount":"99999999"}])",
                "application/json", token);
  ASSERT_EQ(r->status, 400) << r->body;
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("duplicate key \"amount\""), std::string::npos) << r->body;
  // Equal after unescaping is equal: "\u0061mount" is "amount".
  r = post("/v1/villages/shuangjiang/entries",
           R"([{"date":"2022-11-02","type":"income","category":"其他","item":"b","amount":"1","\u0061mount":"99999999"}])",
           "application/json", token);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post("/v1/villages/shuangjiang/projects", R"({"name":"x","approved":"1","approved":"9999万"})", "application/json", token);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
  // The same key in two different objects is no duplicate.
  r = post("/v1/villages/shuangjiang/entries",
           R"([{"date":"2022-11-02","type":"income","category":"其他","item":"b","amount":"1"},
               {"date":"2022-11-03","type":"income","category":"其他","item":"b","amount":"2"}])",
           "application/json", token);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 2u);
}

// `"x"y` used to be stored as `xy`; the CSV is refused naming its line.
TEST_F(WriteApi, CsvTextAfterAClosingQuoteIsRefused) {
  auto r = post("/v1/villages/shuangjiang/entries",
                "date,type,category,item,amount,project,fund,counterparty,note\n"
                "2022-11-02,income,a,b,100,,,,\n"
                "2022-11-02,income,a,\"x\"y,100,,,,\n",
                "text/csv", token);
  ASSERT_EQ(r->status, 400) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["line"], 3);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
}

TEST_F(WriteApi, TokensAreCheckedPerVillageAndRole) {
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", kCsv, "text/csv", "")->status, 401);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", kCsv, "text/csv", "sl_notatoken")->status, 401);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", kCsv, "text/csv", other_token)->status, 403);
  EXPECT_EQ(post("/v1/villages/shuangjiang/entries", kCsv, "text/csv", inspector_token)->status, 403);
  EXPECT_EQ(post("/v1/villages/shuangjiang/months/2022-11/publish", "", "application/json", other_token)->status, 403);
  EXPECT_EQ(post("/v1/villages/nowhere/projects", "{}", "application/json", token)->status, 403);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
}

}  // namespace
}  // namespace sunledger
