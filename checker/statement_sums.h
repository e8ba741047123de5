// The month sums the checker adds up on its own, entry by entry, and the
// comparison with each statement the log signed. Internal to checker/.
// A value type without locks, used on one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/leaf_fields.h"

namespace sunledger::checker_internal {

class StatementSums {
 public:
  // Takes one entry in log order; a statement is compared with what its
  // month's entries added up to. Problems are appended to `problems`.
  void add(uint64_t index, std::string_view leaf, std::vector<std::string>& problems);
  // The statements seen: (month, index), in log order.
  const std::vector<std::pair<std::string, uint64_t>>& statements() const { return statements_; }

 private:
  struct Month {
    int64_t income = 0, expense = 0, subsidy = 0, count = 0, reversals = 0, first = -1, last = -1;
    int64_t openings = 0, returned = 0;  // corrections (issue #16)
  };
  LeafFields fields_;
  std::map<std::string, Month, std::less<>> months_;
  int64_t closing_ = 0;  // the last statement's closing balance
  std::vector<std::pair<std::string, uint64_t>> statements_;
};

}  // namespace sunledger::checker_internal
