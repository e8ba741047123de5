// Evidence another module keeps in a log of its own (the bot's forks log: a
// villager's pasted checkpoint that proves the log forked), pinned by a
// signed entry of the village's own log.
//
// Why: the evidence log is signed, so an entry edited or removed is caught by
// its own checkpoint, but the whole log can be deleted with a SQL shell (its
// entries, hashes and row) and nothing else would miss it. The village's log
// is the one witnesses cosign and villagers keep checkpoints of: an entry in
// it naming the evidence (its log, index and SHA-256 of the leaf bytes)
// cannot be removed without that log failing verify and the witnesses, so
// verify can require the evidence to be there, byte for byte.
//
// A pin is no money: it carries no month, so statements, month totals,
// exports, the checker, alerts, search and 明细 (which all go by month and by
// the money kinds) never count it.
//
// Thread safety: pin_evidence runs in the caller's write transaction.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/ledger.h"

namespace sunledger {

// The kind of a pin: the entry of `log` at `index` is a fork reported of this
// village (bot/fork_reports.h). Fields: village, log, index, leaf_sha256
// (hex of SHA-256 over the leaf bytes).
inline constexpr const char* kForkReportedKind = "fork_reported";

// Inside a write: appends a pin to the village's log for the entry of
// `log_name` at `index`, which must exist in this transaction (appended by it
// or before). Timed to the day, as the evidence is. The entry's index.
Result<uint64_t> pin_evidence(WriteTxn& txn, const std::string& village, const std::string& log_name, uint64_t index,
                              const Author& author);

}  // namespace sunledger
