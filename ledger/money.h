// Money is int64 fen (1 yuan = 100 fen), never floating point.
// Pure functions: no state, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace sunledger {

using Fen = int64_t;

// The largest single amount accepted from people: 100 million yuan. Nothing a
// village books comes near it, so anything larger is a typo (an extra zero, a
// pasted account number) and is refused rather than recorded.
inline constexpr Fen kMaxAmountFen = 100'000'000LL * 100;

// Parses an amount the way people type it: "157600", "157,600.00", "15.76万",
// "30万元", "¥1,200.5", with full-width digits and punctuation accepted too.
// Refuses negative, empty, more than two decimals (six for 万), misplaced
// commas and amounts above kMaxAmountFen, with a message in Chinese and English.
Result<Fen> parse_amount(std::string_view text);

// "157,600.00元" (negative amounts get a leading '-').
std::string format_yuan(Fen fen);
// The same without the unit, "157,600.00", for a column headed 金额(元).
std::string format_amount(Fen fen);

// format_yuan plus "(15.76万元)" for amounts of 10,000 yuan or more, as a
// village notice writes large sums.
std::string format_yuan_with_wan(Fen fen);

// Adds with overflow detection; false when the sum does not fit.
bool checked_add(Fen a, Fen b, Fen* out);

}  // namespace sunledger
