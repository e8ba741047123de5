// Pieces shared by the route groups of webhooks/; not part of its public API.
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
// Parses JSON with a nesting-depth cap; nullopt when malformed or too deep.
std::optional<nlohmann::json> parse_json_bounded(const std::string& body, int max_depth = 32);

void register_read_api(httplib::Server& server, Ledger& ledger);
void register_write_api(httplib::Server& server, Bot& bot);
void register_webhooks(httplib::Server& server, Ledger& ledger, Bot& bot, const WebhookWiring& wiring);
void register_complaints_api(httplib::Server& server, Ledger& ledger, Bot& bot, std::function<void()> on_outbox_write);

}  // namespace sunledger::http
