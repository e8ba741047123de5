// The corrections accountants expect (issue #16 item 2): an opening balance
// per fund, a transfer between funds, the return of unspent special funds;
// each its own signed entry kind, neither income nor expense in a statement.
#include <gtest/gtest.h>

#include "ledger/chart.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::official;

TransactionLine correction(const char* kind, const std::string& date, Fen amount, const std::string& fund,
                           const std::string& to_fund = "", const std::string& project = "") {
  TransactionLine l;
  l.kind = kind;
  l.date = date;
  l.amount = amount;
  l.fund = fund;
  l.to_fund = to_fund;
  l.project = project;
  return l;
}

struct Corrections : ::testing::Test {
  testing::TestLedger t;
  void SetUp() override {
    ASSERT_TRUE(t.ledger->add_village({"v1", "一村", "一镇"}).is_ok());
    ASSERT_TRUE(t.ledger->register_project("v1", {"水利建设", 300'000'00, true}, official()).is_ok());
    ASSERT_TRUE(t.ledger->register_project("v1", {"道路拓宽", 200'000'00, false}, official()).is_ok());
  }
  uint64_t size() { return *t.ledger->log_size("v1"); }
};

TEST_F(Corrections, AnOpeningBalanceIsNotIncomeAndComesBeforeAnyOtherMoney) {
  auto r = t.ledger->post_transactions(
      "v1", {correction(kOpeningBalanceKind, "2022-11-01", 12'345'67, "现金"), correction(kOpeningBalanceKind, "2022-11-01", 500'000'00, "银行存款")},
      official());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto e = t.ledger->entries("v1", r->indexes[0], r->indexes[0] + 1);
  EXPECT_EQ(entry_string((*e)[0].fields, "kind"), "opening_balance");
  ASSERT_TRUE(t.ledger->post_transactions("v1", {testing::txn("2022-11-03", false, "办公费", "纸", 100'00, "", "现金")}, official()).is_ok());
  // After a money entry: refused politely, nothing written, unless dated on a year's first day.
  uint64_t before = size();
  auto late = t.ledger->post_transactions("v1", {correction(kOpeningBalanceKind, "2022-11-05", 1'00, "现金")}, official());
  ASSERT_FALSE(late.is_ok());
  EXPECT_EQ(late.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("期初余额只能在本村第一笔收支之前录入"), std::string::npos) << late.status().message();
  // 现金 has one this year already: named too (a retried upload meets both rules).
  EXPECT_NE(late.status().message().find("资金“现金”2022年的期初余额已经录入过:#"), std::string::npos) << late.status().message();
  EXPECT_EQ(size(), before);
  auto close = t.ledger->close_month("v1", "2022-11", official());
  ASSERT_TRUE(close.is_ok()) << close.status().to_string();
  const auto& s = close->statement;
  EXPECT_EQ(entry_fen(s, "income_total"), 0);
  EXPECT_EQ(entry_fen(s, "opening_balances"), 512'345'67);
  EXPECT_EQ(entry_fen(s, "closing"), 512'345'67 - 100'00);
  EXPECT_EQ(s["fund_balances"]["现金"].get<Fen>(), 12'245'67);
  t.clock.set(testing::kDec5th2022 + 40 * 86400);  // 2023-01-14
  ASSERT_TRUE(t.ledger->close_month("v1", "2022-12", official()).is_ok());
  auto new_year = t.ledger->post_transactions("v1", {correction(kOpeningBalanceKind, "2023-01-01", 7'00, "现金")}, official());
  EXPECT_TRUE(new_year.is_ok()) << new_year.status().to_string();
  EXPECT_TRUE(t.ledger->verify()->intact());
}

TEST_F(Corrections, ATransferMovesMoneyBetweenMappedFundsOnly) {
  ASSERT_TRUE(t.ledger->post_transactions("v1", {correction(kOpeningBalanceKind, "2022-11-01", 10'000'00, "银行存款")}, official()).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("v1", {correction(kTransferKind, "2022-11-02", 2'000'00, "银行存款", "现金")}, official()).is_ok());
  uint64_t before = size();
  auto unknown = t.ledger->post_transactions("v1", {correction(kTransferKind, "2022-11-02", 1'00, "银行存款", "小金库")}, official());
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("资金“小金库”没有对应的会计科目,已知的资金:"), std::string::npos) << unknown.status().message();
  auto same = t.ledger->post_transactions("v1", {correction(kTransferKind, "2022-11-02", 1'00, "现金", "现金")}, official());
  ASSERT_FALSE(same.is_ok());
  EXPECT_NE(same.status().message().find("同一个资金"), std::string::npos);
  auto nowhere = t.ledger->post_transactions("v1", {correction(kTransferKind, "2022-11-02", 1'00, "现金")}, official());
  EXPECT_FALSE(nowhere.is_ok());
  EXPECT_EQ(size(), before);
  auto close = t.ledger->close_month("v1", "2022-11", official());
  ASSERT_TRUE(close.is_ok());
  EXPECT_EQ(entry_fen(close->statement, "closing"), 10'000'00);  // moved, not spent
  EXPECT_EQ(entry_fen(close->statement, "transfers"), 2'000'00);
  EXPECT_EQ(close->statement["fund_balances"]["现金"].get<Fen>(), 2'000'00);
  EXPECT_EQ(close->statement["fund_balances"]["银行存款"].get<Fen>(), 8'000'00);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

TEST_F(Corrections, AReturnPaysBackASpecialProjectsFunds) {
  ASSERT_TRUE(t.ledger->post_transactions("v1", {testing::txn("2022-11-03", true, "上级拨款", "到账", 300'000'00, "水利建设", "专项资金")}, official()).is_ok());
  uint64_t before = size();
  auto ordinary = t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 1'00, "专项资金", "", "道路拓宽")}, official());
  ASSERT_FALSE(ordinary.is_ok());
  EXPECT_NE(ordinary.status().message().find("不是专项资金项目"), std::string::npos) << ordinary.status().message();
  auto no_project = t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 1'00, "专项资金")}, official());
  EXPECT_FALSE(no_project.is_ok());
  auto own_money = t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 1'00, "现金", "", "水利建设")}, official());
  EXPECT_FALSE(own_money.is_ok());
  EXPECT_EQ(size(), before);
  ASSERT_TRUE(t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 142'400'00, "", "", "水利建设")}, official()).is_ok());
  auto close = t.ledger->close_month("v1", "2022-11", official());
  ASSERT_TRUE(close.is_ok());
  EXPECT_EQ(entry_fen(close->statement, "expense_total"), 0);
  EXPECT_EQ(entry_fen(close->statement, "returned"), 142'400'00);
  EXPECT_EQ(entry_fen(close->statement, "closing"), 157'600'00);
  EXPECT_EQ(close->statement["by_project"]["水利建设"]["returned"].get<Fen>(), 142'400'00);
  // Double entry: Dr 241:水利建设 / Cr 102, and what is owed drops by as much.
  auto entries = t.ledger->entries("v1", 0, size());
  JournalBuilder j;
  for (const auto& e : *entries) j.apply(e);
  Fen owed = 0;
  for (const auto& txn : j.transactions()) {
    Fen sum = 0;
    for (const auto& p : txn.postings) {
      sum += p.amount;
      if (p.account->code == "241" && p.project == "水利建设") owed += p.amount;
    }
    EXPECT_EQ(sum, 0) << txn.index;
  }
  EXPECT_EQ(owed, -157'600'00);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// A return pays back what the project has not spent, no more (issue #16):
// received less spent and returned, reversals netted, the lines above it in
// the same batch counted; refused naming the unspent amount, nothing written.
TEST_F(Corrections, AReturnCannotExceedTheProjectsUnspentMoney) {
  auto first = t.ledger->post_transactions(
      "v1", {testing::txn("2022-11-03", true, "上级拨款", "到账", 300'000'00, "水利建设", "专项资金"),
             testing::txn("2022-11-09", false, "工程款", "一期", 157'600'00, "水利建设", "专项资金")},
      official());
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  uint64_t before = size();
  auto over = t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 142'400'01, "", "", "水利建设")},
                                          official());
  ASSERT_FALSE(over.is_ok());
  EXPECT_EQ(over.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(over.status().message().find("超过项目“水利建设”尚未使用的专项资金142,400.00元"), std::string::npos)
      << over.status().message();
  EXPECT_EQ(size(), before);
  // Two returns in one batch add up: the second finds what the first left.
  auto twice = t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-20", 100'000'00, "", "", "水利建设"),
                                                  correction(kSpecialReturnKind, "2022-11-20", 50'000'00, "", "", "水利建设")},
                                           official());
  ASSERT_FALSE(twice.is_ok());
  EXPECT_NE(twice.status().message().find("第2行: 退回50,000.00元"), std::string::npos) << twice.status().message();
  EXPECT_NE(twice.status().message().find("尚未使用的专项资金42,400.00元"), std::string::npos) << twice.status().message();
  EXPECT_EQ(twice.status().message().find("第1行"), std::string::npos) << twice.status().message();
  EXPECT_EQ(size(), before);
  // Spending reversed is unspent again; money received earlier in the same batch counts.
  ASSERT_TRUE(t.ledger->reverse("v1", first->indexes[1], "记错", official()).is_ok());
  auto batch = t.ledger->post_transactions(
      "v1", {testing::txn("2022-11-21", true, "上级拨款", "追加", 10'000'00, "水利建设", "专项资金"),
             correction(kSpecialReturnKind, "2022-11-22", 310'000'00, "", "", "水利建设")},
      official());
  EXPECT_TRUE(batch.is_ok()) << batch.status().to_string();
  auto nothing_left =
      t.ledger->post_transactions("v1", {correction(kSpecialReturnKind, "2022-11-23", 1, "", "", "水利建设")}, official());
  ASSERT_FALSE(nothing_left.is_ok());
  EXPECT_NE(nothing_left.status().message().find("尚未使用的专项资金0.00元"), std::string::npos) << nothing_left.status().message();
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// 冲销 refuses a correction, politely, with the line that undoes it: a
// reversal is the opposite of an income or expense line to verify, the
// checker and the month page, and a correction is neither.
TEST_F(Corrections, ACorrectionIsUndoneByItsOppositeNotByAReversal) {
  auto posted = t.ledger->post_transactions(
      "v1", {correction(kOpeningBalanceKind, "2022-11-01", 10'000'00, "银行存款"),
             correction(kTransferKind, "2022-11-02", 2'000'00, "银行存款", "现金"),
             testing::txn("2022-11-03", true, "上级拨款", "到账", 300'000'00, "水利建设", "专项资金"),
             correction(kSpecialReturnKind, "2022-11-20", 6'800'50, "", "", "水利建设")},
      official());
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  uint64_t before = size();
  auto transfer = t.ledger->reverse("v1", posted->indexes[1], "转错了", official());
  ASSERT_FALSE(transfer.is_ok());
  EXPECT_EQ(transfer.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(transfer.status().message().find("是转账,不能冲销:请记一笔反方向的转账撤回它:转账 2000 从:现金 到:银行存款"),
            std::string::npos)
      << transfer.status().message();
  auto ret = t.ledger->reverse("v1", posted->indexes[3], "退错了", official());
  ASSERT_FALSE(ret.is_ok());
  EXPECT_NE(ret.status().message().find("收入 上级拨款 6800.50 退回款重新到账 项目:水利建设 资金:专项资金"), std::string::npos)
      << ret.status().message();
  auto opening = t.ledger->reverse("v1", posted->indexes[0], "录错了", official());
  ASSERT_FALSE(opening.is_ok());
  EXPECT_NE(opening.status().message().find("是期初余额,不能冲销"), std::string::npos) << opening.status().message();
  EXPECT_EQ(size(), before);
  // The way out it names works: the transfer back.
  EXPECT_TRUE(t.ledger->post_transactions("v1", {correction(kTransferKind, "2022-11-04", 2'000'00, "现金", "银行存款")}, official())
                  .is_ok());
  auto close = t.ledger->close_month("v1", "2022-11", official());
  ASSERT_TRUE(close.is_ok());
  EXPECT_EQ(close->statement["fund_balances"]["现金"].get<Fen>(), 0);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

}  // namespace
}  // namespace sunledger
