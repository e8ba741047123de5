// Feishu / Lark: im.message.receive_v1 events.
#include "webhooks/adapters/app_api.h"
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

  bool reaches_persons() const override { return c_.has_private_channel(); }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t,
                               std::optional<Push>* active) override {
    // Feishu has no passive reply. A group is answered in that group; a
    // private chat only through the app API to the sender's open_id, never
    // through the custom bot's webhook, which posts into its group.
    if (text.empty()) return json_response(json::object());
    if (d.message.group) *active = Push{c_.id, d.message.chat_id, text, Audience::kGroup};
    else *active = Push{c_.id, d.message.sender_id, text, Audience::kPerson};
    return json_response(json::object());
  }

  Status deliver(const OutboxMessage& m, int64_t now, HttpClient& client) override {
    if (c_.has_private_channel())
      return send_by_app(m.audience == Audience::kGroup ? "chat_id" : "open_id", m, now, client, true);
    if (m.audience == Audience::kPerson)
      return failed_precondition("bot " + c_.id + " has no private channel (app_id and app_secret)");
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url and no app");
    OutboundRequest r;
    r.url = c_.push_url;
    json body = {{"msg_type", "text"}, {"content", {{"text", m.text}}}};
    if (!c_.push_secret.empty()) {
      std::string ts = std::to_string(now);
      body["timestamp"] = ts;
      body["sign"] = platform::feishu_push_sign(c_.push_secret, ts);
    }
    r.body = dump(body);
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    return robot_answer_ok(*answer);
  }

 private:
  // im/v1/messages with the tenant access token.
  Status send_by_app(const char* id_type, const OutboxMessage& m, int64_t now, HttpClient& client, bool may_refetch) {
    auto token = tokens_.get(client, now, [this](HttpClient& cl) -> Result<FetchedToken> {
      OutboundRequest r;
      r.url = c_.api_base + "/open-apis/auth/v3/tenant_access_token/internal";
      r.body = dump(json{{"app_id", c_.app_id}, {"app_secret", c_.app_secret}});
      auto answer = send_for_answer(cl, r);
      if (!answer.is_ok()) return answer.status();
      auto j = parse_body(answer->body);
      if (answer->status != 200 || !j || !j->is_object() || jstring(*j, "code") != "0")
        return unavailable("tenant access token refused: HTTP " + std::to_string(answer->status));
      auto exp = j->find("expire");
      return FetchedToken{jstring(*j, "tenant_access_token"),
                          exp != j->end() && exp->is_number_integer() ? exp->get<int64_t>() : 0};
    });
    if (!token.is_ok()) return token.status();
    OutboundRequest r;
    r.url = c_.api_base + "/open-apis/im/v1/messages?receive_id_type=" + id_type;
    r.headers = {{"Authorization", "Bearer " + *token}};
    r.body = dump(json{{"receive_id", m.chat_id}, {"msg_type", "text"}, {"content", dump(json{{"text", m.text}})}});
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    auto j = parse_body(answer->body);
    std::string code = j && j->is_object() ? jstring(*j, "code") : "";
    // 99991661: no token, 99991663: invalid token, 99991668: expired.
    if (code == "99991661" || code == "99991663" || code == "99991668") {
      tokens_.invalidate(*token);
      if (may_refetch) return send_by_app(id_type, m, now, client, false);
      return unavailable("the tenant access token was refused twice");
    }
    if (answer->status < 200 || answer->status >= 300 || code != "0")
      return unavailable("HTTP " + std::to_string(answer->status) + " " + utf8_prefix(answer->body, 200));
    return Status::ok();
  }

  BotConfig c_;
  AccessTokenCache tokens_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_feishu_adapter(const BotConfig& c) { return std::make_unique<FeishuAdapter>(c); }

}  // namespace sunledger::adapters
