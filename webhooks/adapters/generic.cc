// Standard Webhooks: the generic signed-JSON hook.
#include "webhooks/adapters/app_api.h"
#include "webhooks/adapters/common.h"
#include "webhooks/adapters/json_text.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

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
    DecodedWebhook d;
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.time = *t;
    std::string type;
    // The plain body (a flat object of strings holding every required field)
    // is read in one pass; anything else goes through the strict parser,
    // which reads it as before and says what is wrong (issue #18).
    FlatObject flat;
    std::string *message_id = nullptr, *chat_id = nullptr, *chat_type = nullptr, *sender_id = nullptr, *text = nullptr;
    if (read_flat_object(req.body, flat) && (message_id = flat.find("message_id")) && (chat_id = flat.find("chat_id")) &&
        (chat_type = flat.find("chat_type")) && (sender_id = flat.find("sender_id")) && (text = flat.find("text"))) {
      m.message_id = std::move(*message_id);
      m.chat_id = std::move(*chat_id);
      type = std::move(*chat_type);
      m.sender_id = std::move(*sender_id);
      if (const std::string* name = flat.find("sender_name")) m.sender_name = *name;
      m.text = std::move(*text);
    } else {
      auto j = parse_json_body(req.body);
      if (!j.is_ok()) return j.status();
      JsonFields f(*j);
      m.message_id = f.str("message_id", true);
      m.chat_id = f.str("chat_id", true);
      type = f.str("chat_type", true);
      m.sender_id = f.str("sender_id", true);
      m.sender_name = f.str("sender_name");
      m.text = f.str("text", true);
      if (!f.ok()) return f.status();
    }
    if (m.message_id.empty() || m.chat_id.empty() || m.sender_id.empty() || (type != "group" && type != "private"))
      return malformed("expected message_id, chat_id, chat_type (group|private), sender_id, sender_name, text");
    m.group = type == "group";
    return d;
  }

  WebhookResponse encode_reply(const DecodedWebhook&, const std::string& text, int64_t, std::optional<Push>*) override {
    // Written directly: this is every signed query's answer (issue #18).
    return WebhookResponse{200, "application/json; charset=utf-8", reply_body(text)};
  }

  // The bridge behind push_url delivers to whatever chat_id names; a person's
  // push names their user id with chat_type "private", as inbound messages do.
  bool reaches_persons() const override { return !c_.push_url.empty(); }

  Status deliver(const OutboxMessage& m, int64_t now, HttpClient& client) override {
    if (c_.push_url.empty()) return failed_precondition("bot " + c_.id + " has no push_url");
    OutboundRequest r;
    r.url = c_.push_url;
    r.body = dump(json{{"chat_id", m.chat_id},
                       {"chat_type", m.audience == Audience::kGroup ? "group" : "private"},
                       {"text", m.text}});
    // A stable id per outbox row: a receiver drops the one repeat that a crash
    // between delivery and its record may cause.
    std::string id = "msg_sunledger_" + std::to_string(m.id);
    std::string ts = std::to_string(now);
    r.headers = {{"webhook-id", id},
                 {"webhook-timestamp", ts},
                 {"webhook-signature", "v1," + platform::standard_webhooks_signature(c_.secret, id, ts, r.body)}};
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    return robot_answer_ok(*answer);
  }

 private:
  BotConfig c_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_generic_adapter(const BotConfig& c) { return std::make_unique<GenericAdapter>(c); }

}  // namespace sunledger::adapters
