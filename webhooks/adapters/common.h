// Helpers the platform adapters share; private to webhooks/adapters/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ledger/status.h"
#include "webhooks/adapter.h"

namespace sunledger::adapters {

using nlohmann::json;

inline Status unauthorized(const std::string& reason) { return permission_denied(reason); }
inline Status malformed(const std::string& reason) { return invalid_argument(reason); }

// A platform body as JSON: nesting capped at 16 levels, duplicate keys
// refused; the error (a 400) says why.
Result<json> parse_json_body(const std::string& body);
// The same, nullopt for any failure.
std::optional<json> parse_body(const std::string& body);
// A string field, or an integer field as its decimal text; "" for anything
// else (absent, wrong type, not an object). Never throws. New decode paths
// use JsonFields, which refuses a wrong type instead of reading it as "".
std::string jstring(const json& j, const char* key);

// Reads a platform's JSON the one way the platform lays it out. A field is
// taken only from its own place and with its own type; a field of the wrong
// type (a string where a number belongs, an array where an object belongs) is
// an error that decode() turns into a 400, never an nlohmann exception (a
// 500). The first error sticks and is shared with the readers of nested
// objects, so a decode path reads all it needs and checks once.
class JsonFields {
 public:
  // `where` names this object in error messages ("message.from").
  explicit JsonFields(const json& j, std::string where = "body");

  bool has(const char* key) const;
  // A string member; "" when absent (an error too when required).
  std::string str(const char* key, bool required = false);
  // A platform id: a string, or an integer as its decimal text.
  std::string id(const char* key, bool required = false);
  // An integer member; `fallback` when absent.
  int64_t integer(const char* key, int64_t fallback, bool required = false);
  // A nested object; an empty one when absent.
  JsonFields object(const char* key, bool required = false);

  bool ok() const { return error_->empty(); }
  // A 400 naming the first field that was wrong.
  Status status() const { return invalid_argument(*error_); }

 private:
  JsonFields(const json* j, std::string where, std::shared_ptr<std::string> error);
  const json* member(const char* key, bool required);
  void fail(const char* key, const char* what);

  static const json& empty_object();
  const json* j_;
  std::string where_;
  std::shared_ptr<std::string> error_;
};

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
