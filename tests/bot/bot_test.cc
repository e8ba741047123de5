// The bot against a real SQLite ledger, in Chinese and in English.
#include "bot/bot.h"
#include "checker/checker.h"
#include "bot/command.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "demo/demo.h"
#include "demo_fixture.h"
#include "bot/outbox.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::official;
using testing::txn;

constexpr const char* kBot = "generic";
constexpr const char* kGroup = "shuangjiang-group";

struct BotTest : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  int next_id = 0;

  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.commands_per_minute = 0;  // these tests send many commands within one frozen minute
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"zhuting", "朱亭村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", kBot, kGroup).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", kBot, "shuangjiang-group-2").is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "secretary", "shuangjiang", Role::kOfficial, ""}).is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "inspector", "", Role::kInspector, "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "zhuting-official", "zhuting", Role::kOfficial, ""}).is_ok());
  }

  BotReply say(const std::string& sender, const std::string& text, bool group = true, std::string message_id = "") {
    InboundMessage m;
    m.bot_id = kBot;
    m.chat_id = group ? kGroup : "private-" + sender;
    m.group = group;
    m.sender_id = sender;
    m.sender_name = sender;
    m.text = text;
    m.message_id = message_id.empty() ? "m" + std::to_string(++next_id) : message_id;
    auto r = bot->handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : BotReply{};
  }

  uint64_t size() { return *t.ledger->log_size("shuangjiang"); }

  // The Shuangjiang case through chat.
  void post_the_case() {
    ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").text.find("已立项"), std::string::npos);
    ASSERT_NE(say("secretary", "立项 道路拓宽 200000").text.find("已立项"), std::string::npos);
    auto r = say("secretary",
                 "记账 2022-11\n"
                 "收入 上级拨款 300,000.00 水利专项资金到账 项目:水利建设 资金:专项资金 对方:区水利局\n"
                 "支出 工程款 15.76万 水渠修缮 项目:水利建设 资金:专项资金\n"
                 "支出 工程款 142400 村道拓宽 项目:道路拓宽 资金:专项资金\n"
                 "支出 招待费 6800 接待 资金:现金\n");
    ASSERT_NE(r.text.find("已记账4笔"), std::string::npos) << r.text;
    // No line named its date: the reply says which date they were booked on
    // (the month has ended, so its last days, not today).
    EXPECT_NE(r.text.find("没有写“日期:”的记为2022-11-28"), std::string::npos) << r.text;
  }
};

TEST_F(BotTest, HelpDependsOnRole) {
  auto villager = say("someone", "帮助");
  EXPECT_NE(villager.text.find("账目"), std::string::npos);
  EXPECT_EQ(villager.text.find("记账"), std::string::npos);
  auto off = say("secretary", "help");
  EXPECT_NE(off.text.find("记账 2022-11"), std::string::npos);
  EXPECT_NE(off.text.find("预警"), std::string::npos);
  EXPECT_NE(say("someone", "/help@SunledgerBot").text.find("账目"), std::string::npos);
  EXPECT_NE(say("someone", "/start").text.find("账目"), std::string::npos);  // Telegram's first message
}

// 帮助 is generated from the command table: every command the sender may use
// is listed, and none they may not.
TEST_F(BotTest, HelpListsEveryCommandOfTheSendersRoles) {
  std::string villager = say("someone", "帮助").text;
  std::string official = say("secretary", "帮助").text;
  std::string inspector = say("inspector", "帮助", false).text;
  for (const auto& c : command_table()) {
    if (c.kind == CommandKind::kHelp) continue;
    std::string usage(c.usage);
    bool anyone = c.role == CommandRole::kAnyone;
    EXPECT_EQ(villager.find(usage) != std::string::npos, anyone) << usage << "\n" << villager;
    EXPECT_EQ(official.find(usage) != std::string::npos,
              anyone || c.role == CommandRole::kOfficial || c.role == CommandRole::kOfficialOrInspector)
        << usage;
    EXPECT_EQ(inspector.find(usage) != std::string::npos,
              anyone || c.role == CommandRole::kInspector || c.role == CommandRole::kOfficialOrInspector)
        << usage;
  }
  // The complaint commands a villager has, and the inspector's.
  for (const char* k : {"投诉 内容", "匿名投诉", "进度 编号", "满意 编号", "不满意 编号"})
    EXPECT_NE(villager.find(k), std::string::npos) << k;
  // This bot cannot message one person, so a group complaint is refused: the
  // help says to complain in private chat (a newcomer was offered a group
  // complaint the bot then refused).
  EXPECT_NE(villager.find("回执私信发给您 (complain) [私信]"), std::string::npos) << villager;
  for (const char* k : {"待办", "查看 编号", "转办", "调查", "办结", "驳回"}) EXPECT_NE(inspector.find(k), std::string::npos) << k;
  // Both an official and an inspector: more than one message holds, so paged,
  // the hint's quote closed, nothing lost between the pages.
  ASSERT_TRUE(bot->add_member({kBot, "secretary", "", Role::kInspector, "朱亭镇"}).is_ok());
  std::string p1 = say("secretary", "帮助", false).text, p2 = say("secretary", "帮助 2", false).text;
  EXPECT_LE(p1.size(), 2000u);
  EXPECT_NE(p1.find("发送“帮助 2”查看下一页"), std::string::npos) << p1;
  EXPECT_NE((p1 + p2).find("记账 2022-11"), std::string::npos);
  EXPECT_NE((p1 + p2).find("驳回 编号 理由"), std::string::npos);
  // Role refusals come from the same table.
  EXPECT_NE(say("someone", "待办", false).text.find("只有纪检监察人员"), std::string::npos);
  EXPECT_NE(say("someone", "预警").text.find("只有纪检监察人员和村干部"), std::string::npos);
}

