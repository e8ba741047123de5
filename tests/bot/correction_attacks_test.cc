// Attacks on the corrections in chat (issue #16 item 2), by an official who
// types hostile lines or uses a correction to hide what the alerts exist to
// show: each refusal is polite and writes nothing, and a transfer out of the
// special funds is the diversion it is.
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "group_bot_fixture.h"
#include "test_support.h"

namespace sunledger {
namespace {

struct CorrectionAttacks : testing::GroupBotTest {
  uint64_t size() { return *t.ledger->log_size("shuangjiang"); }

  // What 预警 shows the secretary and the villagers' published books show.
  std::string alerts() { return say("secretary", "预警"); }
};

// The Shuangjiang case through the back door: the special funds are first
// moved to the general fund by a transfer, then spent from there on the road.
// No expense line is paid from 专项资金 to another project, so the classic
// diversion alert would not fire; the transfer itself must raise it.
TEST_F(CorrectionAttacks, ATransferOutOfTheSpecialFundsIsADiversion) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary",
                "记账 2022-11\n"
                "收入 上级拨款 300000 水利专项资金到账 项目:水利建设 资金:专项资金 对方:区水利局 日期:2022-11-03\n"
                "支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 日期:2022-11-09\n")
                .find("已记账2笔"),
            std::string::npos);
  EXPECT_EQ(alerts().find("专项资金挪用"), std::string::npos);
  std::string moved = say("secretary",
                          "记账 2022-11\n"
                          "转账 142400 从:专项资金 到:一般资金 日期:2022-11-20\n"
                          "支出 工程款 142400 村道拓宽 资金:一般资金 对方:某道路工程公司 日期:2022-11-21\n");
  ASSERT_NE(moved.find("已记账2笔"), std::string::npos) << moved;
  std::string raised = alerts();
  EXPECT_NE(raised.find("专项资金挪用:第#"), std::string::npos) << raised;
  EXPECT_NE(raised.find("从专项资金转出142,400.00元(14.24万元)到“一般资金”"), std::string::npos) << raised;
  EXPECT_NE(raised.find("专项资金去向不明:“水利建设”"), std::string::npos) << raised;
  // Published, the month's notice carries it too.
  std::string published = say("secretary", "公开 2022-11");
  ASSERT_NE(published.find("已公开"), std::string::npos) << published;
  std::string statement = say("villager", "账目 2022-11");
  EXPECT_NE(statement.find("从专项资金转出142,400.00元"), std::string::npos) << statement;
  // A transfer between ordinary funds (cash drawn from the bank) raises nothing.
  ASSERT_NE(say("secretary", "记账 2022-12\n转账 2000 取备用金 从:银行存款 到:现金 日期:2022-12-01").find("已记账1笔"),
            std::string::npos);
  std::string after = alerts();
  EXPECT_EQ(after.find("到“现金”"), std::string::npos) << after;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// Hostile lines: each refused politely, naming the line, and nothing written
