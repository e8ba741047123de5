// What the bot knows about a village's books, computed from its ledger
// entries: project totals, fund balances and the flags it raises by itself.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

struct ProjectStats {
  std::string name;
  Fen approved = 0;
  bool special = false;
  Fen received = 0;  // income booked to the project
  Fen spent = 0;     // expenses booked to the project (net of reversals)
};

enum class FlagKind {
  kSpecialFundsDiverted,  // special-purpose money paid to another project
  kOverBudget,            // a project spent more than approved
  kCashExpense,           // a cash expense above the limit
  kMonthNotPublished,     // a month with entries not published by the deadline
  kReversalOfPublished,   // a reversal of an entry in an already-published month
};

struct Flag {
  FlagKind kind;
  std::string village;
  std::string month;  // where it applies (the entry's month, or the unpublished month)
  std::optional<uint64_t> entry;
  std::string text;   // Chinese first, English in parentheses
};

struct BooksOptions {
  Fen cash_limit = 5'000 * 100;
  int publish_by_day = 15;
  std::string today;  // local date, YYYY-MM-DD
};

struct VillageBooks {
  std::string village;
  std::string village_name;
  std::vector<ProjectStats> projects;        // in registration order
  std::map<std::string, Fen> fund_balances;  // every non-reversed line, published or not
  std::set<std::string> closed_months;
  std::map<std::string, int> open_month_lines;  // month -> lines not yet published
  std::vector<Flag> flags;
  uint64_t size = 0;
};

// Reads every entry once; the bot caches the result per log size and day.
VillageBooks analyse_books(const Village& village, const std::vector<Entry>& entries, const BooksOptions& options);

// A cash expense: its fund, counterparty or note says 现金 (cash).
bool is_cash_expense(const nlohmann::json& entry);

}  // namespace sunledger
