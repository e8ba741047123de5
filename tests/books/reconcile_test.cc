// Bank reconciliation (issue #16 item 7): the bank statement's three header
// forms and its encodings, the matcher (3-day window, one to one, ties and
// ambiguity), the books' side on a real ledger file, the signed entry and
// verify, and the alert 30 days on through the bot with the test clock.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "insider.h"
#include "reconcile/reconcile.h"
#include "test_support.h"

namespace sunledger {
namespace {

const Author kClerk{"clerk", "official", "test"};
constexpr const char* kToday = "2022-12-05";

BankLine bank_line(const std::string& date, bool in, Fen amount, const std::string& counterparty = "") {
  BankLine l;
  l.date = date;
  l.in = in;
  l.amount = amount;
  l.counterparty = counterparty;
  return l;
}

BookLine book_line(uint64_t index, const std::string& date, bool in, Fen amount, const std::string& counterparty = "") {
  return BookLine{index, date, in, amount, counterparty, ""};
}

TEST(BankStatement, ReadsTheThreeHeaderFormsAlike) {
  const char* forms[] = {
      "date,amount,direction,counterparty,reference\n"
      "2022-11-02,\"300,000.00\",in,渌口区水利局,拨款\n"
      "2022-11-21,142400,out,某道路工程公司,工程款\n",
      "交易日期,收入金额,支出金额,对方户名,摘要\n"
      "2022/11/02,\"300,000.00\",,渌口区水利局,拨款\n"
      "20221121,0.00,142400,某道路工程公司,工程款\n",
      "交易日期,交易金额,收支标志,对方户名,摘要\n"
      "2022-11-02 09:30:00,300000,贷,渌口区水利局,拨款\n"
      "2022-11-21,14.24万,借,某道路工程公司,工程款\n",
  };
  for (const char* text : forms) {
    auto st = parse_bank_statement(text, kToday);
    ASSERT_TRUE(st.is_ok()) << st.status().message() << "\n" << text;
    ASSERT_EQ(st->lines.size(), 2u);
    EXPECT_EQ(st->lines[0].date, "2022-11-02");
    EXPECT_TRUE(st->lines[0].in);
    EXPECT_EQ(st->lines[0].amount, 300'000'00);
    EXPECT_EQ(st->lines[0].counterparty, "渌口区水利局");
    EXPECT_EQ(st->lines[1].date, "2022-11-21");
    EXPECT_FALSE(st->lines[1].in);
    EXPECT_EQ(st->lines[1].amount, 142'400'00);
    EXPECT_EQ(st->lines[1].source_line, 3);
    EXPECT_EQ(st->from, "2022-11-02");
    EXPECT_EQ(st->to, "2022-11-21");
    EXPECT_EQ(st->sha256.size(), 64u);
  }
  for (const char* in : {"收", "收入", "贷", "in", "IN"})
    EXPECT_TRUE(parse_bank_statement(std::string("交易日期,交易金额,收支标志,对方户名,摘要\n2022-11-02,1,") + in + ",,\n", kToday)->lines[0].in) << in;
  for (const char* out : {"支", "支出", "借", "out"})
    EXPECT_FALSE(parse_bank_statement(std::string("交易日期,交易金额,收支标志,对方户名,摘要\n2022-11-02,1,") + out + ",,\n", kToday)->lines[0].in) << out;
}

TEST(BankStatement, ReadsABomAndGbkAsBanksExportThem) {
  testing::TempDir dir;
  std::string utf8 = "交易日期,收入金额,支出金额,对方户名,摘要\n2022-11-21,,142400,某道路工程公司,工程款\n";
  auto with_bom = parse_bank_statement("\xEF\xBB\xBF" + utf8, kToday);
  ASSERT_TRUE(with_bom.is_ok()) << with_bom.status().message();
  EXPECT_EQ(with_bom->encoding, "UTF-8");
  // The GBK bytes made by the system's iconv(1), as a bank's export has them.
  testing::write_file(dir.file("utf8.csv"), utf8);
  auto conv = testing::run_command("iconv -f UTF-8 -t GBK " + dir.file("utf8.csv") + " > " + dir.file("gbk.csv"));
  ASSERT_EQ(conv.exit_code, 0) << conv.output;
  std::string gbk = testing::read_file(dir.file("gbk.csv"));
  ASSERT_NE(gbk, utf8);
  auto st = parse_bank_statement(gbk, kToday);
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_EQ(st->encoding, "GB18030");
  ASSERT_EQ(st->lines.size(), 1u);
  EXPECT_EQ(st->lines[0].counterparty, "某道路工程公司");
  EXPECT_EQ(st->lines[0].reference, "工程款");
  EXPECT_NE(st->sha256, with_bom->sha256);  // the hash is of the file as given
  // Bytes that are neither: the error says how to convert.
  auto neither = parse_bank_statement(std::string("date,amount\n\xFF\xFE\x80\x80\n"), kToday);
  ASSERT_FALSE(neither.is_ok());
  EXPECT_NE(neither.status().message().find("iconv -f GBK -t UTF-8"), std::string::npos) << neither.status().message();
}

// Many banks' exports start with the account's title, number and period, and
// carry columns of their own (序号, 交易时间, 余额, 对方账号) in their own order:
// the header is found among the first ten lines, the unknown columns ignored,
// and each line still named by its line in the file.
TEST(BankStatement, FindsTheHeaderBelowTitleRowsAndIgnoresOtherColumns) {
  auto st = parse_bank_statement(
      "中国农业银行 账户交易明细\n"
      "账号:6228480000000000000,户名:双江村村民委员会\n"
      "起止日期:2022-11-01 至 2022-11-30\n"
      "\n"
      "序号,交易日期,交易时间,摘要,收入金额,支出金额,余额,对方户名,对方账号\n"
      "1,2022-11-02,09:30:00,拨款,\"300,000.00\",,\"300,100.00\",渌口区水利局,1901\n"
      "2,20221121,10:00:00,工程款,,142400,\"157,700.00\",某道路工程公司,6222\n",
      kToday);
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  ASSERT_EQ(st->lines.size(), 2u);
  EXPECT_EQ(st->lines[0].date, "2022-11-02");
  EXPECT_TRUE(st->lines[0].in);
  EXPECT_EQ(st->lines[0].amount, 300'000'00);
  EXPECT_EQ(st->lines[0].counterparty, "渌口区水利局");
  EXPECT_EQ(st->lines[0].reference, "拨款");
  EXPECT_EQ(st->lines[0].source_line, 6);
  EXPECT_FALSE(st->lines[1].in);
  EXPECT_EQ(st->lines[1].amount, 142'400'00);
  EXPECT_EQ(st->lines[1].counterparty, "某道路工程公司");
  EXPECT_EQ(st->lines[1].source_line, 7);
  // The flag form with a balance column, and the English header in another order.
  auto flag = parse_bank_statement("对账单\n交易日期,收支标志,交易金额,余额,摘要,对方户名\n2022-11-21,借,142400,\"157,700.00\",工程款,某道路工程公司\n",
                                   kToday);
  ASSERT_TRUE(flag.is_ok()) << flag.status().message();
  EXPECT_EQ(flag->lines[0].amount, 142'400'00);
  EXPECT_FALSE(flag->lines[0].in);
  EXPECT_EQ(flag->lines[0].counterparty, "某道路工程公司");
  auto english = parse_bank_statement("reference,balance,counterparty,direction,amount,date\nfee,99.00,bank,out,1.00,2022-11-30\n", kToday);
  ASSERT_TRUE(english.is_ok()) << english.status().message();
  EXPECT_EQ(english->lines[0].date, "2022-11-30");
  EXPECT_EQ(english->lines[0].reference, "fee");
  // A row short of the header's columns is named; a header below the tenth line is not looked for.
  auto short_row = parse_bank_statement("标题\n交易日期,收入金额,支出金额,余额,对方户名,摘要\n2022-11-02,100,,100,甲\n", kToday);
  ASSERT_FALSE(short_row.is_ok());
  EXPECT_NE(short_row.status().message().find("第3行: 应有6列(同表头),实际5列"), std::string::npos) << short_row.status().message();
  std::string deep;
  for (int i = 0; i < 10; ++i) deep += "标题" + std::to_string(i) + "\n";
  auto too_deep = parse_bank_statement(deep + "date,amount,direction,counterparty,reference\n2022-11-02,1,in,,\n", kToday);
  ASSERT_FALSE(too_deep.is_ok());
  EXPECT_NE(too_deep.status().message().find("没有表头"), std::string::npos) << too_deep.status().message();
}

TEST(BankStatement, RefusesAMalformedFileNamingEveryBadLine) {
  auto st = parse_bank_statement(
      "交易日期,收入金额,支出金额,对方户名,摘要\n"
      "2022-11-02,100,,甲,\n"
      "2022-13-02,100,,乙,\n"         // line 3: no such month
      "2022-11-03,100,200,丙,\n"      // line 4: both amounts
      "2022-11-04,,,丁,\n"            // line 5: neither
      "2022-11-05,12.345,,戊,\n"      // line 6: three decimals
      "2022-11-06,100,,己\n"          // line 7: four columns
      "2022-12-09,100,,庚,\n",        // line 8: after today
      kToday);
  ASSERT_FALSE(st.is_ok());
  const std::string& m = st.status().message();
  EXPECT_EQ(m.find("第2行"), std::string::npos) << m;
  for (const char* line : {"第3行: 日期", "第4行: 收入金额和支出金额应恰好填一个", "第5行: 收入金额和支出金额应恰好填一个",
                           "第6行: 金额“12.345”无效", "第7行: 应有5列", "第8行: 日期2022-12-09晚于今天"})
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  auto flag = parse_bank_statement("交易日期,交易金额,收支标志,对方户名,摘要\n2022-11-02,100,转,甲,\n", kToday);
  EXPECT_NE(flag.status().message().find("第2行: 收支标志“转”"), std::string::npos) << flag.status().message();
  auto header = parse_bank_statement("日期,金额,方向,对方,摘要\n2022-11-02,100,in,甲,\n", kToday);
  EXPECT_NE(header.status().message().find("第1行: 前10行里没有表头,表头应含这几列"), std::string::npos) << header.status().message();
  EXPECT_FALSE(parse_bank_statement("", kToday).is_ok());
  EXPECT_FALSE(parse_bank_statement("date,amount,direction,counterparty,reference\n", kToday).is_ok());
  auto quote = parse_bank_statement("date,amount,direction,counterparty,reference\n2022-11-02,\"100,in,甲,\n", kToday);
  EXPECT_NE(quote.status().message().find("第2行: 引号没有闭合"), std::string::npos) << quote.status().message();
}

TEST(BankMatcher, CounterpartySimilarity) {
  EXPECT_EQ(counterparty_similarity("某道路工程公司", "某道路工程公司"), 2);
  EXPECT_EQ(counterparty_similarity("某道路工程有限公司", "某道路工程公司"), 2);   // 有限 dropped
  EXPECT_EQ(counterparty_similarity("ＡＢＣ 建材（株洲）", "abc建材(株洲)"), 2);  // full width, case, spaces, brackets
  EXPECT_EQ(counterparty_similarity("渌口区水利局", "株洲市渌口区水利局"), 1);
  EXPECT_EQ(counterparty_similarity("某道路工程公司", "某水利工程队"), 0);
  EXPECT_EQ(counterparty_similarity("", ""), 0);
}

TEST(BankMatcher, SameDirectionAndAmountWithinThreeDays) {
  std::vector<BookLine> books = {book_line(1, "2022-11-10", false, 500), book_line(2, "2022-11-10", false, 700),
                                 book_line(3, "2022-11-10", true, 900)};
  std::vector<BankLine> bank = {bank_line("2022-11-13", false, 500),   // 3 days after: matched
                                bank_line("2022-11-06", false, 700),   // 4 days before: not
                                bank_line("2022-11-10", false, 900)};  // same amount, other direction: not
  auto r = match_bank_lines(bank, books, "2022-11-01", "2022-11-30");
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].bank, 0u);
  EXPECT_EQ(r.matched[0].book, 0u);
  EXPECT_EQ(r.matched[0].days, 3);
  EXPECT_EQ(r.unmatched_bank, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(r.unmatched_book, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(r.book_lines_in_period, 3u);
}

TEST(BankMatcher, OneToOne) {
  // Two withdrawals of the same amount, one line in the books.
  std::vector<BookLine> books = {book_line(5, "2022-11-10", false, 1'000'00, "镇上文具店")};
  std::vector<BankLine> bank = {bank_line("2022-11-10", false, 1'000'00, "镇上文具店"),
                                bank_line("2022-11-11", false, 1'000'00, "镇上文具店")};
  auto r = match_bank_lines(bank, books, "2022-11-01", "2022-11-30");
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].bank, 0u);  // the closer date
  EXPECT_EQ(r.unmatched_bank, std::vector<size_t>{1});
  EXPECT_TRUE(r.unmatched_book.empty());
}

