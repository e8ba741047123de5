// A published month is frozen on the web and in the read API (issue #16
// item 3): the alerts its statement signed, then apart and dated those raised
// since. Through a real HTTP server on the demo data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "web_fixture.h"

namespace sunledger {
namespace {

using testing::official;
using testing::WebServer;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(WebFrozenAlerts, PageAndApiShowTheRecordAndTheLaterAlertsApart) {
  WebServer w;
  // December 2022 is published through the bot: its statement records the
  // alerts of the books as published (the water works' special funds not
  // spent on it).
  auto p = w.demo.bot->publish("shuangjiang", "2022-12", official());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  ASSERT_TRUE(p->close.statement.contains("alerts"));
  std::string recorded = p->close.statement["alerts"].dump();
  EXPECT_TRUE(has(recorded, "专项资金去向不明")) << recorded;
  EXPECT_FALSE(has(recorded, "项目已结项")) << recorded;
  auto before = w.get("/villages/shuangjiang/2022-12");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  EXPECT_FALSE(has(before->body, "公开后新增预警"));

  // Later the water works are declared finished with 142,400 unspent.
  ASSERT_TRUE(w.demo.t.ledger
                  ->write([](WriteTxn& t) { return t.finish_project("shuangjiang", "水利建设", official()).status(); })
                  .is_ok());

  auto page = w.get("/villages/shuangjiang/2022-12");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  size_t later = page->body.find("公开后新增预警");
  ASSERT_NE(later, std::string::npos) << page->body;
  size_t recorded_at = page->body.find("专项资金去向不明");
  size_t finished_at = page->body.find("项目已结项");
  ASSERT_NE(recorded_at, std::string::npos);
  ASSERT_NE(finished_at, std::string::npos);
  EXPECT_LT(recorded_at, later);  // the record first, unchanged
  EXPECT_GT(finished_at, later);  // the later one apart, dated
  EXPECT_TRUE(has(page->body, "<time>2025-11-28</time> 项目已结项")) << page->body;
  auto notice = w.get("/villages/shuangjiang/2022-12/notice");
  ASSERT_TRUE(notice);
  EXPECT_TRUE(has(notice->body, "<time>2025-11-28</time> 项目已结项")) << notice->body;

  auto api = w.get("/v1/villages/shuangjiang/months/2022-12");
  ASSERT_TRUE(api);
  ASSERT_EQ(api->status, 200);
  auto j = nlohmann::json::parse(api->body);
  EXPECT_EQ(j["statement"]["alerts"].dump(), recorded);
  ASSERT_EQ(j["alerts_after_publication"].size(), 1u) << api->body;
  EXPECT_EQ(j["alerts_after_publication"][0]["kind"], "unspent_special_funds");
  EXPECT_EQ(j["alerts_after_publication"][0]["date"], "2025-11-28");

  // A month the demo closed without the bot records nothing and keeps its old answer.
  auto november = w.get("/v1/villages/shuangjiang/months/2022-11");
  ASSERT_TRUE(november);
  auto n = nlohmann::json::parse(november->body);
  EXPECT_FALSE(n["statement"].contains("alerts"));
  EXPECT_FALSE(n.contains("alerts_after_publication"));
}

}  // namespace
}  // namespace sunledger
