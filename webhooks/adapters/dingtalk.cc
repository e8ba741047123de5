// DingTalk: the enterprise robot in HTTP mode.
#include <cctype>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "webhooks/adapters/app_api.h"
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

// DingTalk's outgoing robot signs the timestamp only, never the body: anyone
// who captured one (timestamp, sign) pair could send any body under it for
// the hour DingTalk allows. So each pair is accepted once (a redelivery of
// the very same bytes excepted), and a body's sessionWebhook, where replies
// go, must point at DingTalk itself and must not have expired.
class SeenSignatures {
 public:
  // False when the pair was seen before with a different body.
  // `signed_at` is the pair's own timestamp (seconds): a pair dated ahead of
  // our clock stays valid for an hour past it, so it is kept that long.
  bool accept(const std::string& pair, const std::string& body_hash, int64_t now, int64_t signed_at) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!order_.empty() && order_.front().first <= now) {
      seen_.erase(order_.front().second);
      order_.pop_front();
    }
    auto it = seen_.find(pair);
    if (it != seen_.end()) return it->second == body_hash;
    seen_.emplace(pair, body_hash);
    order_.emplace_back(std::max(now, signed_at) + 3600 + 60, pair);  // DingTalk's hour, and a minute of clock skew
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::string> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

class DingTalkAdapter final : public PlatformAdapter {
 public:
  explicit DingTalkAdapter(BotConfig c) : c_(std::move(c)) {
    if (c_.session_webhook_hosts.empty()) c_.session_webhook_hosts = {"oapi.dingtalk.com", "api.dingtalk.com"};
  }
  const BotConfig& config() const override { return c_; }
  int pushes_per_minute() const override { return 20; }
  bool reaches_persons() const override { return c_.has_private_channel(); }