// 公开 of a later month names the month to publish first, in Chinese, and
// seals nothing (it used to close the skipped months silently, for good).
TEST_F(BotTest, PublishingALaterMonthNamesTheMonthToPublishFirst) {
  auto one = say("secretary", "记账 2022-10\n收入 租金 2000 鱼塘承包 日期:2022-10-05").text;
  ASSERT_NE(one.find("已记账1笔(#0)。(posted 1 entry)"), std::string::npos) << one;  // one entry, not "1 entries"
  auto first = say("secretary", "公开 2022-12");
  EXPECT_NE(first.text.find("请先公开 2022-10"), std::string::npos) << first.text;
  EXPECT_NE(first.text.find("没有做任何改动"), std::string::npos) << first.text;  // "nothing was changed"
  ASSERT_NE(say("secretary", "公开 2022-10").text.find("已公开"), std::string::npos);
  uint64_t before = size();
  auto skip = say("secretary", "公开 2022-12");
  EXPECT_NE(skip.text.find("请先公开 2022-11 的账目(没有收支的月份也要公开)"), std::string::npos) << skip.text;
  EXPECT_NE(skip.text.find("close 2022-11 first"), std::string::npos) << skip.text;
  EXPECT_TRUE(skip.pushes.empty());
  EXPECT_EQ(size(), before);
  // November is still open: a late line is booked, then the months publish in order.
  EXPECT_NE(say("secretary", "记账 2022-11\n支出 办公费 20 信封 日期:2022-11-30").text.find("已记账1笔"), std::string::npos);
  EXPECT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  EXPECT_NE(say("secretary", "公开 2022-12").text.find("已公开"), std::string::npos);
}

// Issue #16: an official who sends the same line twice (a double tap, the
// message forwarded again) is told which entry it repeats and how to say it
// really happened twice; nothing is booked until then.
TEST_F(BotTest, TheSameLinePostedTwiceIsRefusedUntilMarkedAsMeant) {
  const std::string line = "支出 办公费 350 打印纸 对方:文具店 日期:2022-12-02";
  ASSERT_NE(say("secretary", "记账 2022-12\n" + line).text.find("已记账1笔(#0)"), std::string::npos);
  uint64_t before = size();
  auto twice = say("secretary", "记账 2022-12\n" + line).text;
  EXPECT_NE(twice.find("未记账"), std::string::npos) << twice;
  EXPECT_NE(twice.find("与#0"), std::string::npos) << twice;
  EXPECT_NE(twice.find("重复:确认"), std::string::npos) << twice;
  EXPECT_EQ(size(), before);
  auto bad_mark = say("secretary", "记账 2022-12\n" + line + " 重复:也许").text;
  EXPECT_NE(bad_mark.find("只能写“确认”"), std::string::npos) << bad_mark;
  EXPECT_EQ(size(), before);
  // The full-width colon a Chinese keyboard types.
  auto meant = say("secretary", "记账 2022-12\n" + line + " 重复\xEF\xBC\x9A" "确认").text;
  EXPECT_NE(meant.find("已记账1笔"), std::string::npos) << meant;
  EXPECT_EQ(size(), before + 1);
}

