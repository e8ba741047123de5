// The corrections accountants expect, in chat (issue #16 item 2): 期初余额,
// 转账 and 退回 lines in a 记账 block; a return settles a finished special
// project's alert.
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "group_bot_fixture.h"
#include "test_support.h"

namespace sunledger {
namespace {


struct ChatCorrections : testing::GroupBotTest {

};

TEST_F(ChatCorrections, OpeningTransferAndReturnInChat) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
  std::string posted = say("secretary",
                           "记账 2022-11\n"
                           "期初余额 5000 资金:现金 日期:2022-11-01\n"
                           "期初余额 20万 资金:银行存款 日期:2022-11-01\n"
                           "收入 上级拨款 300000 水利专项资金到账 项目:水利建设 资金:专项资金 日期:2022-11-03\n"
                           "支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 日期:2022-11-09\n"
                           "转账 2000 取备用金 从:银行存款 到:现金 日期:2022-11-10\n");
  ASSERT_NE(posted.find("已记账5笔"), std::string::npos) << posted;
  // An opening balance after money has moved is refused, politely, and nothing is written.
  uint64_t before = *t.ledger->log_size("shuangjiang");
  std::string late = say("secretary", "记账 2022-11\n期初余额 100 资金:现金 日期:2022-11-12");
  EXPECT_NE(late.find("期初余额只能在本村第一笔收支之前录入"), std::string::npos) << late;
  std::string unknown = say("secretary", "记账 2022-11\n转账 100 从:现金 到:小金库");
  EXPECT_NE(unknown.find("资金“小金库”没有对应的会计科目"), std::string::npos) << unknown;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), before);

  ASSERT_NE(say("secretary", "结项 水利建设").find("已结项"), std::string::npos);
  EXPECT_NE(say("secretary", "预警").find("项目已结项,专项资金结余142,400.00元"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-11\n退回 142400 结余退回区财政 项目:水利建设 对方:区财政局 日期:2022-11-20").find("已记账1笔"),
            std::string::npos);
  std::string alerts = say("secretary", "预警");
  EXPECT_EQ(alerts.find("结余"), std::string::npos) << alerts;  // the return settles it
  ASSERT_NE(say("secretary", "公开 2022-11").find("已公开"), std::string::npos);
  std::string statement = say("villager", "账目 2022-11");
  EXPECT_NE(statement.find("本月收入:300,000.00元"), std::string::npos) << statement;  // an opening balance is no income
  EXPECT_NE(statement.find("录入期初余额:205,000.00元"), std::string::npos) << statement;
  EXPECT_NE(statement.find("退回专项资金:142,400.00元"), std::string::npos) << statement;
  EXPECT_NE(statement.find("期末余额:205,000.00元"), std::string::npos) << statement;  // 205,000 + 300,000 - 157,600 - 142,400
  std::string details = say("villager", "明细 2022-11");
  EXPECT_NE(details.find("转账 2,000.00元 [资金:银行存款→现金]"), std::string::npos) << details;
  EXPECT_NE(details.find("退回 142,400.00元 [资金:专项资金] [项目:水利建设] [对方:区财政局]"), std::string::npos) << details;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// The Shuangjiang diversion, then part of the water works' money returned:
// the alerts count the return with what was spent, a return above what is
// left is refused naming it, and 冲销 of the return names the way to undo it.
TEST_F(ChatCorrections, ReturnsCountInTheAlertsAndCannotExceedWhatIsUnspent) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary", "立项 道路拓宽 20万").find("已立项"), std::string::npos);
  std::string posted = say("secretary",
                           "记账 2022-11\n"
                           "收入 上级拨款 300000 水利专项资金到账 项目:水利建设 资金:专项资金 日期:2022-11-03\n"
                           "支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 日期:2022-11-09\n"
                           "支出 工程款 142400 道路拓宽 项目:道路拓宽 资金:专项资金 日期:2022-11-21\n"
                           "退回 40000 结余退回区财政 项目:水利建设 对方:区财政局 日期:2022-11-22\n");
  ASSERT_NE(posted.find("已记账4笔"), std::string::npos) << posted;
  std::string alerts = say("secretary", "预警");
  EXPECT_NE(alerts.find("用于本项目157,600.00元(15.76万元),退回40,000.00元(4万元),其余102,400.00元(10.24万元)未用于本项目"),
            std::string::npos)
      << alerts;
  uint64_t before = *t.ledger->log_size("shuangjiang");
  std::string over = say("secretary", "记账 2022-11\n退回 200000 再退 项目:水利建设 日期:2022-11-23");
  EXPECT_NE(over.find("超过项目“水利建设”尚未使用的专项资金102,400.00元"), std::string::npos) << over;
  std::string reversal = say("secretary", "冲销 " + std::to_string(before - 1) + " 退错了");
  EXPECT_NE(reversal.find("是退回,不能冲销"), std::string::npos) << reversal;
  EXPECT_NE(reversal.find("收入 上级拨款 40000 退回款重新到账 项目:水利建设 资金:专项资金"), std::string::npos) << reversal;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), before);
  ASSERT_NE(say("secretary", "结项 水利建设").find("已结项"), std::string::npos);
  alerts = say("secretary", "预警");
  EXPECT_NE(alerts.find("项目已结项,专项资金结余102,400.00元(10.24万元)去向未说明:“水利建设”到账300,000.00元(30万元),支出157,600.00元(15.76万元),退回40,000.00元(4万元)"),
            std::string::npos)
      << alerts;
}

}  // namespace
}  // namespace sunledger
