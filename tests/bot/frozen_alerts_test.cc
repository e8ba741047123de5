// A published month is frozen (issue #16 item 3): the alerts shown with it are
// those its signed statement recorded; alerts raised later about it appear
// apart, dated, under 公开后新增预警.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "insider.h"
#include "group_bot_fixture.h"
#include "test_support.h"

namespace sunledger {
namespace {

constexpr const char* kLater = "⚠ 公开后新增预警 (alerts raised after publication):\n";

struct FrozenAlerts : testing::GroupBotTest {

  // November: 300,000 of special funds for the water works, 157,600 spent on
  // them, a cash expense above the limit; published on 2022-12-05.
  void publish_november() {
    ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
    ASSERT_NE(say("secretary",
                  "记账 2022-11\n"
                  "收入 上级拨款 300000 水利专项资金到账 项目:水利建设 资金:专项资金 对方:区水利局 日期:2022-11-03\n"
                  "支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 日期:2022-11-09\n"
                  "支出 招待费 6800 接待 资金:现金 日期:2022-11-25\n")
                  .find("已记账3笔"),
              std::string::npos);
    ASSERT_NE(say("secretary", "公开 2022-11").find("已公开"), std::string::npos);
  }
};

TEST_F(FrozenAlerts, LaterEntriesDoNotChangeAPublishedMonthsAlerts) {
  publish_november();
  // The statement signed what the notice showed.
  auto close = t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  ASSERT_TRUE(close->statement.contains("alerts")) << close->statement.dump();
  ASSERT_EQ(close->statement["alerts"].size(), 1u) << close->statement.dump();
  EXPECT_EQ(close->statement["alerts"][0]["kind"], "cash_expense");
  std::string before = say("villager", "账目 2022-11");
  EXPECT_NE(before.find("大额现金支出"), std::string::npos) << before;
  EXPECT_EQ(before.find("公开后新增预警"), std::string::npos) << before;

  // Three days later the project is declared finished with 142,400 unspent,
  // and December (still open) pays cash above the limit.
  t.clock.set(testing::kDec5th2022 + 3 * 86400);
  ASSERT_NE(say("secretary", "结项 水利建设").find("已结项"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-12\n支出 招待费 9000 年终接待 资金:现金 日期:2022-12-07").find("已记账1笔"),
            std::string::npos);

  std::string after = say("villager", "账目 2022-11");
  // Everything November's statement showed is shown unchanged, and the
  // finished project's alert comes apart, dated the day it was raised.
  size_t at = after.find(kLater);
  ASSERT_NE(at, std::string::npos) << after;
  EXPECT_EQ(after.substr(0, at), before.substr(0, before.find("核验码"))) << after;
  EXPECT_NE(after.find(std::string(kLater) + "- 2022-12-08 项目已结项,专项资金结余142,400.00元(14.24万元)去向未说明"),
            std::string::npos)
      << after;
  EXPECT_EQ(after.find("9,000.00"), std::string::npos) << after;  // December is not published: nothing of it shows

  auto alerts = bot->month_alerts("shuangjiang", "2022-11");
  ASSERT_TRUE(alerts.is_ok());
  EXPECT_TRUE(alerts->recorded);
  ASSERT_EQ(alerts->at_publication.size(), 1u);
  EXPECT_EQ(alerts->at_publication[0].kind, FlagKind::kCashExpense);
  ASSERT_EQ(alerts->later.size(), 1u);
  EXPECT_EQ(alerts->later[0].kind, FlagKind::kUnspentSpecialFunds);
  EXPECT_EQ(alerts->later[0].raised_on, "2022-12-08");

  // The monthly notice is the one pushed at publication: the recorded alerts only.
  auto notice = bot->monthly_notice("shuangjiang", "2022-11");
  ASSERT_TRUE(notice.is_ok());
  EXPECT_NE(notice->find("大额现金支出"), std::string::npos) << *notice;
  EXPECT_EQ(notice->find("结余"), std::string::npos) << *notice;

  // Once December is published, its statement records the finished
  // project's alert, and November (no longer the latest) shows its own record.
  ASSERT_NE(say("secretary", "公开 2022-12").find("已公开"), std::string::npos);
  auto december = t.ledger->month_close("shuangjiang", "2022-12");
  ASSERT_TRUE(december.is_ok());
  EXPECT_NE(december->statement["alerts"].dump().find("unspent_special_funds"), std::string::npos);
  std::string november = say("villager", "账目 2022-11");
  EXPECT_EQ(november.find("公开后新增预警"), std::string::npos) << november;
  EXPECT_NE(november.find("大额现金支出"), std::string::npos) << november;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// A reversal of a published line raises its alert about the published month
// when the month it lands in is published, dated that day.
TEST_F(FrozenAlerts, AReversalOfAPublishedLineIsALaterAlertOfItsMonth) {
  publish_november();
  t.clock.set(testing::kDec5th2022 + 86400);
  ASSERT_NE(say("secretary", "冲销 2 金额记错").find("冲销"), std::string::npos);
  std::string open = say("villager", "账目 2022-11");
  EXPECT_EQ(open.find("公开后新增预警"), std::string::npos) << open;  // December is still open
  t.clock.set(testing::kDec5th2022 + 30 * 86400);  // 2023-01-04
  ASSERT_NE(say("secretary", "公开 2022-12").find("已公开"), std::string::npos);
  std::string after = say("villager", "账目 2022-11");
  EXPECT_NE(after.find(std::string(kLater) + "- 2023-01-04 冲销已公开月份的账目"), std::string::npos) << after;
}

// An insider who edits the recorded alerts with sqlite3 changes a signed
// leaf: verify names the statement's entry.
TEST_F(FrozenAlerts, AnAlertRemovedFromTheRecordByHandIsNamedByVerify) {
  publish_november();
  auto close = t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(close.is_ok());
  nlohmann::json forged = close->statement;
  forged["alerts"] = nlohmann::json::array();
  auto bytes = canonical_json(forged);
  ASSERT_TRUE(bytes.is_ok());
  {
    auto db = testing::open_insider(t.db_path());
    auto& q = db->statement("UPDATE entries SET leaf=? WHERE idx=? AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
    q.bind_blob(1, *bytes);
    q.bind(2, static_cast<int64_t>(close->statement_index));
    ASSERT_EQ(q.exec(), 1);
  }
  auto report = t.ledger->verify("shuangjiang");
  ASSERT_TRUE(report.is_ok());
  ASSERT_FALSE(report->intact());
  EXPECT_EQ(report->problems[0].first_bad_index, close->statement_index) << report->problems[0].reason;
}

}  // namespace
}  // namespace sunledger