TEST(BankMatcher, CounterpartyThenDateBreakTies) {
  std::vector<BookLine> books = {book_line(1, "2022-11-10", false, 800, "某水利工程队"),
                                 book_line(2, "2022-11-12", false, 800, "某道路工程公司"),
                                 book_line(3, "2022-11-11", false, 800, "")};
  // The bank line is closest to entry 1 by date, but names entry 2's payee.
  auto r = match_bank_lines({bank_line("2022-11-10", false, 800, "某道路工程有限公司")}, books, "2022-11-01", "2022-11-30");
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].book, 1u);
  EXPECT_EQ(r.matched[0].similarity, 2);
  EXPECT_FALSE(r.matched[0].ambiguous);
  // No name to go by: the closest date wins.
  auto by_date = match_bank_lines({bank_line("2022-11-12", false, 800, "")}, books, "2022-11-01", "2022-11-30");
  ASSERT_EQ(by_date.matched.size(), 1u);
  EXPECT_EQ(by_date.matched[0].book, 1u);
  EXPECT_FALSE(by_date.matched[0].ambiguous);
}

TEST(BankMatcher, EquallyGoodCandidatesAreMarkedAmbiguous) {
  std::vector<BookLine> books = {book_line(1, "2022-11-09", false, 800), book_line(2, "2022-11-11", false, 800)};
  auto r = match_bank_lines({bank_line("2022-11-10", false, 800)}, books, "2022-11-01", "2022-11-30");
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].book, 0u);  // the earlier entry, deterministically
  EXPECT_TRUE(r.matched[0].ambiguous);
  EXPECT_EQ(r.ambiguous, 1u);
  EXPECT_EQ(r.unmatched_book, std::vector<size_t>{1});
  // Two bank lines and one entry, alike: which one is not in the books is a guess.
  auto two = match_bank_lines({bank_line("2022-11-10", false, 800), bank_line("2022-11-10", false, 800)},
                              {book_line(1, "2022-11-10", false, 800)}, "2022-11-01", "2022-11-30");
  EXPECT_EQ(two.ambiguous, 1u);
  EXPECT_EQ(two.unmatched_bank.size(), 1u);
}

