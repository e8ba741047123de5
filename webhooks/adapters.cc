// The five platform adapters. Each verifies the raw body before it parses a
// byte of it, and compares secrets in constant time.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "webhooks/adapter.h"
#include "webhooks/internal.h"
#include "webhooks/platform_crypto.h"

namespace sunledger {

using nlohmann::json;

bool PlatformAdapter::push_succeeded(int http_status, const std::string& body) const {
  if (http_status < 200 || http_status >= 300) return false;
  // WeCom, DingTalk and Feishu answer 200 with an error code in the body.
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    for (const char* key : {"errcode", "code", "StatusCode"})
      if (j.contains(key) && j[key].is_number_integer() && j[key].get<int64_t>() != 0) return false;
    if (j.contains("ok") && j["ok"].is_boolean() && !j["ok"].get<bool>()) return false;
  }
  return true;
}

namespace platform {

std::string standard_webhooks_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                                        const std::string& body) {
  auto key = base64_decode(secret.rfind("whsec_", 0) == 0 ? secret.substr(6) : secret);
  return base64_encode(hmac_sha256_raw(key.is_ok() ? *key : secret, id + "." + timestamp + "." + body));
}

std::string wecom_signature(const std::string& token, const std::string& timestamp, const std::string& nonce,
                            const std::string& encrypt) {
  std::vector<std::string> parts = {token, timestamp, nonce, encrypt};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (const auto& p : parts) joined += p;
  return sha1_hex(joined);
}

Result<std::string> wecom_decrypt(const std::string& encoding_aes_key, const std::string& encrypt, std::string* receive_id) {
  auto key = base64_decode(encoding_aes_key + "=", true);
  if (!key.is_ok() || key->size() != 32) return invalid_argument("bad EncodingAESKey");
  auto cipher = base64_decode(encrypt);
  if (!cipher.is_ok() || cipher->empty() || cipher->size() % 16 != 0) return invalid_argument("encrypt is not base64 blocks");
  auto plain = aes256_cbc_decrypt_raw(*key, key->substr(0, 16), *cipher);
  if (!plain.is_ok()) return plain.status();
  // PKCS#7 to 32-byte blocks (WXBizMsgCrypt); pad bytes 1..32.
  auto unpadded = pkcs7_unpad(*plain, 32);
  if (!unpadded.is_ok()) return unpadded.status();
  const std::string& p = *unpadded;
  if (p.size() < 20) return invalid_argument("plaintext too short");
  uint32_t len = static_cast<uint32_t>(static_cast<unsigned char>(p[16])) << 24 |
                 static_cast<uint32_t>(static_cast<unsigned char>(p[17])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(p[18])) << 8 | static_cast<unsigned char>(p[19]);
  if (20 + static_cast<size_t>(len) > p.size()) return invalid_argument("message length beyond the plaintext");
  if (receive_id) *receive_id = p.substr(20 + len);
  return p.substr(20, len);
}

Result<std::string> wecom_encrypt(const std::string& encoding_aes_key, const std::string& message,
                                  const std::string& receive_id, const std::string& random16) {
  auto key = base64_decode(encoding_aes_key + "=", true);
  if (!key.is_ok() || key->size() != 32 || random16.size() != 16) return invalid_argument("bad EncodingAESKey");
  uint32_t len = static_cast<uint32_t>(message.size());
  std::string plain = random16;
  plain.push_back(static_cast<char>(len >> 24));
  plain.push_back(static_cast<char>(len >> 16));
  plain.push_back(static_cast<char>(len >> 8));
  plain.push_back(static_cast<char>(len));
  plain += message + receive_id;
  auto cipher = aes256_cbc_encrypt_raw(*key, key->substr(0, 16), pkcs7_pad(plain, 32));
  if (!cipher.is_ok()) return cipher.status();
  return base64_encode(*cipher);
}

std::string dingtalk_sign(const std::string& secret, const std::string& timestamp) {
  return base64_encode(hmac_sha256_raw(secret, timestamp + "\n" + secret));
}

std::string feishu_push_sign(const std::string& secret, const std::string& timestamp) {
  return base64_encode(hmac_sha256_raw(timestamp + "\n" + secret, ""));
}