// 搜索 finds lines across the published months, by one field or any; a
// line of a month not yet published is not found until it is; a reversed
// line shows with its reversal.
TEST_F(BotTest, SearchFindsPublishedLinesAcrossMonths) {
  post_the_case();
  ASSERT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  auto dec = say("secretary", "记账 2022-12\n支出 工程款 5000 村道二期 项目:道路拓宽 资金:专项资金 对方:区水利局 日期:2022-12-03");
  ASSERT_NE(dec.text.find("已记账1笔"), std::string::npos) << dec.text;
  auto nov = say("someone", "搜索 对方:区水利局");
  EXPECT_NE(nov.text.find("【双江村 搜索“对方:区水利局”】"), std::string::npos) << nov.text;
  EXPECT_NE(nov.text.find("— 2022年11月 —"), std::string::npos) << nov.text;
  EXPECT_NE(nov.text.find("水利专项资金到账"), std::string::npos) << nov.text;
  EXPECT_EQ(nov.text.find("村道二期"), std::string::npos) << nov.text;  // December is not published
  EXPECT_EQ(nov.text.find("水渠修缮"), std::string::npos) << nov.text;  // no counterparty 区水利局
  EXPECT_EQ(say("someone", "search counterparty:区水利局").text, nov.text);
  EXPECT_EQ(say("someone", "搜索 对方：区水利局").text, nov.text);  // a Chinese keyboard's colon
  // Any field: the project's name finds its lines.
  auto any = say("someone", "搜索 道路拓宽");
  EXPECT_NE(any.text.find("村道拓宽"), std::string::npos) << any.text;
  EXPECT_EQ(any.text.find("水渠修缮"), std::string::npos) << any.text;
  EXPECT_NE(say("someone", "搜索 颜色:红").text.find("不能按“颜色”搜索"), std::string::npos);
  EXPECT_NE(say("someone", "搜索 村道二期").text.find("没有找到"), std::string::npos);
  EXPECT_NE(say("someone", "搜索").text.find("请写要找的内容"), std::string::npos);
  // December published, with the line reversed: both show, in December.
  std::string line = dec.text.substr(dec.text.find("(#") + 2);
  line = line.substr(0, line.find(')'));
  auto rev = say("secretary", "冲销 " + line + " 重复记账");
  ASSERT_NE(rev.text.find("#"), std::string::npos) << rev.text;
  ASSERT_NE(say("secretary", "公开 2022-12").text.find("已公开"), std::string::npos);
  auto both = say("someone", "搜索 对方:区水利局");
  EXPECT_NE(both.text.find("— 2022年12月 —"), std::string::npos) << both.text;
  EXPECT_NE(both.text.find("村道二期 5,000.00元"), std::string::npos) << both.text;
  EXPECT_NE(both.text.find("冲销#" + line), std::string::npos) << both.text;
}

TEST_F(BotTest, UnknownAndEmptyMessages) {
  auto r = say("someone", "你好");
  EXPECT_NE(r.text.find("没听懂"), std::string::npos);
  EXPECT_NE(r.text.find("help"), std::string::npos);
  EXPECT_TRUE(say("someone", "   \n  ").text.empty());
  EXPECT_NE(say("someone", std::string(17 * 1024, 'x')).text.find("消息太长"), std::string::npos);
}

