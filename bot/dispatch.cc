// One inbound message: rate limit, dedupe, who is asking, which command,
// and the one transaction a write runs in.
#include "bot/bot_impl.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Dispatch


Result<BotReply> Bot::handle(const InboundMessage& msg) {
  bool finished = false;
  auto r = handle_message(msg, finished);
  // While the ledger fails verification every answer says so first (and is
  // finished again below: masking a masked text changes nothing).
  if (r.is_ok() && !r->text.empty() && !impl_->ledger->integrity_failure().empty()) {
    r->text = kIntegrityWarning + r->text;
    finished = false;
  }
  // Every answer ends its last line, however it was built, and, defence in
  // depth: whatever path quoted what people typed, no identity number leaves
  // in a reply. A cached answer was finished when it was cached.
  if (r.is_ok() && !finished) r->text = finish_reply_text(std::move(r->text));
  // Only which note to add to the reply: the snapshot resolve() just took serves.
  if (r.is_ok() && msg.group && !r->text.empty())
    if (auto dir = impl_->directory_store.snapshot(DirectoryStore::Freshness::kRecent); dir.is_ok())
      r->unbound_group = (*dir)->bindings.count({msg.bot_id, msg.chat_id}) == 0;
  return r;
}

namespace {

// Who may use the command, from the command table: refused before anything
// runs. Empty when the sender may.
std::string role_problem(const CommandSpec& spec, const ParsedCommand& cmd, const Context& ctx) {
  bool inspector = !ctx.inspector_areas.empty();
  switch (spec.role) {
    case CommandRole::kAnyone: return "";
    case CommandRole::kInspector:
      return inspector ? "" : role_refusal(cmd.keyword, "纪检监察人员", "inspectors");
    case CommandRole::kOfficialOrInspector:
      return inspector || !ctx.official_villages.empty()
                 ? ""
                 : role_refusal(cmd.keyword, "纪检监察人员和村干部", "inspectors and officials");
    case CommandRole::kOfficial:
      if (Status s = need_village(ctx); !s.is_ok()) return s.message();
      return ctx.official ? "" : role_refusal(cmd.keyword, ctx.village->name + "的村干部", "officials of " + ctx.village->id);
  }
  return "";
}

// A status whose message is for the sender (say()) becomes the reply;
// anything else stays an error.
Result<BotReply> said_or_error(const Status& s, BotReply reply) {
  if (s.code() != Code::kFailedPrecondition) return s;
  reply.text = s.message();
  return reply;
}

}  // namespace

// What is answered before the command is looked at: too long, empty, too
// fast, not a command. Nothing when the message goes on to its command.
std::optional<BotReply> Bot::Impl::screen(const InboundMessage& msg, const ParsedCommand& cmd) {
  BotReply reply;
  if (msg.text.size() > options.max_message_bytes) {
    reply.text = "消息太长(超过16KB),请分几次发送。(message too long; please split it)";
    return reply;
  }
  if (cmd.kind == CommandKind::kEmpty) return reply;
  switch (over_rate_limit(msg)) {
    case Flood::kNo: break;
    case Flood::kWarn:
      reply.text = "您发送得太快了,请一分钟后再试。(too many commands; please wait a minute)";
      return reply;
    case Flood::kSilent: return reply;  // already told this minute: nothing is sent
  }
  if (cmd.kind == CommandKind::kUnknown) {
    // Masked before it is cut, so a cut cannot leave an unmasked part of a number.
    reply.text = "没听懂“" + redact_resident_ids(cmd.keyword).substr(0, 60) +
                 "”。发送“帮助”查看可用的命令。(unknown command; send 帮助 or help)";
    return reply;
  }
  return std::nullopt;
}

