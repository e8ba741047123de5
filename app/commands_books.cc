// The books commands: the chart of accounts and a village's mapping onto it
// (accounts list, accounts map), exports for accountants' tools (export) and
// the year statement (report).
#include <fstream>
#include <iostream>

#include "app/commands.h"
#include "exports/exports.h"
#include "ledger/chart.h"

namespace sunledger::cli {

namespace {

std::string month_option_problem(const Args& a) {
  for (const char* o : {"from", "to"})
    if (a.has(o) && !valid_month(a.get(o))) return std::string("--") + o + " must be YYYY-MM (e.g. 2022-11)";
  return "";
}

}  // namespace

void add_books_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "accounts list",
      .synopsis = "accounts list [--village ID]",
      .help = "Prints the 42 accounts of the 2023 chart (《农村集体经济组织会计制度》, 财会〔2023〕14号): code, name, type.\n"
              "With --village, then the village's mapping: each income category, expense category and fund and\n"
              "the account it books to (the default mapping with the village's own `accounts map` entries over it).",
      .examples = {"accounts list", "accounts list --village shuangjiang"},
      .values = {"village"},
      .run = [](Deployment& d, const Args& a) {
        for (const auto& acct : chart_2023())
          std::cout << acct.code << "\t" << acct.name << "\t" << account_type_zh(acct.type) << "\n";
        if (!a.has("village")) return kExitOk;
        auto m = village_account_map(*d.ledger, a.get("village"));
        if (!m.is_ok()) return fail(m.status());
        for (MapSide side : {MapSide::kIncome, MapSide::kExpense, MapSide::kFund})
          for (const auto& [name, code] : m->side(side))
            std::cout << map_side_name(side) << "\t" << name << "\t" << code << "\t" << find_account(code)->name << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "accounts map",
      .synopsis = "accounts map --village ID --income|--expense|--fund NAME --account CODE",
      .help = "Maps an income category, an expense category or a fund of the village to an account of the chart\n"
              "(code or name), as a signed entry of the village's log: how its published books are presented\n"
              "stays auditable. Lines are booked with the mapping in force when they are posted.",
      .examples = {"accounts map --village shuangjiang --income 鱼塘承包 --account 501",
                   "accounts map --village shuangjiang --fund 村级互助金 --account 102"},
      .values = {"village", "income", "expense", "fund", "account"},
      .required = {"village", "account"},
      .check = [](const Args& a) -> std::string {
        int n = a.has("income") + a.has("expense") + a.has("fund");
        return n == 1 ? "" : "name exactly one of --income, --expense or --fund";
      },
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        MapSide side = a.has("income") ? MapSide::kIncome : a.has("expense") ? MapSide::kExpense : MapSide::kFund;
        std::string name = a.get(map_side_name(side));
        Result<uint64_t> idx = invalid_argument("not written");
        std::map<std::string, std::string> notes;
        Status s = d.ledger->write(
            [&](WriteTxn& t) -> Status {
              idx = map_account(t, a.get("village"), side, name, a.get("account"), cli_author());
              return idx.status();
            },
            &notes);
        if (!s.is_ok()) return fail(s);
        std::cout << "#" << *idx << "\n" << notes[a.get("village")];
        return kExitOk;
      }});
  c.push_back({
      .name = "export",
      .synopsis = "export --village ID --format hledger|beancount|csv|xlsx [--from YYYY-MM] [--to YYYY-MM] [--out FILE]",
      .help = "Writes the village's published months as double-entry books on the 2023 chart: an hledger journal\n"
              "(passes `hledger check -s ordereddates payees`), a beancount file (passes bean-check), a CSV with\n"
              "a BOM, or an .xlsx workbook with a summary sheet and a sheet per month. To stdout, or --out FILE.",
      .examples = {"export --village shuangjiang --format hledger --from 2022-09 --to 2022-12",
                   "export --village shuangjiang --format xlsx --out shuangjiang.xlsx"},
      .values = {"village", "format", "from", "to", "out"},
      .required = {"village", "format"},
      .check = [](const Args& a) -> std::string {
        if (!parse_export_format(a.get("format"))) return "--format must be hledger, beancount, csv or xlsx";
        return month_option_problem(a);
      },
      .run = [](Deployment& d, const Args& a) {
        auto j = published_journal(*d.ledger, a.get("village"), a.get("from"), a.get("to"));
        if (!j.is_ok()) return fail(j.status());
        auto body = export_books(*j, *parse_export_format(a.get("format")));
        if (!body.is_ok()) return fail(body.status());
        if (!a.has("out")) {
          std::cout << *body;
          return kExitOk;
        }
        std::ofstream out(a.get("out"), std::ios::binary | std::ios::trunc);
        out << *body;
        if (!out.flush()) return fail(unavailable("cannot write " + a.get("out")));
        std::cerr << "wrote " << count_of(j->txns.size(), "transaction", "transactions") << " of "
                  << count_of(j->months.size(), "month", "months") << " to " << a.get("out") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "report",
      .synopsis = "report --village ID --year YYYY",
      .help = "Prints the year statement by account (年度收支决算) of the village's published months: income and\n"
              "expenses by account, the surplus, and the balances at the year's end; what 账目 2022 answers in chat.",
      .examples = {"report --village shuangjiang --year 2022"},
      .values = {"village", "year"},
      .required = {"village", "year"},
      .run = [](Deployment& d, const Args& a) {
        auto text = year_statement_text(*d.ledger, a.get("village"), a.get("year"));
        if (!text.is_ok()) return fail(text.status());
        std::cout << *text << "\n";
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
