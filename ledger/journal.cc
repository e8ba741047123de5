// A village's entries as balanced double-entry transactions, and the year
// statement added up from them.
#include <algorithm>

#include "ledger/chart.h"

namespace sunledger {

void JournalBuilder::apply(const Entry& e) {
  const auto& f = e.fields;
  std::string kind = entry_string(f, "kind");
  if (kind == "project") {
    auto it = f.find("special");
    special_projects_[entry_string(f, "name")] = it != f.end() && it->is_boolean() && it->get<bool>();
    return;
  }
  if (kind == "account_map") {
    auto side = parse_map_side(entry_string(f, "direction"));
    if (side) map_.side(*side)[entry_string(f, "name")] = entry_string(f, "account");
    return;
  }
  bool correction = kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind;
  if (kind != "txn" && kind != "reversal" && !correction) return;
  std::string month = entry_string(f, "month");
  bool kept = keep_.empty() || std::find(keep_.begin(), keep_.end(), month) != keep_.end();
  JournalTxn t;
  t.index = e.index;
  t.month = month;
  if (correction) {
    auto postings = correction_postings(map_, kind, entry_fen(f, "amount"), entry_string(f, "fund"),
                                        entry_string(f, "to_fund"), entry_string(f, "project"));
    if (!postings.is_ok()) return;  // a mapping changed since: the entry was checked when it was posted
    t.date = entry_string(f, "date");
    t.payee = entry_string(f, "counterparty");
    t.narration = std::string(correction_kind_zh(kind)) + " " + entry_string(f, "item");
    if (kind == kTransferKind) t.narration += " " + entry_string(f, "fund") + "→" + entry_string(f, "to_fund");
    t.postings = std::move(*postings);
    posted_[e.index] = t.postings;
    dates_[e.index] = t.date;
  } else if (kind == "txn") {
    std::string project = entry_string(f, "project");
    auto sp = special_projects_.find(project);
    auto postings = postings_for(map_, entry_string(f, "direction") == "income", entry_string(f, "category"),
                                 entry_string(f, "fund"), project, sp != special_projects_.end() && sp->second,
                                 entry_fen(f, "amount"));
    // A line posted before the ledger knew accounts (or under a mapping
    // removed since) goes to 其他收入/其他支出 against the bank, so the books
    // still balance and the line is not lost from the export.
    if (!postings.is_ok()) {
      bool income = entry_string(f, "direction") == "income";
      Fen a = entry_fen(f, "amount");
      postings = std::vector<Posting>{{find_account(income ? "102" : "515"), "", a},
                                      {find_account(income ? "504" : "102"), "", -a}};
    }
    t.date = entry_string(f, "date");
    t.payee = entry_string(f, "counterparty");
    t.narration = entry_string(f, "category") + " " + entry_string(f, "item");
    t.postings = std::move(*postings);
    posted_[e.index] = t.postings;
    dates_[e.index] = t.date;
  } else {
    if (entry_string(f, "target_kind") != "txn") return;
    auto target = f.find("target");
    if (target == f.end() || !target->is_number_unsigned()) return;
    uint64_t ti = target->get<uint64_t>();
    auto it = posted_.find(ti);
    if (it == posted_.end()) return;
    t.reverses = ti;
    // In the target's month it keeps the target's date; a reversal that
    // landed in a later open month is dated on that month's first day.
    t.date = entry_string(f, "target_month") == month ? dates_[ti] : month + "-01";
    t.narration = "冲销 #" + std::to_string(ti) + " " + entry_string(f, "reason");
    for (auto p : it->second) {
      p.amount = -p.amount;
      t.postings.push_back(p);
    }
  }
  if (kept) txns_.push_back(std::move(t));
}

YearStatement year_statement(const std::vector<JournalTxn>& txns, const std::string& year) {
  YearStatement s;
  s.year = year;
  std::map<std::string, AccountTotal> by_code;
  for (const auto& t : txns) {
    if (t.date.substr(0, 4) > year) continue;
    bool within = t.date.substr(0, 4) == year;
    if (within) ++s.transactions;
    for (const auto& p : t.postings) {
      auto& a = by_code[p.account->code];
      a.account = p.account;
      a.balance += p.amount;
      if (!within) continue;
      (p.amount > 0 ? a.debit : a.credit) += p.amount > 0 ? p.amount : -p.amount;
      if (p.account->type == AccountType::kRevenue) s.income -= p.amount;
      if (p.account->type == AccountType::kExpense) s.expense += p.amount;
    }
  }
  for (auto& kv : by_code) {
    auto& a = kv.second;
    // Income and expense accounts start each year at zero (closed into 本年收益).
    if (a.account->type == AccountType::kRevenue || a.account->type == AccountType::kExpense)
      a.balance = a.debit - a.credit;
    if (a.debit != 0 || a.credit != 0 || a.balance != 0) s.accounts.push_back(a);
  }
  return s;
}

}  // namespace sunledger