Result<std::string> feishu_decrypt(const std::string& encrypt_key, const std::string& encrypt) {
  Hash key = sha256(encrypt_key);
  auto raw = base64_decode(encrypt);
  if (!raw.is_ok() || raw->size() < 32 || raw->size() % 16 != 0) return invalid_argument("encrypt is not base64 blocks");
  auto plain = aes256_cbc_decrypt_raw(as_view(key), raw->substr(0, 16), raw->substr(16));
  if (!plain.is_ok()) return plain.status();
  return pkcs7_unpad(*plain, 16);
}

std::optional<std::string> xml_field(const std::string& xml, const std::string& tag, const std::string& within) {
  std::string scope = xml;
  if (!within.empty()) {
    auto inner = xml_field(xml, within);
    if (!inner) return std::nullopt;
    scope = *inner;
  }
  std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t a = scope.find(open);
  if (a == std::string::npos) return std::nullopt;
  a += open.size();
  size_t b = scope.find(close, a);
  if (b == std::string::npos) return std::nullopt;
  std::string v = scope.substr(a, b - a);
  const std::string cdata_open = "<![CDATA[", cdata_close = "]]>";
  if (v.rfind(cdata_open, 0) == 0 && v.size() >= cdata_open.size() + cdata_close.size() &&
      v.compare(v.size() - cdata_close.size(), cdata_close.size(), cdata_close) == 0)
    v = v.substr(cdata_open.size(), v.size() - cdata_open.size() - cdata_close.size());
  return v;
}

std::string strip_mentions(const std::string& text) {
  std::string t = text;
  // Feishu writes mentions as @_user_1 anywhere in the text.
  for (size_t p; (p = t.find("@_user_")) != std::string::npos;) {
    size_t e = p + 7;
    while (e < t.size() && std::isdigit(static_cast<unsigned char>(t[e]))) ++e;
    t.erase(p, e - p);
  }
  // Leading "@Bot " mentions (a space, an ideographic space or U+2005 ends them).
  for (;;) {
    size_t start = t.find_first_not_of(" \t");
    if (start == std::string::npos || t[start] != '@') break;
    size_t end = start + 1;
    while (end < t.size() && t[end] != ' ' && t[end] != '\n' && t.compare(end, 3, "\xE3\x80\x80") != 0 &&
           t.compare(end, 3, "\xE2\x80\x85") != 0)
      ++end;
    t.erase(0, end);
    if (t.compare(0, 3, "\xE3\x80\x80") == 0 || t.compare(0, 3, "\xE2\x80\x85") == 0) t.erase(0, 3);
  }
  size_t start = t.find_first_not_of(" \t\n");
  return start == std::string::npos ? "" : t.substr(start);
}

}  // namespace platform

