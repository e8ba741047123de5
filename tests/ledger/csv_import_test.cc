#include "ledger/csv_import.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace sunledger {
namespace {

const std::string kHeader = "date,type,category,item,amount,project,fund,counterparty,note\n";

TEST(EntriesCsv, ParsesQuotedAmountsAndChineseTypes) {
  auto r = parse_entries_csv("\xEF\xBB\xBF" + kHeader +
                             "2022-11-02,income,上级拨款,水利专项资金,\"300,000.00\",水利建设,专项资金,区财政局,\n"
                             "2022-11-10,支出,工程款,\"水渠修缮, 一期\",15.76万,水利建设,专项资金,某工程队,\"说明\"\"引号\"\"\"\r\n"
                             "\n");
  ASSERT_TRUE(r.errors.empty()) << describe_row_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_TRUE(r.lines[0].income);
  EXPECT_EQ(r.lines[0].amount, 30'000'000);
  EXPECT_EQ(r.lines[0].source_line, 2);
  EXPECT_FALSE(r.lines[1].income);
  EXPECT_EQ(r.lines[1].item, "水渠修缮, 一期");
  EXPECT_EQ(r.lines[1].amount, 15'760'000);
  EXPECT_EQ(r.lines[1].note, "说明\"引号\"");
  EXPECT_EQ(r.lines[1].counterparty, "某工程队");
}

// A township accountant's spreadsheet titles the columns in Chinese.
TEST(EntriesCsv, TakesTheChineseHeaderButNotAMix) {
  auto r = parse_entries_csv("\xEF\xBB\xBF日期,类型,类别,摘要,金额,项目,资金,对方,备注\r\n"
                             "2022-11-10,支出,工程款,村道拓宽工程款,\"142,400.00\",道路拓宽,专项资金,某道路工程公司,村支书签批\r\n");
  ASSERT_TRUE(r.errors.empty()) << describe_row_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].amount, 14'240'000);
  EXPECT_EQ(r.lines[0].item, "村道拓宽工程款");
  EXPECT_EQ(r.lines[0].counterparty, "某道路工程公司");
  auto mixed = parse_entries_csv("日期,type,类别,摘要,金额,项目,资金,对方,备注\n2022-11-10,支出,a,b,1,,,,\n");
  ASSERT_EQ(mixed.errors.size(), 1u);
  EXPECT_NE(mixed.errors[0].reason.find("日期,类型,类别,摘要,金额,项目,资金,对方,备注"), std::string::npos) << mixed.errors[0].reason;
  EXPECT_TRUE(mixed.lines.empty());
}

// An optional tenth column, 重复/repeat, marks a line identical to a recent
// one as intended (issue #16); anything but 确认/yes or empty is an error.
TEST(EntriesCsv, TakesARepeatColumn) {
  auto r = parse_entries_csv("日期,类型,类别,摘要,金额,项目,资金,对方,备注,重复\n"
                             "2022-11-10,支出,办公费,打印纸,350,,,文具店,,确认\n"
                             "2022-11-10,支出,办公费,墨盒,120,,,文具店,,\n"
                             "2022-11-10,支出,办公费,墨盒,120,,,文具店,,也许\n"
                             "2022-11-10,支出,办公费,墨盒,120,,,文具店,\n");
  ASSERT_EQ(r.lines.size(), 2u) << describe_row_errors(r.errors);
  EXPECT_TRUE(r.lines[0].repeat);
  EXPECT_FALSE(r.lines[1].repeat);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_NE(r.errors[0].reason.find("重复"), std::string::npos);
  EXPECT_EQ(r.errors[1].line, 5);  // nine cells under a ten-column header
  EXPECT_NE(r.errors[1].reason.find("应有10列"), std::string::npos) << r.errors[1].reason;
  auto en = parse_entries_csv(kHeader.substr(0, kHeader.size() - 1) + ",repeat\n2022-11-10,expense,a,b,1,,,,,yes\n");
  ASSERT_EQ(en.lines.size(), 1u) << describe_row_errors(en.errors);
  EXPECT_TRUE(en.lines[0].repeat);
  EXPECT_EQ(parse_entries_csv("日期,类型,类别,摘要,金额,项目,资金,对方,备注,repeat\n2022-11-10,支出,a,b,1,,,,,\n").errors.size(), 1u);
}

TEST(EntriesCsv, NamesEveryBadRow) {
  auto r = parse_entries_csv(kHeader +
                             "2022-11-02,income,a,b,100,,,,\n"
                             "2022-11-02,gift,a,b,100,,,,\n"
                             "2022-11-02,income,a,b,-5,,,,\n"
                             "2022-11-02,income,a,b,1,200.00,,,,\n"
                             "2022-13-02,income,a,b,100,,,,\n"
                             "2022-11-02,income,,b,100,,,,\n");
  ASSERT_EQ(r.errors.size(), 5u) << describe_row_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_EQ(r.errors[2].line, 5);  // unquoted comma: 10 columns
  EXPECT_NE(r.errors[2].reason.find("9"), std::string::npos);
  EXPECT_EQ(r.errors[3].line, 6);
  EXPECT_EQ(r.errors[4].line, 7);
  std::string text = describe_row_errors(r.errors);
  EXPECT_NE(text.find("第3行"), std::string::npos);
  EXPECT_NE(text.find("第7行"), std::string::npos);
}

