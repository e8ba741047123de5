// The stored mapping of a village, for the ledger's own posting check and
// account_map.cc. Private to the ledger library.
#pragma once

#include "ledger/chart.h"
#include "ledger/sql.h"

namespace sunledger::ledger_internal {

// A village's mapping of categories and funds: the default with its
// account_maps rows over it (q prepared from kAccountMapQuery).
AccountMap stored_account_map(sql::Statement& q, int64_t log_id);
inline constexpr const char* kAccountMapQuery = "SELECT direction, name, account FROM account_maps WHERE log_id=?";

}  // namespace sunledger::ledger_internal
