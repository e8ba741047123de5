// Adds up each month again the way its statement says it was added up:
// income and expense lines net of reversals (a reversal counts in the month
// it was written, against the direction of what it reverses), subsidies
// apart, every entry of the month counted.
#include "checker/statement_sums.h"

#include <nlohmann/json.hpp>

namespace sunledger::checker_internal {

namespace {

int64_t field(const nlohmann::json& s, const char* key) {
  auto it = s.find(key);
  return it != s.end() && it->is_number_integer() ? it->get<int64_t>() : INT64_MIN;
}

}  // namespace

void StatementSums::add(uint64_t index, std::string_view leaf, std::vector<std::string>& problems) {
  if (!fields_.parse(leaf)) {
    problems.push_back("entry #" + std::to_string(index) + " is not JSON");
    return;
  }
  std::string_view kind = fields_.string(LeafFields::kKind), month = fields_.string(LeafFields::kMonth);
  if (kind == "statement") {
    statements_.emplace_back(std::string(month), index);
    auto s = nlohmann::json::parse(leaf, nullptr, false);
    auto m = months_.find(month);
    Month sum = m == months_.end() ? Month{} : m->second;
    const std::string at = "statement #" + std::to_string(index) + " (" + std::string(month) + "): ";
    auto expect = [&](const char* key, int64_t want) {
      int64_t got = field(s, key);
      if (got != want)
        problems.push_back(at + key + " is " + (got == INT64_MIN ? std::string("missing") : std::to_string(got)) +
                           " but the month's entries add up to " + std::to_string(want));
    };
    expect("opening", closing_);
    expect("income_total", sum.income);
    expect("expense_total", sum.expense);
    expect("closing", closing_ + sum.income - sum.expense + sum.openings - sum.returned);
    expect("subsidy_total", sum.subsidy);
    expect("entry_count", sum.count);
    expect("reversals", sum.reversals);
    expect("first_index", sum.first);
    expect("last_index", sum.last);
    closing_ = field(s, "closing") == INT64_MIN ? closing_ + sum.income - sum.expense + sum.openings - sum.returned
                                                : field(s, "closing");
    if (m != months_.end()) months_.erase(m);
    return;
  }
  if (month.empty()) return;  // registrations, projects: no month's books
  auto it = months_.find(month);
  if (it == months_.end()) it = months_.emplace(std::string(month), Month{}).first;
  Month& sum = it->second;
  if (sum.first < 0) sum.first = static_cast<int64_t>(index);
  sum.last = static_cast<int64_t>(index);
  ++sum.count;
  int64_t amount = fields_.fen(LeafFields::kAmount);
  if (kind == "subsidy") {
    sum.subsidy += amount;
    return;
  }
  // Corrections (issue #16): an opening balance adds to the money, a return
  // of special funds takes from it, a transfer moves it between funds.
  if (kind == "opening_balance") {
    sum.openings += amount;
    return;
  }
  if (kind == "special_return") {
    sum.returned += amount;
    return;
  }
  if (kind == "transfer") return;
  bool reversal = kind == "reversal";
  if (reversal) {
    ++sum.reversals;
    if (fields_.string(LeafFields::kTargetKind) == "subsidy") {
      sum.subsidy -= amount;
      return;
    }
  }
  int64_t signed_amount = reversal ? -amount : amount;
  if (fields_.string(LeafFields::kDirection) == "income") sum.income += signed_amount;
  else sum.expense += signed_amount;
}

}  // namespace sunledger::checker_internal
