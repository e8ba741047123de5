// The statement of a month, added up from its entries: what close_month
// signs and what verify adds up again. Internal to the ledger library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ledger/ledger.h"
#include "ledger/money.h"

namespace sunledger::ledger_internal {

using nlohmann::json;

// A month's statement, added up from the month's entries in log order: what
// close_month signs, and what verify recomputes to check what was signed.
// A value type without locks: one per month being added up, on one thread.
struct StatementBuilder {
  Fen income = 0, expense = 0, subsidy_total = 0;
  Fen opening_balances = 0, returned = 0, transfers = 0;  // corrections (issue #16): money, neither income nor expense
  json income_by_category = json::object(), expense_by_category = json::object(), by_project = json::object();
  json fund_changes = json::object();
  int64_t count = 0, subsidy_lines = 0, reversal_count = 0;
  int64_t first_index = -1, last_index = -1;
  bool overflow = false;

  static bool add_to(json& obj, const std::string& key, Fen delta) {
    Fen cur = obj.contains(key) ? obj[key].get<Fen>() : 0;
    Fen next = 0;
    if (!checked_add(cur, delta, &next)) return false;
    obj[key] = next;
    return true;
  }

  void add(int64_t idx, const json& e) {
    add(idx, entry_string(e, "kind"), entry_fen(e, "amount"), entry_string(e, "target_kind"), entry_string(e, "direction"),
        entry_string(e, "fund"), entry_string(e, "category"), entry_string(e, "project"), entry_string(e, "to_fund"));
  }
  // The fields add() reads, for a caller that has them without a document (verify).
  void add(int64_t idx, std::string_view kind, Fen amount, std::string_view target_kind, std::string_view direction,
           std::string_view fund_field, std::string_view category, std::string_view project, std::string_view to_fund = {}) {
    if (first_index < 0) first_index = idx;
    last_index = idx;
    ++count;
    if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind) {
      std::string fund = fund_field.empty() ? std::string("一般资金") : std::string(fund_field);
      if (kind == kOpeningBalanceKind) {
        overflow |= !checked_add(opening_balances, amount, &opening_balances);
        overflow |= !add_to(fund_changes, fund, amount);
      } else if (kind == kTransferKind) {
        overflow |= !checked_add(transfers, amount, &transfers);
        overflow |= !add_to(fund_changes, fund, -amount);
        overflow |= !add_to(fund_changes, std::string(to_fund), amount);
      } else {
        overflow |= !checked_add(returned, amount, &returned);
        overflow |= !add_to(fund_changes, fund, -amount);
        if (!project.empty()) {
          std::string p(project);
          if (!by_project.contains(p)) by_project[p] = {{"income", 0}, {"expense", 0}};
          overflow |= !add_to(by_project[p], "returned", amount);
        }
      }
      return;
    }
    if (kind == "subsidy") {
      ++subsidy_lines;
      overflow |= !checked_add(subsidy_total, amount, &subsidy_total);
      return;
    }
    bool is_reversal = kind == "reversal";
    if (is_reversal) {
      ++reversal_count;
      if (target_kind == "subsidy") {
        overflow |= !checked_add(subsidy_total, -amount, &subsidy_total);
        return;
      }
    }
    Fen signed_amount = is_reversal ? -amount : amount;
    bool is_income = direction == "income";
    std::string fund = fund_field.empty() ? std::string("一般资金") : std::string(fund_field);
    if (is_income) {
      overflow |= !checked_add(income, signed_amount, &income);
      overflow |= !add_to(income_by_category, std::string(category), signed_amount);
      overflow |= !add_to(fund_changes, fund, signed_amount);
    } else {
      overflow |= !checked_add(expense, signed_amount, &expense);
      overflow |= !add_to(expense_by_category, std::string(category), signed_amount);
      overflow |= !add_to(fund_changes, fund, -signed_amount);
    }
    if (!project.empty()) {
      std::string p(project);
      if (!by_project.contains(p)) by_project[p] = {{"income", 0}, {"expense", 0}};
      overflow |= !add_to(by_project[p], is_income ? "income" : "expense", signed_amount);
    }
  }

  // previous: the fields of the month closed before (null for the first).
  Result<json> statement(const std::string& village, const std::string& month, const json& previous) const {
    Fen opening = previous.is_object() ? entry_fen(previous, "closing") : 0;
    json fund_balances = previous.is_object() && previous.contains("fund_balances") ? previous["fund_balances"] : json::object();
    bool over = overflow;
    for (const auto& [fund, change] : fund_changes.items()) over |= !add_to(fund_balances, fund, change.get<Fen>());
    Fen closing = 0;
    over |= !checked_add(opening, income, &closing) || !checked_add(closing, -expense, &closing);
    over |= !checked_add(closing, opening_balances, &closing) || !checked_add(closing, -returned, &closing);
    if (over) return invalid_argument("金额合计溢出 (totals overflow)");
    json out{{"kind", "statement"},
                {"village", village},
                {"month", month},
                {"opening", opening},
                {"income_total", income},
                {"expense_total", expense},
                {"closing", closing},
                {"income_by_category", income_by_category},
                {"expense_by_category", expense_by_category},
                {"by_project", by_project},
                {"fund_balances", fund_balances},
                {"subsidy_total", subsidy_total},
                {"subsidy_lines", subsidy_lines},
                {"reversals", reversal_count},
                {"entry_count", count},
                {"first_index", first_index},
                {"last_index", last_index}};
    // Only when there are any: a statement of a month without corrections
    // has the bytes it had before they existed.
    if (opening_balances != 0) out["opening_balances"] = opening_balances;
    if (returned != 0) out["returned"] = returned;
    if (transfers != 0) out["transfers"] = transfers;
    return out;
  }
};

}  // namespace sunledger::ledger_internal
