// The public web with hostile text in the ledger, the month CSV, the printable
// notice and the page cache, through a real HTTP server on the demo data.
#include <gtest/gtest.h>

#include <regex>

#include "bot/complaints.h"
#include "ledger/chart.h"
#include "ledger/clock.h"
#include "ledger/csv_import.h"
#include "ledger/ledger.h"
#include "web_fixture.h"

namespace sunledger {
namespace {

using testing::official;
using testing::WebServer;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr const char* kScript = "<script>alert(1)</script>";
constexpr const char* kScriptShown = "&lt;script&gt;alert(1)&lt;/script&gt;";

// A village whose every name is an attack, with one published month.
void add_hostile_village(Ledger& ledger) {
  ASSERT_TRUE(ledger.add_village({"hostile", kScript, "<b>镇</b>"}).is_ok());
  ASSERT_TRUE(ledger.register_project("hostile", {"<img/src=x/onerror=alert(1)>", 100'000, false}, official()).is_ok());
  // Hostile category and fund names must be mapped to accounts before posting (ledger/chart.h).
  ASSERT_TRUE(ledger.write([](WriteTxn& t) -> Status {
    for (auto [side, name, account] : {std::tuple{MapSide::kIncome, "=cmd|' /C calc'!A0", "504"},
                                       std::tuple{MapSide::kExpense, "+办公费", "513"},
                                       std::tuple{MapSide::kFund, "\"><svg/onload=alert(1)>", "102"}})
      if (auto r = map_account(t, "hostile", side, name, account, official()); !r.is_ok()) return r.status();
    return Status::ok();
  }).is_ok());
  std::vector<TransactionLine> lines = {
      transaction_line("2025-10-03", true, "=cmd|' /C calc'!A0", kScript, 120'000, "<img/src=x/onerror=alert(1)>",
                       "\"><svg/onload=alert(1)>", "@SUM(A1)", "-2+3"),
      transaction_line("2025-10-04", false, "+办公费", "a\"quoted\", item", 5'000, "", "一般资金", "", "")};
  ASSERT_TRUE(ledger.post_transactions("hostile", lines, official()).is_ok());
  ASSERT_TRUE(ledger.close_month("hostile", "2025-10", official()).is_ok());
}

TEST(WebContent, HostileNamesShowAsTextOnEveryPage) {
  WebServer w;
  add_hostile_village(*w.demo.t.ledger);
  for (const char* path : {"/", "/villages/hostile", "/villages/hostile/2025-10", "/villages/hostile/2025-10/notice"}) {
    auto r = w.get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_TRUE(has(r->body, kScriptShown)) << path;
    EXPECT_FALSE(has(r->body, kScript)) << path;
    EXPECT_FALSE(has(r->body, "<img/src")) << path;
    EXPECT_FALSE(has(r->body, "<svg/onload")) << path;
    EXPECT_FALSE(has(r->body, "<b>")) << path;
  }
  auto village = w.get("/villages/hostile");
  ASSERT_TRUE(village);
  EXPECT_TRUE(has(village->body, "&lt;img/src=x/onerror=alert(1)&gt;"));  // the project, in the bars' SVG
  EXPECT_TRUE(has(village->body, "&quot;&gt;&lt;svg/onload=alert(1)&gt;"));  // the fund
  auto home = w.get("/");
  ASSERT_TRUE(home);
  EXPECT_TRUE(has(home->body, "&lt;b&gt;镇&lt;/b&gt;"));
}

TEST(WebContent, TheMonthCsvHasABomAndDisarmsFormulas) {
  WebServer w;
  auto r = w.get("/villages/shuangjiang/2022-11.csv");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_TRUE(has(r->get_header_value("Content-Disposition"), "shuangjiang-2022-11.csv"));
  EXPECT_EQ(r->body.rfind("\xEF\xBB\xBF序号 index,日期 date,", 0), 0u);
  EXPECT_TRUE(has(r->body, "\r\n25,2022-11-21,支出,工程款,村道拓宽工程款,\"142,400.00\",道路拓宽,专项资金,某道路工程公司,村支书签批\r\n"))
      << r->body;
  EXPECT_TRUE(has(r->body, ",补助,低保,张*三,620.00,,,,1人\r\n")) << r->body;

  add_hostile_village(*w.demo.t.ledger);
  auto hostile = w.get("/villages/hostile/2025-10.csv");
  ASSERT_TRUE(hostile);
  EXPECT_EQ(hostile->status, 200);
  for (const char* cell : {",'=cmd|' /C calc'!A0,", ",'@SUM(A1),", ",'-2+3\r\n", ",'+办公费,", ",\"a\"\"quoted\"\", item\","})
    EXPECT_TRUE(has(hostile->body, cell)) << cell << "\n" << hostile->body;
}

// A reversal cancels its line: on the page and in the CSV it carries a minus
// and the day it was recorded, so a column of amounts adds up to the month's
// figures. A project registered in the month is among its lines.
TEST(WebContent, AReversalCancelsItsLineAndAProjectShowsInItsMonth) {
  WebServer w;
  Ledger& l = *w.demo.t.ledger;
  w.demo.t.clock.set(1759370400);  // 2025-10-02 10:00 in China
  ASSERT_TRUE(l.add_village({"qiaotou", "桥头村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(l.register_project("qiaotou", {"桥梁维修", 50'000'00, true}, official()).is_ok());
  auto posted = l.post_transactions("qiaotou", {transaction_line("2025-10-01", true, "上级拨款", "运转经费", 1'000'00),
                                                transaction_line("2025-10-01", false, "办公费", "打印纸", 350'00)},
                                    official());
  ASSERT_TRUE(posted.is_ok());
  uint64_t paper = posted->indexes[1];
  auto reversed = l.reverse("qiaotou", paper, "重复记账", official());
  ASSERT_TRUE(reversed.is_ok());
  ASSERT_TRUE(l.close_month("qiaotou", "2025-10", official()).is_ok());
  auto csv = w.get("/villages/qiaotou/2025-10.csv");
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv->status, 200);
  std::string r = std::to_string(reversed->indexes[0]);
  EXPECT_TRUE(has(csv->body, "\r\n" + r + ",2025-10-02,冲销支出,办公费,冲销#" + std::to_string(paper) + ",-350.00,")) << csv->body;
  EXPECT_TRUE(has(csv->body, ",2025-10-02,立项,,桥梁维修(专项资金),\"50,000.00\",")) << csv->body;
  auto page = w.get("/villages/qiaotou/2025-10");
  ASSERT_TRUE(page);
  EXPECT_TRUE(has(page->body, "<td>冲销支出</td><td>办公费</td><td>冲销#" + std::to_string(paper) + "</td><td class=\"num\">-350.00</td>"))
      << page->body;
  EXPECT_TRUE(has(page->body, "<td>立项</td>")) << page->body;
  // A month not published names the village, in English too.
  auto later = w.get("/villages/qiaotou/2025-11");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 404);
  EXPECT_TRUE(has(later->body, "The accounts of 桥头村 for 2025-11 are not published yet.")) << later->body;
}

// The public pages show the alerts as published: a line posted into a month
// not yet published raises nothing there (its officials may still correct
// it; the chat's 预警 shows them the current alerts), until its month is
// published. A month not published by its deadline is said at once: it names
// a month, no figure.
TEST(WebContent, PublicAlertsAreThoseOfPublishedMonths) {
  WebServer w;
  Ledger& l = *w.demo.t.ledger;
  w.demo.t.clock.set(1759370400);  // 2025-10-02 10:00 in China
  ASSERT_TRUE(l.add_village({"qiaotou", "桥头村", "朱亭镇"}).is_ok());
  auto cash = [&](const char* date, Fen amount) {
    auto r = l.post_transactions("qiaotou", {transaction_line(date, false, "办公费", "现金购买物资", amount, "", "现金")}, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  };
  auto count = [&](const std::string& path, const std::string& part) {
    auto r = w.get(path);
    EXPECT_TRUE(r && r->status == 200) << path;
    size_t n = 0;
    for (size_t at = r ? r->body.find(part) : std::string::npos; at != std::string::npos; at = r->body.find(part, at + 1)) ++n;
    return n;
  };
  cash("2025-10-01", 8'000'00);
  EXPECT_EQ(count("/villages/qiaotou", "大额现金支出"), 0u);
  size_t on_front = count("/", "大额现金支出:第#");  // other villages' published ones
  auto chat = w.demo.bot->books("qiaotou");
  ASSERT_TRUE(chat.is_ok());
  ASSERT_EQ((*chat)->flags.size(), 1u);  // what 预警 tells officials and inspectors
  ASSERT_TRUE(l.close_month("qiaotou", "2025-10", official()).is_ok());
  EXPECT_EQ(count("/villages/qiaotou", "大额现金支出"), 1u);
  EXPECT_EQ(count("/", "大额现金支出:第#"), on_front + 1);
  w.demo.t.clock.set(1762221600);  // 2025-11-04 10:00 in China
  cash("2025-11-03", 9'000'00);  // November, not published
  EXPECT_EQ(count("/villages/qiaotou", "大额现金支出"), 1u);
  EXPECT_EQ(count("/villages/qiaotou", "逾期未公开"), 0u);
  w.demo.t.clock.set(1766196000);  // 2025-12-20: November was due by 2025-12-15
  EXPECT_EQ(count("/villages/qiaotou", "2025-11 的账目逾期未公开"), 1u);
  EXPECT_EQ(count("/villages/qiaotou", "大额现金支出"), 1u);
  ASSERT_TRUE(l.close_month("qiaotou", "2025-11", official()).is_ok());
  EXPECT_EQ(count("/villages/qiaotou", "大额现金支出"), 2u);
  EXPECT_EQ(count("/villages/qiaotou", "逾期未公开"), 0u);

  // A line of a later month posted before an earlier month is published (a
  // January payment while December is still open) takes the project over its
  // budget and spends from a fund nothing published has used: neither the
  // December that is published after it, nor the village page, shows any of it.
  ASSERT_TRUE(l.register_project("qiaotou", {"桥梁维修", 10'000'00, false}, official()).is_ok());
  w.demo.t.clock.set(1767578400);  // 2026-01-05 10:00 in China
  auto jan = l.post_transactions("qiaotou", {transaction_line("2026-01-04", false, "工程款", "桥面", 12'345'00, "桥梁维修", "一般资金")},
                                 official());
  ASSERT_TRUE(jan.is_ok()) << jan.status().to_string();
  ASSERT_TRUE(l.close_month("qiaotou", "2025-12", official()).is_ok());
  auto now_books = w.demo.bot->books("qiaotou");
  ASSERT_TRUE(now_books.is_ok());
  bool over = false;
  for (const auto& f : (*now_books)->flags) over = over || f.kind == FlagKind::kOverBudget;
  EXPECT_TRUE(over);  // 预警 tells officials and inspectors at once
  for (const char* path : {"/", "/villages/qiaotou", "/villages/qiaotou/2025-12", "/villages/qiaotou/2025-12/notice"}) {
    EXPECT_EQ(count(path, "项目超支"), 0u) << path;
    EXPECT_EQ(count(path, "12,345.00"), 0u) << path;
  }
  EXPECT_EQ(count("/villages/qiaotou", "一般资金"), 0u);
  auto notice = w.demo.bot->monthly_notice("qiaotou", "2025-12");
  ASSERT_TRUE(notice.is_ok());
  EXPECT_EQ(notice->find("项目超支"), std::string::npos) << *notice;
  // Published, it shows everywhere it belongs.
  ASSERT_TRUE(l.close_month("qiaotou", "2026-01", official()).is_ok());
  EXPECT_EQ(count("/villages/qiaotou", "项目超支"), 1u);
  EXPECT_EQ(count("/villages/qiaotou/2026-01", "项目超支"), 1u);
  EXPECT_EQ(count("/villages/qiaotou", "一般资金"), 1u);
}

TEST(WebContent, CsvCellsAreQuotedAndFormulasPrefixed) {
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell("=1+1"), "'=1+1");
  EXPECT_EQ(csv_cell("\tx"), "'\tx");
  EXPECT_EQ(csv_cell("\rx"), "\"'\rx\"");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  // A negative amount stays a number; anything more after a minus is a formula.
  EXPECT_EQ(csv_cell("-350.00"), "-350.00");
  EXPECT_EQ(csv_cell("-1,234.50"), "\"-1,234.50\"");
  for (const char* f : {"-2+3", "-1.", "-", "-.5", "-1e5", "-1)", "-1.5.5"}) EXPECT_EQ(csv_cell(f), std::string("'") + f) << f;
}

TEST(WebContent, TheNoticePrintsOnA4WithTheCheckCodeAndAQrCodeOfTheMonthPage) {
  WebServer w;
  auto r = w.get("/villages/shuangjiang/2022-11/notice");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string& b = r->body;
  EXPECT_TRUE(has(b, "<body class=\"notice\">"));
  EXPECT_TRUE(has(b, "朱亭镇双江村 2022年11月 三务公开"));
  EXPECT_TRUE(has(b, "142,400.00"));
  EXPECT_TRUE(has(b, "专项资金挪用"));
  // Open and overdue are today's counts, and say so: a notice printed months later is not the month's end.
  std::string today = format_date(local_date(w.demo.t.clock.now_unix_seconds(), w.demo.t.ledger->utc_offset_minutes()));
  EXPECT_TRUE(has(b, "2022年11月投诉:受理")) << b;
  EXPECT_TRUE(has(b, ";截至" + today + "零时,在办")) << b;
  auto close = w.demo.t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  std::string size = std::to_string(close->tree_size) + "/";
  EXPECT_TRUE(has(b, "核验码 <strong>" + size)) << b;
  EXPECT_TRUE(has(b, "<svg class=\"qr\""));
  // The configured public URL, its trailing slash dropped, is what the QR code and the text say.
  EXPECT_TRUE(has(b, "aria-label=\"https://lukou.example/villages/shuangjiang/2022-11\""));
  EXPECT_TRUE(has(b, "<br><span class=\"url\">https://lukou.example/villages/shuangjiang/2022-11</span></p>"));
  size_t sections = 0;
  for (size_t at = b.find("<section>"); at != std::string::npos; at = b.find("<section>", at + 1)) ++sections;
  EXPECT_EQ(sections, 3u);  // summary, lines, subsidies: one printed page each
  auto css = w.get("/static/site.css");
  ASSERT_TRUE(css);
  EXPECT_TRUE(has(css->body, "@page{size:A4"));
  EXPECT_TRUE(has(css->body, ".notice section+section{break-before:page}"));
}

// A deployment where nobody has complained yet has no complaints log: its
// front page answered "try again later" (a newcomer's first `serve`).
TEST(WebContent, TheFrontPageWorksBeforeAnyComplaint) {
  testing::TestLedger t{"lukou.example/sunledger", Bot::reserved_log_names()};
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {transaction_line("2022-11-02", true, "上级拨款", "运转经费", 500'000)},
                                          official()).is_ok());
  ASSERT_TRUE(t.ledger->close_month("shuangjiang", "2022-11", official()).is_ok());
  ASSERT_FALSE(t.ledger->log_size(Complaints::kLogName).is_ok());  // no complaint, no log
  web::PublicWeb pages(t.ledger.get(), &bot, {"https://lukou.example/"});
  for (const char* path : {"/", "/villages/shuangjiang", "/villages/shuangjiang/2022-11", "/villages/shuangjiang/2022-11/notice"}) {
    auto page = pages.get(path);
    ASSERT_TRUE(page) << path;
    EXPECT_EQ(page->status, 200) << path << "\n" << page->body;
    EXPECT_TRUE(has(page->body, "双江村")) << path;
  }
}

// The notice and the front page print complaint counts as of the start of
// the day: a complaint filed now shows tomorrow, so nobody polling a page
// learns the moment an anonymous complaint was filed.
TEST(WebContent, ANewComplaintIsCountedFromTheNextDay) {
  WebServer w;
  const std::string notice = "/villages/shuangjiang/2022-11/notice";
  auto before = w.get(notice);
  auto front = w.get("/");
  ASSERT_TRUE(before && front);
  ASSERT_TRUE(w.demo.t.ledger->write([&](WriteTxn& txn) {
    return w.demo.bot->complaints().file(txn, "shuangjiang", "村口路灯坏了三个月没人修", std::nullopt).status();
  }).is_ok());
  auto after = w.get(notice);
  auto front_after = w.get("/");
  ASSERT_TRUE(after && front_after);
  EXPECT_EQ(after->body, before->body);
  EXPECT_EQ(front_after->body, front->body);
  w.demo.t.clock.set(w.demo.t.clock.now_unix_seconds() + 86400);
  auto tomorrow = w.get(notice);
  ASSERT_TRUE(tomorrow);
  EXPECT_NE(tomorrow->body, before->body);
  auto received = [](const std::string& page) {
    std::smatch m;
    std::regex counted("双江村</a></h3>[\\s\\S]*?投诉:受理(\\d+)件");
    return std::regex_search(page, m, counted) ? std::stoi(m[1]) : -1;
  };
  auto front_tomorrow = w.get("/");
  ASSERT_TRUE(front_tomorrow);
  ASSERT_GE(received(front->body), 0) << front->body;
  EXPECT_EQ(received(front_tomorrow->body), received(front->body) + 1) << front_tomorrow->body;
}

TEST(WebContent, APageIsRenderedAgainOnlyWhenItsVillagesLogGrew) {
  WebServer w;
  Ledger& ledger = *w.demo.t.ledger;
  const std::string month = "/villages/shuangjiang/2022-11";
  auto first = w.get(month);
  ASSERT_TRUE(first);
  uint64_t rendered = w.pages.renders();
  for (int i = 0; i < 3; ++i) {
    auto again = w.get(month);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, first->body);
  }
  EXPECT_EQ(w.pages.renders(), rendered);
  // Another village's log grew: this page stays as it was.
  ASSERT_TRUE(ledger.post_transactions("zhuting", {transaction_line("2022-12-02", true, "上级拨款", "运转经费", 10'000)},
                                       official()).is_ok());
  ASSERT_TRUE(w.get(month));
  EXPECT_EQ(w.pages.renders(), rendered);
  // Its own log grew (a line of the open month): rendered again, and November
  // still reads as published, alerts included.
  ASSERT_TRUE(ledger.post_transactions("shuangjiang",
                                       {transaction_line("2022-12-02", false, "招待费", "现金接待", 900'000, "", "一般资金", "", "现金")},
                                       official()).is_ok());
  auto grown = w.get(month);
  ASSERT_TRUE(grown);
  EXPECT_EQ(w.pages.renders(), rendered + 1);
  EXPECT_EQ(grown->body, first->body);
  // The village page is rendered again and then reused; the new line's cash
  // alert waits for its month to be published (the public pages show the
  // alerts as published).
  auto village = w.get("/villages/shuangjiang");
  ASSERT_TRUE(village);
  EXPECT_FALSE(has(village->body, "现金接待 9,000.00元"));
  uint64_t after = w.pages.renders();
  ASSERT_TRUE(w.get("/villages/shuangjiang"));
  EXPECT_EQ(w.pages.renders(), after);
}

}  // namespace
}  // namespace sunledger
