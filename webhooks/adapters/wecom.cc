// WeCom: group robot and app callbacks (XML) and the AI bot (JSON).
#include "webhooks/adapters/app_api.h"
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"
#include "webhooks/xml.h"

namespace sunledger::adapters {

namespace {

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
    // The URL check is signed like a callback, so it gets the same window: a
    // captured check (or callback) cannot be replayed for ever.
    if (!within(*t, now, 3600)) return unauthorized("stale timestamp");
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
      // WeCom's check string is a short number. Anything longer, or anything
      // that looks like XML or JSON, is a captured callback's Encrypt (or one
      // of our own encrypted replies) sent back to make us decrypt it.
      if (plain->size() > kMaxEchoBytes || plain->find_first_of("<{") != std::string::npos)
        return unauthorized("echostr is not a URL check string");
      d.kind = DecodedWebhook::Kind::kRespond;
      d.response = WebhookResponse{200, "text/plain; charset=utf-8", *plain};
      return d;
    }
    // The encrypted envelope: JSON (AI bot) or XML (group robot, app), told
    // apart by what it is, and Encrypt read from its one place.
    std::string format = first_char(req.body) == '{' ? "json" : "xml";
    auto encrypt = format == "json" ? json_encrypt(req.body) : xml_encrypt(req.body);
    if (!encrypt.is_ok()) return unauthorized("no Encrypt field: " + encrypt.status().message());
    if (!constant_time_equal(sig, platform::wecom_signature(c_.token, ts, nonce, *encrypt))) return unauthorized("bad msg_signature");
    std::string rid;
    auto plain = platform::wecom_decrypt(c_.encoding_aes_key, *encrypt, &rid);
    if (!plain.is_ok()) return unauthorized("cannot decrypt the body");
    if (!c_.receive_id.empty() && rid != c_.receive_id) return unauthorized("wrong receive id");
    d.reply_context = {{"format", format}, {"nonce", nonce}};
    d.message.bot_id = c_.id;
    d.message.time = *t;
    char kind = first_char(*plain);
    Status s = kind == '{' ? decode_ai_bot(*plain, &d)
               : kind == '<' ? decode_xml(*plain, &d)
                             : malformed("the decrypted message is neither JSON nor XML");
    if (!s.is_ok()) return s;
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

  // The longest plaintext a URL check may echo (WeCom sends a short number).
  static constexpr size_t kMaxEchoBytes = 64;

  static char first_char(const std::string& s) {
    size_t i = s.find_first_not_of(" \t\r\n");
    return i == std::string::npos ? '\0' : s[i];
  }

  // {"encrypt": "..."}: the AI bot's envelope.
  static Result<std::string> json_encrypt(const std::string& body) {
    auto j = parse_json_body(body);
    if (!j.is_ok()) return j.status();
    JsonFields f(*j);
    std::string e = f.str("encrypt", true);
    if (!f.ok()) return f.status();
    return e;
  }

  // <xml><ToUserName/><Encrypt/><AgentID/></xml>: the robot's and app's envelope.
  static Result<std::string> xml_encrypt(const std::string& body) {
    auto x = platform::parse_xml(body);
    if (!x.is_ok()) return x.status();
    if (x->name != "xml") return malformed("the root element is <" + x->name + ">, not <xml>");
    if (Status s = platform::xml_unique_children(*x); !s.is_ok()) return s;
    return platform::xml_text(*x, "Encrypt", true);
  }

  // A valid callback that is not a text message: acknowledged, nothing to do.
  static void ignore(DecodedWebhook* d) {
    d->kind = DecodedWebhook::Kind::kIgnore;
    d->response = WebhookResponse{200, "text/plain; charset=utf-8", ""};
  }

