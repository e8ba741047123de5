// `sunledger reconcile`: a bank statement matched against the village's
// 银行存款 lines, the unmatched printed on both sides and the result signed
// into the village's log (reconcile/reconcile.h).
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "reconcile/reconcile.h"

namespace sunledger::cli {

void add_reconcile_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "reconcile",
      .synopsis = "reconcile --village ID --bank FILE",
      .help = "Matches a bank statement (CSV: date,amount,direction,counterparty,reference, or the bank exports\n"
              "交易日期,收入金额,支出金额,对方户名,摘要 and 交易日期,交易金额,收支标志,对方户名,摘要; UTF-8 or GBK) one to\n"
              "one against the village's lines that move 102 银行存款: same direction and amount, dates at most 3 days\n"
              "apart, the closer counterparty and then the closer date first. Prints the lines unmatched on both\n"
              "sides and records a signed reconciliation entry in the village's log (the counts, the period, the\n"
              "file's SHA-256 and every unmatched withdrawal: 30 days on, each raises 银行流水有支出未入账).\n"
              "A file with a bad line is refused, naming the line, and nothing is recorded.",
      .examples = {"reconcile --village shuangjiang --bank 2022-11-流水.csv"},
      .values = {"village", "bank"},
      .required = {"village", "bank"},
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        std::ifstream in(a.get("bank"), std::ios::binary);
        if (!in) return fail(not_found("读不到银行流水文件 " + a.get("bank") + " (cannot read the bank statement)"));
        std::ostringstream bytes;
        bytes << in.rdbuf();
        auto report = reconcile_books(*d.ledger, a.get("village"), bytes.str());
        if (!report.is_ok()) return fail(report.status());
        Result<uint64_t> idx = invalid_argument("not written");
        std::map<std::string, std::string> notes;
        Status s = d.ledger->write(
            [&](WriteTxn& t) -> Status {
              idx = record_reconciliation(t, *report, cli_author());
              return idx.status();
            },
            &notes);
        if (!s.is_ok()) return fail(s);
        std::cout << reconciliation_text(*report) << "对账记录 (recorded as) #" << *idx << "\n" << notes[a.get("village")];
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