TEST_F(BotTest, OfficialPostsAndVillagersReadThePublishedMonth) {
  post_the_case();
  EXPECT_EQ(size(), 6u);
  // Not published yet: villagers are told so.
  EXPECT_NE(say("someone", "账目 2022-11").text.find("还没有公开"), std::string::npos);
  EXPECT_NE(say("someone", "账目").text.find("还没有公开过"), std::string::npos);

  auto pub = say("secretary", "公开 2022-11");
  EXPECT_NE(pub.text.find("已公开"), std::string::npos) << pub.text;
  EXPECT_NE(pub.text.find("2个村民群"), std::string::npos) << pub.text;
  ASSERT_EQ(pub.pushes.size(), 2u);
  EXPECT_NE(pub.pushes[0].text.find("三务公开"), std::string::npos);
  EXPECT_NE(pub.pushes[0].text.find("专项资金挪用"), std::string::npos) << pub.pushes[0].text;
  EXPECT_NE(pub.pushes[0].text.find("核验码"), std::string::npos);
  Outbox outbox(t.ledger.get());
  EXPECT_EQ(*outbox.depth(), 2);

  auto acc = say("someone", "账目");
  EXPECT_NE(acc.text.find("双江村 2022年11月 账目公开"), std::string::npos) << acc.text;
  EXPECT_NE(acc.text.find("本月收入:300,000.00元(30万元)"), std::string::npos) << acc.text;
  EXPECT_NE(acc.text.find("142,400.00元(14.24万元)"), std::string::npos) << acc.text;
  EXPECT_NE(acc.text.find("大额现金支出"), std::string::npos) << acc.text;
  EXPECT_NE(acc.text.find("核验码:7/"), std::string::npos) << acc.text;
  EXPECT_EQ(say("someone", "accounts 2022-11").text, acc.text);

  auto det = say("someone", "明细 2022-11 支出");
  EXPECT_NE(det.text.find("#4"), std::string::npos) << det.text;
  EXPECT_EQ(det.text.find("上级拨款"), std::string::npos) << det.text;
  EXPECT_NE(say("someone", "details 2022-11 income").text.find("上级拨款"), std::string::npos);
  EXPECT_NE(say("someone", "明细").text.find("请写明月份"), std::string::npos);
  // One category: its lines only; an unknown one names the month's categories.
  auto works = say("someone", "明细 2022-11 工程款");
  EXPECT_NE(works.text.find("明细(工程款)】"), std::string::npos) << works.text;
  EXPECT_NE(works.text.find("工程款"), std::string::npos) << works.text;
  EXPECT_EQ(works.text.find("上级拨款"), std::string::npos) << works.text;
  EXPECT_EQ(works.text.find("办公费"), std::string::npos) << works.text;
  std::string none = say("someone", "明细 2022-11 好的").text;
  EXPECT_NE(none.find("没有“好的”类的记录"), std::string::npos) << none;
  EXPECT_NE(none.find("工程款"), std::string::npos) << none;
  EXPECT_NE(say("someone", "明细 2022-11 工程款 好的").text.find("没看懂"), std::string::npos);

  auto proj = say("someone", "项目 水利建设");
  EXPECT_NE(proj.text.find("批复:300,000.00元(30万元)"), std::string::npos) << proj.text;
  EXPECT_NE(proj.text.find("支出:157,600.00元(15.76万元)"), std::string::npos) << proj.text;
  EXPECT_NE(say("someone", "projects 不存在").text.find("没有名为"), std::string::npos);

  auto ver = say("someone", "核验 2022-11");
  EXPECT_NE(ver.text.find("test.sunledger/shuangjiang\n7\n"), std::string::npos) << ver.text;
  EXPECT_NE(ver.text.find(t.ledger->verifier_key()), std::string::npos);
  // What a villager can do with it, in Chinese first: never a server command they do not have.
  EXPECT_EQ(ver.text.find("sunledger verify"), std::string::npos) << ver.text;
  EXPECT_NE(ver.text.find("以后任何时候再发送“核验 2022-11”,签名都必须和您保存的一字不差"), std::string::npos) << ver.text;
  EXPECT_NE(ver.text.find("请向乡镇纪委反映"), std::string::npos) << ver.text;
  // The code 账目 and the notice print is there too, so the two can be matched.
  auto summary = say("someone", "账目 2022-11");
  size_t at = summary.text.find("核验码:");
  ASSERT_NE(at, std::string::npos) << summary.text;
  std::string code = summary.text.substr(at, summary.text.find("(", at) - at);
  EXPECT_NE(ver.text.find(code + "(记录条数/签名开头"), std::string::npos) << code << "\n" << ver.text;

  auto bal = say("someone", "余额");
  EXPECT_NE(bal.text.find("专项资金:0.00元"), std::string::npos) << bal.text;

  // Closed now: a late line is refused, a correction is a reversal.
  auto late = say("secretary", "记账 2022-11\n支出 办公费 10 补记 日期:2022-11-30");
  EXPECT_NE(late.text.find("已经公开结账"), std::string::npos) << late.text;
  auto rev = say("secretary", "冲销 #4 挪用专项资金,退回");
  EXPECT_NE(rev.text.find("已冲销第#4条"), std::string::npos) << rev.text;
  auto alerts = say("inspector", "预警", false);
  EXPECT_NE(alerts.text.find("冲销已公开月份"), std::string::npos) << alerts.text;
  // The books undo the reversed line from the reversal entry alone.
  auto after = say("someone", "余额");
  EXPECT_NE(after.text.find("专项资金:142,400.00元"), std::string::npos) << after.text;
}

TEST_F(BotTest, MalformedPostsWriteNothing) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").text.find("已立项"), std::string::npos);
  uint64_t before = size();
  struct Case {
    std::string text;
    std::string expect;
  } cases[] = {
      {"记账", "请写明月份"},
      {"记账 2022-13\n收入 a 1 b", "请写明月份"},
      {"记账 2022-11", "每行写一笔"},
      {"记账 2022-11\n收入 上级拨款 100 到账\n花费 工程款 100 x", "第3行"},
      {"记账 2022-11\n支出 工程款 12.345 水渠", "两位小数"},
      {"记账 2022-11\n支出 工程款 -5 水渠", "负数"},
      {"记账 2022-11\n支出 工程款 100", "格式应为"},
      {"记账 2022-11\n支出 工程款 100 水渠 项目:没有的项目", "尚未立项"},
      {"记账 2022-11\n支出 工程款 100 水渠 日期:2022-10-01", "不在"},
      {"记账 2023-05\n支出 工程款 100 水渠", "未来"},
      {"记账 2022-11\n支出 工程款 9999999999 水渠", "1亿"},
      {"立项", "格式"},
      {"立项 水利建设 30万", "已经立项"},
      {"立项 新项目 abc", "无效"},
      {"立项 新项目 100 随便", "专项"},
      {"冲销 abc 原因", "应为数字"},
      {"冲销 99 原因", "没有第99条"},
      {"冲销 0", "格式"},
      {"公开", "请写明月份"},
      {"公开 2022-13", "2022-11"},
      {"低保名单 2022-11\n张三 430221195803121234 620", "身份证号无效"},
  };
  for (const auto& c : cases) {
    auto r = say("secretary", c.text);
    EXPECT_NE(r.text.find(c.expect), std::string::npos) << c.text << " -> " << r.text;
    EXPECT_TRUE(r.pushes.empty());
  }
  EXPECT_EQ(size(), before);
  std::string big = "记账 2022-11\n";
  for (int i = 0; i < 201; ++i) big += "支出 工程款 1 x\n";
  EXPECT_NE(say("secretary", big).text.find("最多200"), std::string::npos);
  EXPECT_EQ(size(), before);
}