  // AI bot (智能机器人) JSON: {"msgid","chatid","chattype","from":{"userid"},"msgtype","text":{"content"}}.
  static Status decode_ai_bot(const std::string& plain, DecodedWebhook* d) {
    auto j = parse_json_body(plain);
    if (!j.is_ok()) return j.status();
    JsonFields f(*j, "message");
    std::string type = f.str("msgtype", true);
    if (!f.ok()) return f.status();
    if (type != "text") {
      ignore(d);
      return Status::ok();
    }
    auto& m = d->message;
    m.message_id = f.str("msgid", true);
    m.chat_id = f.str("chatid");
    m.group = f.str("chattype") != "single";  // unknown types count as groups (the stricter rules)
    m.sender_id = f.object("from", true).str("userid", true);
    m.sender_name = m.sender_id;
    m.text = platform::strip_mentions(f.object("text", true).str("content", true));
    if (!f.ok()) return f.status();
    if (m.chat_id.empty()) m.chat_id = m.sender_id;  // single chats carry no chatid
    return finish(d);
  }

  // Group robot: <xml><WebhookUrl/><ChatId/><PostId/><ChatType/><From><UserId/><Name/><Alias/></From>
  //   <MsgType/><Text><Content/></Text><MsgId/></xml> (MsgId after the content).
  // App: <xml><ToUserName/><FromUserName/><CreateTime/><MsgType/><Content/><MsgId/><AgentID/></xml>.
  // Only direct children of <xml> (and of <From> and <Text>) are read, so
  // whatever tags a user types stay text inside <Content>.
  static Status decode_xml(const std::string& plain, DecodedWebhook* d) {
    auto x = platform::parse_xml(plain);
    if (!x.is_ok()) return x.status();
    const platform::XmlElement& root = *x;
    if (root.name != "xml") return malformed("the root element is <" + root.name + ">, not <xml>");
    if (Status s = platform::xml_unique_children(root); !s.is_ok()) return s;
    auto type = platform::xml_text(root, "MsgType", true);
    if (!type.is_ok()) return type.status();
    if (*type != "text") {
      ignore(d);
      return Status::ok();
    }
    // The format comes from the envelope's own elements, never from content.
    bool robot = root.count("ChatId") > 0 || root.count("From") > 0;
    bool app = root.count("FromUserName") > 0;
    if (robot == app) return malformed(robot ? "both group-robot and app elements" : "neither <From> nor <FromUserName>");
    auto& m = d->message;
    auto msg_id = platform::xml_text(root, "MsgId", true);
    if (!msg_id.is_ok()) return msg_id.status();
    m.message_id = *msg_id;
    if (robot) {
      auto chat = platform::xml_text(root, "ChatId", true);
      auto chat_type = platform::xml_text(root, "ChatType");
      const platform::XmlElement* from = root.child("From");
      const platform::XmlElement* text = root.child("Text");
      if (!chat.is_ok()) return chat.status();
      if (!chat_type.is_ok()) return chat_type.status();
      if (from == nullptr) return malformed("<xml><From> is missing");
      if (text == nullptr) return malformed("<xml><Text> is missing");
      for (const auto* e : {from, text})
        if (Status s = platform::xml_unique_children(*e); !s.is_ok()) return s;
      auto user = platform::xml_text(*from, "UserId", true);
      auto name = platform::xml_text(*from, "Name");
      auto content = platform::xml_text(*text, "Content", true);
      for (const auto* r : {&user, &name, &content})
        if (!r->is_ok()) return r->status();
      m.chat_id = *chat;
      m.group = *chat_type != "single";  // unknown types count as groups (the stricter rules)
      m.sender_id = *user;
      m.sender_name = name->empty() ? *user : *name;
      m.text = platform::strip_mentions(*content);
    } else {
      auto from = platform::xml_text(root, "FromUserName", true);
      auto to = platform::xml_text(root, "ToUserName");
      auto content = platform::xml_text(root, "Content", true);
      for (const auto* r : {&from, &to, &content})
        if (!r->is_ok()) return r->status();
      m.sender_id = *from;
      m.sender_name = m.sender_id;
      m.chat_id = m.sender_id;
      m.group = false;
      m.text = platform::strip_mentions(*content);
      d->reply_context["to_user"] = m.sender_id;
      d->reply_context["from_user"] = *to;
    }
    return finish(d);
  }

  static Status finish(DecodedWebhook* d) {
    const auto& m = d->message;
    if (m.message_id.empty() || m.sender_id.empty() || m.chat_id.empty()) return malformed("missing message id, sender or chat");
    d->kind = DecodedWebhook::Kind::kMessage;
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
