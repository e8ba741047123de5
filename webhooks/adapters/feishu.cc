// Feishu / Lark: im.message.receive_v1 events.
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

class FeishuAdapter final : public PlatformAdapter {
 public:
  explicit FeishuAdapter(BotConfig c) : c_(std::move(c)) {}
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 100; }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override {
    std::string body = req.body;
    bool signed_ok = false;
    if (!c_.encrypt_key.empty()) {
      std::string ts = req.header("X-Lark-Request-Timestamp"), nonce = req.header("X-Lark-Request-Nonce"),
                  sig = req.header("X-Lark-Signature");
      if (!sig.empty()) {
        auto t = parse_int(ts);
        if (!t) return unauthorized("malformed X-Lark-Request-Timestamp");
        if (!within(*t, now, 3600)) return unauthorized("stale X-Lark-Request-Timestamp");
        if (!constant_time_equal(sig, platform::sha256_hex(ts + nonce + c_.encrypt_key + req.body)))
          return unauthorized("bad X-Lark-Signature");
        signed_ok = true;
      }
      auto outer = parse_body(req.body);
      if (!outer || !outer->is_object() || !outer->contains("encrypt") || !(*outer)["encrypt"].is_string())
        return unauthorized("body is not encrypted");
      auto plain = platform::feishu_decrypt(c_.encrypt_key, (*outer)["encrypt"].get<std::string>());
      if (!plain.is_ok()) return unauthorized("cannot decrypt the body");
      body = *plain;
    }
    auto j = parse_body(body);
    if (!j || !j->is_object()) return malformed("body is not a JSON object");
    DecodedWebhook d;
    d.response = json_response(json::object());
    // The URL check carries the verification token, which is what proves it
    // (Feishu sends no signature headers with it).
    if (jstring(*j, "type") == "url_verification") {
      if (!constant_time_equal(jstring(*j, "token"), c_.verification_token)) return unauthorized("bad verification token");
      d.kind = DecodedWebhook::Kind::kRespond;
      d.response = json_response({{"challenge", jstring(*j, "challenge")}});
      return d;
    }
    const json& header = j->value("header", json::object());
    if (!signed_ok) {
      // Without an encrypt key (or signature), the token in the event header authenticates it.
      if (!constant_time_equal(jstring(header, "token"), c_.verification_token)) return unauthorized("bad token");
    }
    if (jstring(header, "event_type") != "im.message.receive_v1") {
      d.kind = DecodedWebhook::Kind::kIgnore;
      return d;
    }
    const json& event = j->value("event", json::object());
    const json& message = event.value("message", json::object());
    if (jstring(message, "message_type") != "text") {
      d.kind = DecodedWebhook::Kind::kIgnore;
      return d;
    }
    // content is itself a JSON string: "{\"text\":\"@_user_1 查账\"}".
    auto content = parse_body(jstring(message, "content"));
    if (!content || !content->is_object()) return malformed("message content is not JSON");
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = jstring(header, "event_id").empty() ? jstring(message, "message_id") : jstring(header, "event_id");
    m.chat_id = jstring(message, "chat_id");
    m.group = jstring(message, "chat_type") == "group";
    const json& sender = event.value("sender", json::object());
    m.sender_id = jstring(sender.value("sender_id", json::object()), "open_id");
    m.sender_name = m.sender_id;
    m.text = platform::strip_mentions(jstring(*content, "text"));
    m.time = parse_int(jstring(header, "create_time")).value_or(0) / 1000;
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty()) return malformed("missing event_id, chat_id or sender");
    d.reply_context["chat_id"] = m.chat_id;
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t,
                               std::optional<Push>* active) override {
    // Feishu has no passive reply: the custom bot webhook carries it.
    if (!text.empty() && !c_.push_url.empty()) *active = Push{c_.id, d.reply_context.at("chat_id"), text};
    return json_response(json::object());
  }

  Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t now) override {
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.url = c_.push_url;
    json body = {{"msg_type", "text"}, {"content", {{"text", m.text}}}};
    if (!c_.push_secret.empty()) {
      std::string ts = std::to_string(now);
      body["timestamp"] = ts;
      body["sign"] = platform::feishu_push_sign(c_.push_secret, ts);
    }
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }

 private:
  BotConfig c_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_feishu_adapter(const BotConfig& c) { return std::make_unique<FeishuAdapter>(c); }

}  // namespace sunledger::adapters
