// A deployment the size of Lukou district's, for measuring start-up
// verification: 139 villages of 72 months x 100 entries (income and expense
// lines, a special-purpose project registered every January and finished every
// December, a 低保 list of four households, a reversal every quarter, and the
// statement that closes the month), 1,000,800 village entries in all, and
// complaints with their follow-ups. Everything is written through the Ledger
// and the complaints API (one transaction per village, one per 200
// complaints), so every hash, checkpoint and derived row is what the server
// itself writes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "ledger/status.h"

namespace sunledger::bench {

struct DeploymentShape {
  int villages = 139;
  int months = 72;      // the months before the current one
  int per_month = 100;  // entries per village and month, the statement included (at least 12)
  int complaints = 2000;
};

struct DeploymentSummary {
  uint64_t village_entries = 0;
  uint64_t complaint_entries = 0;
  double seconds = 0;
};

// Makes DIR what `sunledger init --origin ORIGIN` makes: the database, the log
// key (log-key.pem) and the id-salt.
Status init_data_folder(const std::string& dir, const std::string& origin);

// Fills an initialised data folder. progress (may be null) gets a line every
// 20 villages.
Result<DeploymentSummary> fill_deployment(const std::string& dir, const DeploymentShape& shape, std::ostream* progress);

}  // namespace sunledger::bench
