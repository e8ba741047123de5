// One platform adapter per bot: turns the platform's callback into the bot's
// InboundMessage (after checking its signature over the raw body and
// decrypting it) and the bot's answers into what that platform expects.
//
// Ownership: make_adapter() returns an adapter that owns a copy of its
// BotConfig; deliver() borrows the HttpClient for the call only. Thread
// safety: every method may be called from any thread at once (webhook
// workers and outbox lanes share one adapter; the access-token cache is
// guarded inside).
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
#include "webhooks/http_client.h"
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
  // The platform's rate limit for pushes from one bot.
  virtual int pushes_per_minute() const = 0;
  // Whether this bot can message one person privately: its platform's app API
  // is configured (WeCom corp_id/agent_id/corp_secret, DingTalk app_key/
  // robot_code, Feishu app_id/app_secret; Telegram always; generic with a
  // push_url). A group robot's push_url never counts: it posts into its group.
  virtual bool reaches_persons() const = 0;
  // Delivers one outbox message: a group push to the group (its robot's
  // push_url, or the app API with the chat id), a person's push to that one
  // person through the app API, never anywhere else. Fetches and caches the
  // access token the app API needs, and fetches it again once when the
  // platform says it expired. kFailedPrecondition: this bot's configuration
  // cannot deliver this message (retrying will not help); kUnavailable: the
  // platform did not take it (retry later).
  virtual Status deliver(const OutboxMessage& m, int64_t now, HttpClient& client) = 0;
};

std::unique_ptr<PlatformAdapter> make_adapter(const BotConfig& config);

// Parsers shared by the adapters and their tests (the platforms' signatures and
// ciphers are in webhooks/platform_crypto.h, WeCom's XML in webhooks/xml.h).
namespace platform {
// Drops leading "@name " mentions (and Feishu's @_user_N placeholders).
std::string strip_mentions(const std::string& text);
}  // namespace platform

}  // namespace sunledger
