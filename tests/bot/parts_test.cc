// The bot's parts: command parsing, paging, rendering, books and outbox.
#include <gtest/gtest.h>

#include "bot/books.h"
#include "bot/command.h"
#include "bot/outbox.h"
#include "bot/render.h"
#include "test_support.h"

namespace sunledger {
namespace {

TEST(ParseCommand, KeywordsAliasesArgsAndBody) {
  auto c = parse_command("记账 2022-11\n收入 上级拨款 100 到账\n\n支出 工程款 50 水渠\n");
  EXPECT_EQ(c.kind, CommandKind::kPost);
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0], "2022-11");
  ASSERT_EQ(c.body.size(), 2u);
  EXPECT_EQ(c.body[0].number, 2);
  EXPECT_EQ(c.body[1].number, 4);
  EXPECT_EQ(parse_command("低保名单 2022-11").kind, CommandKind::kSubsidyList);
  EXPECT_EQ(parse_command("低保 2022-11").kind, CommandKind::kSubsidies);
  EXPECT_EQ(parse_command("project add x 1").kind, CommandKind::kProjectAdd);
  EXPECT_EQ(parse_command("project add x 1").args.size(), 2u);
  EXPECT_EQ(parse_command("Projects").kind, CommandKind::kProjects);
  EXPECT_EQ(parse_command("project").kind, CommandKind::kUnknown);
  EXPECT_EQ(parse_command("/accounts@bot 2022-11").kind, CommandKind::kAccounts);
  EXPECT_EQ(parse_command("？").kind, CommandKind::kHelp);
  // Every keyword of the table parses to its command, alone and before an argument.
  for (const auto& c : command_table())
    for (std::string_view k : c.keywords) {
      EXPECT_EQ(parse_command(std::string(k)).kind, c.kind) << k;
      EXPECT_EQ(parse_command(std::string(k) + " 2022-11").kind, c.kind) << k;
    }
  EXPECT_EQ(parse_command("   ").kind, CommandKind::kEmpty);
  auto glued = parse_command("账目2022-11");
  EXPECT_EQ(glued.kind, CommandKind::kAccounts);
  EXPECT_EQ(glued.args[0], "2022-11");
  EXPECT_EQ(split_words("账目\xE3\x80\x80" "2022-11\t x").size(), 3u);
  EXPECT_TRUE(is_write(CommandKind::kPublish));
  EXPECT_FALSE(is_write(CommandKind::kAccounts));
}

TEST(Paginate, FitsTheLimitAndSaysHowToGoOn) {
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) lines.push_back("第" + std::to_string(i) + "行 一些文字一些文字一些文字\n");
  std::string p1 = paginate("【标题】\n", lines, 1, 500, "发送“明细 2022-11");
  EXPECT_LE(p1.size(), 500u);
  EXPECT_NE(p1.find("第1/"), std::string::npos);
  EXPECT_NE(p1.find("明细 2022-11 2"), std::string::npos);
  std::string last = paginate("【标题】\n", lines, 999, 500, "x");
  EXPECT_EQ(last.find("x "), std::string::npos);  // no "next page" on the last page
  EXPECT_EQ(paginate("h\n", {"a\n"}, 1, 500, "x"), "h\na\n");
}

TEST(Render, ShortFormAndMonths) {
  std::string note = "o/v\n32\n" + base64_encode(sha256("x")) + "\n\n— o sig\n";
  EXPECT_EQ(checkpoint_short_form(note), "32/" + hex_encode(sha256("x")).substr(0, 8));
  EXPECT_EQ(checkpoint_short_form("garbage"), "?");
  EXPECT_EQ(month_zh("2022-03"), "2022年3月");
}

Entry entry(uint64_t index, nlohmann::json fields) { return Entry{index, fields.dump(), fields}; }

