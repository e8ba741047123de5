// Personal data on subsidy lists: identity numbers are validated, then kept
// only as a keyed hash and a masked form; names are shown masked.
#pragma once

#include <string>
#include <string_view>

#include "ledger/status.h"

namespace sunledger {

// GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character (0-9 or X),
// with a plausible birth date. Lower-case x is accepted.
Status validate_resident_id(std::string_view id);
// "430221********1234": region code and last four kept.
std::string mask_resident_id(std::string_view id);
// Hex HMAC-SHA256 under the deployment's secret salt, so the same person is
// recognisable across lists without the number being recoverable.
std::string hash_resident_id(std::string_view salt, std::string_view id);
// "张*三" (first and last character kept, the middle starred); "张*" for two.
std::string mask_person_name(std::string_view name);

}  // namespace sunledger
