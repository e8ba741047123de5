// Attacks on the alerts a published month records (issue #16 item 3): the
// record has a budget (half a leaf), and an official who floods the month with
// minor alerts must not push the serious one out of it, for what the record
// leaves out is never shown with the month again.
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "group_bot_fixture.h"
#include "test_support.h"

namespace sunledger {
namespace {

struct FrozenAlertsAttack : testing::GroupBotTest {};

TEST_F(FrozenAlertsAttack, ManyCashAlertsDoNotPushTheDiversionOutOfTheRecord) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary", "立项 村道 20万").find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary",
                "记账 2022-11\n"
                "收入 上级拨款 300000 水利专项资金到账 项目:水利建设 资金:专项资金 日期:2022-11-03\n"
                "支出 工程款 142400 村道拓宽 项目:村道 资金:专项资金 日期:2022-11-21\n")
                .find("已记账2笔"),
            std::string::npos);
  // 400 cash expenses above the limit, each an alert of its own: some 70 KB
  // of alert text, more than the record holds.
  for (int message = 0; message < 2; ++message) {
    std::string body = "记账 2022-11\n";
    for (int i = 0; i < 200; ++i)
      body += "支出 招待费 5001 接待" + std::to_string(message * 200 + i) + " 资金:现金 日期:2022-11-25\n";
    ASSERT_NE(say("secretary", body).find("已记账200笔"), std::string::npos);
  }
  std::string published = say("secretary", "公开 2022-11");
  ASSERT_NE(published.find("已公开"), std::string::npos) << published.substr(0, 2000);
  std::string statement = say("villager", "账目 2022-11");
  EXPECT_NE(statement.find("专项资金挪用:第#"), std::string::npos) << statement.substr(0, 3000);
  EXPECT_NE(statement.find("专项资金去向不明:“水利建设”"), std::string::npos) << statement.substr(0, 3000);
  EXPECT_NE(statement.find("记录已满未能逐条写入"), std::string::npos) << statement.substr(0, 3000);
  EXPECT_TRUE(t.ledger->verify()->intact());
}

// Every kind of alert is recorded under its own name and read back as itself
// (the bank alert was once recorded with kind "" and read back as a cash one).
TEST(RecordedAlerts, EveryKindIsRecordedByNameAndReadBack) {
  for (FlagKind kind : {FlagKind::kSpecialFundsDiverted, FlagKind::kOverBudget, FlagKind::kCashExpense,
                        FlagKind::kMonthNotPublished, FlagKind::kReversalOfPublished, FlagKind::kUnspentSpecialFunds,
                        FlagKind::kBankWithdrawalUnbooked}) {
    Flag f{kind, "v1", "2022-11", 7, "某预警"};
    nlohmann::json recorded = recorded_alerts_json({f}, 1000);
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_NE(recorded[0]["kind"], "") << static_cast<int>(kind);
    auto back = recorded_alerts(nlohmann::json{{"alerts", recorded}}, "v1");
    ASSERT_TRUE(back && back->size() == 1u);
    EXPECT_EQ((*back)[0].kind, kind) << recorded.dump();
  }
}

// Over budget: the most serious kept whatever their place, the rest counted,
// the record within its budget, shown in the books' order.
TEST(RecordedAlerts, OverBudgetTheSeriousOnesAreKept) {
  std::vector<Flag> flags;
  for (int i = 0; i < 100; ++i)
    flags.push_back({FlagKind::kCashExpense, "v1", "2022-11", static_cast<uint64_t>(i), "大额现金支出:第#" + std::to_string(i) + "条"});
  flags.push_back({FlagKind::kSpecialFundsDiverted, "v1", "2022-11", 100, "专项资金挪用:第#100条"});
  flags.push_back({FlagKind::kBankWithdrawalUnbooked, "v1", "2022-11", 101, "银行流水有支出未入账"});
  nlohmann::json recorded = recorded_alerts_json(flags, 2000);
  EXPECT_LE(recorded.dump().size(), 2000u);
  std::string text = recorded.dump();
  EXPECT_NE(text.find("专项资金挪用:第#100条"), std::string::npos) << text;
  EXPECT_NE(text.find("银行流水有支出未入账"), std::string::npos) << text;
  EXPECT_EQ(recorded.back()["kind"], "omitted");
  EXPECT_EQ(recorded[0]["kind"], "cash_expense");  // in the books' order
  // Within budget: everything, as it was.
  EXPECT_EQ(recorded_alerts_json(flags, 1 << 20).size(), flags.size());
}

}  // namespace
}  // namespace sunledger
