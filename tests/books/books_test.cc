// The 2023 chart of accounts, the mapping and double entry, the exports
// (checked by the real hledger and bean-check, the xlsx opened as a zip) and
// the year statement, on the demo deployment's real ledger file.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>

#include "demo_fixture.h"
#include "exports/exports.h"
#include "ledger/chart.h"
#include "web/public_web.h"

namespace sunledger {
namespace {

using testing::DemoDeployment;

const Author kClerk{"clerk", "official", "test"};

std::pair<int, std::string> run(const std::string& command) {
  auto r = testing::run_command(command);
  return {r.exit_code, r.output};
}

std::string write_file(const std::filesystem::path& dir, const std::string& name, const std::string& body) {
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << body;
  return path;
}

Fen balance_of(const std::vector<JournalTxn>& txns, const std::string& code, const std::string& project = "") {
  Fen b = 0;
  for (const auto& t : txns)
    for (const auto& p : t.postings)
      if (p.account->code == code && (project.empty() || p.project == project)) b += p.amount;
  return b;
}

TEST(Chart, FortyTwoAccountsWithUniqueCodesAndTheIssuesExamples) {
  const auto& chart = chart_2023();
  EXPECT_EQ(chart.size(), 42u);
  std::set<std::string> codes, ascii;
  for (const auto& a : chart) {
    codes.insert(a.code);
    ascii.insert(a.ascii);
  }
  EXPECT_EQ(codes.size(), 42u);
  EXPECT_EQ(ascii.size(), 42u);
  const auto& m = default_account_map();
  EXPECT_EQ(m.find(MapSide::kIncome, "补助收入")->code, "503");
  EXPECT_EQ(m.find(MapSide::kExpense, "管理费用")->code, "513");
  EXPECT_EQ(m.find(MapSide::kExpense, "公益支出")->code, "514");
  EXPECT_EQ(m.find(MapSide::kFund, "现金")->code, "101");
  EXPECT_EQ(m.find(MapSide::kFund, "一般资金")->code, "102");
  EXPECT_EQ(m.find(MapSide::kFund, "专项资金")->code, "241");
}

TEST(Chart, UnmappedCategoryIsRefusedWithTheKnownOnesUntilMapped) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"v1", "一村", "一镇"}).is_ok());
  t.clock.set(1764288000);  // 2025-11-28
  auto line = transaction_line("2025-11-03", true, "鱼塘承包", "租金", 80'000, "", "", "承包户");
  auto r = t.ledger->post_transactions("v1", {line}, kClerk);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("收入类别“鱼塘承包”没有对应的会计科目"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("上级拨款"), std::string::npos);  // names the known ones
  auto bad_fund = transaction_line("2025-11-03", false, "办公费", "纸", 1'000, "", "小金库", "");
  EXPECT_NE(t.ledger->post_transactions("v1", {bad_fund}, kClerk).status().message().find("资金“小金库”"), std::string::npos);
  // An expense category cannot book to a revenue account.
  Status wrong = t.ledger->write([](WriteTxn& w) { return map_account(w, "v1", MapSide::kExpense, "x", "503", kClerk).status(); });
  EXPECT_FALSE(wrong.is_ok());
  ASSERT_TRUE(t.ledger->write([](WriteTxn& w) { return map_account(w, "v1", MapSide::kIncome, "鱼塘承包", "经营收入", kClerk).status(); }).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("v1", {line}, kClerk).is_ok());
  auto m = village_account_map(*t.ledger, "v1");
  ASSERT_TRUE(m.is_ok());
  EXPECT_EQ(m->find(MapSide::kIncome, "鱼塘承包")->code, "501");
  auto intact = t.ledger->verify();
  ASSERT_TRUE(intact.is_ok());
  EXPECT_TRUE(intact->intact());
  // The mapping row is derived from the signed entry: an edit by hand is named.
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE account_maps SET account='504'");
  }
  auto report = t.ledger->verify();
  ASSERT_TRUE(report.is_ok());
  ASSERT_FALSE(report->intact());
  EXPECT_NE(report->problems[0].reason.find("account_maps: the mapping of income 鱼塘承包"), std::string::npos)
      << report->problems[0].reason;
}

TEST(Journal, ShuangjiangSpecialFundsStayOwedUntilSpentOnTheirProject) {
  DemoDeployment d;
  auto j = published_journal(*d.t.ledger, "shuangjiang");
  ASSERT_TRUE(j.is_ok()) << j.status().to_string();
  ASSERT_FALSE(j->txns.empty());
  for (const auto& t : j->txns) {
    Fen sum = 0;
    for (const auto& p : t.postings) sum += p.amount;
    EXPECT_EQ(sum, 0) << "entry #" << t.index << " is not balanced";
  }
  // 300,000 received for the water works, 157,600 spent on them, 142,400
  // moved to the road: what is still owed for the water works is the diversion.
  EXPECT_EQ(balance_of(j->txns, "241", "水利建设"), -142'400'00);
  // The water works' 157,600 went to 在建工程 and settled 241 into 公积公益金.
  EXPECT_EQ(balance_of(j->txns, "311"), -157'600'00);
}

