// Demo data for `sunledger demo`: Lukou district's villages, several months
// of realistic accounts, and the Shuangjiang diversion from the seed article.
#pragma once

#include <string>

#include "ledger/ledger.h"

namespace sunledger::cli {

// Loads the demo villages and accounts. Returns false when they are already
// there (the demo is loaded once per data folder).
Result<bool> load_demo_data(Ledger& ledger, const std::string& identity_salt);

}  // namespace sunledger::cli
