// A new ledger in a folder of its own, with a new log key: what tests and
// benchmarks open (one way, so their fixtures cannot drift apart). `sunledger
// init` makes the same two files and more (the salt, the folder's mode).
//
// Ownership: the returned key and ledger belong to the caller; the ledger
// signs with the key and reads the clock, so both must outlive it (members in
// this order are destroyed ledger first). Thread safety: as Ledger.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"

namespace sunledger {

struct FreshLedger {
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;
};

// Creates dir/sunledger.db (or the database at `db`, a postgresql://
// address, when given) for origin and dir/log-key.pem, and opens the
// ledger with `clock` (borrowed) and the upper modules' reserved log names.
// dir must exist; fails (nothing opened) if either file is there already.
Result<FreshLedger> create_fresh_ledger(const std::string& dir, const std::string& origin, Clock* clock,
                                        std::set<std::string> reserved_log_names = {}, const std::string& db = "");

}  // namespace sunledger