TEST(EntriesCsv, RefusesBadFiles) {
  EXPECT_FALSE(parse_entries_csv("").errors.empty());
  EXPECT_FALSE(parse_entries_csv("a,b,c\n1,2,3\n").errors.empty());
  EXPECT_FALSE(parse_entries_csv(kHeader).errors.empty());
  auto r = parse_entries_csv(kHeader + "2022-11-02,income,\"a,b,100,,,,\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2);
}

// `"x"y` is not a CSV field; it used to be stored as `xy`. The file is
// refused naming the line, wherever the quoted field sits on it.
TEST(EntriesCsv, RefusesTextAfterAClosingQuote) {
  for (const std::string& row : {std::string("2022-11-02,income,a,\"x\"y,100,,,,\n"),
                                 std::string("2022-11-02,income,a,b,\"1\"00,,,,\n"),
                                 std::string("2022-11-02,income,a,b,100,,,,\"note\" \n"),
                                 std::string("2022-11-02,income,a,b,100,,,,\"note\"x")}) {
    auto r = parse_entries_csv(kHeader + "2022-11-01,income,a,b,1,,,,\n" + row);
    ASSERT_EQ(r.errors.size(), 1u) << row;
    EXPECT_EQ(r.errors[0].line, 3) << row;
    EXPECT_NE(r.errors[0].reason.find("closing quote"), std::string::npos) << r.errors[0].reason;
    EXPECT_TRUE(r.lines.empty());
  }
  // A quoted field spanning lines: the line named is where its quote closed.
  auto r = parse_entries_csv(kHeader + "2022-11-02,income,a,\"b\nc\"d,100,,,,\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  // Delimiters after the quote remain fine: comma, LF, CRLF, end of file.
  for (const std::string& row : {std::string("2022-11-02,income,a,\"b\",100,,,,\"n\"\n"),
                                 std::string("2022-11-02,income,a,\"b\",100,,,,\"n\"\r\n"),
                                 std::string("2022-11-02,income,a,\"b\",100,,,,\"n\"")}) {
    auto ok = parse_entries_csv(kHeader + row);
    ASSERT_TRUE(ok.errors.empty()) << describe_row_errors(ok.errors);
    EXPECT_EQ(ok.lines[0].item, "b");
    EXPECT_EQ(ok.lines[0].note, "n");
  }
}

// The corrections (issue #16) in CSV: 类型 期初余额, 转账 (资金 the fund the
// money leaves, 对方 the one it goes to) and 退回; posted as in chat.
TEST(EntriesCsv, TakesOpeningBalancesTransfersAndReturns) {
  auto r = parse_entries_csv("日期,类型,类别,摘要,金额,项目,资金,对方,备注\n"
                             "2022-11-01,期初余额,,,5000,,现金,,\n"
                             "2022-11-01,期初余额,,,200000,,银行存款,,\n"
                             "2022-11-02,上级拨款,,,1,,,,\n"
                             "2022-11-03,收入,上级拨款,水利专项到账,300000,水利建设,专项资金,区水利局,\n"
                             "2022-11-04,转账,,取备用金,2000,,银行存款,现金,\n"
                             "2022-11-20,退回,,结余退回,142400,水利建设,专项资金,区财政局,\n");
  ASSERT_EQ(r.errors.size(), 1u) << describe_row_errors(r.errors);  // 上级拨款 is no type
  EXPECT_NE(r.errors[0].reason.find("收入、支出、期初余额、转账 或 退回"), std::string::npos) << r.errors[0].reason;
  ASSERT_EQ(r.lines.size(), 5u);
  EXPECT_EQ(r.lines[0].kind, kOpeningBalanceKind);
  EXPECT_EQ(r.lines[3].kind, kTransferKind);
  EXPECT_EQ(r.lines[3].fund, "银行存款");
  EXPECT_EQ(r.lines[3].to_fund, "现金");
  EXPECT_EQ(r.lines[3].counterparty, "");
  EXPECT_EQ(r.lines[4].kind, kSpecialReturnKind);
  EXPECT_EQ(r.lines[4].counterparty, "区财政局");

  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"v1", "一村", "一镇"}).is_ok());
  ASSERT_TRUE(t.ledger->register_project("v1", {"水利建设", 300'000'00, true}, testing::official()).is_ok());
  auto posted = t.ledger->post_transactions("v1", r.lines, testing::official());
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  // The upload retried after a timeout: each correction is named as a double
  // of what the first one posted, and nothing is written.
  uint64_t before = *t.ledger->log_size("v1");
  auto retried = t.ledger->post_transactions("v1", r.lines, testing::official());
  ASSERT_FALSE(retried.is_ok());
  const std::string& why = retried.status().message();
  const std::string first = std::to_string(posted->indexes[0]);
  for (std::string says : {"第2行: 资金“现金”2022年的期初余额已经录入过:#" + first + "(2022-11-01 期初余额 5,000.00元 现金,记于",
                           std::string("资金“银行存款”2022年的期初余额已经录入过:#"),
                           "与#" + std::to_string(posted->indexes[3]) + "(2022-11-04 转账 2,000.00元 银行存款→现金,记于",
                           "与#" + std::to_string(posted->indexes[4]) + "(2022-11-20 退回 142,400.00元 专项资金,记于"})
    EXPECT_NE(why.find(says), std::string::npos) << says << "\n" << why;
  EXPECT_EQ(*t.ledger->log_size("v1"), before);
  auto close = t.ledger->close_month("v1", "2022-11", testing::official());
  ASSERT_TRUE(close.is_ok());
  EXPECT_EQ(entry_fen(close->statement, "income_total"), 300'000'00);
  EXPECT_EQ(entry_fen(close->statement, "closing"), 205'000'00 + 300'000'00 - 142'400'00);
  EXPECT_EQ(close->statement["fund_balances"]["现金"].get<Fen>(), 7'000'00);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

}  // namespace
}  // namespace sunledger