namespace {

using platform::xml_field;

Status unauthorized(const std::string& reason) { return permission_denied(reason); }
Status malformed(const std::string& reason) { return invalid_argument(reason); }

std::optional<json> parse_body(const std::string& body) { return http::parse_json_bounded(body, 16); }

std::string jstring(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

bool within(int64_t a, int64_t b, int64_t tolerance) { return a - b <= tolerance && b - a <= tolerance; }

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(s);
}

WebhookResponse json_response(const json& body, int status = 200) {
  return WebhookResponse{status, "application/json; charset=utf-8", body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// Generic JSON body for pushes to chat webhooks.
std::string text_message(const std::string& text) {
  return json{{"msgtype", "text"}, {"text", {{"content", text}}}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------
// Standard Webhooks (the generic adapter)

class GenericAdapter final : public PlatformAdapter {
 public:
  explicit GenericAdapter(BotConfig c) : c_(std::move(c)) {}
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 600; }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override {
    std::string id = req.header("webhook-id"), ts = req.header("webhook-timestamp"), sigs = req.header("webhook-signature");
    if (id.empty() || ts.empty() || sigs.empty()) return unauthorized("missing webhook-id, webhook-timestamp or webhook-signature");
    auto t = parse_int(ts);
    if (!t) return unauthorized("malformed webhook-timestamp");
    if (!within(*t, now, 300)) return unauthorized("stale webhook-timestamp");
    std::string expected = platform::standard_webhooks_signature(c_.secret, id, ts, req.body);
    bool ok = false;
    // Several space-separated "v1,<sig>" may be sent during secret rotation.
    size_t start = 0;
    while (start < sigs.size()) {
      size_t end = sigs.find(' ', start);
      if (end == std::string::npos) end = sigs.size();
      std::string one = sigs.substr(start, end - start);
      if (one.rfind("v1,", 0) == 0 && constant_time_equal(one.substr(3), expected)) ok = true;
      start = end + 1;
    }
    if (!ok) return unauthorized("bad webhook-signature");
    auto j = parse_body(req.body);
    if (!j || !j->is_object()) return malformed("body is not a JSON object");
    DecodedWebhook d;
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = jstring(*j, "message_id");
    m.chat_id = jstring(*j, "chat_id");
    std::string type = jstring(*j, "chat_type");
    m.sender_id = jstring(*j, "sender_id");
    m.sender_name = jstring(*j, "sender_name");
    m.text = jstring(*j, "text");
    m.time = *t;
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty() || !j->contains("text") ||
        !(*j)["text"].is_string() || (type != "group" && type != "private"))
      return malformed("expected message_id, chat_id, chat_type (group|private), sender_id, sender_name, text");
    m.group = type == "group";
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook&, const std::string& text, int64_t, std::optional<Push>*) override {
    return json_response({{"reply", text.empty() ? json(nullptr) : json(text)}});
  }

  Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t now) override {
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.url = c_.push_url;
    r.body = json{{"chat_id", m.chat_id}, {"text", m.text}}.dump(-1, ' ', false, json::error_handler_t::replace);
    // A stable id per outbox row: a receiver drops the one repeat that a crash
    // between delivery and its record may cause.
    std::string id = "msg_sunledger_" + std::to_string(m.id);
    std::string ts = std::to_string(now);
    r.headers = {{"webhook-id", id},
                 {"webhook-timestamp", ts},
                 {"webhook-signature", "v1," + platform::standard_webhooks_signature(c_.secret, id, ts, r.body)}};
    return r;
  }

 private:
  BotConfig c_;
};

// ---------------------------------------------------------------------------
// Telegram

class TelegramAdapter final : public PlatformAdapter {
 public:
  explicit TelegramAdapter(BotConfig c) : c_(std::move(c)) {}
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 20; }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t) override {
    if (!constant_time_equal(req.header("X-Telegram-Bot-Api-Secret-Token"), c_.secret_token))
      return unauthorized("bad X-Telegram-Bot-Api-Secret-Token");
    auto j = parse_body(req.body);
    if (!j || !j->is_object() || !j->contains("update_id") || !(*j)["update_id"].is_number_integer())
      return malformed("not a Telegram Update");
    DecodedWebhook d;
    d.response = json_response(json::object());
    auto msg = j->find("message");
    if (msg == j->end() || !msg->is_object() || !msg->contains("text") || !(*msg)["text"].is_string()) {
      d.kind = DecodedWebhook::Kind::kIgnore;  // edits, joins, stickers: nothing for the bot
      return d;
    }
    const json& chat = (*msg)["chat"];
    const json& from = msg->value("from", json::object());
    if (!chat.is_object() || !chat.contains("id")) return malformed("message without chat");
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = jstring(*j, "update_id");
    m.chat_id = jstring(chat, "id");
    m.group = jstring(chat, "type") != "private";
    m.sender_id = jstring(from, "id");
    m.sender_name = jstring(from, "first_name");
    m.text = platform::strip_mentions((*msg)["text"].get<std::string>());
    m.time = msg->value("date", int64_t{0});
    d.reply_context["chat_id"] = m.chat_id;
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t, std::optional<Push>*) override {
    if (text.empty()) return json_response(json::object());
    // The webhook response may carry one Bot API call.
    return json_response({{"method", "sendMessage"}, {"chat_id", chat_json(d.reply_context.at("chat_id"))}, {"text", text}});
  }

  Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t) override {
    OutboundRequest r;
    r.url = c_.api_base + "/bot" + c_.bot_token + "/sendMessage";
    r.body = json{{"chat_id", chat_json(m.chat_id)}, {"text", m.text.substr(0, 4096)}}.dump(-1, ' ', false,
                                                                                           json::error_handler_t::replace);
    return r;
  }

 private:
  static json chat_json(const std::string& id) {
    auto n = parse_int(id[0] == '-' ? id.substr(1) : id);
    if (n) return id[0] == '-' ? -*n : *n;
    return id;
  }
  BotConfig c_;
};

