// Telegram: the Bot API webhook.
#include <cctype>

#include "bot/command.h"
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
    auto j = parse_json_body(req.body);
    if (!j.is_ok()) return j.status();
    JsonFields update(*j, "update");
    int64_t update_id = update.integer("update_id", 0, true);
    if (!update.ok()) return malformed("not a Telegram Update: " + update.status().message());
    DecodedWebhook d;
    d.response = json_response(json::object());
    d.kind = DecodedWebhook::Kind::kIgnore;  // edits, joins, stickers, channel posts: nothing for the bot
    if (!update.has("message")) return d;
    JsonFields msg = update.object("message");
    if (!msg.has("text")) return update.ok() ? Result<DecodedWebhook>(d) : Result<DecodedWebhook>(update.status());
    std::string text = msg.str("text");
    JsonFields chat = msg.object("chat", true);
    std::string chat_id = chat.id("id", true);
    std::string chat_type = chat.str("type");
    int64_t date = msg.integer("date", 0);
    bool has_sender = msg.has("from");
    JsonFields from = msg.object("from");
    std::string sender_id = has_sender ? from.id("id", true) : "";
    std::string first_name = from.str("first_name");
    if (!update.ok()) return update.status();
    if (chat_id.empty()) return malformed("message.chat.id is empty");
    // Without "from" a message is no one the bot knows; it must not act as
    // the shared identity "". A message on behalf of a chat (an anonymous
    // admin, a linked channel) carries "sender_chat" and a placeholder "from"
    // that every such sender shares (GroupAnonymousBot, "Telegram"): the
    // same problem, so it is ignored too.
    if (!has_sender || sender_id.empty() || msg.has("sender_chat")) return d;
    // "/cmd@OtherBot" in a group with several bots is meant for the other one.
    std::string stripped = platform::strip_mentions(text);
    if (addressed_to_another_bot(stripped)) return d;
    d.kind = DecodedWebhook::Kind::kMessage;
    auto& m = d.message;
    m.bot_id = c_.id;
    m.message_id = std::to_string(update_id);
    m.chat_id = chat_id;
    m.group = chat_type != "private";
    m.sender_id = sender_id;
    m.sender_name = first_name;
    m.text = stripped;
    m.time = date;
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
  // Telegram writes a command for one bot of a group as "/cmd@BotUsername".
  // The config does not know this bot's username, so the bot's config id
  // stands for it (name the bot entry after the username, e.g.
  // "id": "LukouLedgerBot", to be answered on "/账目@LukouLedgerBot");
  // usernames compare without regard to case, as Telegram's do.
  bool addressed_to_another_bot(const std::string& text) const {
    // The first word as the command parser reads it (its spaces, its blank
    // lines), so no invisible prefix makes the two disagree.
    std::string word;
    for (size_t start = 0; start <= text.size() && word.empty();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      auto words = split_words(std::string_view(text).substr(start, end - start));
      if (!words.empty()) word = words.front();
      start = end + 1;
    }
    if (word.empty() || word[0] != '/') return false;
    size_t at = word.find('@');
    if (at == std::string::npos) return false;
    std::string name = word.substr(at + 1);
    if (name.size() != c_.id.size()) return true;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(name[i])) != std::tolower(static_cast<unsigned char>(c_.id[i]))) return true;
    return false;
  }
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
