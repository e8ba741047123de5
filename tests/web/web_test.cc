// The public web through a real HTTP server on the demo data: every page,
// its figures, its 404s, its headers, escaping, privacy, the CSV and the cache.
#include <gtest/gtest.h>

#include <regex>

#include "web/html.h"
#include "web_fixture.h"

namespace sunledger {
namespace {

using testing::WebServer;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every page of the demo a visitor can reach from the front page.
std::vector<std::string> demo_paths(Ledger& ledger) {
  std::vector<std::string> paths = {"/"};
  auto villages = ledger.villages();
  EXPECT_TRUE(villages.is_ok());
  for (const auto& v : *villages) {
    paths.push_back("/villages/" + v.id);
    auto closes = ledger.month_closes(v.id);
    EXPECT_TRUE(closes.is_ok());
    for (const auto& c : *closes) {
      std::string month = "/villages/" + v.id + "/" + c.month;
      for (const char* tail : {"", ".csv", "/notice"}) paths.push_back(month + tail);
    }
  }
  return paths;
}

TEST(WebTemplate, EscapesTextAndKeepsMarkup) {
  web::Template t("<p title=\"{{title}}\">{{body}}</p>{{missing}}");
  auto html = t.render({{"title", "a\"b'c"}, {"body", "<script>alert(1)</script> & co"}});
  EXPECT_EQ(html.str(), "<p title=\"a&quot;b&#39;c\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>");
  auto nested = t.render({{"title", "x"}, {"body", web::Html::markup("<b>bold</b>")}});
  EXPECT_EQ(nested.str(), "<p title=\"x\"><b>bold</b></p>");
}

TEST(Web, TheFrontPageListsTownsVillagesAlertsAndComplaintCounts) {
  WebServer w;
  auto r = w.get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  for (const char* part : {"朱亭镇", "南洲镇", "龙船镇", "双江村", "黄龙村", "href=\"/villages/shuangjiang\"",
                           "href=\"/villages/shuangjiang/2022-11\"", "2022年11月", "专项资金挪用",
                           "黄龙村 2022-11 的账目逾期未公开"})
    EXPECT_TRUE(has(r->body, part)) << part;
  // Huanglong's complaint of nine days ago is this month's, and overdue for assignment.
  std::regex huanglong("黄龙村</a></h3>[\\s\\S]*?2025年11月投诉:受理1件,办结0件,逾期1件");
  EXPECT_TRUE(std::regex_search(r->body, huanglong)) << r->body;
}

TEST(Web, AVillagePageShowsMonthsNewestFirstFundsProjectBarsAndAlerts) {
  WebServer w;
  auto r = w.get("/villages/shuangjiang");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string& b = r->body;
  size_t nov = b.find("/villages/shuangjiang/2022-11\""), oct = b.find("/villages/shuangjiang/2022-10\""),
         sep = b.find("/villages/shuangjiang/2022-09\"");
  ASSERT_NE(nov, std::string::npos);
  EXPECT_LT(nov, oct);
  EXPECT_LT(oct, sep);
  EXPECT_TRUE(has(b, "<td>专项资金</td>"));
  // The monthly chart, oldest first: October's 300,000 special grant is its tallest bar.
  size_t chart = b.find("Income and expense per month");
  ASSERT_NE(chart, std::string::npos);
  EXPECT_LT(b.find("2022年9月</text>", chart), b.find("2022年11月</text>", chart));
  EXPECT_TRUE(has(b, "收入 350,000.00元"));
  EXPECT_TRUE(has(b, "<svg class=\"bars\""));
  EXPECT_TRUE(has(b, "水利建设(专项资金)"));
  EXPECT_TRUE(has(b, "批复 300,000.00元"));
  EXPECT_TRUE(has(b, "支出 157,600.00元"));
  EXPECT_TRUE(has(b, "专项资金去向不明"));
}

TEST(Web, TheShuangjiangNovemberPageShowsTheMonthAsPublished) {
  WebServer w;
  auto r = w.get("/villages/shuangjiang/2022-11");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string& b = r->body;
  EXPECT_TRUE(has(b, "142,400.00")) << b;
  EXPECT_TRUE(has(b, "专项资金挪用:第#25条从专项资金支付142,400.00元(14.24万元)给“道路拓宽”"));
  EXPECT_TRUE(has(b, "<td>#25</td><td>2022-11-21</td><td>支出</td><td>工程款</td><td>村道拓宽工程款</td>"));
  EXPECT_TRUE(has(b, "张*三"));  // the subsidy list, masked
  EXPECT_FALSE(has(b, "张桂三"));
  EXPECT_FALSE(has(b, "430221"));  // no identity number, not even its masked form
  auto close = w.demo.t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  EXPECT_TRUE(has(b, web::Html::escape(close->checkpoint).str()));
  EXPECT_TRUE(has(b, w.demo.t.ledger->verifier_key()));
  EXPECT_TRUE(has(b, "href=\"/villages/shuangjiang/2022-11.csv\""));
}

TEST(Web, MissingThingsAnswer404PagesAndTheApiKeepsItsOwn) {
  WebServer w;
  auto unpublished = w.get("/villages/huanglong/2022-11");
  ASSERT_TRUE(unpublished);
  EXPECT_EQ(unpublished->status, 404);
  EXPECT_TRUE(has(unpublished->body, "黄龙村 2022年11月的账目还没有公开"));
  EXPECT_TRUE(unpublished->has_header("Content-Security-Policy"));
  for (const char* path : {"/villages/huanglong/2022-11.csv", "/villages/huanglong/2022-11/notice", "/villages/nowhere",
                           "/villages/shuangjiang/2022-13", "/villages/shuangjiang/november", "/villages/"}) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_TRUE(has(r->body, "<!doctype html>")) << path;
  }
  // Whatever else a browser asks for is a page too (an HTML 404), and one
  // trailing slash is forgiven.
  for (const char* path : {"/index.html", "/favicon.ico", "/villages", "/VILLAGES/shuangjiang", "/robots.txt"}) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_TRUE(has(r->body, "<!doctype html>")) << path;
  }
  for (const char* path : {"/villages/shuangjiang/", "/villages/shuangjiang/2022-11/"}) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
  auto api = w.get("/v1/nothing-here");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 404);
  EXPECT_TRUE(has(api->get_header_value("Content-Type"), "application/json"));
  auto villages = w.get("/v1/villages");
  ASSERT_TRUE(villages);
  EXPECT_EQ(villages->status, 200);
  EXPECT_TRUE(has(villages->body, "\"shuangjiang\""));
}