// ---------------------------------------------------------------------------
// DingTalk

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

// ---------------------------------------------------------------------------
// Feishu / Lark

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

// ---------------------------------------------------------------------------
// WeCom

class WeComAdapter final : public PlatformAdapter {
 public:
  explicit WeComAdapter(BotConfig c) : c_(std::move(c)) {}
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 20; }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override {
    auto q = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    std::string sig = q("msg_signature"), ts = q("timestamp"), nonce = q("nonce");
    if (sig.empty() || ts.empty() || nonce.empty()) return unauthorized("missing msg_signature, timestamp or nonce");
    auto t = parse_int(ts);
    if (!t) return unauthorized("malformed timestamp");
    DecodedWebhook d;
    if (req.method == "GET") {
      // URL check: echostr is the encrypted payload; answer its plaintext raw.
      std::string echo = q("echostr");
      if (echo.empty()) return unauthorized("missing echostr");
      if (!constant_time_equal(sig, platform::wecom_signature(c_.token, ts, nonce, echo))) return unauthorized("bad msg_signature");
      std::string rid;
      auto plain = platform::wecom_decrypt(c_.encoding_aes_key, echo, &rid);
      if (!plain.is_ok()) return unauthorized("cannot decrypt echostr");
      if (!c_.receive_id.empty() && rid != c_.receive_id) return unauthorized("wrong receive id");
      d.kind = DecodedWebhook::Kind::kRespond;
      d.response = WebhookResponse{200, "text/plain; charset=utf-8", *plain};
      return d;
    }
    if (!within(*t, now, 3600)) return unauthorized("stale timestamp");
    // The encrypted envelope: XML (group robot, app) or JSON (AI bot).
    std::string encrypt, format;
    if (auto j = parse_body(req.body); j && j->is_object()) {
      encrypt = jstring(*j, "encrypt");
      format = "json";
    } else if (auto x = xml_field(req.body, "Encrypt")) {
      encrypt = *x;
      format = "xml";
    }
    if (encrypt.empty()) return unauthorized("no Encrypt field");
    if (!constant_time_equal(sig, platform::wecom_signature(c_.token, ts, nonce, encrypt))) return unauthorized("bad msg_signature");
    std::string rid;
    auto plain = platform::wecom_decrypt(c_.encoding_aes_key, encrypt, &rid);
    if (!plain.is_ok()) return unauthorized("cannot decrypt the body");
    if (!c_.receive_id.empty() && rid != c_.receive_id) return unauthorized("wrong receive id");
    d.reply_context = {{"format", format}, {"nonce", nonce}};
    auto& m = d.message;
    m.bot_id = c_.id;
    m.time = *t;
    if (auto j = parse_body(*plain); j && j->is_object()) {
      // AI bot (智能机器人) JSON.
      if (jstring(*j, "msgtype") != "text") {
        d.kind = DecodedWebhook::Kind::kIgnore;
        d.response = WebhookResponse{200, "text/plain; charset=utf-8", ""};
        return d;
      }
      m.message_id = jstring(*j, "msgid");
      m.chat_id = jstring(*j, "chatid");
      m.group = jstring(*j, "chattype") == "group";
      m.sender_id = jstring(j->value("from", json::object()), "userid");
      m.sender_name = m.sender_id;
      m.text = platform::strip_mentions(jstring(j->value("text", json::object()), "content"));
      if (m.chat_id.empty()) m.chat_id = m.sender_id;  // single chats carry no chatid
    } else {
      // Group robot (MsgId, ChatId, From/UserId, Text/Content) or app (FromUserName, Content) XML.
      std::string type = xml_field(*plain, "MsgType").value_or("");
      if (type != "text") {
        d.kind = DecodedWebhook::Kind::kIgnore;
        d.response = WebhookResponse{200, "text/plain; charset=utf-8", ""};
        return d;
      }
      m.message_id = xml_field(*plain, "MsgId").value_or("");
      if (auto chat = xml_field(*plain, "ChatId")) {
        m.chat_id = *chat;
        m.group = xml_field(*plain, "ChatType").value_or("group") == "group";
        m.sender_id = xml_field(*plain, "UserId", "From").value_or("");
        m.sender_name = xml_field(*plain, "Name", "From").value_or(m.sender_id);
        m.text = platform::strip_mentions(xml_field(*plain, "Content", "Text").value_or(""));
      } else {
        m.sender_id = xml_field(*plain, "FromUserName").value_or("");
        m.sender_name = m.sender_id;
        m.chat_id = m.sender_id;
        m.group = false;
        m.text = platform::strip_mentions(xml_field(*plain, "Content").value_or(""));
        d.reply_context["to_user"] = m.sender_id;
        d.reply_context["from_user"] = xml_field(*plain, "ToUserName").value_or("");
      }
    }
    if (m.message_id.empty() || m.sender_id.empty()) return malformed("missing message id or sender");
    d.kind = DecodedWebhook::Kind::kMessage;
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t now,
                               std::optional<Push>*) override {
    if (text.empty()) return WebhookResponse{200, "text/plain; charset=utf-8", ""};
    const std::string& format = d.reply_context.at("format");
    std::string nonce = d.reply_context.at("nonce");
    std::string ts = std::to_string(now);
    std::string inner;
    if (format == "json") {
      inner = json{{"msgtype", "text"}, {"text", {{"content", text}}}}.dump(-1, ' ', false, json::error_handler_t::replace);
    } else if (d.reply_context.count("to_user")) {
      inner = "<xml><ToUserName><![CDATA[" + d.reply_context.at("to_user") + "]]></ToUserName><FromUserName><![CDATA[" +
              d.reply_context.at("from_user") + "]]></FromUserName><CreateTime>" + ts +
              "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + cdata_safe(text) + "]]></Content></xml>";
    } else {
      inner = "<xml><MsgType><![CDATA[text]]></MsgType><Text><Content><![CDATA[" + cdata_safe(text) +
              "]]></Content></Text></xml>";
    }
    auto enc = platform::wecom_encrypt(c_.encoding_aes_key, inner, c_.receive_id, random_bytes(16));
    if (!enc.is_ok()) return WebhookResponse{200, "text/plain; charset=utf-8", ""};
    std::string sig = platform::wecom_signature(c_.token, ts, nonce, *enc);
    if (format == "json")
      return json_response({{"encrypt", *enc}, {"msgsignature", sig}, {"timestamp", now}, {"nonce", nonce}});
    return WebhookResponse{200, "application/xml; charset=utf-8",
                           "<xml><Encrypt><![CDATA[" + *enc + "]]></Encrypt><MsgSignature><![CDATA[" + sig +
                               "]]></MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce><![CDATA[" + nonce +
                               "]]></Nonce></xml>"};
  }

  Result<OutboundRequest> push_request(const OutboxMessage& m, int64_t) override {
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.url = c_.push_url;
    // Text takes 2,048 bytes; longer notices go as markdown (4,096).
    if (m.text.size() <= 2048) r.body = text_message(m.text);
    else
      r.body = json{{"msgtype", "markdown"}, {"markdown", {{"content", m.text.substr(0, 4096)}}}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
    return r;
  }

 private:
  // "]]>" would end the CDATA section early: split it across two sections.
  static std::string cdata_safe(std::string s) {
    for (size_t p = s.find("]]>"); p != std::string::npos; p = s.find("]]>", p + 15)) s.replace(p, 3, "]]]]><![CDATA[>");
    return s;
  }
  BotConfig c_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_adapter(const BotConfig& c) {
  switch (c.platform) {
    case Platform::kWeCom: return std::make_unique<WeComAdapter>(c);
    case Platform::kDingTalk: return std::make_unique<DingTalkAdapter>(c);
    case Platform::kFeishu: return std::make_unique<FeishuAdapter>(c);
    case Platform::kTelegram: return std::make_unique<TelegramAdapter>(c);
    case Platform::kGeneric: return std::make_unique<GenericAdapter>(c);
  }
  return nullptr;
}

}  // namespace sunledger
