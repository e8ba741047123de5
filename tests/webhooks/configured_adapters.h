// The adapters a bots.json text configures, by bot id, as serve builds them
// at start: for the tests that drive the outbox sender themselves.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"

namespace sunledger::testing {

// Replaces `adapters` and `by_id` with the configuration's; on a
// configuration that does not load, leaves both as they were.
[[nodiscard]] inline Status load_adapters(const std::string& bots_json,
                                          std::vector<std::unique_ptr<PlatformAdapter>>& adapters,
                                          std::map<std::string, PlatformAdapter*>& by_id) {
  auto loaded = load_bots_config(bots_json);
  if (!loaded.is_ok()) return loaded.status();
  adapters.clear();
  by_id.clear();
  for (const auto& c : *loaded) {
    adapters.push_back(make_adapter(c));
    by_id[c.id] = adapters.back().get();
  }
  return Status::ok();
}

}  // namespace sunledger::testing
