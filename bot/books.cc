#include "bot/books.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "ledger/clock.h"
#include "ledger/identity.h"

namespace sunledger {
namespace {

bool is_special_fund(const std::string& fund) { return fund.find("专项") != std::string::npos; }

}  // namespace

bool is_cash_expense(const nlohmann::json& e) {
  for (const char* key : {"fund", "counterparty", "note"})
    if (entry_string(e, key).find("现金") != std::string::npos) return true;
  return false;
}

const char* flag_kind_name(FlagKind kind) {
  switch (kind) {
    case FlagKind::kSpecialFundsDiverted: return "special_funds_diverted";
    case FlagKind::kOverBudget: return "over_budget";
    case FlagKind::kCashExpense: return "cash_expense";
    case FlagKind::kMonthNotPublished: return "month_not_published";
    case FlagKind::kReversalOfPublished: return "reversal_of_published";
    case FlagKind::kUnspentSpecialFunds: return "unspent_special_funds";
    case FlagKind::kBankWithdrawalUnbooked: return "bank_withdrawal_unbooked";
  }
  return "";
}

std::optional<FlagKind> parse_flag_kind(const std::string& name) {
  for (FlagKind k : {FlagKind::kSpecialFundsDiverted, FlagKind::kOverBudget, FlagKind::kCashExpense, FlagKind::kMonthNotPublished,
                     FlagKind::kReversalOfPublished, FlagKind::kUnspentSpecialFunds, FlagKind::kBankWithdrawalUnbooked})
    if (name == flag_kind_name(k)) return k;
  return std::nullopt;
}

namespace {

// How much an alert matters when the record cannot hold them all: money of
// special funds gone elsewhere first, a cash expense above the limit last
// (an official could otherwise flood a month with small alerts and push the
// diversion out of the record, and so out of the month for good).
int alert_rank(FlagKind kind) {
  switch (kind) {
    case FlagKind::kSpecialFundsDiverted: return 0;
    case FlagKind::kBankWithdrawalUnbooked: return 1;
    case FlagKind::kUnspentSpecialFunds: return 2;
    case FlagKind::kReversalOfPublished: return 3;
    case FlagKind::kOverBudget: return 4;
    case FlagKind::kMonthNotPublished: return 5;
    case FlagKind::kCashExpense: return 6;
  }
  return 7;
}

}  // namespace

nlohmann::json recorded_alerts_json(const std::vector<Flag>& flags, size_t budget) {
  std::vector<nlohmann::json> items;
  for (const auto& f : flags) {
    nlohmann::json a{{"kind", flag_kind_name(f.kind)}, {"month", f.month}, {"text", f.text}};
    if (f.entry) a["entry"] = *f.entry;
    items.push_back(std::move(a));
  }
  // Kept by rank, then in order; shown in their order. Room is left for the
  // last item that counts the rest.
  std::vector<size_t> order(flags.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&flags](size_t a, size_t b) { return alert_rank(flags[a].kind) < alert_rank(flags[b].kind); });
  size_t total = 2;
  for (const auto& a : items) total += a.dump().size() + 1;
  std::vector<bool> keep(items.size(), true);
  size_t omitted = 0;
  if (total > budget) {
    constexpr size_t kOmittedItem = 256;
    size_t used = 2 + kOmittedItem;
    for (size_t i : order) {
      size_t bytes = items[i].dump().size() + 1;
      if (used + bytes > budget) {
        keep[i] = false;
        ++omitted;
        continue;
      }
      used += bytes;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < items.size(); ++i)
    if (keep[i]) out.push_back(std::move(items[i]));
  if (omitted > 0)
    out.push_back({{"kind", "omitted"}, {"month", ""},
                   {"text", "另有" + std::to_string(omitted) + "条预警,记录已满未能逐条写入 (" + std::to_string(omitted) +
                                " more alerts did not fit in the statement)"}});
  return out;
}

std::optional<std::vector<Flag>> recorded_alerts(const nlohmann::json& statement, const std::string& village) {
  auto it = statement.find("alerts");
  if (it == statement.end() || !it->is_array()) return std::nullopt;
  std::vector<Flag> out;
  for (const auto& a : *it) {
    if (!a.is_object()) continue;
    // "omitted" (or a kind a later version adds) is shown as its text.
    Flag f{parse_flag_kind(entry_string(a, "kind")).value_or(FlagKind::kCashExpense), village, entry_string(a, "month"),
           std::nullopt, entry_string(a, "text")};
    if (auto e = a.find("entry"); e != a.end() && e->is_number_unsigned()) f.entry = e->get<uint64_t>();
    out.push_back(std::move(f));
  }
  return out;
}

void BooksBuilder::count(const Line& l, int sign) {
  Fen amount = sign * l.amount;
  std::string fund = l.fund.empty() ? "一般资金" : l.fund;
  fund_balances_[fund] += l.income ? amount : -amount;
  auto it = project_index_.find(l.project);
  if (it != project_index_.end()) {
    auto& p = projects_[it->second];
    (l.income ? p.received : p.spent) += amount;
    p.changed_by = as_of_;
    p.changed_at = as_of_at_;
  }
}

void BooksBuilder::apply(const Entry& e) { apply(e, e); }

void BooksBuilder::apply(const Entry& e, const Entry& as_of) {
  const auto& f = e.fields;
  std::string kind = entry_string(f, "kind");
  size_ = std::max(size_, e.index + 1);
  as_of_ = as_of.index;
  as_of_at_ = entry_string(as_of.fields, "recorded_at");
  if (kind == "project") {
    project_index_[entry_string(f, "name")] = projects_.size();
    ProjectStats p{entry_string(f, "name"), entry_fen(f, "approved"), f.value("special", false), 0, 0};
    p.changed_by = as_of_;
    p.changed_at = as_of_at_;
    projects_.push_back(std::move(p));
  } else if (kind == "statement") {
    closed_months_.insert(entry_string(f, "month"));
  } else if (kind == "project_finished") {
    auto it = project_index_.find(entry_string(f, "name"));
    if (it != project_index_.end()) {
      projects_[it->second].finished = true;
      projects_[it->second].finished_by = as_of_;
      projects_[it->second].finished_at = as_of_at_;
    }
  } else if (kind == "txn") {
    Line l{entry_string(f, "direction") == "income", entry_fen(f, "amount"), entry_string(f, "project"), entry_string(f, "fund"), entry_string(f, "month"),
           entry_string(f, "item"), is_cash_expense(f), as_of_, as_of_at_};
    ++month_lines_[l.month];
    count(l, +1);
    auto p = project_index_.find(l.project);
    if (!l.income && is_special_fund(l.fund) && (p == project_index_.end() || !projects_[p->second].special)) {
      if (diversion_lines_.empty()) {
        diverted_since_ = as_of_;
        diverted_at_ = as_of_at_;
      }
      diversion_lines_[e.index] = l;
    }
    if (!l.income && l.cash) cash_lines_[e.index] = std::move(l);
  } else if (kind == "reconciliation") {
    apply_reconciliation(e);
  } else if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind) {
    // Corrections move money between funds or out (a return), never income or expense.
    Fen amount = entry_fen(f, "amount");
    std::string fund = entry_string(f, "fund").empty() ? "一般资金" : entry_string(f, "fund");
    ++month_lines_[entry_string(f, "month")];
    fund_balances_[fund] += kind == kOpeningBalanceKind ? amount : -amount;
    if (kind == kTransferKind) fund_balances_[entry_string(f, "to_fund")] += amount;
    // Special funds moved to a fund that is not special is the diversion
    // itself (the road paid from 一般资金 after a 转账 from 专项资金 would
    // otherwise raise nothing): flagged as an expense paid from them would be.
    if (kind == kTransferKind && is_special_fund(entry_string(f, "fund")) && !is_special_fund(entry_string(f, "to_fund"))) {
      if (diversion_lines_.empty()) {
        diverted_since_ = as_of_;
        diverted_at_ = as_of_at_;
      }
      diversion_lines_[e.index] = Line{false, amount, entry_string(f, "project"), entry_string(f, "fund"), entry_string(f, "month"),
                                       entry_string(f, "item"), false, as_of_, as_of_at_, entry_string(f, "to_fund")};
    }
    auto it = project_index_.find(entry_string(f, "project"));
    if (kind == kSpecialReturnKind && it != project_index_.end()) {
      projects_[it->second].returned += amount;
      projects_[it->second].changed_by = as_of_;
      projects_[it->second].changed_at = as_of_at_;
    }
  } else if (kind == "reversal") {
    // The reversal entry repeats what it undoes (direction, amount, project,
    // fund), so the builder need not keep every line of the log in memory.
    uint64_t target = f.value("target", uint64_t{0});
    if (entry_string(f, "target_kind") == "txn" && target < e.index && reversed_.insert(target).second) {
      count(Line{entry_string(f, "direction") == "income", entry_fen(f, "amount"), entry_string(f, "project"),
                 entry_string(f, "fund"), entry_string(f, "target_month"), "", false},
            -1);
      cash_lines_.erase(target);
      diversion_lines_.erase(target);
      // The booking of a bank withdrawal undone: the withdrawal is not in the books again.
      auto [first, last] = cleared_withdrawals_.equal_range(target);
      for (auto it = first; it != last; ++it) bank_withdrawals_.push_back(it->second);
      cleared_withdrawals_.erase(first, last);
    }
    if (f.value("target_closed", false))
      reversal_flags_.push_back({FlagKind::kReversalOfPublished, village_.id, entry_string(f, "target_month"), e.index,
                                 "冲销已公开月份的账目:第#" + std::to_string(e.index) + "条冲销了" + entry_string(f, "target_month") +
                                     "的第#" + std::to_string(target) + "条,原因:" + entry_string(f, "reason") +
                                     " (reversal of an entry in a published month)",
                                 as_of_, as_of_at_});
  }
}

