// A published month that gathers more alerts than a page holds: a bank
// statement whose 1,200 withdrawals are not in the books (four weekly
// files) raises one alert each, 30 days on, about the month. Every page stays under 150 KB: the month
// page, its notice, the village and front pages show some and count the rest,
// and the month's alerts pages list every one exactly once. Through a real
// HTTP server on the demo data, with the real reconciliation.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "reconcile/reconcile.h"
#include "web_fixture.h"

namespace sunledger {
namespace {

using testing::official;
using testing::WebServer;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr size_t kLimit = 150 * 1000;
constexpr int kWithdrawals = 1200;

// "某公司N" of every alert a page lists.
std::vector<int> alerted(const std::string& body) {
  static const std::regex re("<li>⚠ <time>[0-9-]+</time> 银行流水有支出未入账:[^<]*给“某公司([0-9]+)”");
  std::vector<int> out;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1].str()));
  return out;
}

int more_count(const std::string& body) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex("另有([0-9]+)条预警未在此列出"))) return 0;
  return std::stoi(m[1].str());
}

struct ManyAlerts : ::testing::Test {
  WebServer w;
  Ledger& l = *w.demo.t.ledger;

  void SetUp() override {
    ASSERT_TRUE(l.add_village({"dashan", "大山村", "朱亭镇"}).is_ok());
    auto r = l.post_transactions("dashan", {transaction_line("2025-10-03", true, "上级拨款", "办公经费", 5'000'00, "", "一般资金", "镇财政所")},
                                 official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    // Published through the bot, as an official does: its statement records the alerts (none).
    auto published = w.demo.bot->publish("dashan", "2025-10", official());
    ASSERT_TRUE(published.is_ok()) << published.status().to_string();
    // The demo's today is 2025-11-28: withdrawals up to 2025-10-29 are 30
    // days old and alerted; the last one, of 2025-10-30, is not yet. A
    // reconciliation entry holds a few hundred unmatched withdrawals: the
    // bank statement comes a week at a time, as four files.
    std::string csv[4];
    for (int i = 0; i < kWithdrawals; ++i) {
      int day = i == kWithdrawals - 1 ? 30 : 1 + i / 43;
      std::string& file = csv[std::min(3, (day - 1) / 7)];
      if (file.empty()) file = "date,amount,direction,counterparty,reference\n";
      file += "2025-10-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "," + std::to_string(100 + i) +
              ",out,某公司" + std::to_string(i) + ",转账" + std::to_string(i) + "\n";
    }
    size_t unmatched = 0;
    for (const auto& file : csv) {
      auto report = reconcile_books(l, "dashan", file);
      ASSERT_TRUE(report.is_ok()) << report.status().to_string();
      unmatched += report->result.unmatched_bank.size();
      Status s = l.write([&](WriteTxn& txn) { return record_reconciliation(txn, *report, official()).status(); });
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    ASSERT_EQ(unmatched, static_cast<size_t>(kWithdrawals));
  }
};

TEST_F(ManyAlerts, EveryPageStaysUnder150KBAndTheAlertsPagesListEveryOneOnce) {
  const std::string base = "/villages/dashan/2025-10";
  auto month = w.get(base);
  ASSERT_TRUE(month);
  ASSERT_EQ(month->status, 200);
  EXPECT_LT(month->body.size(), kLimit);
  EXPECT_TRUE(has(month->body, "公开后新增预警"));
  auto shown = alerted(month->body);
  int more = more_count(month->body);
  EXPECT_GT(shown.size(), 50u);
  EXPECT_EQ(static_cast<int>(shown.size()) + more, kWithdrawals - 1) << "the one of 2025-10-30 is 29 days old";
  EXPECT_TRUE(has(month->body, "<a href=\"" + base + "/alerts\">")) << "the rest are one link away";

  auto notice = w.get(base + "/notice");
  ASSERT_TRUE(notice);
  ASSERT_EQ(notice->status, 200);
  EXPECT_LT(notice->body.size(), kLimit);
  EXPECT_EQ(more_count(notice->body), more);
  EXPECT_TRUE(has(notice->body, "https://lukou.example/villages/dashan/2025-10/alerts")) << "printed, for the board";

  // The alerts pages: every alert once, in order, each page under the limit.
  auto first = w.get(base + "/alerts");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first->body, m, std::regex("预警第1/([0-9]+)页")));
  int pages = std::stoi(m[1].str());
  EXPECT_GE(pages, 2);
  std::vector<int> all;
  for (int page = 1; page <= pages; ++page) {
    auto r = w.get(page == 1 ? base + "/alerts" : base + "/alerts/page/" + std::to_string(page));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << page;
    EXPECT_LT(r->body.size(), kLimit) << page;
    EXPECT_TRUE(has(r->body, "预警第" + std::to_string(page) + "/" + std::to_string(pages) + "页")) << page;
    EXPECT_EQ(more_count(r->body), 0) << "the alerts pages list all";
    auto some = alerted(r->body);
    all.insert(all.end(), some.begin(), some.end());
  }
  ASSERT_EQ(static_cast<int>(all.size()), kWithdrawals - 1);
  for (int i = 0; i < kWithdrawals - 1; ++i) EXPECT_EQ(all[i], i);
  auto beyond = w.get(base + "/alerts/page/" + std::to_string(pages + 1));
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->status, 404);
  auto unpublished = w.get("/villages/dashan/2025-11/alerts");
  ASSERT_TRUE(unpublished);
  EXPECT_EQ(unpublished->status, 404);
  EXPECT_TRUE(has(unpublished->body, "还没有公开")) << unpublished->body;

  // The village page and the front page count what they leave out.
  auto village = w.get("/villages/dashan");
  ASSERT_TRUE(village);
  EXPECT_LT(village->body.size(), kLimit);
  EXPECT_GT(more_count(village->body), 0);
  auto home = w.get("/");
  ASSERT_TRUE(home);
  EXPECT_LT(home->body.size(), kLimit);
  EXPECT_GT(more_count(home->body), kWithdrawals - 10) << "a few per village on the front page";
  EXPECT_TRUE(has(home->body, "<a href=\"/villages/dashan\">/villages/dashan</a>"));
}

// The month page is cached by its log's size, but an alert about it can be
// raised by the calendar alone (a withdrawal turning 30 days old): the next
// day shows it with nothing written.
TEST_F(ManyAlerts, AWithdrawalTurning30DaysOldShowsTheNextDayWithNothingWritten) {
  const std::string base = "/villages/dashan/2025-10";
  auto before = w.get(base);
  auto alerts_before = w.get(base + "/alerts");
  ASSERT_TRUE(before && alerts_before);
  int total_before = static_cast<int>(alerted(before->body).size()) + more_count(before->body);
  ASSERT_EQ(total_before, kWithdrawals - 1);
  auto size = l.log_size("dashan");
  w.demo.t.clock.advance(24 * 3600);
  auto after = w.get(base);
  ASSERT_TRUE(after);
  EXPECT_EQ(static_cast<int>(alerted(after->body).size()) + more_count(after->body), kWithdrawals);
  EXPECT_EQ(*l.log_size("dashan"), *size);
  int listed = 0;
  for (int page = 1;; ++page) {
    auto r = w.get(base + (page == 1 ? std::string("/alerts") : "/alerts/page/" + std::to_string(page)));
    ASSERT_TRUE(r);
    if (r->status == 404) break;
    listed += static_cast<int>(alerted(r->body).size());
    ASSERT_LT(page, 100);
  }
  EXPECT_EQ(listed, kWithdrawals);
}

}  // namespace
}  // namespace sunledger