Result<BotReply> Bot::handle_message(const InboundMessage& msg, bool& finished) {
  Impl& I = *impl_;
  ParsedCommand cmd;  // an overlong message is not parsed at all (screen() answers it)
  if (msg.text.size() <= I.options.max_message_bytes) cmd = parse_command(msg.text);
  if (auto early = I.screen(msg, cmd)) return *early;
  Context ctx;
  ctx.msg = &msg;
  if (Status s = I.resolve(ctx, cmd); !s.is_ok()) return said_or_error(s, {});  // nothing ran
  // Never in the request of an anonymous complaint: its write would carry
  // the sender's id and the moment of filing side by side.
  if (cmd.kind != CommandKind::kComplainAnonymously)
    if (Status s = I.record_seen(msg, ctx); !s.is_ok()) return s;
  const CommandSpec* spec = command_spec(cmd.kind);
  if (spec == nullptr || spec->run == nullptr) return internal_error("no handler for " + cmd.keyword);
  BotReply reply;
  if (std::string refused = role_problem(*spec, cmd, ctx); !refused.empty()) {
    reply.text = std::move(refused);
    return reply;
  }
  if (!spec->write) {
    CommandRun run{I, ctx, cmd};
    auto text = spec->run(run);
    if (!text.is_ok()) return said_or_error(text.status(), std::move(reply));
    reply.text = std::move(*text);
    finished = ctx.reply_finished;
    return reply;
  }
  return I.run_write(*spec, ctx, cmd);
}

// A write: one transaction holding the change, its pushes and the dedupe
// record of this platform message (the role was checked before).
Result<BotReply> Bot::Impl::run_write(const CommandSpec& spec, const Context& ctx, const ParsedCommand& cmd) {
  BotReply reply;
  // Nothing is signed on top of a ledger that failed verification.
  if (!ledger->integrity_failure().empty()) {
    reply.text = "账本未通过核验,暂停一切记账和登记。本次没有做任何改动。(the ledger failed verification; "
                 "writes are refused and nothing was changed)";
    return reply;
  }
  const InboundMessage& msg = *ctx.msg;
  Author author{msg.sender_id, "official", msg.bot_id};
  std::string refusal;
  if (!msg.message_id.empty())
    if (Status warm = dedupe.warm_up(); !warm.is_ok()) return warm;
  auto run = [&](WriteTxn& txn) -> Status {
    reply = BotReply{};
    refusal.clear();
    if (!msg.message_id.empty()) {
      auto found = dedupe.find(txn, msg);
      if (!found.is_ok()) return found.status();
      if (found->kind == DedupeRecords::Found::Kind::kConflict)
        return already_exists("这个消息编号已被另一条消息使用 (this message id was used by another message)");
      if (found->kind == DedupeRecords::Found::Kind::kReplay) {
        reply.text = std::move(found->reply);
        reply.replayed = true;
        return Status::ok();
      }
    }
    CommandRun run{*this, ctx, cmd, &txn, &author, &reply.pushes};
    Result<std::string> text = spec.run(run);
    if (!text.is_ok()) {
      reply.pushes.clear();
      if (text.status().code() == Code::kFailedPrecondition) refusal = text.status().message();
      return text.status();  // rolls back: malformed input writes nothing
    }
    reply.text = *text;
    // A filed anonymous complaint's reply holds its bearer receipt, and its
    // record must not be joinable to the sender: neither is stored.
    // A sign-in link's reply is the sender's secret: not stored either.
    reply.ephemeral = cmd.kind == CommandKind::kComplainAnonymously || spec.secret_reply;
    if (msg.message_id.empty()) return Status::ok();
    if (cmd.kind == CommandKind::kComplainAnonymously) return dedupe.record_anonymous(txn, msg);
    return dedupe.record(txn, msg, spec.secret_reply ? kSecretReplyReplay : reply.text);
  };
  Status s = ledger->write(run);
  // Another node recorded this message after find() looked (its write was
  // still open): this one rolled back; run again, it answers with that reply.
  if (DedupeRecords::raced(s)) s = ledger->write(run);
  if (s.is_ok()) return reply;
  if (refusal.empty()) return s;
  reply.text = refusal;
  reply.pushes.clear();
  return reply;
}

}  // namespace sunledger
