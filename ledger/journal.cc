// A village's entries as balanced double-entry transactions, and the year
// statement added up from them.
#include <algorithm>

#include "ledger/chart.h"

namespace sunledger {

void JournalBuilder::apply(const Entry& e) { apply_leaf(e.index, e.leaf); }

namespace {
// What a reversal needs of the line it names: its date, and its postings
// unless the transaction is kept (then txns_ has them; copying every kept
// line's postings was a tenth of an export).
template <typename Map>
void remember_in(Map& posted, uint64_t index, const JournalTxn& t, bool kept) {
  auto& b = posted[index];
  b.date = t.date;
  if (!kept) b.postings = t.postings;
}
}  // namespace

// Reads the leaf with the lean field reader, not a JSON document: building
// one per entry was most of an export's time (issue #16's benchmark). The
// reader answers as entry_string()/entry_fen() on the parsed leaf would.
void JournalBuilder::apply_leaf(uint64_t index, std::string_view leaf) {
  using F = LeafFields;
  auto& f = fields_;
  if (!f.parse(leaf)) return;  // verify names a leaf that is no JSON
  auto str = [&f](F::Field k) { return std::string(f.string(k)); };
  std::string_view kind = f.string(F::kKind);
  if (kind == "project") {
    special_projects_[str(F::kName)] = f.is_true(F::kSpecial);
    return;
  }
  if (kind == "account_map") {
    auto side = parse_map_side(f.string(F::kDirection));
    if (side) map_.side(*side)[str(F::kName)] = str(F::kAccount);
    return;
  }
  bool correction = kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind;
  if (kind != "txn" && kind != "reversal" && !correction) return;
  std::string_view month = f.string(F::kMonth);
  bool kept = keep_.empty() || std::find(keep_.begin(), keep_.end(), month) != keep_.end();
  JournalTxn t;
  t.index = index;
  t.month = month;
  if (correction) {
    std::string k(kind);
    auto postings = correction_postings(map_, k, f.fen(F::kAmount), str(F::kFund), str(F::kToFund), str(F::kProject));
    if (!postings.is_ok()) return;  // a mapping changed since: the entry was checked when it was posted
    t.date = f.string(F::kDate);
    t.payee = f.string(F::kCounterparty);
    t.narration = std::string(correction_kind_zh(k)) + " " + str(F::kItem);
    if (kind == kTransferKind) t.narration += " " + str(F::kFund) + "→" + str(F::kToFund);
    t.postings = std::move(*postings);
    remember_in(posted_, index, t, kept);
  } else if (kind == "txn") {
    std::string project = str(F::kProject);
    auto sp = special_projects_.find(project);
    bool income = f.string(F::kDirection) == "income";
    Fen a = f.fen(F::kAmount);
    auto postings = postings_for(map_, income, str(F::kCategory), str(F::kFund), project,
                                 sp != special_projects_.end() && sp->second, a);
    // A line posted before the ledger knew accounts (or under a mapping
    // removed since) goes to 其他收入/其他支出 against the bank, so the books
    // still balance and the line is not lost from the export.
    if (!postings.is_ok())
      postings = std::vector<Posting>{{find_account(income ? "102" : "515"), "", a},
                                      {find_account(income ? "504" : "102"), "", -a}};
    t.date = f.string(F::kDate);
    t.payee = f.string(F::kCounterparty);
    t.narration = str(F::kCategory) + " " + str(F::kItem);
    t.postings = std::move(*postings);
    remember_in(posted_, index, t, kept);
  } else {
    if (f.string(F::kTargetKind) != "txn" || !f.is_unsigned(F::kTarget)) return;
    uint64_t ti = f.unsigned_value(F::kTarget);
    auto it = posted_.find(ti);
    if (it == posted_.end()) return;
    const std::vector<Posting>* target = &it->second.postings;
    if (target->empty()) {
      // Kept: its postings are in txns_, which is in log order.
      auto kept_at = std::lower_bound(txns_.begin(), txns_.end(), ti,
                                      [](const JournalTxn& x, uint64_t i) { return x.index < i; });
      if (kept_at == txns_.end() || kept_at->index != ti) return;
      target = &kept_at->postings;
    }
    t.reverses = ti;
    // In the target's month it keeps the target's date; a reversal that
    // landed in a later open month is dated on that month's first day.
    t.date = f.string(F::kTargetMonth) == month ? it->second.date : std::string(month) + "-01";
    t.narration = "冲销 #" + std::to_string(ti) + " " + str(F::kReason);
    t.postings.reserve(target->size());
    for (auto p : *target) {
      p.amount = -p.amount;
      t.postings.push_back(std::move(p));
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