TEST(Web, EveryPageHasAStrictPolicyNoScriptNoInlineStyleAndNoExternalRequest) {
  WebServer w;
  std::regex external("(src|href)=\"(https?:)?//");
  for (const auto& path : demo_paths(*w.demo.t.ledger)) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_LT(r->body.size(), 150u * 1024) << path;
    if (!has(r->get_header_value("Content-Type"), "text/html")) continue;
    std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_TRUE(has(csp, "default-src 'none'")) << path;
    EXPECT_TRUE(has(csp, "style-src 'self'")) << path;
    EXPECT_FALSE(has(csp, "unsafe-inline")) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
    // One script, on month pages only, from this server: no inline code.
    std::string body = r->body;
    const std::string verify = "<script src=\"/static/verify.js\" defer></script>";
    if (size_t at = body.find(verify); at != std::string::npos) body.erase(at, verify.size());
    EXPECT_FALSE(has(body, "<script")) << path;
    EXPECT_FALSE(std::regex_search(body, std::regex("<[^>]* on[a-z]+=", std::regex::icase))) << path;  // no onclick= and the like
    EXPECT_FALSE(has(r->body, " style=")) << path;
    EXPECT_FALSE(has(r->body, "<style")) << path;
    EXPECT_FALSE(std::regex_search(r->body, external)) << path;
    EXPECT_TRUE(has(r->body, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")) << path;
    EXPECT_TRUE(has(r->body, "<link rel=\"stylesheet\" href=\"/static/site.css\">")) << path;
  }
  auto css = w.get("/static/site.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->get_header_value("Content-Type"), "text/css; charset=utf-8");
  EXPECT_TRUE(has(css->body, "@media (max-width:480px)"));
}

// The month page's verification script: served by the server itself, small,
// and the only script the policy lets run (no inline code, requests to this
// server only).
TEST(Web, TheVerificationScriptIsServedSmallAndThePolicyAllowsOnlyIt) {
  WebServer w;
  auto js = w.get("/static/verify.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_LE(js->body.size(), 50u * 1024);
  EXPECT_TRUE(has(js->body, "crypto.subtle.importKey('raw'"));
  EXPECT_FALSE(has(js->body, "innerHTML"));
  EXPECT_FALSE(has(js->body, "http://"));
  EXPECT_FALSE(has(js->body, "https://"));
  auto page = w.get("/villages/shuangjiang/2022-11");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_TRUE(has(csp, "script-src 'self'")) << csp;
  EXPECT_TRUE(has(csp, "connect-src 'self'")) << csp;
  EXPECT_TRUE(has(csp, "default-src 'none'")) << csp;
  EXPECT_FALSE(has(csp, "unsafe-inline")) << csp;
  EXPECT_FALSE(has(csp, "unsafe-eval")) << csp;
  EXPECT_TRUE(has(page->body, "<script src=\"/static/verify.js\" defer></script>"));
  // Every other page runs no script and reads nothing with one.
  for (const char* other : {"/", "/villages/shuangjiang", "/villages/shuangjiang/2022-11/notice", "/villages/huanglong/2022-11"}) {
    auto r = w.get(other);
    ASSERT_TRUE(r) << other;
    std::string policy = r->get_header_value("Content-Security-Policy");
    EXPECT_TRUE(has(policy, "default-src 'none'")) << other;
    EXPECT_FALSE(has(policy, "script-src")) << other;
    EXPECT_FALSE(has(policy, "connect-src")) << other;
  }
  // What the script reads: the checkpoint, the key, the statement's index and
  // every line's index, each row with a cell for its mark.
  auto close = w.demo.t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  EXPECT_TRUE(has(page->body, "<pre class=\"note\" id=\"checkpoint\">"));
  EXPECT_TRUE(has(page->body, "<pre class=\"note\" id=\"verifier-key\">"));
  EXPECT_TRUE(has(page->body, "data-statement=\"" + std::to_string(close->statement_index) + "\""));
  EXPECT_TRUE(has(page->body, "<tr class=\"\" data-index=\"25\"><td class=\"check\"></td><td>#25</td>"));
  std::regex row("<tr [^>]*data-index=\"[0-9]+\">");
  std::regex cell("data-index=\"[0-9]+\"><td class=\"check\"></td><td>#[0-9]+</td>");
  auto rows = std::distance(std::sregex_iterator(page->body.begin(), page->body.end(), row), std::sregex_iterator());
  auto cells = std::distance(std::sregex_iterator(page->body.begin(), page->body.end(), cell), std::sregex_iterator());
  EXPECT_GT(rows, 5);
  EXPECT_EQ(rows, cells);
  // Read without the script, the page says how else to check; the notice has no script.
  EXPECT_TRUE(has(page->body, "sunledger verify"));
  auto notice = w.get("/villages/shuangjiang/2022-11/notice");
  ASSERT_TRUE(notice);
  EXPECT_FALSE(has(notice->body, "<script"));
  EXPECT_FALSE(has(notice->body, "data-index"));
}

TEST(Web, NoComplaintTextNorReporterOnAnyPage) {
  WebServer w;
  auto complaints = w.demo.bot->complaints().list({});
  ASSERT_TRUE(complaints.is_ok());
  ASSERT_GE(complaints->size(), 4u);
  for (const auto& path : demo_paths(*w.demo.t.ledger)) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    for (const auto& c : *complaints) {
      EXPECT_FALSE(has(r->body, c.text.substr(0, 30))) << path;
      EXPECT_FALSE(has(r->body, c.receipt)) << path;
      if (c.reporter) {
        EXPECT_FALSE(has(r->body, c.reporter->user_id)) << path;
        EXPECT_FALSE(has(r->body, c.reporter->name)) << path;
      }
      for (const auto& e : c.events) {
        if (!e.note.empty()) {
          EXPECT_FALSE(has(r->body, e.note)) << path;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sunledger
