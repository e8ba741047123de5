// WeCom: group robot and app callbacks (XML) and the AI bot (JSON).
#include "webhooks/adapters/app_api.h"
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

using platform::xml_field;

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

  bool reaches_persons() const override { return c_.has_private_channel(); }

  Status deliver(const OutboxMessage& m, int64_t now, HttpClient& client) override {
    if (m.audience == Audience::kPerson) return send_to_person(m, now, client, true);
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.url = c_.push_url;
    // Text takes 2,048 bytes; longer notices go as markdown (4,096).
    if (m.text.size() <= 2048) r.body = text_message(m.text);
    else r.body = dump(json{{"msgtype", "markdown"}, {"markdown", {{"content", utf8_prefix(m.text, 4096)}}}});
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    return robot_answer_ok(*answer);
  }

 private:
  // cgi-bin/message/send from the self-built app (自建应用) to one member.
  Status send_to_person(const OutboxMessage& m, int64_t now, HttpClient& client, bool may_refetch) {
    if (!c_.has_private_channel())
      return failed_precondition("bot " + c_.id + " has no private channel (corp_id, agent_id and corp_secret)");
    auto token = tokens_.get(client, now, [this](HttpClient& cl) -> Result<FetchedToken> {
      OutboundRequest r;
      r.method = "GET";
      r.url = c_.api_base + "/cgi-bin/gettoken?corpid=" + platform::url_encode(c_.corp_id) +
              "&corpsecret=" + platform::url_encode(c_.corp_secret);
      auto answer = send_for_answer(cl, r);
      if (!answer.is_ok()) return answer.status();
      auto j = parse_body(answer->body);
      if (answer->status != 200 || !j || !j->is_object() || jstring(*j, "errcode") != "0")
        return unavailable("access token refused: HTTP " + std::to_string(answer->status));
      auto exp = j->find("expires_in");
      return FetchedToken{jstring(*j, "access_token"), exp != j->end() && exp->is_number_integer() ? exp->get<int64_t>() : 0};
    });
    if (!token.is_ok()) return token.status();
    OutboundRequest r;
    r.url = c_.api_base + "/cgi-bin/message/send?access_token=" + platform::url_encode(*token);
    r.body = dump(json{{"touser", m.chat_id},
                       {"msgtype", "text"},
                       {"agentid", std::stoll(c_.agent_id)},
                       {"text", {{"content", utf8_prefix(m.text, 2048)}}}});
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    auto j = parse_body(answer->body);
    std::string code = j && j->is_object() ? jstring(*j, "errcode") : "";
    // 40001: bad secret or token, 40014: invalid token, 42001: expired.
    if (code == "40014" || code == "42001" || code == "40001") {
      tokens_.invalidate(*token);
      if (may_refetch) return send_to_person(m, now, client, false);
      return unavailable("the access token was refused twice");
    }
    if (answer->status < 200 || answer->status >= 300 || code != "0")
      return unavailable("HTTP " + std::to_string(answer->status) + " errcode " + code);
    // WeCom answers 0 even when it dropped the user: "invaliduser" names them.
    if (!jstring(*j, "invaliduser").empty()) return unavailable("WeCom did not know the user");
    return Status::ok();
  }

  // "]]>" would end the CDATA section early: split it across two sections.
  static std::string cdata_safe(std::string s) {
    for (size_t p = s.find("]]>"); p != std::string::npos; p = s.find("]]>", p + 15)) s.replace(p, 3, "]]]]><![CDATA[>");
    return s;
  }
  BotConfig c_;
  AccessTokenCache tokens_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_wecom_adapter(const BotConfig& c) { return std::make_unique<WeComAdapter>(c); }

}  // namespace sunledger::adapters
