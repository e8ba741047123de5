// Personal data on subsidy lists: identity numbers are validated, then kept
// only as a keyed hash and a masked form; names are shown masked.
// Pure functions: no state, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "ledger/status.h"

namespace sunledger {

// GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character (0-9 or X),
// with a plausible birth date. Lower-case x is accepted.
Status validate_resident_id(std::string_view id);
// "****************34": only the last two characters kept. The region code,
// birth date and sequence digits together narrow a village down to a handful
// of people, so a neighbour could recover the whole number from any of them.
std::string mask_resident_id(std::string_view id);
// True when the text holds something shaped like an identity number anywhere:
// 17 digits and a digit or X, or an old 15-digit number, as a run of its own
// (not inside a longer run of digits). ASCII and full-width digits count
// alike, since Chinese input methods type either. Used to refuse, rather than
// echo or store, a number pasted into the wrong field.
bool looks_like_resident_id(std::string_view text);
// The text with every such run replaced by its masked form (stars and the last
// two characters), for errors and replies that quote what people typed.
std::string redact_resident_ids(std::string_view text);
// Hex HMAC-SHA256 under the deployment's secret salt, so the same person is
// recognisable across lists without the number being recoverable.
std::string hash_resident_id(std::string_view salt, std::string_view id);
// "张*三" (first and last character kept, the middle starred); "张*" for two.
std::string mask_person_name(std::string_view name);

// A bank's 对方户名 as the public may see it: when it is a private person's
// name (2 to 4 Chinese characters not ending as an organisation does: 公司,
// 局, 队, 社, 委员会, 银行, 所, 院, 站, 村 …; a masked identity number after
// it, as redact_resident_ids leaves it, may follow), only the surname is
// kept: 张三 → 张*, 张三丰 → 张**, "张三 ****34" → "张* ****34". Anything else
// is returned as it is (organisations are published by name, as the books'
// counterparties are). Stricter than mask_person_name (subsidy lists, whose
// recipients are published by rule): a payment's date and amount already
// narrow the person down.
bool is_private_person_name(std::string_view counterparty);
std::string public_counterparty(std::string_view counterparty);
// A bank's 摘要 as the public may see it beside that counterparty: each
// occurrence of the private person's name (as public_counterparty decides)
// is masked as public_counterparty masks it ("代发张三劳务费" → "代发张*劳务费").
std::string public_reference(std::string_view reference, std::string_view counterparty);

}  // namespace sunledger