// (not even the good lines of the same message).
TEST_F(CorrectionAttacks, HostileCorrectionLinesAreRefusedAndWriteNothing) {
  ASSERT_NE(say("secretary", "立项 村道 10万").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-11\n期初余额 5000 资金:现金 日期:2022-11-01").find("已记账1笔"), std::string::npos);
  uint64_t before = size();
  struct Case {
    const char* line;
    const char* says;
  };
  for (const Case& c : {
           Case{"期初余额 -5000 资金:现金", "不能为负数"},
           Case{"期初余额 −5000 资金:现金", "不能为负数"},  // U+2212 MINUS SIGN
           Case{"期初余额 0 资金:现金", "金额"},
           Case{"期初余额 100000001 资金:银行存款", "超过1亿元"},
           Case{"期初余额 99999999999999999999999 资金:银行存款", "金额"},
           Case{"期初余额 1e9 资金:银行存款", "金额"},
           Case{"期初余额 资金:现金", "格式"},
           Case{"转账 100 从:小金库 到:现金", "资金“小金库”没有对应的会计科目"},
           Case{"转账 100 从:现金 到:现金", "转出和转入是同一个资金"},
           Case{"转账 100 从:现金", "转账要写明转入的资金"},
           Case{"转账 100 从: 到:", "转账要写明转入的资金"},
           Case{"转账 100 从:现金 到:现金\xE2\x80\x8B", "没有对应的会计科目"},  // a zero-width space
           Case{"转账 100 从:现金 到:银行存款;DROP TABLE entries", "没有对应的会计科目"},
           Case{"退回 100 项目:村道", "不是专项资金项目"},
           Case{"退回 100", "格式"},
           Case{"退回 100 结余退回", "退回要写明是哪个专项项目的资金"},
           Case{"退回 100 项目:水利建设 资金:现金", "退回的是专项资金"},
           Case{"期初余额 100 资金:现金 日期:2022-11-31", "日期"},
           Case{"期初余额 100 资金:现金 日期:2022-12-01", "不在 2022-11 内"},
           Case{"期初余额 100 资金:现金 日期:2022-11-15", "期初余额只能在本村第一笔收支之前录入"},
       }) {
    // A good line first: the whole message must be refused with the bad one.
    std::string r = say("secretary", std::string("记账 2022-11\n转账 10 从:现金 到:银行存款 日期:2022-11-02\n") + c.line);
    EXPECT_NE(r.find("未记账"), std::string::npos) << c.line << "\n" << r;
    EXPECT_NE(r.find(c.says), std::string::npos) << c.line << "\n" << r;
    EXPECT_EQ(size(), before) << c.line;
  }
  // An opening balance after other money in the same message, the money first.
  std::string r = say("secretary", "记账 2022-11\n支出 办公费 10 打印纸 资金:现金 日期:2022-11-02\n期初余额 100 资金:银行存款 日期:2022-11-02");
  EXPECT_NE(r.find("期初余额只能在本村第一笔收支之前录入"), std::string::npos) << r;
  EXPECT_EQ(size(), before);
  // CR LF line ends and a full-width colon are what chat apps send: accepted.
  r = say("secretary", "记账 2022-11\r\n转账 10 从\xEF\xBC\x9A现金 到\xEF\xBC\x9A银行存款 日期:2022-11-02\r\n");
  EXPECT_NE(r.find("已记账1笔"), std::string::npos) << r;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// A villager or a stranger cannot post a correction: 记账 is an official's.
TEST_F(CorrectionAttacks, AVillagerCannotPostACorrection) {
  uint64_t before = size();
  std::string r = say("villager", "记账 2022-11\n期初余额 1000000 资金:银行存款 日期:2022-11-01");
  EXPECT_EQ(r.find("已记账"), std::string::npos) << r;
  EXPECT_EQ(size(), before);
}

// The same correction posted twice (a message sent again, a CSV upload
// retried after a timeout): refused the second time as an income or expense
// line is, naming the earlier entry; a transfer or return that really
// happened twice passes when marked 重复:确认. An opening balance is one per
// fund a year, marked or not; the next January 1st may open the fund again.
TEST_F(CorrectionAttacks, TheSameCorrectionPostedTwiceIsRefusedAsADuplicate) {
  std::string first = say("secretary", "记账 2022-11\n期初余额 200000 资金:银行存款 日期:2022-11-01");
  ASSERT_NE(first.find("已记账1笔(#"), std::string::npos) << first;
  std::string opening_idx = first.substr(first.find("(#") + 2, first.find(")") - first.find("(#") - 2);
  uint64_t before = size();
  std::string again = say("secretary", "记账 2022-11\n期初余额 200000 资金:银行存款 日期:2022-11-01");
  EXPECT_EQ(again.find("已记账"), std::string::npos) << again;
  EXPECT_NE(again.find("第2行: 资金“银行存款”2022年的期初余额已经录入过:#" + opening_idx +
                       "(2022-11-01 期初余额 200,000.00元 银行存款,记于"),
            std::string::npos)
      << again;
  // Another amount, or marked as meant, is still a second opening of the fund.
  again = say("secretary", "记账 2022-11\n期初余额 1000 资金:银行存款 日期:2022-11-01 重复:确认");
  EXPECT_NE(again.find("2022年的期初余额已经录入过:#" + opening_idx), std::string::npos) << again;
  // Two in one message: the second names the first line.
  again = say("secretary", "记账 2022-11\n期初余额 500 资金:现金 日期:2022-11-01\n期初余额 600 资金:现金 日期:2022-11-01");
  EXPECT_NE(again.find("第3行: 资金“现金”2022年的期初余额已经录入过:第2行"), std::string::npos) << again;
  EXPECT_EQ(size(), before);

  ASSERT_NE(say("secretary", "记账 2022-11\n转账 2000 取备用金 从:银行存款 到:现金 日期:2022-11-10").find("已记账1笔"),
            std::string::npos);
  std::string transfer = say("secretary", "记账 2022-11\n转账 2000 取备用金 从:银行存款 到:现金 日期:2022-11-10");
  EXPECT_EQ(transfer.find("已记账"), std::string::npos) << transfer;
  EXPECT_NE(transfer.find("(2022-11-10 转账 2,000.00元 银行存款→现金,记于"), std::string::npos) << transfer;
  EXPECT_NE(transfer.find("重复:确认"), std::string::npos) << transfer;
  EXPECT_EQ(size(), before + 1);
  // The same twice in one message (no item: the kind is the item of both).
  transfer = say("secretary", "记账 2022-11\n转账 300 从:银行存款 到:现金 日期:2022-11-12\n转账 300 从:银行存款 到:现金 日期:2022-11-12");
  EXPECT_NE(transfer.find("第3行: 与第2行完全相同"), std::string::npos) << transfer;
  EXPECT_EQ(size(), before + 1);
  // Other fields make another transfer: the other direction, another day.
  EXPECT_NE(say("secretary", "记账 2022-11\n转账 2000 取备用金 从:现金 到:银行存款 日期:2022-11-10").find("已记账1笔"),
            std::string::npos);
  EXPECT_NE(say("secretary", "记账 2022-11\n转账 2000 取备用金 从:银行存款 到:现金 日期:2022-11-11").find("已记账1笔"),
            std::string::npos);
  // Marked as meant, a transfer that really happened twice passes, and says so in its entry.
  std::string meant = say("secretary", "记账 2022-11\n转账 2000 取备用金 从:银行存款 到:现金 日期:2022-11-10 重复:确认");
  ASSERT_NE(meant.find("已记账1笔"), std::string::npos) << meant;
  auto marked = t.ledger->entries("shuangjiang", size() - 1, size());
  ASSERT_TRUE(marked.is_ok() && marked->size() == 1);
  EXPECT_TRUE((*marked)[0].fields.value("repeat", false)) << (*marked)[0].fields.dump();
  EXPECT_EQ(size(), before + 4);

  // A return posted twice, the same.
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-11\n收入 上级拨款 10000 专项到账 项目:水利建设 资金:专项资金 日期:2022-11-03").find("已记账1笔"),
            std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-11\n退回 1000 结余退回 项目:水利建设 对方:区水利局 日期:2022-11-20").find("已记账1笔"),
            std::string::npos);
  uint64_t returned = size();
  std::string twice = say("secretary", "记账 2022-11\n退回 1000 结余退回 项目:水利建设 对方:区水利局 日期:2022-11-20");
  EXPECT_NE(twice.find("(2022-11-20 退回 1,000.00元 专项资金,记于"), std::string::npos) << twice;
  EXPECT_EQ(size(), returned);

  // The next year's first day may open the fund again (how an opening is corrected), once.
  t.clock.set(testing::kDec5th2022 + 40 * 86400);  // 2023-01-14
  ASSERT_NE(say("secretary", "公开 2022-11").find("已公开"), std::string::npos);
  ASSERT_NE(say("secretary", "公开 2022-12").find("已公开"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2023-01\n期初余额 100 资金:银行存款 日期:2023-01-01").find("已记账1笔"), std::string::npos);
  std::string twice_a_year = say("secretary", "记账 2023-01\n期初余额 100 资金:银行存款 日期:2023-01-01");
  EXPECT_NE(twice_a_year.find("资金“银行存款”2023年的期初余额已经录入过"), std::string::npos) << twice_a_year;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// Two names of one account: 一般资金 and 银行存款 both map to 102, so a
// "transfer" between them would be Dr 102 / Cr 102, nothing moved, while the
// books showed the two names' balances apart (−X and +X). The same between
// two liabilities (专项资金 → 一事一议: Dr 102 / Cr 102, 241 and 231
// unchanged). Refused, naming the account; a village's own mapping decides.
TEST_F(CorrectionAttacks, ATransferBetweenTwoNamesOfOneAccountIsRefused) {
  uint64_t before = size();
  std::string r = say("secretary", "记账 2022-11\n转账 100 从:一般资金 到:银行存款 日期:2022-11-02");
  EXPECT_EQ(r.find("已记账"), std::string::npos) << r;
  EXPECT_NE(r.find("转出的“一般资金”和转入的“银行存款”是同一个会计科目102 银行存款"), std::string::npos) << r;
  r = say("secretary", "记账 2022-11\n转账 100 从:专项资金 到:一事一议 日期:2022-11-02");
  EXPECT_EQ(r.find("已记账"), std::string::npos) << r;
  EXPECT_NE(r.find("的钱都存在102 银行存款"), std::string::npos) << r;
  // The default fund (no 从:) is 一般资金, 102 too.
  r = say("secretary", "记账 2022-11\n转账 100 到:银行 日期:2022-11-02");
  EXPECT_NE(r.find("是同一个会计科目102"), std::string::npos) << r;
  EXPECT_EQ(size(), before);
  // Between two accounts it moves money: the bank and the cash box.
  r = say("secretary", "记账 2022-11\n转账 100 从:一般资金 到:现金 日期:2022-11-02");
  EXPECT_NE(r.find("已记账1笔"), std::string::npos) << r;
}

}  // namespace
}  // namespace sunledger
