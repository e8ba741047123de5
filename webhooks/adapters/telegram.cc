// Telegram: the Bot API webhook.
#include "webhooks/adapters/app_api.h"
#include "webhooks/adapters/common.h"
#include "ledger/crypto.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::adapters {

namespace {

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

  // sendMessage to a user's id reaches them privately once they have started
  // the bot; to a group's id, the group.
  bool reaches_persons() const override { return true; }

  Status deliver(const OutboxMessage& m, int64_t, HttpClient& client) override {
    if (m.chat_id.empty()) return failed_precondition("push without an address");
    OutboundRequest r;
    r.url = c_.api_base + "/bot" + c_.bot_token + "/sendMessage";
    r.body = dump(json{{"chat_id", chat_json(m.chat_id)}, {"text", utf8_prefix(m.text, 4096)}});
    auto answer = send_for_answer(client, r);
    if (!answer.is_ok()) return answer.status();
    return robot_answer_ok(*answer);
  }

 private:
  static json chat_json(const std::string& id) {
    auto n = parse_int(id[0] == '-' ? id.substr(1) : id);
    if (n) return id[0] == '-' ? -*n : *n;
    return id;
  }
  BotConfig c_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_telegram_adapter(const BotConfig& c) { return std::make_unique<TelegramAdapter>(c); }

}  // namespace sunledger::adapters