namespace {

std::string withdrawal_key(const std::string& date, Fen amount, const std::string& counterparty) {
  return date + '\x1f' + std::to_string(amount) + '\x1f' + counterparty;
}

std::optional<uint64_t> entry_index(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

}  // namespace

void BooksBuilder::apply_reconciliation(const Entry& e) {
  const auto& f = e.fields;
  auto out = f.find("unmatched_out");
  auto matched = f.find("matched_out");
  uint64_t books_size = entry_index(f, "books_size").value_or(e.index);
  if (matched == f.end() || !matched->is_array()) {
    // A record written before records named what they matched (existing
    // deployments): it clears, as it did then, every withdrawal outstanding
    // within its period, so alerts cleared before an upgrade stay cleared.
    // No new record is written this way, so no one can clear one so now.
    std::string from = entry_string(f, "from"), to = entry_string(f, "to");
    std::erase_if(bank_withdrawals_, [&](const BankWithdrawal& w) { return w.date >= from && w.date <= to; });
  }
  // What this record says about each outstanding withdrawal: 0 nothing, 1
  // matched to a booking (cleared), 2 unmatched again (still outstanding).
  std::vector<int> said(bank_withdrawals_.size(), 0);
  if (matched != f.end() && matched->is_array()) {
    for (const auto& m : *matched) {
      auto entry = entry_index(m, "entry");
      if (!m.is_object() || !entry) continue;
      std::string date = entry_string(m, "date"), counterparty = entry_string(m, "counterparty");
      Fen amount = entry_fen(m, "amount");
      std::string key = withdrawal_key(date, amount, counterparty);
      // The first reconciliation that matched an entry says which withdrawal
      // it books: a statement leaving that one out cannot lend it to another
      // of the same amount a few days off.
      auto owner = matched_entries_.try_emplace(*entry, key).first;
      // And it books one: matched again (a statement edited down to one of
      // two withdrawals of the same day, amount and counterparty, reconciled
      // twice), it cannot clear the other.
      if (owner->second != key || reversed_.count(*entry) || cleared_withdrawals_.count(*entry)) continue;
      // Booked under another name than the bank paid: the alert stays until
      // the books say whom the money went to (reconcile/reconcile.cc).
      if (!m.value("counterparty_matches", false)) continue;
      for (size_t i = 0; i < bank_withdrawals_.size(); ++i) {
        BankWithdrawal& w = bank_withdrawals_[i];
        // Booked after the latest reconciliation that found it unmatched:
        // an older entry was there then and was not its booking.
        if (said[i] != 0 || w.date != date || w.amount != amount || w.counterparty != counterparty || *entry < w.books_size)
          continue;
        said[i] = 1;
        cleared_withdrawals_.emplace(*entry, w);
        break;
      }
    }
  }
  if (out != f.end() && out->is_array()) {
    for (const auto& u : *out) {
      if (!u.is_object()) continue;
      BankWithdrawal w{entry_string(u, "date"), entry_string(u, "counterparty"), entry_string(u, "reference"),
                       entry_fen(u, "amount"), e.index, as_of_, as_of_at_, books_size};
      // Found unmatched again: the same alert, now needing a booking posted
      // after this reconciliation too.
      bool known = false;
      for (size_t i = 0; i < bank_withdrawals_.size() && !known; ++i) {
        const BankWithdrawal& o = bank_withdrawals_[i];
        if (said[i] != 0 || o.date != w.date || o.amount != w.amount || o.counterparty != w.counterparty) continue;
        said[i] = 2;
        bank_withdrawals_[i].books_size = std::max(bank_withdrawals_[i].books_size, books_size);
        known = true;
      }
      if (!known) {
        bank_withdrawals_.push_back(std::move(w));
        said.push_back(2);
      }
    }
  }
  std::vector<BankWithdrawal> outstanding;
  for (size_t i = 0; i < bank_withdrawals_.size(); ++i)
    if (said[i] != 1) outstanding.push_back(std::move(bank_withdrawals_[i]));
  bank_withdrawals_ = std::move(outstanding);
}

namespace {

// Days from a YYYY-MM-DD date to another; nullopt when either is no date.
std::optional<int64_t> days_between(const std::string& from, const std::string& to) {
  auto a = parse_date(from), b = parse_date(to);
  if (!a.is_ok() || !b.is_ok()) return std::nullopt;
  return days_from_civil(b->year, static_cast<unsigned>(b->month), static_cast<unsigned>(b->day)) -
         days_from_civil(a->year, static_cast<unsigned>(a->month), static_cast<unsigned>(a->day));
}

// ",退回…": what a project returned counts with what it spent in the
// alerts' arithmetic, so their text names it ("" when nothing was returned).
std::string returned_text(const ProjectStats& p) {
  return p.returned == 0 ? std::string() : ",退回" + format_yuan_with_wan(p.returned);
}

// reconcile/reconcile.h's kUnbookedWithdrawalDays (the bot does not link it).
constexpr int64_t kUnbookedWithdrawalDays = 30;

}  // namespace

VillageBooks BooksBuilder::snapshot(const BooksOptions& options) const {
  VillageBooks b;
  b.village = village_.id;
  b.village_name = village_.name;
  b.size = size_;
  b.projects = projects_;
  b.fund_balances = fund_balances_;
  b.closed_months = closed_months_;
  for (const auto& [month, n] : month_lines_)
    if (!closed_months_.count(month)) b.open_month_lines[month] = n;

  for (const auto& [index, l] : cash_lines_) {
    if (l.amount > options.cash_limit)
      b.flags.push_back({FlagKind::kCashExpense, village_.id, l.month, index,
                         "大额现金支出:第#" + std::to_string(index) + "条 " + l.item + " " + format_yuan(l.amount) +
                             ",超过现金限额" + format_yuan(options.cash_limit) + " (cash expense above the limit)",
                         l.raised_by, l.raised_at});
  }
  // Special-purpose money paid to a project that is not special-purpose:
  // name the special projects that received more than they spent.
  std::string from;
  for (const auto& p : projects_)
    if (p.special && p.received > p.spent + p.returned) from += (from.empty() ? "" : "、") + p.name;
  bool diverted = !diversion_lines_.empty();
  for (const auto& [index, l] : diversion_lines_) {
    std::string text = "专项资金挪用:第#" + std::to_string(index) + "条" +
                       (l.to_fund.empty() ? "从专项资金支付" + format_yuan_with_wan(l.amount) + "给“" +
                                                (l.project.empty() ? std::string("未列项目的支出") : l.project) + "”"
                                          : "从专项资金转出" + format_yuan_with_wan(l.amount) + "到“" + l.to_fund + "”");
    if (!from.empty()) text += ",该款应专用于“" + from + "”";
    text += l.to_fund.empty() ? " (special-purpose funds paid to another project)" : " (special-purpose funds moved to another fund)";
    b.flags.push_back({FlagKind::kSpecialFundsDiverted, village_.id, l.month, index, text, l.raised_by, l.raised_at});
  }
  b.flags.insert(b.flags.end(), reversal_flags_.begin(), reversal_flags_.end());
  for (const auto& w : bank_withdrawals_) {
    auto days = days_between(w.date, options.today);
    if (!days || *days < kUnbookedWithdrawalDays) continue;
    auto text = [&](const std::string& counterparty) {
      std::string t = "银行流水有支出未入账:" + w.date + " 银行支出" + format_yuan_with_wan(w.amount);
      if (!counterparty.empty()) t += "给“" + counterparty + "”";
      // The 摘要 often repeats the payee (代发张三劳务费): masked where the 对方户名 is.
      if (!w.reference.empty())
        t += "(摘要:" + (counterparty == w.counterparty ? w.reference : public_reference(w.reference, w.counterparty)) + ")";
      return t + "," + std::to_string(*days) + "天后账上仍没有这笔(第#" + std::to_string(w.reconciliation) +
             "条对账记录) (bank withdrawal not in the books " + std::to_string(*days) + " days on)";
    };
    // A private person paid from the village's account is named in full to
    // inspectors and officials only (the signed record keeps the name, as
    // the books keep their counterparties).
    std::string full = text(w.counterparty), shown = text(public_counterparty(w.counterparty));
    // Raised by the reconciliation that found it: about a published month, it is
    // an alert raised after publication (issue #16 item 3), never a frozen one.
    if (!options.public_view && shown != full) b.public_texts[full] = shown;
    b.flags.push_back({FlagKind::kBankWithdrawalUnbooked, village_.id, w.date.substr(0, 7), w.reconciliation,
                       options.public_view ? shown : full, w.raised_by, w.raised_at});
  }
  for (const auto& p : projects_) {
    if (p.spent > p.approved)
      b.flags.push_back({FlagKind::kOverBudget, village_.id, "", std::nullopt,
                         "项目超支:“" + p.name + "”已支出" + format_yuan(p.spent) + ",超过批复金额" +
                             format_yuan(p.approved) + " (project spending exceeds its approved budget)",
                         p.changed_by, p.changed_at});
    // Money returned (退回) is accounted for: it settles the flag.
    if (p.special && p.finished && p.received > p.spent + p.returned)
      b.flags.push_back({FlagKind::kUnspentSpecialFunds, village_.id, "", std::nullopt,
                         "项目已结项,专项资金结余" + format_yuan_with_wan(p.received - p.spent - p.returned) + "去向未说明:“" + p.name +
                             "”到账" + format_yuan_with_wan(p.received) + ",支出" + format_yuan_with_wan(p.spent) +
                             returned_text(p) + " (a finished project's unspent special funds are not accounted for)",
                         std::max(p.changed_by, p.finished_by), p.changed_by > p.finished_by ? p.changed_at : p.finished_at});
    if (p.special && p.received > p.spent + p.returned && diverted)
      b.flags.push_back({FlagKind::kSpecialFundsDiverted, village_.id, "", std::nullopt,
                         "专项资金去向不明:“" + p.name + "”专项资金到账" + format_yuan_with_wan(p.received) + ",用于本项目" +
                             format_yuan_with_wan(p.spent) + returned_text(p) + ",其余" +
                             format_yuan_with_wan(p.received - p.spent - p.returned) + "未用于本项目 (special funds not spent on their project)",
                         std::max(p.changed_by, diverted_since_), p.changed_by >= diverted_since_ ? p.changed_at : diverted_at_});
  }
  for (const auto& [month, lines] : b.open_month_lines) {
    if (lines == 0) continue;
    int y = std::stoi(month.substr(0, 4)), m = std::stoi(month.substr(5, 2));
    char deadline[40];
    std::snprintf(deadline, sizeof deadline, "%04d-%02d-%02d", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1,
                  options.publish_by_day);
    if (options.today > deadline)
      b.flags.push_back({FlagKind::kMonthNotPublished, village_.id, month, std::nullopt,
                         village_.name + " " + month + " 的账目逾期未公开(应于" + deadline + "前公开) (month " + month +
                             " not published by " + deadline + ")"});
  }
  return b;
}

void PublishedBooksBuilder::apply(const Entry& e) {
  std::string month = entry_string(e.fields, "month");
  if (entry_string(e.fields, "kind") == "statement") {
    std::vector<Entry> later;
    for (auto& w : waiting_) {
      if (entry_string(w.fields, "month") <= month) builder_.apply(w, e);
      else later.push_back(std::move(w));
    }
    waiting_ = std::move(later);
    builder_.apply(e);
  } else if (month.empty()) {
    builder_.apply(e);
  } else {
    waiting_.push_back(e);
  }
}

VillageBooks PublishedBooksBuilder::snapshot(const BooksOptions& options, const std::string& through) const {
  BooksOptions o = options;
  o.public_view = true;
  if (through.empty()) return builder_.snapshot(o);
  BooksBuilder b = builder_;
  for (const auto& w : waiting_)
    if (entry_string(w.fields, "month") <= through) b.apply(w);
  return b.snapshot(o);
}

std::vector<Flag> notice_flags(const std::vector<Flag>& flags, const std::string& month) {
  std::vector<Flag> out;
  for (const auto& f : flags)
    if ((f.month == month || f.month.empty()) && !(f.kind == FlagKind::kMonthNotPublished && f.month == month))
      out.push_back(f);
  return out;
}

VillageBooks analyse_books(const Village& village, const std::vector<Entry>& entries, const BooksOptions& options) {
  BooksBuilder builder(village);
  for (const auto& e : entries) builder.apply(e);
  return builder.snapshot(options);
}

}  // namespace sunledger
