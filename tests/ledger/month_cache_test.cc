// The months Ledger::month_entries keeps in memory (ledger/month_cache.h): a
// month read again is the same shared copy until its log grows, a line
// posted since (by this Ledger or by another on the same database, as a
// second node's) is always in the answer, and the memory stays within its
// budget. Both engines (ledger_tests and ledger_tests_on_postgresql).
#include <gtest/gtest.h>

#include "ledger/ledger.h"
#include "ledger/month_cache.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::official;
using testing::txn;

std::vector<std::string> items(const MonthEntries& month) {
  std::vector<std::string> out;
  for (const auto& e : *month) out.push_back(e.fields.value("item", ""));
  return out;
}

TEST(MonthEntriesKept, AMonthReadAgainIsSharedUntilItsLogGrows) {
  testing::TestLedger t;
  Ledger& l = *t.ledger;
  ASSERT_TRUE(l.add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(l.add_village({"zhuting", "朱亭村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(l.post_transactions("shuangjiang", {txn("2022-11-02", true, "租金", "鱼塘承包", 2'000'00),
                                                  txn("2022-11-05", false, "办公费", "打印纸", 350'00)},
                                  official()).is_ok());
  auto first = l.month_entries("shuangjiang", "2022-11");
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  auto again = l.month_entries("shuangjiang", "2022-11");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(first->get(), again->get());  // kept: not read and parsed again
  EXPECT_EQ(items(*again), (std::vector<std::string>{"鱼塘承包", "打印纸"}));

  // Another village's post leaves this log as it was.
  ASSERT_TRUE(l.post_transactions("zhuting", {txn("2022-11-03", true, "租金", "山林承包", 900'00)}, official()).is_ok());
  EXPECT_EQ(l.month_entries("shuangjiang", "2022-11")->get(), first->get());

  // Its log grew (in another month): read again, the same lines.
  ASSERT_TRUE(l.post_transactions("shuangjiang", {txn("2022-12-01", false, "办公费", "墨盒", 120'00)}, official()).is_ok());
  auto grown = l.month_entries("shuangjiang", "2022-11");
  ASSERT_TRUE(grown.is_ok());
  EXPECT_NE(grown->get(), first->get());
  EXPECT_EQ(items(*grown), items(*first));

  // A line of the month itself: in the next answer.
  ASSERT_TRUE(l.post_transactions("shuangjiang", {txn("2022-11-28", false, "办公费", "胶水", 12'34)}, official()).is_ok());
  EXPECT_EQ(items(*l.month_entries("shuangjiang", "2022-11")),
            (std::vector<std::string>{"鱼塘承包", "打印纸", "胶水"}));
  EXPECT_EQ(items(*l.month_entries("shuangjiang", "2022-12")), (std::vector<std::string>{"墨盒"}));
  EXPECT_TRUE((*l.month_entries("zhuting", "2022-10"))->empty());
}

// Two Ledgers on one database (two nodes on PostgreSQL; the CLI beside a
// server on SQLite): a line the other posted is in this one's next answer,
// however recently this one read the month.
TEST(MonthEntriesKept, ALineAnotherLedgerPostedIsInTheNextAnswer) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {txn("2022-11-02", true, "租金", "鱼塘承包", 2'000'00)},
                                          official()).is_ok());
  auto opened = Ledger::open(t.options({}));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<Ledger> other = std::move(*opened);
  ASSERT_EQ(items(*t.ledger->month_entries("shuangjiang", "2022-11")), std::vector<std::string>{"鱼塘承包"});
  ASSERT_TRUE(other->post_transactions("shuangjiang", {txn("2022-11-09", false, "工程款", "水渠修缮", 1'576'00)},
                                       official()).is_ok());
  EXPECT_EQ(items(*t.ledger->month_entries("shuangjiang", "2022-11")),
            (std::vector<std::string>{"鱼塘承包", "水渠修缮"}));
}

// The memory stays within its budget, weighed in leaf bytes (a month and
// each of its entries count kOverheadBytes more), the least recently used
// month going first; a month over the whole budget is still kept, alone.
TEST(MonthEntriesCache, StaysWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  constexpr size_t kUnit = ledger_internal::MonthEntriesCache::kOverheadBytes;
  ledger_internal::MonthEntriesCache cache(10 * kUnit);
  auto month = [](size_t n, size_t leaf_bytes = 0) {
    auto v = std::make_shared<std::vector<Entry>>(n);
    for (auto& e : *v) e.leaf.assign(leaf_bytes, 'x');
    return MonthEntries(std::move(v));
  };
  cache.put(1, "2022-10", 7, month(4));  // weighs 5 units
  cache.put(1, "2022-11", 7, month(3));  // 4: 9 in all
  ASSERT_NE(cache.find(1, "2022-10", 7), nullptr);  // used last now
  EXPECT_EQ(cache.find(1, "2022-10", 8), nullptr);  // the log grew: not this
  cache.put(2, "2022-11", 3, month(0));  // 1: 10 in all
  EXPECT_EQ(cache.held(), 10 * kUnit);
  cache.put(2, "2022-12", 3, month(0));  // 11: the least recently used goes
  EXPECT_EQ(cache.find(1, "2022-11", 7), nullptr);
  EXPECT_NE(cache.find(1, "2022-10", 7), nullptr);
  EXPECT_EQ(cache.held(), 7 * kUnit);
  for (int m = 1; m <= 12; ++m) cache.put(3, "2021-" + std::string(m < 10 ? "0" : "") + std::to_string(m), 1, month(0));
  EXPECT_LE(cache.held(), 10 * kUnit);
  // Leaves count by their bytes: one entry of 4 units' leaf weighs 6.
  cache.put(5, "2023-02", 2, month(1, 4 * kUnit));
  EXPECT_NE(cache.find(5, "2023-02", 2), nullptr);
  EXPECT_LE(cache.held(), 10 * kUnit);
  EXPECT_GE(cache.held(), 6 * kUnit);
  // One month over the whole budget is still kept, alone.
  cache.put(4, "2023-01", 9, month(40));
  EXPECT_EQ(cache.held(), 41 * kUnit);
  EXPECT_NE(cache.find(4, "2023-01", 9), nullptr);
  EXPECT_EQ(cache.find(5, "2023-02", 2), nullptr);
  // An older snapshot's read, finishing late, does not replace a newer one;
  // a newer one replaces it and weighs as itself.
  cache.put(4, "2023-01", 8, month(1));
  EXPECT_EQ(cache.find(4, "2023-01", 8), nullptr);
  EXPECT_NE(cache.find(4, "2023-01", 9), nullptr);
  cache.put(4, "2023-01", 10, month(2));
  EXPECT_EQ(cache.held(), 3 * kUnit);
  EXPECT_EQ((*cache.find(4, "2023-01", 10)).size(), 2u);
}

}  // namespace
}  // namespace sunledger
