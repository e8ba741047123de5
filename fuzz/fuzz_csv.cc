// The entries CSV import: every row either parses into a valid line or is named with a reason.
#include <cstdlib>
#include <string>

#include "ledger/csv_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = sunledger::parse_entries_csv(text);
  for (const auto& line : r.lines)
    if (!sunledger::validate_transaction(line).is_ok()) std::abort();
  for (const auto& e : r.errors)
    if (e.reason.empty()) std::abort();
  (void)sunledger::describe_row_errors(r.errors);
  return 0;
}
