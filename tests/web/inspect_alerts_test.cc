// The inspector's dashboard lists the villages' alerts (issue #16): each
// published month's as its public month page shows them, the alerts its
// statement signed apart from those raised after publication, dated. Through
// a real HTTP server on the demo data.
#include <gtest/gtest.h>

#include "dashboard_fixture.h"
#include "reconcile/reconcile.h"

namespace sunledger {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using testing::Dashboard;
using testing::official;

TEST(WebInspect, TheAlertsPageShowsEachMonthsRecordAndTheLaterAlertsApart) {
  Dashboard d;
  // December is published through the bot: its statement signs the alerts
  // of the books as published (the water works' money spent elsewhere).
  auto p = d.bot().publish("shuangjiang", "2022-12", official());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  // Later the water works are declared finished with 142,400 unspent.
  ASSERT_TRUE(d.ledger()
                  .write([](WriteTxn& t) { return t.finish_project("shuangjiang", "水利建设", official()).status(); })
                  .is_ok());

  EXPECT_EQ(d.get("/inspect/alerts")->status, 303);  // no page without a session
  std::string session = d.sign_in("zhuting-inspector");
  auto queue = d.get("/inspect", session);
  ASSERT_EQ(queue->status, 200);
  EXPECT_TRUE(has(queue->body, "href=\"/inspect/alerts\"")) << queue->body;
  auto page = d.get("/inspect/alerts", session);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  const std::string& b = page->body;
  size_t december = b.find("<a href=\"/villages/shuangjiang/2022-12\">");
  ASSERT_NE(december, std::string::npos) << b;
  size_t recorded = b.find("专项资金去向不明", december), later = b.find("公开后新增预警", december),
         finished = b.find("<time>2025-11-28</time> 项目已结项", december);
  ASSERT_NE(recorded, std::string::npos) << b;
  ASSERT_NE(later, std::string::npos) << b;
  ASSERT_NE(finished, std::string::npos) << b;
  EXPECT_LT(recorded, later);  // the signed record first, as published
  EXPECT_GT(finished, later);  // the one raised since apart, dated
  // The month page the link leads to shows the same split.
  auto month = d.get("/villages/shuangjiang/2022-12");
  ASSERT_EQ(month->status, 200);
  EXPECT_TRUE(has(month->body, "<time>2025-11-28</time> 项目已结项"));
  // Only the inspector's area: 朱亭镇's inspector sees no village of 南洲镇.
  EXPECT_FALSE(has(b, "南洲")) << b;
  EXPECT_TRUE(has(d.get("/inspect/alerts", d.sign_in("district-inspector"))->body, "南洲"));
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
}

// A bank withdrawal to a private person, not in the books: the public pages
// (village, month, its alerts and notice, the home page) and a group chat
// show the surname only; the inspector's dashboard and private chat name
// the person in full (issue #16: privacy of individuals in bank alerts).
TEST(WebInspect, APrivatePersonInABankAlertIsMaskedInPublicAndNamedToTheInspector) {
  Dashboard d;
  // December published through the bot (its statement records its alerts);
  // the bank's December statement reconciled after it.
  auto p = d.bot().publish("shuangjiang", "2022-12", official());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  auto report = reconcile_books(d.ledger(), "shuangjiang",
                                "date,amount,direction,counterparty,reference\n2022-12-16,8765.43,out,张三丰,劳务费\n");
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  ASSERT_EQ(report->result.unmatched_bank.size(), 1u);
  ASSERT_TRUE(d.ledger().write([&](WriteTxn& t) { return record_reconciliation(t, *report, official()).status(); }).is_ok());
  std::string shown;
  for (const char* path : {"/villages/shuangjiang", "/villages/shuangjiang/2022-12", "/villages/shuangjiang/2022-12/alerts",
                           "/villages/shuangjiang/2022-12/notice", "/"}) {
    auto page = d.get(path);
    ASSERT_TRUE(page) << path;
    ASSERT_EQ(page->status, 200) << path;
    EXPECT_FALSE(has(page->body, "张三丰")) << path;
    shown += page->body;
  }
  // Listed, masked (the month page and its notice may list only the first alerts and link to the rest).
  EXPECT_TRUE(has(shown, "给“张**”(摘要:劳务费)")) << shown;
  EXPECT_TRUE(has(d.get("/villages/shuangjiang/2022-12/alerts")->body, "给“张**”"));
  std::string session = d.sign_in("zhuting-inspector");
  auto dashboard = d.get("/inspect/alerts", session);
  ASSERT_TRUE(dashboard);
  ASSERT_EQ(dashboard->status, 200);
  EXPECT_TRUE(has(dashboard->body, "给“张三丰”(摘要:劳务费)")) << dashboard->body;
  // In chat: the inspector's private 预警 names the person, the village's group does not.
  auto all_pages = [&d](const std::string& chat) {
    std::string text;
    for (int page = 1; page <= 8; ++page) text += d.say("zhuting-inspector", "预警 " + std::to_string(page), chat);
    return text;
  };
  EXPECT_TRUE(has(all_pages(""), "给“张三丰”"));
  std::string group = all_pages("shuangjiang-group");
  EXPECT_FALSE(has(group, "张三丰")) << group;
  EXPECT_TRUE(has(group, "给“张**”")) << group;
}

}  // namespace
}  // namespace sunledger