  Result<DecodedWebhook> decode(const WebhookRequest& req, int64_t now) override {
    std::string ts = req.header("timestamp"), sign = req.header("sign");
    auto t = parse_int(ts);
    if (!t || sign.empty()) return unauthorized("missing timestamp or sign");
    if (!within(*t, now * 1000, 3600 * 1000)) return unauthorized("stale timestamp");
    if (!constant_time_equal(sign, platform::dingtalk_sign(c_.app_secret, ts))) return unauthorized("bad sign");
    if (!seen_.accept(ts + "\n" + sign, std::string(as_view(sha256(req.body))), now, *t / 1000))
      return unauthorized("a (timestamp, sign) pair used before with another body");
    auto j = parse_json_body(req.body);
    if (!j.is_ok()) return j.status();
    // Every field from its one place, with its type, or the message is refused.
    JsonFields body(*j, "body");
    DecodedWebhook d;
    d.response = json_response(json::object());
    d.kind = DecodedWebhook::Kind::kIgnore;
    std::string msgtype = body.str("msgtype");
    if (!body.ok()) return body.status();
    if (msgtype != "text") return d;
    JsonFields text = body.object("text", true);
    std::string content = text.str("content");
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = body.id("msgId", true);
    m.chat_id = body.id("conversationId", true);
    m.group = body.str("conversationType") == "2";
    std::string staff = body.id("senderStaffId"), sender = body.id("senderId");
    m.sender_id = staff.empty() ? sender : staff;
    m.sender_name = body.str("senderNick");
    m.time = body.integer("createAt", 0) / 1000;
    std::string session = body.str("sessionWebhook");
    int64_t session_expires = body.integer("sessionWebhookExpiredTime", 0, !session.empty());
    if (!body.ok()) return body.status();
    m.text = platform::strip_mentions(content);
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty()) return malformed("missing msgId, conversationId or sender");
    if (!session.empty()) {
      // The body is not signed: a forged reply address is an unauthenticated request.
      if (!session_webhook_allowed(session)) return unauthorized("sessionWebhook is not on DingTalk's hosts");
      if (session_expires <= now * 1000) return unauthorized("sessionWebhook expired");
      d.reply_context["session_webhook"] = session;
    }
    d.kind = DecodedWebhook::Kind::kMessage;
    d.reply_context["sender"] = m.sender_id;
    d.reply_context["group"] = m.group ? "1" : "";
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook& d, const std::string& text, int64_t,
                               std::optional<Push>* active) override {
    if (text.empty()) return json_response(json::object());
    Audience audience = d.reply_context.at("group").empty() ? Audience::kPerson : Audience::kGroup;
    // Replies go to the conversation's own sessionWebhook, after the callback
    // is answered; without one, a private chat is answered through the app API.
    auto it = d.reply_context.find("session_webhook");
    if (it != d.reply_context.end()) *active = Push{c_.id, "session:" + it->second, text, audience};
    else if (audience == Audience::kPerson) *active = Push{c_.id, d.reply_context.at("sender"), text, Audience::kPerson};
    return json_response(json::object());
  }

  Status deliver(const OutboxMessage& m, int64_t now, HttpClient& client) override {
    if (m.chat_id.rfind("session:", 0) == 0) {
      OutboundRequest r;
      r.url = m.chat_id.substr(8);
      // Checked again here: a row written by an older version, or by hand.
      if (!session_webhook_allowed(r.url)) return failed_precondition("sessionWebhook is not on DingTalk's hosts");
      r.body = text_message(m.text);
      auto answer = send_for_answer(client, r);
      if (!answer.is_ok()) return answer.status();
      return robot_answer_ok(*answer);
    }
    if (m.audience == Audience::kPerson) return send_to_person(m, now, client, true);
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.body = text_message(m.text);
    r.url = c_.push_url;
    if (!c_.push_secret.empty()) {
      std::string ms = std::to_string(now * 1000);
      r.url += std::string(r.url.find('?') == std::string::npos ? "?" : "&") + "timestamp=" + ms +
               "&sign=" + platform::url_encode(platform::dingtalk_sign(c_.push_secret, ms));
    }
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    return robot_answer_ok(*answer);
  }

 private:
  // https on one of the allowed hosts (no port but 443, no user info), or an
  // exact origin from session_webhook_hosts ("http://127.0.0.1:8081").
  bool session_webhook_allowed(const std::string& url) const {
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return false;
    std::string scheme = url.substr(0, scheme_end);
    size_t auth_end = url.find_first_of("/?#", scheme_end + 3);
    if (auth_end == std::string::npos || url[auth_end] != '/') return false;
    std::string authority = url.substr(scheme_end + 3, auth_end - scheme_end - 3);
    if (authority.empty() || authority.find_first_of("@\\ ") != std::string::npos) return false;
    std::string origin = scheme + "://" + authority;
    std::string host = authority;
    if (size_t colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
      if (host.substr(colon + 1) != "443") host.clear();  // any other port is not DingTalk's
      else host = host.substr(0, colon);
    }
    for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& allowed : c_.session_webhook_hosts) {
      if (allowed.find("://") != std::string::npos) {
        if (origin == allowed) return true;
      } else if (scheme == "https" && !host.empty() && host == allowed) {
        return true;
      }
    }
    return false;
  }

  // robot/oToMessages/batchSend through the app's access token.
  Status send_to_person(const OutboxMessage& m, int64_t now, HttpClient& client, bool may_refetch) {
    if (!c_.has_private_channel())
      return failed_precondition("bot " + c_.id + " has no private channel (app_key and robot_code)");
    auto token = tokens_.get(client, now, [this](HttpClient& cl) -> Result<FetchedToken> {
      OutboundRequest r;
      r.url = c_.api_base + "/v1.0/oauth2/accessToken";
      r.body = dump(json{{"appKey", c_.app_key}, {"appSecret", c_.app_secret}});
      auto answer = send_for_answer(cl, r);
      if (!answer.is_ok()) return answer.status();
      auto j = parse_body(answer->body);
      if (answer->status != 200 || !j || !j->is_object()) return unavailable("access token refused: HTTP " + std::to_string(answer->status));
      auto exp = j->find("expireIn");
      return FetchedToken{jstring(*j, "accessToken"), exp != j->end() && exp->is_number_integer() ? exp->get<int64_t>() : 0};
    });
    if (!token.is_ok()) return token.status();
    OutboundRequest r;
    r.url = c_.api_base + "/v1.0/robot/oToMessages/batchSend";
    r.headers = {{"x-acs-dingtalk-access-token", *token}};
    r.body = dump(json{{"robotCode", c_.robot_code},
                       {"userIds", json::array({m.chat_id})},
                       {"msgKey", "sampleText"},
                       {"msgParam", dump(json{{"content", m.text}})}});
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    auto j = parse_body(answer->body);
    std::string code = j && j->is_object() ? jstring(*j, "code") : "";
    if (answer->status == 401 || answer->status == 403 || code.find("InvalidAuthentication") != std::string::npos ||
        code.find("token") != std::string::npos) {
      tokens_.invalidate(*token);
      if (may_refetch) return send_to_person(m, now, client, false);
      return unavailable("the access token was refused twice");
    }
    if (answer->status < 200 || answer->status >= 300 || !code.empty())
      return unavailable("HTTP " + std::to_string(answer->status) + " " + utf8_prefix(answer->body, 200));
    return Status::ok();
  }

  BotConfig c_;
  SeenSignatures seen_;
  AccessTokenCache tokens_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_dingtalk_adapter(const BotConfig& c) { return std::make_unique<DingTalkAdapter>(c); }

}  // namespace sunledger::adapters
