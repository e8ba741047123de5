// parse_amount must never crash, and what it accepts must print and re-parse to the same fen.
#include <cstdlib>
#include <string>

#include "ledger/money.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = sunledger::parse_amount(text);
  if (!r.is_ok()) return 0;
  if (*r < 0 || *r > sunledger::kMaxAmountFen) std::abort();
  std::string printed = sunledger::format_yuan(*r);
  auto again = sunledger::parse_amount(printed);
  if (!again.is_ok() || *again != *r) std::abort();
  (void)sunledger::format_yuan_with_wan(*r);
  return 0;
}