TEST(Books, FlagsTheShuangjiangCase) {
  std::vector<Entry> e = {
      entry(0, {{"kind", "project"}, {"name", "水利建设"}, {"approved", 30'000'000}, {"special", true}}),
      entry(1, {{"kind", "project"}, {"name", "道路拓宽"}, {"approved", 10'000'000}, {"special", false}}),
      entry(2, {{"kind", "txn"}, {"month", "2022-11"}, {"direction", "income"}, {"amount", 30'000'000},
                {"project", "水利建设"}, {"fund", "专项资金"}, {"item", "到账"}}),
      entry(3, {{"kind", "txn"}, {"month", "2022-11"}, {"direction", "expense"}, {"amount", 15'760'000},
                {"project", "水利建设"}, {"fund", "专项资金"}, {"item", "水渠"}}),
      entry(4, {{"kind", "txn"}, {"month", "2022-11"}, {"direction", "expense"}, {"amount", 14'240'000},
                {"project", "道路拓宽"}, {"fund", "专项资金"}, {"item", "道路"}}),
      entry(5, {{"kind", "txn"}, {"month", "2022-12"}, {"direction", "expense"}, {"amount", 600'000},
                {"fund", "一般资金"}, {"note", "现金"}, {"item", "接待"}}),
      entry(6, {{"kind", "statement"}, {"month", "2022-11"}}),
  };
  BooksOptions o{500'000, 15, "2023-01-20"};
  auto b = analyse_books({"shuangjiang", "双江村", "朱亭镇"}, e, o);
  ASSERT_EQ(b.projects.size(), 2u);
  EXPECT_EQ(b.projects[0].received, 30'000'000);
  EXPECT_EQ(b.projects[0].spent, 15'760'000);
  EXPECT_EQ(b.projects[1].spent, 14'240'000);
  EXPECT_EQ(b.fund_balances["专项资金"], 0);
  std::map<FlagKind, int> kinds;
  for (const auto& f : b.flags) ++kinds[f.kind];
  EXPECT_EQ(kinds[FlagKind::kSpecialFundsDiverted], 2);  // the payment, and the project's unaccounted rest
  EXPECT_EQ(kinds[FlagKind::kOverBudget], 1);            // 142,400 > 100,000 approved for the road
  EXPECT_EQ(kinds[FlagKind::kCashExpense], 1);
  EXPECT_EQ(kinds[FlagKind::kMonthNotPublished], 1);     // 2022-12, deadline 2023-01-15
  o.today = "2023-01-10";
  EXPECT_EQ(analyse_books({"shuangjiang", "双江村", "朱亭镇"}, e, o).flags.size(), b.flags.size() - 1);
  // A reversal removes the line from totals and flags. Its entry repeats what
  // it undoes, as WriteTxn::reverse writes it.
  e.push_back(entry(7, {{"kind", "reversal"}, {"target", 4}, {"target_kind", "txn"}, {"target_closed", true},
                        {"target_month", "2022-11"}, {"month", "2022-12"}, {"reason", "退回"}, {"direction", "expense"},
                        {"amount", 14'240'000}, {"project", "道路拓宽"}, {"fund", "专项资金"}}));
  auto after = analyse_books({"shuangjiang", "双江村", "朱亭镇"}, e, o);
  EXPECT_EQ(after.projects[1].spent, 0);
  kinds.clear();
  for (const auto& f : after.flags) ++kinds[f.kind];
  EXPECT_EQ(kinds[FlagKind::kSpecialFundsDiverted], 0);
  EXPECT_EQ(kinds[FlagKind::kReversalOfPublished], 1);
  EXPECT_TRUE(is_cash_expense({{"fund", "现金"}}));
  EXPECT_FALSE(is_cash_expense({{"fund", "转账"}}));
}

TEST(OutboxTest, DeliversOnceAndRetriesLater) {
  testing::TestLedger t;
  Bot bot(t.ledger.get(), {});
  ASSERT_TRUE(bot.initialize().is_ok());
  Outbox outbox(t.ledger.get());
  ASSERT_TRUE(t.ledger->write([](WriteTxn& txn) {
    if (Status s = Outbox::enqueue(txn, {"b", "c1", "hello"}); !s.is_ok()) return s;
    return Outbox::enqueue(txn, {"b", "c2", "world"});
  }).is_ok());
  int64_t now = t.clock.now_unix_seconds();
  auto due = outbox.due(now, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].text, "hello");
  ASSERT_TRUE(outbox.mark_delivered((*due)[0], now).is_ok());
  ASSERT_TRUE(outbox.mark_failed((*due)[1].id, now + 60, "HTTP 500").is_ok());
  EXPECT_TRUE(outbox.due(now, 10)->empty());
  auto later = outbox.due(now + 60, 10);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].attempts, 1);
  EXPECT_EQ(*outbox.depth(), 1);
  // A write that fails takes its outbox rows with it.
  EXPECT_FALSE(t.ledger->write([](WriteTxn& txn) {
    EXPECT_TRUE(Outbox::enqueue(txn, {"b", "c3", "never"}).is_ok());
    return invalid_argument("no");
  }).is_ok());
  EXPECT_EQ(*outbox.depth(), 1);
}

}  // namespace
}  // namespace sunledger
