// `sunledger reconcile` through the real binary: a bank statement file in a
// temp folder (UTF-8 and GBK), the report, the signed entry verify checks,
// the alert in chat, and a malformed file refused with nothing recorded.
#include <gtest/gtest.h>

#include "test_support.h"

namespace sunledger {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

struct ReconcileCli : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  CommandResult sl(const std::string& args) {
    return run_command(std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args);
  }
  void SetUp() override {
    ASSERT_EQ(sl("init --origin cli.test/sunledger").exit_code, 0);
    ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
    ASSERT_EQ(sl("project add --village shuangjiang --name 水利建设 --approved 30万 --special").exit_code, 0);
    write_file(dir.file("entries.csv"),
               "date,type,category,item,amount,project,fund,counterparty,note\n"
               "2022-11-02,income,上级拨款,水利建设专项资金到账,\"300,000.00\",水利建设,专项资金,渌口区水利局,\n"
               "2022-11-10,expense,工程款,水渠修缮,15.76万,水利建设,专项资金,某水利工程队,\n"
               "2022-11-15,expense,办公费,墨盒,500,,一般资金,镇上文具店,\n");
    auto posted = sl("post --village shuangjiang --file " + dir.file("entries.csv"));
    ASSERT_EQ(posted.exit_code, 0) << posted.output;
  }
  uint64_t entries() {
    auto r = sl("village list");
    return std::stoull(r.output.substr(r.output.rfind('\t') + 1));
  }
};

constexpr const char* kStatement =
    "交易日期,交易金额,收支标志,对方户名,摘要\n"
    "2022/11/02,\"300,000.00\",贷,渌口区水利局,拨款\n"
    "2022/11/11,157600.00,借,某水利工程有限公司,工程款\n"
    "2022/11/21,142400.00,借,某道路工程公司,工程款\n";

TEST_F(ReconcileCli, ReportsBothSidesAndRecordsASignedEntry) {
  write_file(dir.file("bank.csv"), kStatement);
  uint64_t before = entries();
  auto r = sl("reconcile --village shuangjiang --bank " + dir.file("bank.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("【双江村 银行对账】2022-11-02 至 2022-11-21 (bank reconciliation)\n"
                          "银行流水3笔,账上银行存款3笔,对上2笔 (bank lines 3, book lines 3, matched 2)\n"
                          "银行有、账上没有 (bank lines not in the books): 1\n"
                          "  第4行 2022-11-21 支出 142,400.00元 某道路工程公司 工程款\n"
                          "账上有、银行没有 (book lines not in the bank): 1\n"
                          "  #3 2022-11-15 支出 500.00元 镇上文具店 办公费 墨盒\n"
                          "对账记录 (recorded as) #4\n"
                          "cli.test/sunledger/shuangjiang\n5\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(entries(), before + 1);
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ReconcileCli, ReadsAGbkStatement) {
  write_file(dir.file("bank-utf8.csv"), kStatement);
  auto conv = run_command("iconv -f UTF-8 -t GBK " + dir.file("bank-utf8.csv") + " > " + dir.file("bank-gbk.csv"));
  ASSERT_EQ(conv.exit_code, 0) << conv.output;
  auto r = sl("reconcile --village shuangjiang --bank " + dir.file("bank-gbk.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("第4行 2022-11-21 支出 142,400.00元 某道路工程公司 工程款"), std::string::npos) << r.output;
}

TEST_F(ReconcileCli, AMalformedFileIsRefusedNamingTheLineAndNothingIsRecorded) {
  write_file(dir.file("bad.csv"),
             "交易日期,收入金额,支出金额,对方户名,摘要\n"
             "2022-11-02,\"300,000.00\",,渌口区水利局,拨款\n"
             "2022-11-11,,15.76万元整,某水利工程队,工程款\n"
             "2022-11-21,,,某道路工程公司,工程款\n");
  uint64_t before = entries();
  auto r = sl("reconcile --village shuangjiang --bank " + dir.file("bad.csv"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("未对账"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("第3行: 金额"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("第4行: 收入金额和支出金额应恰好填一个"), std::string::npos) << r.output;
  EXPECT_EQ(entries(), before);
  auto missing = sl("reconcile --village shuangjiang --bank " + dir.file("no-such.csv"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("读不到银行流水文件"), std::string::npos) << missing.output;
  EXPECT_EQ(entries(), before);
  EXPECT_EQ(sl("reconcile --village shuangjiang").exit_code, 2);  // --bank is required
}

// Hostile arguments: a folder or /dev/null as the statement, a village that
// does not exist, a file with terminal escape codes in a name. Each is a
// polite refusal (exit 1, no crash) and nothing is recorded.
TEST_F(ReconcileCli, HostileArgumentsAreRefusedAndRecordNothing) {
  write_file(dir.file("bank.csv"), kStatement);
  write_file(dir.file("escape.csv"), "date,amount,direction,counterparty,reference\n"
                                     "2022-11-21,142400,out,\x1B[2J\x1B[31m某道路工程公司,工程款\n"
                                     "\x1B]0;owned\x07 2022-11-21,\x1B[2J142400,out,某道路工程公司,\xC2\x9B" "31m\n");
  uint64_t before = entries();
  for (const std::string& args : {"--village shuangjiang --bank " + dir.path().string(),
                                  std::string("--village shuangjiang --bank /dev/null"),
                                  "--village nowhere --bank " + dir.file("bank.csv"),
                                  "--village shuangjiang --bank " + dir.file("escape.csv")}) {
    auto r = sl("reconcile " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find("\x1B"), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find("\xC2\x9B"), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find("对账记录"), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_EQ(entries(), before);
  EXPECT_EQ(sl("verify").exit_code, 0);
}

// On the demo's Shuangjiang: a withdrawal of November 2022 that is in no
// line of the books is, by the real clock, long past 30 days: the inspector's
// 预警 names it.
TEST(ReconcileDemo, AnUnbookedWithdrawalIsAnAlertInChat) {
  TempDir dir;
  auto sl = [&dir](const std::string& args) {
    return run_command(std::string(SUNLEDGER_BINARY) + " --data " + dir.file("demo") + " " + args);
  };
  auto demo = sl("demo --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  auto ask = [&sl] { return sl("ask --bot generic --chat p --private --user district-inspector 预警"); };
  auto before = ask();
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_EQ(before.output.find("银行流水有支出未入账"), std::string::npos) << before.output;
  write_file(dir.file("bank.csv"),
             "date,amount,direction,counterparty,reference\n"
             "2022-11-09,77600,out,某水利工程队,二期工程款\n"
             "2022-11-21,142400,out,某道路工程公司,工程款\n"
             "2022-11-28,30000,out,某建材公司,转账\n");
  auto r = sl("reconcile --village shuangjiang --bank " + dir.file("bank.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("银行有、账上没有 (bank lines not in the books): 1\n  第4行 2022-11-28 支出 30,000.00元 某建材公司 转账\n"),
            std::string::npos)
      << r.output;
  auto after = ask();
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("[朱亭镇双江村] 银行流水有支出未入账:2022-11-28 银行支出30,000.00元(3万元)给“某建材公司”(摘要:转账)"),
            std::string::npos)
      << after.output;
  EXPECT_EQ(sl("verify").exit_code, 0);
}

}  // namespace
}  // namespace sunledger
