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
    bool signed_ok = false;
    auto body = open_body(req, now, &signed_ok);
    if (!body.is_ok()) return body.status();
    auto j = parse_json_body(*body);
    if (!j.is_ok()) return j.status();
    JsonFields f(*j);
    DecodedWebhook d;
    d.response = json_response(json::object());
    // The URL check carries the verification token, which is what proves it
    // (Feishu sends no signature headers with it).
    if (f.has("type") && f.str("type") == "url_verification") {
      if (!constant_time_equal(f.str("token"), c_.verification_token)) return unauthorized("bad verification token");
      std::string challenge = f.str("challenge", true);
      if (!f.ok()) return f.status();
      d.kind = DecodedWebhook::Kind::kRespond;
      d.response = json_response({{"challenge", challenge}});
      return d;
    }
    JsonFields header = f.object("header");
    if (!signed_ok) {
      // Without an encrypt key (or signature), the token in the event header authenticates it.
      if (!constant_time_equal(header.str("token"), c_.verification_token)) return unauthorized("bad token");
    }
    std::string event_type = header.str("event_type");
    std::string event_id = header.str("event_id");
    std::string create_time = header.id("create_time");
    if (!f.ok()) return f.status();
    if (event_type != "im.message.receive_v1") {
      d.kind = DecodedWebhook::Kind::kIgnore;
      return d;
    }
    if (Status s = read_message(f, event_id, create_time, d); !s.is_ok()) return s;
    return d;
  }

  bool reaches_persons() const override { return c_.has_private_channel(); }

 private:
  // With an encrypt key the body is {"encrypt": …}: its signature headers
  // (when present) are checked and it is decrypted. Without one, the body
  // is the event itself.
  Result<std::string> open_body(const WebhookRequest& req, int64_t now, bool* signed_ok) const {
    if (c_.encrypt_key.empty()) return req.body;
    std::string ts = req.header("X-Lark-Request-Timestamp"), nonce = req.header("X-Lark-Request-Nonce"),
                sig = req.header("X-Lark-Signature");
    if (!sig.empty()) {
      auto t = parse_int(ts);
      if (!t) return unauthorized("malformed X-Lark-Request-Timestamp");
      if (!within(*t, now, 3600)) return unauthorized("stale X-Lark-Request-Timestamp");
      if (!constant_time_equal(sig, platform::sha256_hex(ts + nonce + c_.encrypt_key + req.body)))
        return unauthorized("bad X-Lark-Signature");
      *signed_ok = true;
    }
    auto outer = parse_json_body(req.body);
    if (!outer.is_ok()) return unauthorized("body is not encrypted: " + outer.status().message());
    JsonFields envelope(*outer);
    std::string encrypted = envelope.str("encrypt", true);
    if (!envelope.ok()) return unauthorized("body is not encrypted: " + envelope.status().message());
    auto plain = platform::feishu_decrypt(c_.encrypt_key, encrypted);
    if (!plain.is_ok()) return unauthorized("cannot decrypt the body");
    return *plain;
  }

  // An im.message.receive_v1 event: a text message becomes d.message, any
  // other type is ignored.
  Status read_message(JsonFields& f, const std::string& event_id, const std::string& create_time, DecodedWebhook& d) const {
    JsonFields event = f.object("event", true);
    JsonFields message = event.object("message", true);
    std::string message_type = message.str("message_type", true);
    std::string message_id = message.str("message_id");
    std::string chat_id = message.str("chat_id", true);
    std::string chat_type = message.str("chat_type");
    std::string content_text = message.str("content");
    std::string sender_id = event.object("sender", true).object("sender_id", true).str("open_id", true);
    if (!f.ok()) return f.status();
    if (message_type != "text") {
      d.kind = DecodedWebhook::Kind::kIgnore;
      return Status::ok();
    }
    // content is itself a JSON string: "{\"text\":\"@_user_1 查账\"}".
    auto content = parse_json_body(content_text);
    if (!content.is_ok()) return malformed("message content is not JSON: " + content.status().message());
    JsonFields c(*content, "event.message.content");
    std::string text = c.str("text", true);
    if (!c.ok()) return c.status();
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = event_id.empty() ? message_id : event_id;
    m.chat_id = chat_id;
    // Anything but a one-to-one chat counts as a group (the stricter rules):
    // a new group type must never pass for a private chat.
    m.group = chat_type != "p2p";
    m.sender_id = sender_id;
    m.sender_name = m.sender_id;
    m.text = platform::strip_mentions(text);
    m.time = parse_int(create_time).value_or(0) / 1000;
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty()) return malformed("missing event_id, chat_id or sender");
    d.reply_context["chat_id"] = m.chat_id;
    return Status::ok();
  }

 public:

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t,
                               std::optional<Push>* active) override {
    // Feishu has no passive reply. A group is answered in that group; a
    // private chat only through the app API to the sender's open_id, never
    // through the custom bot's webhook, which posts into its group.
    if (text.empty()) return json_response(json::object());
    if (d.message.group) *active = Push{c_.id, d.message.chat_id, text, Audience::kGroup};
    // Without the app nothing reaches a private chat: queue nothing, rather
    // than a row that can never leave and holds the reply beside the address.
    else if (c_.has_private_channel()) *active = Push{c_.id, d.message.sender_id, text, Audience::kPerson};
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
