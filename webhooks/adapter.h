// One platform adapter per bot: turns the platform's callback into the bot's
// InboundMessage (after checking its signature over the raw body and
// decrypting it) and the bot's answers into what that platform expects.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "bot/outbox.h"
#include "ledger/status.h"
#include "webhooks/config.h"
#include "webhooks/platform_crypto.h"
#include "webhooks/xml.h"

namespace sunledger {

struct WebhookRequest {
  std::string method;  // GET or POST
  std::map<std::string, std::string> query;  // percent-decoded; '+' stays '+'
  std::function<std::string(const std::string&)> header;  // case-insensitive; "" when absent
  std::string body;    // the raw bytes, as signed
};

struct WebhookResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
};

struct DecodedWebhook {
  enum class Kind {
    kMessage,  // a chat message for the bot
    kRespond,  // a handshake (URL check, challenge): answer `response` and stop
    kIgnore,   // a valid callback that is not a text message: acknowledge with `response`
  };
  Kind kind = Kind::kIgnore;
  InboundMessage message;
  WebhookResponse response;
  std::map<std::string, std::string> reply_context;  // what encode_reply needs (format, chat, session URL, ...)
};

struct OutboundRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
};

class PlatformAdapter {
 public:
  virtual ~PlatformAdapter() = default;
  virtual const BotConfig& config() const = 0;
  // Verifies (constant time) before parsing anything. kPermissionDenied for a
  // bad signature, stale timestamp or undecryptable body (401); kInvalidArgument
  // for a verified but malformed payload (400).
  virtual Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) = 0;
  // The HTTP answer to the callback. When the platform has no passive reply,
  // the reply is returned in `active` and goes out through the outbox.
  virtual WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t now,
                                       std::optional<Push>* active) = 0;
  // The request that delivers one outbox message.
  virtual Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t now) = 0;
  // The platform's rate limit for pushes from one bot.
  virtual int pushes_per_minute() const = 0;
  // Whether a delivered push's response body reports success (errcode 0 ...).
  virtual bool push_succeeded(int http_status, const std::string& body) const;
};

std::unique_ptr<PlatformAdapter> make_adapter(const BotConfig& config);

// Parsers shared by the adapters and their tests (the platforms' signatures and
// ciphers are in webhooks/platform_crypto.h, WeCom's XML in webhooks/xml.h).
namespace platform {
// Drops leading "@name " mentions (and Feishu's @_user_N placeholders).
std::string strip_mentions(const std::string& text);
}  // namespace platform

}  // namespace sunledger
