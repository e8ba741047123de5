// What serve.cc and serve_check.cc share: how a bot is wired and what it
// reaches, and the configuration file serve reads. Private to app/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/deployment.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"

namespace sunledger::cli {

// The whole file, "" when it cannot be read.
std::string read_text_file(const std::string& path);
// Whether the demo's bot prints its pushes (a real demo folder, no push_url).
bool prints_pushes(const Deployment& d, const BotConfig& b);
// The bot's platform adapter (the demo's prints its pushes).
std::unique_ptr<PlatformAdapter> adapter_for(Deployment& d, const BotConfig& b);
// How a bot's pushes reach a group, or "" when they cannot.
std::string group_reach(Deployment& d, const BotConfig& b);
// --config made absolute (relative to the current directory); a missing
// file named in full.
Result<std::string> config_file(const Deployment& d, const std::string& given);
// Whether serve could bind the address now.
Status try_bind(const std::string& host, int port);
// The stored refusals of the configured witnesses that are not retired, one
// line each (serve says them at start; serve --check counts them problems).
std::vector<std::string> witness_refusal_lines(Deployment& d, const std::vector<WitnessConfig>& witnesses);
// What one request to each configured witness that is not retired found
// (witness_reach.cc: what is sent, and why it changes nothing).
struct WitnessReach {
  bool ok = false;           // it answered as a witness that trusts this server's logs
  std::string line;
};
std::vector<WitnessReach> reach_witnesses(Deployment& d, const std::vector<WitnessConfig>& witnesses);
// Why serve refuses --witness-quorum K with these witnesses (more than are
// configured and not retired: no notice would ever go out); "" when it can.
std::string witness_quorum_problem(int quorum, const std::vector<WitnessConfig>& witnesses, const std::string& config_path);

}  // namespace sunledger::cli
