// Pieces shared by the route groups of webhooks/; not part of its public API.
// The register_* functions install handlers that keep references to the
// ledger, the bot and the wiring: those must outlive the server. Handlers run
// on the edge's loop threads, several at once.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bot/bot.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "webhooks/http_server.h"

namespace sunledger::http {

int status_for(Code code);
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, const Status& status);
void send_error(httplib::Response& res, int http_status, const std::string& message);
// Strict unsigned decimal (no sign, no spaces, at most 18 digits).
std::optional<uint64_t> parse_uint(const std::string& text);
// Parses JSON from the outside: nesting capped at max_depth, and an object
// with the same key twice refused (nlohmann would silently keep the last).
// The error says which rule failed, in Chinese and English.
Result<nlohmann::json> parse_json_strict(const std::string& body, int max_depth = 32);
// The same, for callers that answer every failure alike.
std::optional<nlohmann::json> parse_json_bounded(const std::string& body, int max_depth = 32);

// bot (may be null: no bot configured) adds a month's alerts raised after its publication.
void register_read_api(httplib::Server& server, Ledger& ledger, Bot* bot);
// /logs/{log}/checkpoint and /logs/{log}/tile/...: C2SP tlog-tiles (tiles_api.cc).
void register_tiles_api(httplib::Server& server, Ledger& ledger);
void register_write_api(httplib::Server& server, Ledger& ledger, Bot& bot);
void register_webhooks(httplib::Server& server, Ledger& ledger, Bot& bot, const WebhookWiring& wiring);
void register_complaints_api(httplib::Server& server, Ledger& ledger, Bot& bot, std::function<void()> on_outbox_write);

}  // namespace sunledger::http
