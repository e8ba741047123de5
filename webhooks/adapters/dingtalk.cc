// DingTalk: the enterprise robot in HTTP mode.
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

class DingTalkAdapter final : public PlatformAdapter {
 public:
  explicit DingTalkAdapter(BotConfig c) : c_(std::move(c)) {}
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 20; }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override {
    std::string ts = req.header("timestamp"), sign = req.header("sign");
    auto t = parse_int(ts);
    if (!t || sign.empty()) return unauthorized("missing timestamp or sign");
    if (!within(*t, now * 1000, 3600 * 1000)) return unauthorized("stale timestamp");
    if (!constant_time_equal(sign, platform::dingtalk_sign(c_.app_secret, ts))) return unauthorized("bad sign");
    auto j = parse_body(req.body);
    if (!j || !j->is_object()) return malformed("body is not a JSON object");
    DecodedWebhook d;
    d.response = json_response(json::object());
    if (jstring(*j, "msgtype") != "text" || !j->contains("text") || !(*j)["text"].is_object()) {
      d.kind = DecodedWebhook::Kind::kIgnore;
      return d;
    }
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = jstring(*j, "msgId");
    m.chat_id = jstring(*j, "conversationId");
    m.group = jstring(*j, "conversationType") == "2";
    m.sender_id = jstring(*j, "senderStaffId").empty() ? jstring(*j, "senderId") : jstring(*j, "senderStaffId");
    m.sender_name = jstring(*j, "senderNick");
    m.text = platform::strip_mentions(jstring((*j)["text"], "content"));
    m.time = j->value("createAt", int64_t{0}) / 1000;
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty()) return malformed("missing msgId, conversationId or sender");
    d.reply_context["session_webhook"] = jstring(*j, "sessionWebhook");
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t,
                               std::optional<Push>* active) override {
    // Replies go to the conversation's sessionWebhook, after the callback is answered.
    auto it = d.reply_context.find("session_webhook");
    if (!text.empty() && it != d.reply_context.end() && !it->second.empty())
      *active = Push{c_.id, "session:" + it->second, text};
    return json_response(json::object());
  }

  Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t now) override {
    OutboundRequest r;
    r.body = text_message(m.text);
    if (m.chat_id.rfind("session:", 0) == 0) {
      r.url = m.chat_id.substr(8);
      return r;
    }
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    r.url = c_.push_url;
    if (!c_.push_secret.empty()) {
      std::string ms = std::to_string(now * 1000);
      r.url += std::string(r.url.find('?') == std::string::npos ? "?" : "&") + "timestamp=" + ms +
               "&sign=" + platform::url_encode(platform::dingtalk_sign(c_.push_secret, ms));
    }
    return r;
  }

 private:
  BotConfig c_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_dingtalk_adapter(const BotConfig& c) { return std::make_unique<DingTalkAdapter>(c); }

}  // namespace sunledger::adapters
