// The public web's limits and forms: a month of thousands of long lines read
// a page at a time with every page under 150 KB, figures printed as the chat
// notice prints them, and the dashboard's sign-in and sign-out in the log
// without any secret. Through a real HTTP server on the demo data.
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <set>

#include "bot/render.h"
#include "dashboard_fixture.h"
#include "ledger/money.h"
#include "web_fixture.h"

namespace sunledger {
namespace {

using testing::Dashboard;
using testing::official;
using testing::WebServer;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr size_t kLimit = 150 * 1000;  // the 150 KB, counted in the stricter thousands

// The ledger indexes of the rows a page shows for verification.
// The data-index of every <tr class="[a-z]*" data-index="N"> in body. By
// hand, not std::regex, which the tests' -O0 build makes slow over two dozen
// 150 KB pages (though most of this test's time under ASan, about 75 s, is
// the ledger posting and rendering its 2,400 lines).
std::vector<uint64_t> row_indexes(const std::string& body) {
  std::vector<uint64_t> out;
  const std::string open = "<tr class=\"", mid = "\" data-index=\"";
  for (size_t at = body.find(open); at != std::string::npos; at = body.find(open, at + 1)) {
    size_t p = at + open.size();
    while (p < body.size() && body[p] >= 'a' && body[p] <= 'z') ++p;
    if (body.compare(p, mid.size(), mid) != 0) continue;
    p += mid.size();
    size_t digits = p;
    while (p < body.size() && body[p] >= '0' && body[p] <= '9') ++p;
    if (p == digits || body.compare(p, 2, "\">") != 0) continue;
    out.push_back(std::stoull(body.substr(digits, p - digits)));
  }
  return out;
}

// A month of 2,400 lines whose texts are as long as the ledger takes and
// grow when escaped (every < > & " becomes an entity): one page of them
// would weigh megabytes.
TEST(WebPages, AMonthOfManyLinesIsReadAPageAtATimeEachUnder150KB) {
  WebServer w;
  Ledger& l = *w.demo.t.ledger;
  ASSERT_TRUE(l.add_village({"dashan", "大山村", "朱亭镇"}).is_ok());
  std::string item;
  while (item.size() + 8 <= 200) item += "<修路&>\"";
  std::string counterparty;
  while (counterparty.size() + 3 <= 200) counterparty += "某";
  std::vector<uint64_t> posted;
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<TransactionLine> lines;
    for (int i = 0; i < 200; ++i)
      lines.push_back(transaction_line("2025-10-" + std::string(i % 28 < 9 ? "0" : "") + std::to_string(i % 28 + 1),
                                       true, "上级拨款", item, 100 + batch * 200 + i, "", "一般资金", counterparty,
                                       "<note & \"quoted\">"));
    auto r = l.post_transactions("dashan", lines, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    posted.insert(posted.end(), r->indexes.begin(), r->indexes.end());
  }
  ASSERT_TRUE(l.close_month("dashan", "2025-10", official()).is_ok());

  for (const std::string base : {"/villages/dashan/2025-10", "/villages/dashan/2025-10/notice"}) {
    bool notice = has(base, "notice");
    auto first = w.get(base);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(first->body, m, std::regex("明细第1/([0-9]+)页"))) << base;
    int pages = std::stoi(m[1].str());
    EXPECT_GE(pages, 10) << base;  // 2,400 rows of about 1.5 KB each
    std::vector<uint64_t> seen;
    for (int page = 1; page <= pages; ++page) {
      std::string path = page == 1 ? base : base + "/page/" + std::to_string(page);
      std::optional<httplib::Result> later;
      if (page > 1) later.emplace(w.get(path));
      ASSERT_TRUE(page == 1 || *later) << path;
      const httplib::Response* r = page == 1 ? &*first : &**later;
      ASSERT_EQ(r->status, 200) << path;
      EXPECT_LT(r->body.size(), kLimit) << path;
      EXPECT_TRUE(has(r->body, "明细第" + std::to_string(page) + "/" + std::to_string(pages) + "页")) << path;
      // Every page carries the whole statement, and the month page its checkpoint and check.
      EXPECT_TRUE(has(r->body, "data-field=\"closing\"")) << path;
      if (!notice) {
        EXPECT_TRUE(has(r->body, "id=\"checkpoint\"")) << path;
        EXPECT_TRUE(has(r->body, "src=\"/static/verify.js\"")) << path;
        auto rows = row_indexes(r->body);
        EXPECT_FALSE(rows.empty()) << path;
        seen.insert(seen.end(), rows.begin(), rows.end());
      } else {
        EXPECT_FALSE(has(r->body, "<script")) << path;
      }
      if (page < pages) {
        EXPECT_TRUE(has(r->body, "href=\"" + base + "/page/" + std::to_string(page + 1) + "\"")) << path;
      }
      EXPECT_FALSE(has(r->body, "<修路")) << path;  // escaped, never markup
    }
    if (!notice) {
      EXPECT_EQ(seen, posted) << "every line on exactly one page, in log order";
    }
    auto beyond = w.get(base + "/page/" + std::to_string(pages + 1));
    ASSERT_TRUE(beyond);
    EXPECT_EQ(beyond->status, 404);
    EXPECT_TRUE(has(beyond->body, "没有这一页")) << beyond->body;
    // Page 1 has one address only; no other spelling of a page number is one.
    for (const char* odd : {"/page/1", "/page/02", "/page/0", "/page/x", "/page/", "/page/1234567"}) {
      auto r = w.get(base + odd);
      ASSERT_TRUE(r) << odd;
      EXPECT_EQ(r->status, 404) << base << odd;
    }
  }
  // A month with few lines is one page, with no navigation; a page of a month
  // not published says the month is not.
  auto small = w.get("/villages/shuangjiang/2022-11");
  ASSERT_TRUE(small);
  EXPECT_FALSE(has(small->body, "明细第1/")) << "one page needs no navigation";
  auto unpublished = w.get("/villages/huanglong/2022-11/page/2");
  ASSERT_TRUE(unpublished);
  EXPECT_EQ(unpublished->status, 404);
  EXPECT_TRUE(has(unpublished->body, "还没有公开")) << unpublished->body;
}

// The same figure reads the same on the web and in the chat's notice
// (bot/render): 157,600.00元(15.76万元) from 10,000 yuan up, a line's amount
// without the 万 form, as a village notice prints them.
TEST(WebPages, FiguresReadAsTheChatNoticePrintsThem) {
  WebServer w;
  auto close = w.demo.t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  const auto& s = close->statement;
  std::string chat = render_notice("双江村", *close, {});
  auto page = w.get("/villages/shuangjiang/2022-11");
  auto notice = w.get("/villages/shuangjiang/2022-11/notice");
  auto village = w.get("/villages/shuangjiang");
  ASSERT_TRUE(page && notice && village);
  for (const char* field : {"opening", "income_total", "expense_total", "closing"}) {
    Fen fen = s.at(field).get<Fen>();
    std::string wan = format_yuan_with_wan(fen);
    ASSERT_GE(fen, 1'000'000) << field << ": the demo's figures are all above 10,000 yuan";
    EXPECT_TRUE(has(wan, "万元)")) << wan;
    EXPECT_TRUE(has(chat, wan)) << field << "\n" << chat;
    std::string cell = "data-field=\"" + std::string(field) + "\">" + wan + "</td>";
    EXPECT_TRUE(has(page->body, cell)) << field;
    EXPECT_TRUE(has(notice->body, cell)) << field;
  }
  EXPECT_TRUE(has(village->body, "<td class=\"num\">" + format_yuan_with_wan(s.at("closing").get<Fen>()) + "</td>"));
  // A line keeps its plain amount, as in 明细 and the CSV.
  EXPECT_TRUE(has(page->body, "<td class=\"num\">142,400.00</td>"));
}

// An audit line for each sign-in and sign-out of the dashboard (who and how),
// and for a refused one (why); never the link, the API token or the session.
TEST(WebPages, SignInAndSignOutAreLoggedWithoutSecrets) {
  Dashboard d;
  std::string token = Dashboard::link_token(d.say("zhuting-inspector", "登录"));
  ASSERT_FALSE(token.empty());
  ::testing::internal::CaptureStderr();
  auto in = d.use_link(token);
  auto again = d.use_link(token);  // used: refused
  std::string session = in ? Dashboard::cookie_pair(Dashboard::set_cookie(*in, "sl_session")) : "";
  std::string csrf = d.csrf_of("/inspect", session);
  auto out = d.post("/inspect/logout", {{"csrf", csrf}}, session);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(in && again && out);
  EXPECT_EQ(in->status, 303);
  EXPECT_EQ(again->status, 403);
  EXPECT_EQ(out->status, 303);
  EXPECT_TRUE(has(log, "sunledger: dashboard: generic/zhuting-inspector signed in (one-time link, areas: 朱亭镇)\n")) << log;
  EXPECT_TRUE(has(log, "sunledger: dashboard sign-in refused (one-time link): 登录链接无效")) << log;
  EXPECT_TRUE(has(log, "sunledger: dashboard: generic/zhuting-inspector signed out\n")) << log;
  ASSERT_GT(session.size(), std::string("sl_session=").size());
  for (const std::string& secret : {token, session.substr(session.find('=') + 1), csrf})
    EXPECT_FALSE(has(log, secret)) << "a secret in the log: " << log;
}

}  // namespace
}  // namespace sunledger