TEST_F(BotTest, WrongRolesAreRefusedPolitely) {
  uint64_t before = size();
  for (const char* text : {"记账 2022-11\n收入 a 1 b", "立项 x 100", "冲销 1 x", "公开 2022-11", "低保名单 2022-11\nx y 1",
                           "post 2022-11\nincome a 1 b", "project add x 100", "reverse 1 x", "publish 2022-11"}) {
    auto r = say("villager", text);
    EXPECT_NE(r.text.find("只有双江村的村干部"), std::string::npos) << text << " -> " << r.text;
    EXPECT_NE(r.text.find("nothing was changed"), std::string::npos);
  }
  // An official of another village is a villager here.
  EXPECT_NE(say("zhuting-official", "立项 x 100").text.find("只有"), std::string::npos);
  EXPECT_NE(say("villager", "预警").text.find("只有纪检监察人员和村干部"), std::string::npos);
  EXPECT_EQ(size(), before);
}

// Issue #18: a published month's answer is cached already masked, and
// handle() does not mask it again. The books and the administrator's commands
// refuse an identity number in any text a statement shows, so an insider puts
// one in the village's name with sqlite3 (a new bot, whose caches are empty,
// starts on it). The name comes from the signed village registry, not the
// table, so the number never reaches the answer: not in the first answer,
// nor in the cached repeats, nor with the integrity warning before it; each
// repeat is the first answer. (It used to show, masked.)
TEST_F(BotTest, ACachedStatementIsMaskedInEveryAnswer) {
  post_the_case();
  ASSERT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  testing::open_insider(t.db_path())->exec("UPDATE villages SET name = '双江村11010519491231002X' WHERE id = 'shuangjiang'");
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  o.commands_per_minute = 0;
  bot = std::make_unique<Bot>(t.ledger.get(), o);
  ASSERT_TRUE(bot->initialize().is_ok());
  std::string first = say("someone", "账目 2022-11").text;
  ASSERT_NE(first.find("2022年11月"), std::string::npos) << first;
  EXPECT_EQ(first.find("11010519491231002"), std::string::npos) << first;
  EXPECT_EQ(first.find("2X"), std::string::npos) << first;
  EXPECT_EQ(first.rfind("【双江村 2022年11月", 0), 0u) << first;
  EXPECT_EQ(first.back(), '\n');
  for (int i = 0; i < 3; ++i) EXPECT_EQ(say("villager-" + std::to_string(i), "账目 2022-11").text, first);
  t.ledger->set_integrity_failure("test: a row edited by hand");
  std::string warned = say("someone", "账目 2022-11").text;
  EXPECT_EQ(warned.rfind("⚠ 账本核验未通过", 0), 0u) << warned;
  ASSERT_GT(warned.size(), first.size());
  EXPECT_EQ(warned.substr(warned.size() - first.size()), first);
}

TEST_F(BotTest, AFinishedProjectMustAccountForItsSpecialFunds) {
  ASSERT_NE(say("secretary", "立项 水利建设 30万 专项").text.find("已立项"), std::string::npos);
  ASSERT_NE(say("secretary", "记账 2022-11\n收入 上级拨款 30万 到账 项目:水利建设 资金:专项资金\n"
                             "支出 工程款 15.76万 水渠 项目:水利建设 资金:专项资金").text.find("已记账"), std::string::npos);
  EXPECT_EQ(say("secretary", "预警").text.find("结项"), std::string::npos);
  EXPECT_NE(say("villager", "结项 水利建设").text.find("只有"), std::string::npos);
  auto r = say("secretary", "结项 水利建设");
  EXPECT_NE(r.text.find("已结项"), std::string::npos) << r.text;
  EXPECT_NE(say("secretary", "project finish 水利建设").text.find("已经结项"), std::string::npos);
  EXPECT_NE(say("secretary", "结项 没有").text.find("没有名为"), std::string::npos);
  auto alerts = say("secretary", "预警");
  EXPECT_NE(alerts.text.find("专项资金结余142,400.00元(14.24万元)去向未说明"), std::string::npos) << alerts.text;
  EXPECT_NE(say("villager", "项目 水利建设").text.find("(已结项)"), std::string::npos);
  // Returning the rest, booked to the project, accounts for it.
  say("secretary", "记账 2022-11\n支出 退回 14.24万 退回区水利局 项目:水利建设 资金:专项资金");
  EXPECT_EQ(say("secretary", "预警").text.find("去向未说明"), std::string::npos);
}