TEST(BankMatcher, NoLineIsLeftThatAnotherChoiceWouldMatch) {
  // Bank line 0 prefers entry A (same payee, same day) but could take B; bank
  // line 1 can only take A. Greedy alone would leave line 1 out.
  std::vector<BookLine> books = {book_line(1, "2022-11-10", false, 600, "甲公司"), book_line(2, "2022-11-12", false, 600, "")};
  std::vector<BankLine> bank = {bank_line("2022-11-10", false, 600, "甲公司"), bank_line("2022-11-07", false, 600, "乙公司")};
  auto r = match_bank_lines(bank, books, "2022-11-01", "2022-11-30");
  EXPECT_EQ(r.matched.size(), 2u);
  EXPECT_TRUE(r.unmatched_bank.empty());
  EXPECT_TRUE(r.unmatched_book.empty());
}

TEST(BankMatcher, BookLinesOutsideThePeriodMatchButAreNotListed) {
  std::vector<BookLine> books = {book_line(1, "2022-10-31", false, 600), book_line(2, "2022-10-20", false, 700)};
  auto r = match_bank_lines({bank_line("2022-11-01", false, 600)}, books, "2022-11-01", "2022-11-30");
  EXPECT_EQ(r.matched.size(), 1u);
  EXPECT_TRUE(r.unmatched_book.empty());
  EXPECT_EQ(r.book_lines_in_period, 0u);
  EXPECT_EQ(r.matched_outside_period, 1u);  // said in the text, or "0 book lines, 1 matched" reads as an error
}

