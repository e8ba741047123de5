// A village's published months as a journal, and the year statement by
// account (年度收支决算) in the words of a village notice.
#include <algorithm>

#include "ledger/chart.h"

namespace sunledger {

Result<PublishedJournal> published_journal(Ledger& ledger, const std::string& village, const std::string& from,
                                           const std::string& to) {
  if ((!from.empty() && !valid_month(from)) || (!to.empty() && !valid_month(to)))
    return invalid_argument("月份格式应为 2022-11 (months are YYYY-MM)");
  auto v = ledger.village(village);
  if (!v.is_ok()) return v.status();
  PublishedJournal j;
  j.village = *v;
  // Closed first, then the entries: a month closed by then is final (its
  // lines can no longer change), so what is read of it is complete.
  auto closes = ledger.month_closes(village);
  if (!closes.is_ok()) return closes.status();
  for (const auto& c : *closes)
    if ((from.empty() || c.month >= from) && (to.empty() || c.month <= to)) j.months.push_back(c.month);
  std::sort(j.months.begin(), j.months.end());
  if (j.months.empty()) return j;
  // The stored leaves, read in one snapshot without a JSON document per
  // entry (Ledger::entries parses each): the export benchmark's main cost.
  JournalBuilder b;
  b.keep_months(j.months);
  Status read = ledger.read([&](Ledger::ReadTxn& r) {
    return r.leaves(village, 0, [&b](uint64_t index, std::string_view leaf) { b.apply_leaf(index, leaf); });
  });
  if (!read.is_ok()) return read;
  std::vector<JournalTxn> txns = b.take_transactions();
  // By date, then entry (log order): the order sorted once as indices, and
  // each transaction moved once, not moved about by the sort.
  // A YYYY-MM-DD date compares as the number of its digits; the position
  // breaks ties, so the order is the stable one.
  std::vector<std::pair<uint64_t, uint32_t>> order(txns.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    uint64_t key = 0;
    for (char c : txns[i].date) key = c >= '0' && c <= '9' ? key * 10 + static_cast<uint64_t>(c - '0') : key;
    order[i] = {key, i};
  }
  std::sort(order.begin(), order.end());
  j.txns.reserve(txns.size());
  for (const auto& o : order) j.txns.push_back(std::move(txns[o.second]));
  return j;
}


Result<std::string> year_statement_text(Ledger& ledger, const std::string& village, const std::string& year) {
  if (year.size() != 4 || year.find_first_not_of("0123456789") != std::string::npos)
    return invalid_argument("年份“" + year + "”应写成 2022 这样 (the year must look like 2022)");
  auto j = published_journal(ledger, village, "", year + "-12");
  if (!j.is_ok()) return j.status();
  std::vector<std::string> months;
  for (const auto& m : j->months)
    if (m.compare(0, 4, year) == 0) months.push_back(m);
  if (months.empty())
    return failed_precondition(j->village.name + " " + year + "年还没有公开的月份,没有年度决算。(no month of " + year +
                               " is published yet)");
  YearStatement s = year_statement(j->txns, year);
  std::string out = "【" + j->village.name + " " + year + "年 年度收支决算】(year statement by account)\n";
  out += "依据已公开的 " + months.front() + (months.size() > 1 ? " 至 " + months.back() : "") + " 共" +
         std::to_string(months.size()) + "个月的账目";
  if (months.size() < 12) out += "(全年尚未公开完)";
  out += "\n";
  auto section = [&](const char* title, AccountType type, Fen total, const char* total_name) {
    out += title;
    for (const auto& a : s.accounts)
      if (a.account->type == type)
        out += "  " + a.account->code + " " + a.account->name + " " +
               format_yuan_with_wan(type == AccountType::kRevenue ? a.credit - a.debit : a.debit - a.credit) + "\n";
    out += std::string("  ") + total_name + " " + format_yuan_with_wan(total) + "\n";
  };
  section("收入 (income):\n", AccountType::kRevenue, s.income, "收入合计");
  section("支出 (expenses):\n", AccountType::kExpense, s.expense, "支出合计");
  out += "本年收支结余 (surplus):" + format_yuan_with_wan(s.income - s.expense) + "\n";
  out += "年末余额 (balances at the year's end):\n";
  for (const auto& a : s.accounts) {
    if (a.account->type == AccountType::kRevenue || a.account->type == AccountType::kExpense || a.balance == 0) continue;
    out += "  " + a.account->code + " " + a.account->name + " " + (a.balance > 0 ? "借 " : "贷 ") +
           format_yuan_with_wan(a.balance > 0 ? a.balance : -a.balance) + "\n";
  }
  out += "共" + std::to_string(s.transactions) + "笔,科目按《农村集体经济组织会计制度》(2023)。";
  return out;
}

}  // namespace sunledger