TEST_F(BotTest, EnglishAliases) {
  EXPECT_NE(say("secretary", "project add Waterworks 300000 special").text.find("已立项"), std::string::npos);
  auto r = say("secretary", "post 2022-11\nincome grants 300000 water-funds project:Waterworks fund:专项资金\n"
                            "expense works 157600 canal project:Waterworks fund:专项资金");
  EXPECT_NE(r.text.find("posted 2 entries"), std::string::npos) << r.text;
  EXPECT_NE(say("secretary", "publish 2022-11").text.find("published"), std::string::npos);
  EXPECT_NE(say("someone", "accounts").text.find("300,000.00元"), std::string::npos);
  EXPECT_NE(say("someone", "subsidies").text.find("no subsidy list"), std::string::npos);
  EXPECT_NE(say("someone", "verify").text.find("verifier key"), std::string::npos);
  EXPECT_NE(say("someone", "balance").text.find("专项资金"), std::string::npos);
}

TEST_F(BotTest, RetriedDeliveryReplaysTheReplyAndWritesOnce) {
  auto first = say("secretary", "记账 2022-11\n支出 办公费 100 打印纸", true, "platform-msg-1");
  EXPECT_FALSE(first.replayed);
  auto again = say("secretary", "记账 2022-11\n支出 办公费 100 打印纸", true, "platform-msg-1");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.text, first.text);
  EXPECT_EQ(size(), 1u);
  // The same text as a new message is a likely double post (issue #16),
  // and a new entry once the official says it is meant.
  EXPECT_NE(say("secretary", "记账 2022-11\n支出 办公费 100 打印纸", true, "platform-msg-2").text.find("完全相同"),
            std::string::npos);
  EXPECT_EQ(size(), 1u);
  say("secretary", "记账 2022-11\n支出 办公费 100 打印纸 重复:确认", true, "platform-msg-2b");
  EXPECT_EQ(size(), 2u);
  // A refused command leaves no dedupe record: fixing and resending works.
  say("secretary", "立项 x abc", true, "platform-msg-3");
  EXPECT_NE(say("secretary", "立项 x 100", true, "platform-msg-3").text.find("已立项"), std::string::npos);
}

