// Forks reported by villagers: a checkpoint pasted after 核验 that the log
// key signed but that today's log does not extend is proof that the log was
// rewritten or shown differently to different people (a fork). The bot keeps
// each one as an entry of a signed log of its own ("forks", origin
// ORIGIN/forks; no village may take the name) and pushes it to the village's
// inspectors privately in the same transaction.
//
// Why a signed log and not a table: the evidence accuses whoever holds the
// database, and a row of a table can be deleted without a trace, while an
// entry of a Merkle log is covered by the later entries and the signed
// checkpoint (verify names a removed one); and every entry is pinned by a
// signed entry of the village's own log, which the witnesses cosign, so the
// forks log deleted whole is named too. It is no protection against the
// key holder rebuilding the database: the push to the inspectors and the
// witnesses, outside the server, are what make the report stick.
//
// An entry holds the village, the pasted checkpoint as it was mended (every
// signature line kept), today's checkpoint it contradicts, and the day; never
// who pasted it (the inspectors' push names them).
//
// Thread safety: plain functions; each runs in the caller's transaction or
// its own read.
#pragma once

#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger::fork_reports {

inline constexpr const char* kLogName = "forks";

struct Report {
  uint64_t index = 0;       // the entry in the forks log
  std::string village;
  std::string checkpoint;   // the pasted one, signed by the log key
  std::string log_checkpoint;  // the log's own at the time, which does not extend it
};

// Inside a write: appends a report unless one with the same checkpoint body
// (origin, size, root) is in the log already, and pins it in the village's
// own log (ledger/evidence_pins.h: a fork_reported entry naming its index and
// the SHA-256 of its leaf), so that the forks log cannot be deleted or edited
// without verify naming it. True when it was appended.
Result<bool> record(WriteTxn& txn, const std::string& village, const std::string& checkpoint,
                    const std::string& log_checkpoint);

// Every report the log holds, oldest first.
Result<std::vector<Report>> reports(Ledger& ledger);

}  // namespace sunledger::fork_reports