// A reversal posts the exact opposite of its line, in the line's month dated
// as the line, in a later month on that month's first day; also when only
// the later month is exported (the builder then kept the line's postings
// aside; a kept line's are found among the transactions).
TEST(Journal, AReversalPostsTheOppositeOfItsLineWhetherOrNotItsMonthIsExported) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"v1", "一村", "一镇"}).is_ok());
  ASSERT_TRUE(t.ledger->register_project("v1", {"水利建设", 300'000'00, true}, kClerk).is_ok());
  auto posted = t.ledger->post_transactions(
      "v1", {testing::txn("2022-11-03", true, "上级拨款", "到账", 300'000'00, "水利建设", "专项资金"),
             testing::txn("2022-11-09", false, "工程款", "一期", 80'000'00, "水利建设", "专项资金"),
             testing::txn("2022-11-10", false, "办公费", "纸", 350'00)},
      kClerk);
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  uint64_t same = t.ledger->reverse("v1", posted->indexes[2], "记错", kClerk)->indexes.at(0);
  ASSERT_TRUE(t.ledger->close_month("v1", "2022-11", kClerk).is_ok());
  uint64_t later = t.ledger->reverse("v1", posted->indexes[1], "挪错项目", kClerk)->indexes.at(0);
  t.clock.set(testing::kDec5th2022 + 40 * 86400);  // 2023-01-14
  ASSERT_TRUE(t.ledger->close_month("v1", "2022-12", kClerk).is_ok());
  auto opposite = [](const JournalTxn& line, const JournalTxn& reversal) {
    ASSERT_EQ(reversal.postings.size(), line.postings.size());
    for (size_t i = 0; i < line.postings.size(); ++i) {
      EXPECT_EQ(reversal.postings[i].account, line.postings[i].account);
      EXPECT_EQ(reversal.postings[i].project, line.postings[i].project);
      EXPECT_EQ(reversal.postings[i].amount, -line.postings[i].amount);
    }
  };
  auto all = published_journal(*t.ledger, "v1");
  ASSERT_TRUE(all.is_ok()) << all.status().to_string();
  std::map<uint64_t, JournalTxn> by_index;
  for (const auto& x : all->txns) by_index[x.index] = x;
  ASSERT_TRUE(by_index.count(same) && by_index.count(later));
  EXPECT_EQ(by_index[same].reverses, posted->indexes[2]);
  EXPECT_EQ(by_index[same].date, "2022-11-10");
  opposite(by_index[posted->indexes[2]], by_index[same]);
  EXPECT_EQ(by_index[later].date, "2022-12-01");
  EXPECT_EQ(by_index[later].postings.size(), 4u);  // spending on the special project also settles 241
  opposite(by_index[posted->indexes[1]], by_index[later]);
  auto december = published_journal(*t.ledger, "v1", "2022-12", "2022-12");
  ASSERT_TRUE(december.is_ok());
  ASSERT_EQ(december->txns.size(), 1u);
  EXPECT_EQ(december->txns[0].index, later);
  opposite(by_index[posted->indexes[1]], december->txns[0]);
  EXPECT_EQ(balance_of(all->txns, "241", "水利建设"), -300'000'00);  // the spending reversed: all still owed
}

class Exports : public ::testing::Test {
 protected:
  void SetUp() override {
    auto journal = published_journal(*d.t.ledger, "shuangjiang");
    ASSERT_TRUE(journal.is_ok());
    j = *journal;
  }
  DemoDeployment d;
  PublishedJournal j;
};

TEST_F(Exports, HledgerJournalPassesHledgerCheckStrict) {
  std::string path = write_file(d.t.dir.path(), "books.journal", to_hledger(j));
  auto [code, out] = run("hledger check -s ordereddates payees -f " + path);
  EXPECT_EQ(code, 0) << out;
  auto [bcode, bal] = run("hledger -f " + path + " balance -N 241");
  EXPECT_EQ(bcode, 0) << bal;
  EXPECT_NE(bal.find("CNY -142,400.00  负债:241 专项应付款:水利建设"), std::string::npos) << bal;
  // A journal hledger refuses: the check is not a formality.
  std::string broken = to_hledger(j) + "\n2000-01-01 未声明的对方 | x\n    资产:102 银行存款  CNY 1.00\n    收入:503 补助收入  CNY -1.00\n";
  EXPECT_NE(run("hledger check -s ordereddates payees -f " + write_file(d.t.dir.path(), "bad.journal", broken)).first, 0);
}

TEST_F(Exports, BeancountFilePassesBeanCheck) {
  std::string text = to_beancount(j);
  auto [code, out] = run("bean-check " + write_file(d.t.dir.path(), "books.beancount", text));
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(text.find("Liabilities:241-SpecialPayable:P1"), std::string::npos);
  std::string broken = text + "\n2022-12-01 * \"x\"\n  Assets:999-Nothing  1.00 CNY\n  Income:503-SubsidyIncome  -1.00 CNY\n";
  EXPECT_NE(run("bean-check " + write_file(d.t.dir.path(), "bad.beancount", broken)).first, 0);
}

TEST_F(Exports, CsvStartsWithABomAndHasARowPerPosting) {
  std::string csv = to_csv(j);
  ASSERT_EQ(csv.rfind("\xEF\xBB\xBF日期,凭证号", 0), 0u);
  size_t postings = 0;
  for (const auto& t : j.txns) postings += t.postings.size();
  size_t rows = 0;
  for (size_t at = 0; (at = csv.find("\r\n", at)) != std::string::npos; at += 2) ++rows;
  EXPECT_EQ(rows, postings + 1);
  EXPECT_NE(csv.find(",241,专项应付款,水利建设,,300000.00\r\n"), std::string::npos);
}

TEST_F(Exports, XlsxHasASummaryAndASheetPerPublishedMonth) {
  auto xlsx = to_xlsx(j);
  ASSERT_TRUE(xlsx.is_ok());
  std::string path = write_file(d.t.dir.path(), "books.xlsx", *xlsx);
  std::string script = write_file(d.t.dir.path(), "read.py",
                                   "import sys, zipfile, re\n"
                                   "z = zipfile.ZipFile(sys.argv[1])\n"
                                   "wb = z.read('xl/workbook.xml').decode()\n"
                                   "print('|'.join(re.findall(r'<sheet name=\"([^\"]+)\"', wb)))\n"
                                   "xml = ''.join(z.read(n).decode() for n in z.namelist() if n.startswith('xl/worksheets/'))\n"
                                   "print('names:' + ('专项应付款' in xml and 'yes' or 'no'))\n"
                                   "print('dates:' + ('yyyy-mm-dd' in z.read('xl/styles.xml').decode() and 'yes' or 'no'))\n");
  auto [code, out] = run("python3 " + script + " " + path);
  ASSERT_EQ(code, 0) << out;
  std::string expected = "汇总";
  for (const auto& m : j.months) expected += "|" + m;
  // Strings are inline (no shared-strings part): the names are in the sheets, the dates are dates.
  EXPECT_EQ(out, expected + "\nnames:yes\ndates:yes\n");
}

TEST_F(Exports, PublicRouteServesPublishedMonthsOnly) {
  web::PublicWeb site(d.t.ledger.get(), d.bot.get(), web::WebOptions{});
  auto page = site.get("/villages/shuangjiang/export.journal");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, to_hledger(j));
  auto xlsx = site.get("/villages/shuangjiang/export.xlsx");
  ASSERT_TRUE(xlsx.has_value());
  EXPECT_EQ(xlsx->body.substr(0, 2), "PK");
  // The writer is deterministic (no timestamps): the route serves exactly the export.
  EXPECT_EQ(xlsx->body, *to_xlsx(j));
  EXPECT_EQ(xlsx->content_type, export_content_type(ExportFormat::kXlsx));
  EXPECT_EQ(site.get("/villages/shuangjiang/export.pdf")->status, 404);
  // A line of a month not yet published changes nothing in the export.
  auto last = d.t.ledger->last_closed_month("shuangjiang");
  ASSERT_TRUE(last.is_ok() && last->has_value());
  std::string open_month = next_month(**last);
  ASSERT_TRUE(d.t.ledger->post_transactions("shuangjiang", {transaction_line(open_month + "-02", false, "办公费", "纸", 100)}, kClerk).is_ok());
  auto again = published_journal(*d.t.ledger, "shuangjiang");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(to_hledger(*again), to_hledger(j));
}

TEST_F(Exports, YearStatementInChatByAccount) {
  InboundMessage m{cli::kDemoBotId, "shuangjiang-group", true, "villager", "villager", "账目 2022", "y1", 0};
  auto reply = d.bot->handle(m);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  const std::string& text = reply->text;
  EXPECT_NE(text.find("双江村 2022年 年度收支决算"), std::string::npos) << text;
  EXPECT_NE(text.find("503 补助收入"), std::string::npos) << text;
  EXPECT_NE(text.find("241 专项应付款 贷 142,400.00元"), std::string::npos) << text;
  YearStatement s = year_statement(j.txns, "2022");
  EXPECT_NE(text.find("收入合计 " + format_yuan_with_wan(s.income)), std::string::npos) << text;
  InboundMessage none{cli::kDemoBotId, "shuangjiang-group", true, "villager", "villager", "账目 2019", "y2", 0};
  EXPECT_NE(d.bot->handle(none)->text.find("2019年还没有公开的月份"), std::string::npos);
}

}  // namespace
}  // namespace sunledger