TEST_F(BotTest, SubsidyListsNeverStoreIdentityNumbers) {
  auto r = say("secretary", "低保名单 2022-11\n张桂三 11010519491231002X 620\n李秀英 11010519491231002x 1,240 2");
  EXPECT_NE(r.text.find("已登记"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("张*三"), std::string::npos);
  EXPECT_EQ(r.text.find("11010519491231002"), std::string::npos);
  ASSERT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  auto list = say("someone", "低保 2022-11");
  EXPECT_NE(list.text.find("张*三 620.00元(1人)"), std::string::npos) << list.text;
  EXPECT_NE(list.text.find("李*英 1,240.00元(2人)"), std::string::npos) << list.text;
  EXPECT_EQ(list.text.find("110105"), std::string::npos);
  // Nowhere in the database file, WAL included.
  std::string bytes = testing::stored_bytes(t.db_path());
  EXPECT_EQ(bytes.find("11010519491231002"), std::string::npos);
  EXPECT_NE(bytes.find("****************2X"), std::string::npos);
}

TEST_F(BotTest, PrivateChatNamesTheVillageOrUsesTheOfficials) {
  EXPECT_NE(say("stranger", "账目", false).text.find("写明村名"), std::string::npos);
  EXPECT_NE(say("stranger", "项目 双江村", false).text.find("还没有登记项目"), std::string::npos);
  EXPECT_NE(say("secretary", "立项 x 100", false).text.find("已立项"), std::string::npos);
  EXPECT_NE(say("stranger", "项目 双江村", false).text.find("【项目】x"), std::string::npos);
  InboundMessage m{kBot, "unbound-group", true, "u", "u", "账目", "x1", 0};
  std::string unbound = bot->handle(m)->text;
  EXPECT_NE(unbound.find("还没有绑定"), std::string::npos);
  // It tells the administrator the exact line to run.
  EXPECT_NE(unbound.find(std::string("sunledger group bind --village 村编号 --bot ") + kBot + " --chat unbound-group"),
            std::string::npos)
      << unbound;
}

TEST_F(BotTest, AGroupMayNameItsOwnVillage) {
  post_the_case();
  ASSERT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  EXPECT_EQ(say("someone", "账目 双江村 2022-11").text, say("someone", "账目 2022-11").text);
  std::string other = say("someone", "账目 朱亭村 2022-11").text;
  EXPECT_NE(other.find("请私信机器人发送“账目 朱亭村 2022-11”"), std::string::npos) << other;
}

TEST_F(BotTest, LongAnswersArePaged) {
  std::string post = "记账 2022-11\n";
  for (int i = 0; i < 120; ++i) post += "支出 办公费 " + std::to_string(100 + i) + " 第" + std::to_string(i) + "笔打印纸和墨盒\n";
  ASSERT_NE(say("secretary", post).text.find("已记账120笔"), std::string::npos);
  ASSERT_NE(say("secretary", "公开 2022-11").text.find("已公开"), std::string::npos);
  auto p1 = say("someone", "明细 2022-11");
  EXPECT_LE(p1.text.size(), 2000u);
  EXPECT_NE(p1.text.find("第1/"), std::string::npos) << p1.text;
  EXPECT_NE(p1.text.find("明细 2022-11 2"), std::string::npos) << p1.text;
  auto p2 = say("someone", "明细 2022-11 2");
  EXPECT_NE(p2.text.find("第2/"), std::string::npos);
  EXPECT_NE(p1.text, p2.text);
  std::string beyond = say("someone", "明细 2022-11 支出 99").text;
  EXPECT_LE(beyond.size(), 2000u);
  EXPECT_NE(beyond.find("下面是第"), std::string::npos) << beyond;  // page 99 of a few: said, not silent
}

TEST(RateLimit, OneSenderCannotFloodTheGroup) {
  testing::TestLedger t;
  BotOptions o;
  o.commands_per_minute = 20;
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(bot.bind_group("shuangjiang", kBot, kGroup).is_ok());
  auto ask = [&](const std::string& user) {
    InboundMessage m{kBot, kGroup, true, user, user, "余额", "", 0};
    return bot.handle(m)->text;
  };
  for (int i = 0; i < 20; ++i) EXPECT_NE(ask("flooder").find("资金余额"), std::string::npos) << i;
  EXPECT_NE(ask("flooder").find("太快"), std::string::npos);
  EXPECT_NE(ask("neighbour").find("资金余额"), std::string::npos);  // others are unaffected
  t.clock.advance(61);
  EXPECT_NE(ask("flooder").find("资金余额"), std::string::npos);
}

// Issue #19: on platforms without a passive reply every answer is a push; a
// flood of 90 messages once queued 70 warnings. The warning goes out at most
// once a minute per sender; later over-limit messages get no answer at all.
TEST(RateLimit, TheWarningGoesOutOnceAMinutePerSender) {
  testing::TestLedger t;
  BotOptions o;
  o.commands_per_minute = 20;
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(bot.bind_group("shuangjiang", kBot, kGroup).is_ok());
  auto ask = [&](const std::string& user, const std::string& bot_id = kBot) {
    InboundMessage m{bot_id, kGroup, true, user, user, "余额", "", 0};
    auto r = bot.handle(m);
    EXPECT_TRUE(r.is_ok());
    return r.is_ok() ? r->text : std::string("error");
  };
  int answered = 0, warnings = 0, silent = 0;
  for (int i = 0; i < 90; ++i) {
    std::string text = ask("flooder");
    if (text.find("资金余额") != std::string::npos) ++answered;
    else if (text.find("您发送得太快了") != std::string::npos) ++warnings;
    else if (text.empty()) ++silent;
  }
  EXPECT_EQ(answered, 20);
  EXPECT_EQ(warnings, 1);
  EXPECT_EQ(silent, 69);
  // Another sender is warned on their own account.
  for (int i = 0; i < 20; ++i) ask("second");
  EXPECT_NE(ask("second").find("您发送得太快了"), std::string::npos);
  EXPECT_EQ(ask("second"), "");
  // Half a minute on, still over the limit and already told: nothing.
  t.clock.advance(30);
  EXPECT_EQ(ask("flooder"), "");
  // A minute after the first flood the window is open again: answered.
  t.clock.advance(31);
  EXPECT_NE(ask("flooder").find("资金余额"), std::string::npos);
  // A new flood in the new minute is warned once more.
  for (int i = 0; i < 19; ++i) ask("flooder");
  EXPECT_NE(ask("flooder").find("您发送得太快了"), std::string::npos);
  EXPECT_EQ(ask("flooder"), "");
}

TEST_F(BotTest, TokensAuthenticateAndAreStoredHashed) {
  auto token = bot->create_token({Role::kOfficial, "shuangjiang", "", "accounting station"});
  ASSERT_TRUE(token.is_ok());
  auto p = bot->authenticate(*token);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->village, "shuangjiang");
  EXPECT_EQ(p->role, Role::kOfficial);
  EXPECT_FALSE(bot->authenticate(*token + "x").is_ok());
  EXPECT_FALSE(bot->authenticate("").is_ok());
  EXPECT_FALSE(bot->create_token({Role::kOfficial, "nowhere", "", ""}).is_ok());
  EXPECT_FALSE(bot->create_token({Role::kInspector, "", "", ""}).is_ok());
  std::string bytes = testing::stored_bytes(t.db_path());
  EXPECT_EQ(bytes.find(*token), std::string::npos);
}

TEST_F(BotTest, DirectoryRefusesNonsense) {
  EXPECT_EQ(bot->bind_group("nowhere", kBot, "g").code(), Code::kNotFound);
  EXPECT_FALSE(bot->bind_group("shuangjiang", "", "g").is_ok());
  EXPECT_FALSE(bot->add_member({kBot, "u", "", Role::kOfficial, ""}).is_ok());
  EXPECT_FALSE(bot->add_member({kBot, "u", "", Role::kVillager, ""}).is_ok());
  EXPECT_FALSE(bot->add_member({kBot, "u", "", Role::kInspector, ""}).is_ok());
  EXPECT_EQ(parse_role("村干部"), Role::kOfficial);
  EXPECT_FALSE(parse_role("mayor").has_value());
  EXPECT_STREQ(role_name(Role::kInspector), "inspector");
}

