// The deliveries log's entry fields as bot/deliveries.cc writes them, read
// back by the sender's memory (deliveries.cc) and by verify
// (deliveries_verify.cc). Private to bot/.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sunledger::deliveries::fields {

// A delivery entry's fingerprint under `key` ("push", or a released
// notice's "held"), with its id.
std::optional<std::pair<int64_t, uint64_t>> fingerprint_of(const nlohmann::json& f, const char* key);
// Every (id, fingerprint) an entry records: its push's, and the one a
// released notice was queued with (entries before that field: none).
std::vector<std::pair<int64_t, uint64_t>> pushes_of(const nlohmann::json& f);
// The import entry's ids, as ranges.
std::vector<std::pair<int64_t, int64_t>> imported_of(const nlohmann::json& f);

}  // namespace sunledger::deliveries::fields
