// The corrections (issue #16 item 2) as double entry: the demo's Shuangjiang
// water works finished and their unspent 142,400 returned, a transfer from
// the bank to cash, an opening balance at a year's start; the exports still
// pass hledger's strict check and bean-check.
#include <fstream>

#include <gtest/gtest.h>

#include "demo_fixture.h"
#include "exports/exports.h"
#include "ledger/chart.h"

namespace sunledger {
namespace {

const Author kClerk{"clerk", "official", "test"};

TransactionLine correction(const char* kind, const std::string& date, Fen amount, const std::string& fund,
                           const std::string& to_fund = "", const std::string& project = "",
                           const std::string& counterparty = "") {
  TransactionLine l;
  l.kind = kind;
  l.date = date;
  l.amount = amount;
  l.fund = fund;
  l.to_fund = to_fund;
  l.project = project;
  l.counterparty = counterparty;
  return l;
}

std::string write(const std::filesystem::path& dir, const std::string& name, const std::string& body) {
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << body;
  return path;
}

TEST(CorrectionsExport, EachCorrectionIsABalancedTransactionTheToolsAccept) {
  testing::DemoDeployment d;
  Ledger& l = *d.t.ledger;
  ASSERT_TRUE(l.write([](WriteTxn& t) { return t.finish_project("shuangjiang", "水利建设", kClerk).status(); }).is_ok());
  auto dec = l.post_transactions("shuangjiang",
                                 {correction(kSpecialReturnKind, "2022-12-10", 142'400'00, "专项资金", "", "水利建设", "渌口区水利局"),
                                  correction(kTransferKind, "2022-12-12", 3'000'00, "一般资金", "现金", "", "")},
                                 kClerk);
  ASSERT_TRUE(dec.is_ok()) << dec.status().to_string();
  // An opening balance once money has moved: only on a year's first day.
  EXPECT_FALSE(l.post_transactions("shuangjiang", {correction(kOpeningBalanceKind, "2022-12-15", 1'00, "现金")}, kClerk).is_ok());
  ASSERT_TRUE(l.close_month("shuangjiang", "2022-12", kClerk).is_ok());
  ASSERT_TRUE(l.post_transactions("shuangjiang", {correction(kOpeningBalanceKind, "2023-01-01", 800'00, "现金")}, kClerk).is_ok());
  ASSERT_TRUE(l.close_month("shuangjiang", "2023-01", kClerk).is_ok());

  auto j = published_journal(l, "shuangjiang");
  ASSERT_TRUE(j.is_ok()) << j.status().to_string();
  Fen owed = 0, cash = 0, equity = 0;
  int corrections = 0;
  for (const auto& t : j->txns) {
    Fen sum = 0;
    for (const auto& p : t.postings) {
      sum += p.amount;
      if (t.index >= dec->indexes[0]) {
        if (p.account->code == "101") cash += p.amount;
        if (p.account->code == "322") equity += p.amount;
      }
      if (p.account->code == "241" && p.project == "水利建设") owed += p.amount;
    }
    EXPECT_EQ(sum, 0) << "entry #" << t.index << " is not balanced";
    if (t.index >= dec->indexes[0]) ++corrections;
  }
  EXPECT_EQ(corrections, 3);
  EXPECT_EQ(owed, 0);  // the diversion's 142,400 still owed, then returned: nothing owed any more
  EXPECT_EQ(cash, 3'800'00);
  EXPECT_EQ(equity, -800'00);

  auto h = testing::run_command("hledger check -s ordereddates payees -f " + write(d.t.dir.path(), "c.journal", to_hledger(*j)));
  EXPECT_EQ(h.exit_code, 0) << h.output;
  auto b = testing::run_command("bean-check " + write(d.t.dir.path(), "c.beancount", to_beancount(*j)));
  EXPECT_EQ(b.exit_code, 0) << b.output;
  EXPECT_TRUE(l.verify()->intact());
}

}  // namespace
}  // namespace sunledger