// The pushed notice carries the statement's tlog-proof block, which the
// independent checker verifies with the log's key alone (issue #15).
TEST_F(BotTest, TheNoticesProofBlockVerifiesOffline) {
  ASSERT_TRUE(bot->post_entries("shuangjiang", {txn("2022-11-02", true, "上级拨款", "到账", 30'000'000)}, official()).is_ok());
  auto pub = bot->publish("shuangjiang", "2022-11", official());
  ASSERT_TRUE(pub.is_ok()) << pub.status().to_string();
  CheckOptions o{t.ledger->verifier_key(), {}, ""};
  auto r = check_proof(pub->notice, o);
  EXPECT_TRUE(r.ok) << pub->notice;
  EXPECT_EQ(r.checkpoint, pub->close.checkpoint);
  std::string all;
  for (const auto& line : r.lines) all += line + "\n";
  EXPECT_NE(all.find("entry #" + std::to_string(pub->close.statement_index) + " is included"), std::string::npos) << all;
  EXPECT_NE(all.find("income 300000.00"), std::string::npos) << all;
  // A figure changed in the proven statement: refused.
  std::string tampered = pub->notice;
  size_t at = tampered.find("extra ") + 6 + 40;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(check_proof(tampered, o).ok);
}

TEST_F(BotTest, ApiOperationsShareTheLedger) {
  auto p = bot->register_project("shuangjiang", {"水利建设", 30'000'000, true}, official());
  ASSERT_TRUE(p.is_ok());
  auto e = bot->post_entries("shuangjiang", {txn("2022-11-02", true, "上级拨款", "到账", 30'000'000, "水利建设", "专项资金")},
                             official());
  ASSERT_TRUE(e.is_ok());
  auto pub = bot->publish("shuangjiang", "2022-11", official());
  ASSERT_TRUE(pub.is_ok()) << pub.status().to_string();
  EXPECT_EQ(pub->groups_notified, 2u);
  EXPECT_NE(pub->notice.find("三务公开"), std::string::npos);
  EXPECT_EQ(*bot->monthly_notice("shuangjiang", "2022-11"), pub->notice);
  EXPECT_EQ(bot->publish("shuangjiang", "2022-11", official()).status().code(), Code::kFailedPrecondition);
}

using testing::demo_time;

// The demo data, through the bot: the Shuangjiang diversion is flagged.
TEST(DemoData, AnswersWithTheShuangjiangDiversionFlagged) {
  testing::TestLedger t;
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  t.clock.set(1764288000);  // 2025-11-28: long after the demo months
  auto loaded = cli::load_demo_data(*t.ledger, bot, o.identity_salt, demo_time(t.clock));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_TRUE(*loaded);
  EXPECT_FALSE(*cli::load_demo_data(*t.ledger, bot, o.identity_salt, demo_time(t.clock)));
  auto ask = [&](const std::string& user, const std::string& chat, bool group, const std::string& text) {
    InboundMessage m{cli::kDemoBotId, chat, group, user, user, text, "", 0};
    return bot.handle(m)->text;
  };
  std::string acc = ask("v1", "shuangjiang-group", true, "账目");
  EXPECT_NE(acc.find("2022年11月"), std::string::npos) << acc;
  EXPECT_NE(acc.find("专项资金挪用"), std::string::npos) << acc;
  EXPECT_NE(acc.find("142,400.00元"), std::string::npos) << acc;
  std::string det = ask("v1", "shuangjiang-group", true, "明细 2022-11");
  EXPECT_NE(det.find("村道拓宽工程款 142,400.00元"), std::string::npos) << det;
  std::string proj = ask("v1", "shuangjiang-group", true, "项目");
  EXPECT_NE(proj.find("水利建设"), std::string::npos);
  EXPECT_NE(proj.find("支出:157,600.00元(15.76万元)"), std::string::npos) << proj;
  EXPECT_NE(proj.find("其余142,400.00元(14.24万元)未用于本项目"), std::string::npos) << proj;
  std::string alerts = ask("district-inspector", "private", false, "预警");
  EXPECT_NE(alerts.find("专项资金挪用"), std::string::npos) << alerts;
  EXPECT_NE(alerts.find("黄龙村 2022-11 的账目逾期未公开"), std::string::npos) << alerts;
  std::string subs = ask("v1", "shuangjiang-group", true, "低保");
  EXPECT_NE(subs.find("张*三"), std::string::npos) << subs;
  EXPECT_TRUE(t.ledger->verify()->intact());
}

}  // namespace
}  // namespace sunledger
