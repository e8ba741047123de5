// The directory's list of villages, by the signed registry log
// (Ledger::kRegistryLog) rather than the villages table. Private to bot/:
// only the directory (bot/directory.cc) calls it. No state; thread safe as
// the Ledger is.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ledger/ledger.h"

namespace sunledger {

// registry_size: the registry log's size as the caller read it (a checkpoint
// smaller than it is not believed). Keyed by village id.
Result<std::map<std::string, Village>> registered_villages(Ledger& ledger, uint64_t registry_size);

}  // namespace sunledger
