// Helpers the platform adapters share; private to webhooks/adapters/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ledger/status.h"
#include "webhooks/adapter.h"

namespace sunledger::adapters {

using nlohmann::json;

inline Status unauthorized(const std::string& reason) { return permission_denied(reason); }
inline Status malformed(const std::string& reason) { return invalid_argument(reason); }

// A platform body as JSON, nesting capped at 16 levels; nullopt when malformed.
std::optional<json> parse_body(const std::string& body);
// A string field, or an integer field as its decimal text; "" otherwise.
std::string jstring(const json& j, const char* key);
inline bool within(int64_t a, int64_t b, int64_t tolerance) { return a - b <= tolerance && b - a <= tolerance; }
// Strict unsigned decimal of at most 18 digits.
std::optional<int64_t> parse_int(const std::string& s);
WebhookResponse json_response(const json& body, int status = 200);
// {"msgtype":"text","text":{"content":...}}: the body group robots take.
std::string text_message(const std::string& text);
std::string dump(const json& j);

std::unique_ptr<PlatformAdapter> make_generic_adapter(const BotConfig& c);
std::unique_ptr<PlatformAdapter> make_telegram_adapter(const BotConfig& c);
std::unique_ptr<PlatformAdapter> make_dingtalk_adapter(const BotConfig& c);
std::unique_ptr<PlatformAdapter> make_feishu_adapter(const BotConfig& c);
std::unique_ptr<PlatformAdapter> make_wecom_adapter(const BotConfig& c);

}  // namespace sunledger::adapters