// A village's November on a real ledger file: special funds and ordinary
// funds in the bank, one line paid in cash, one line reversed.
struct ReconcileLedger : ::testing::Test {
  testing::TestLedger t{"test.sunledger", Bot::reserved_log_names()};
  void SetUp() override {
    ASSERT_TRUE(t.ledger->add_village({"v1", "一村", "一镇"}).is_ok());
    ASSERT_TRUE(t.ledger->register_project("v1", {"水利建设", 300'000'00, true}, kClerk).is_ok());
    auto posted = t.ledger->post_transactions(
        "v1",
        {transaction_line("2022-11-02", true, "上级拨款", "水利建设专项资金到账", 300'000'00, "水利建设", "专项资金", "渌口区水利局"),
         transaction_line("2022-11-10", false, "工程款", "水渠修缮", 157'600'00, "水利建设", "专项资金", "某水利工程队"),
         transaction_line("2022-11-12", false, "办公费", "打印纸", 350'00, "", "现金", "镇上文具店"),
         transaction_line("2022-11-15", false, "办公费", "墨盒", 500'00, "", "一般资金", "镇上文具店"),
         transaction_line("2022-11-16", false, "办公费", "墨盒", 800'00, "", "一般资金", "镇上文具店")},
        kClerk);
    ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
    ASSERT_TRUE(t.ledger->reverse("v1", posted->indexes[4], "记错了", kClerk).is_ok());
  }
  Result<ReconcileReport> reconcile(const std::string& csv) { return reconcile_books(*t.ledger, "v1", csv); }
  Result<uint64_t> record(const ReconcileReport& r) {
    Result<uint64_t> idx = invalid_argument("not written");
    Status s = t.ledger->write([&](WriteTxn& w) -> Status {
      idx = record_reconciliation(w, r, kClerk);
      return idx.status();
    });
    if (!s.is_ok()) return s;
    return idx;
  }
};

constexpr const char* kNovember =
    "交易日期,收入金额,支出金额,对方户名,摘要\n"
    "2022-11-02,\"300,000.00\",,渌口区水利局,拨款\n"
    "2022-11-11,,157600,某水利工程队,工程款\n"
    "2022-11-21,,142400,某道路工程公司,工程款\n";

TEST_F(ReconcileLedger, TheBooksSideIsWhatMovesTheBankAccount) {
  auto books = bank_book_lines(*t.ledger, "v1");
  ASSERT_TRUE(books.is_ok());
  // The cash line (101) and the reversed line with its reversal are not bank lines.
  ASSERT_EQ(books->size(), 3u);
  EXPECT_TRUE((*books)[0].in);
  EXPECT_EQ((*books)[0].amount, 300'000'00);
  EXPECT_EQ((*books)[1].amount, 157'600'00);
  EXPECT_EQ((*books)[2].amount, 500'00);
  EXPECT_EQ((*books)[2].counterparty, "镇上文具店");
}

// The water works' 157,600, booked on the 10th, paid by the bank on the 11th:
// a statement starting on the 11th matches it to a book line before its
// period, and the summary says so (0 book lines in the period, 1 matched).
TEST_F(ReconcileLedger, AMatchOutsideThePeriodIsSaidInTheSummary) {
  auto r = reconcile("交易日期,收入金额,支出金额,对方户名,摘要\n"
                     "2022-11-11,,157600,某水利工程队,工程款\n"
                     "2022-11-11,,1,某人,手续费\n");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  std::string text = reconciliation_text(*r);
  EXPECT_NE(text.find("对上1笔(其中1笔账上日期在对账期外) (bank lines 2, book lines 0, matched 1, 1 of them to book lines dated "
                      "outside the period)"),
            std::string::npos)
      << text;
}

TEST_F(ReconcileLedger, RecordsASignedEntryThatVerifyChecks) {
  auto r = reconcile(kNovember);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->result.matched.size(), 2u);
  ASSERT_EQ(r->result.unmatched_bank.size(), 1u);
  ASSERT_EQ(r->result.unmatched_book.size(), 1u);
  EXPECT_EQ(r->books[r->result.unmatched_book[0]].amount, 500'00);
  std::string text = reconciliation_text(*r);
  EXPECT_EQ(text.find("对账期外"), std::string::npos) << text;  // every pair's book line within the period
  EXPECT_NE(text.find("银行有、账上没有 (bank lines not in the books): 1\n  第4行 2022-11-21 支出 142,400.00元 某道路工程公司 工程款"),
            std::string::npos) << text;
  EXPECT_NE(text.find("账上有、银行没有 (book lines not in the bank): 1\n  #4 2022-11-15 支出 500.00元 镇上文具店"),
            std::string::npos) << text;
  auto idx = record(*r);
  ASSERT_TRUE(idx.is_ok()) << idx.status().to_string();
  auto e = t.ledger->entries("v1", *idx, *idx + 1);
  ASSERT_TRUE(e.is_ok());
  const auto& f = (*e)[0].fields;
  EXPECT_EQ(f["kind"], "reconciliation");
  EXPECT_EQ(f["from"], "2022-11-02");
  EXPECT_EQ(f["to"], "2022-11-21");
  EXPECT_EQ(f["bank_lines"], 3);
  EXPECT_EQ(f["book_lines"], 3);
  EXPECT_EQ(f["matched"], 2);
  EXPECT_EQ(f["unmatched_bank"], 1);
  EXPECT_EQ(f["unmatched_book"], 1);
  EXPECT_EQ(f["bank_sha256"], r->bank.sha256);
  ASSERT_EQ(f["unmatched_out"].size(), 1u);
  EXPECT_EQ(f["unmatched_out"][0]["amount"], 142'400'00);
  EXPECT_EQ(f["unmatched_out"][0]["counterparty"], "某道路工程公司");
  auto v = t.ledger->verify();
  ASSERT_TRUE(v.is_ok());
  EXPECT_TRUE(v->intact()) << v->problems[0].reason;
}

TEST_F(ReconcileLedger, AMalformedFileRecordsNothing) {
  auto before = t.ledger->log_size("v1");
  auto r = reconcile("交易日期,收入金额,支出金额,对方户名,摘要\n2022-11-02,100,,甲,\n2022-11-03,abc,,乙,\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("第3行"), std::string::npos) << r.status().message();
  EXPECT_EQ(*t.ledger->log_size("v1"), *before);
  EXPECT_EQ(reconcile(kNovember).status().code(), Code::kOk);
  EXPECT_EQ(reconcile_books(*t.ledger, "nowhere", kNovember).status().code(), Code::kNotFound);
}

TEST_F(ReconcileLedger, AnInsiderWhoEditsTheRecordIsNamedByVerify) {
  auto r = reconcile(kNovember);
  ASSERT_TRUE(r.is_ok());
  auto idx = record(*r);
  ASSERT_TRUE(idx.is_ok());
  {
    // Silence the alert: the unmatched withdrawal taken out of the signed entry.
    auto db = testing::open_as_insider(t.db_path());
    SQLite::Statement q(*db, "SELECT e.leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name='v1' AND e.idx=?");
    q.bind(1, static_cast<int64_t>(*idx));
    ASSERT_TRUE(q.executeStep());
    auto col = q.getColumn(0);
    auto leaf = nlohmann::json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())));
    leaf["unmatched_out"] = nlohmann::json::array();
    leaf["unmatched_bank"] = 0;
    leaf["matched"] = 3;
    std::string forged = leaf.dump();
    SQLite::Statement u(*db, "UPDATE entries SET leaf=? WHERE idx=? AND log_id=(SELECT id FROM logs WHERE name='v1')");
    u.bind(1, forged.data(), static_cast<int>(forged.size()));
    u.bind(2, static_cast<int64_t>(*idx));
    ASSERT_EQ(u.exec(), 1);
  }
  auto v = t.ledger->verify();
  ASSERT_TRUE(v.is_ok());
  ASSERT_FALSE(v->intact());
  EXPECT_EQ(v->problems[0].log, "v1");
  EXPECT_EQ(v->problems[0].first_bad_index, *idx);
}

TEST_F(ReconcileLedger, AWithdrawalStillUnmatchedThirtyDaysOnRaisesTheAlert) {
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  auto r = reconcile(kNovember);
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE(record(*r).is_ok());
  auto alerts = [&bot](bool published) {
    std::vector<std::string> out;
    auto b = bot.books("v1");
    EXPECT_TRUE(b.is_ok());
    for (const auto& f : published ? (*b)->published->flags : (*b)->flags)
      if (f.kind == FlagKind::kBankWithdrawalUnbooked) out.push_back(f.text);
    return out;
  };
  // 2022-11-21 + 29 days: not yet.
  t.clock.set(local_midnight({2022, 12, 20}, kChinaStandardTimeOffsetMinutes) + 3600);
  EXPECT_TRUE(alerts(false).empty());
  // 30 days on: in the whole books and in the published ones (the web page).
  t.clock.set(local_midnight({2022, 12, 21}, kChinaStandardTimeOffsetMinutes) + 3600);
  auto raised = alerts(false);
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(raised[0].rfind("银行流水有支出未入账:2022-11-21 银行支出142,400.00元(14.24万元)给“某道路工程公司”", 0), 0u) << raised[0];
  EXPECT_NE(raised[0].find("(bank withdrawal not in the books 30 days on)"), std::string::npos) << raised[0];
  EXPECT_EQ(alerts(true), raised);
  // Booked at last and reconciled again: the later reconciliation of that
  // period decides, and the alert is gone.
  ASSERT_TRUE(t.ledger->post_transactions("v1", {transaction_line("2022-11-21", false, "工程款", "村道拓宽工程款", 142'400'00, "",
                                                                   "专项资金", "某道路工程公司")},
                                          kClerk).is_ok());
  auto again = reconcile(kNovember);
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->result.unmatched_bank.empty());
  ASSERT_TRUE(record(*again).is_ok());
  EXPECT_TRUE(alerts(false).empty());
}

}  // namespace
}  // namespace sunledger
