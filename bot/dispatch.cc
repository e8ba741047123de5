// One inbound message: rate limit, dedupe, who is asking, which command,
// and the one transaction a write runs in.
#include "bot/bot_impl.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Dispatch


Result<BotReply> Bot::handle(const InboundMessage& msg) {
  auto r = handle_message(msg);
  // While the ledger fails verification every answer says so first.
  if (r.is_ok() && !r->text.empty() && !impl_->ledger->integrity_failure().empty()) r->text = kIntegrityWarning + r->text;
  // Every answer ends its last line, however it was built.
  if (r.is_ok() && !r->text.empty() && r->text.back() != '\n') r->text += "\n";
  // Defence in depth: whatever path quoted what people typed, no identity
  // number leaves in a reply.
  if (r.is_ok()) r->text = redact_resident_ids(r->text);
  if (r.is_ok() && msg.group && !r->text.empty())
    if (auto dir = impl_->directory(); dir.is_ok())
      r->unbound_group = (*dir)->bindings.count({msg.bot_id, msg.chat_id}) == 0;
  return r;
}

Result<BotReply> Bot::handle_message(const InboundMessage& msg) {
  Impl& I = *impl_;
  BotReply reply;
  if (msg.text.size() > I.options.max_message_bytes) {
    reply.text = "消息太长(超过16KB),请分几次发送。(message too long; please split it)";
    return reply;
  }
  ParsedCommand cmd = parse_command(msg.text);
  if (cmd.kind == CommandKind::kEmpty) return reply;
  switch (I.over_rate_limit(msg)) {
    case Impl::Flood::kNo: break;
    case Impl::Flood::kWarn:
      reply.text = "您发送得太快了,请一分钟后再试。(too many commands; please wait a minute)";
      return reply;
    case Impl::Flood::kSilent: return reply;  // already told this minute: nothing is sent
  }
  if (cmd.kind == CommandKind::kUnknown) {
    // Masked before it is cut, so a cut cannot leave an unmasked part of a number.
    reply.text = "没听懂“" + redact_resident_ids(cmd.keyword).substr(0, 60) +
                 "”。发送“帮助”查看可用的命令。(unknown command; send 帮助 or help)";
    return reply;
  }
  Context ctx;
  ctx.msg = &msg;
  if (Status s = I.resolve(ctx, cmd); !s.is_ok()) {
    if (s.code() != Code::kFailedPrecondition) return s;
    reply.text = s.message();  // said to the sender (say()); nothing ran
    return reply;
  }
  // Never in the request of an anonymous complaint: its write would carry
  // the sender's id and the moment of filing side by side.
  if (cmd.kind != CommandKind::kComplainAnonymously)
    if (Status s = I.record_seen(msg, ctx); !s.is_ok()) return s;

  // Who may use it, from the command table: refused before anything runs.
  const CommandSpec* spec = command_spec(cmd.kind);
  if (spec != nullptr && spec->role != CommandRole::kAnyone) {
    bool inspector = !ctx.inspector_areas.empty();
    if (spec->role == CommandRole::kInspector && !inspector) {
      reply.text = role_refusal(cmd.keyword, "纪检监察人员", "inspectors");
      return reply;
    }
    if (spec->role == CommandRole::kOfficialOrInspector && !inspector && ctx.official_villages.empty()) {
      reply.text = role_refusal(cmd.keyword, "纪检监察人员和村干部", "inspectors and officials");
      return reply;
    }
    if (spec->role == CommandRole::kOfficial) {
      if (Status s = need_village(ctx); !s.is_ok()) {
        reply.text = s.message();
        return reply;
      }
      if (!ctx.official) {
        reply.text = role_refusal(cmd.keyword, ctx.village->name + "的村干部", "officials of " + ctx.village->id);
        return reply;
      }
    }
  }

  if (!is_write(cmd.kind)) {
    auto text = I.query(ctx, cmd.kind);
    if (!text.is_ok()) {
      if (text.status().code() != Code::kFailedPrecondition) return text.status();
      reply.text = text.status().message();
      return reply;
    }
    reply.text = *text;
    return reply;
  }

  // Nothing is signed on top of a ledger that failed verification.
  if (!I.ledger->integrity_failure().empty()) {
    reply.text = "账本未通过核验,暂停一切记账和登记。本次没有做任何改动。(the ledger failed verification; "
                 "writes are refused and nothing was changed)";
    return reply;
  }
  // Writes: one transaction holding the change, its pushes and the dedupe
  // record of this platform message (the role was checked above).
  Author author{msg.sender_id, "official", msg.bot_id};
  std::string refusal;
  Status s = I.ledger->write([&](WriteTxn& txn) -> Status {
    if (!msg.message_id.empty()) {
      auto found = I.dedupe.find(txn, msg);
      if (!found.is_ok()) return found.status();
      if (found->kind == DedupeRecords::Found::Kind::kConflict)
        return already_exists("这个消息编号已被另一条消息使用 (this message id was used by another message)");
      if (found->kind == DedupeRecords::Found::Kind::kReplay) {
        reply.text = std::move(found->reply);
        reply.replayed = true;
        return Status::ok();
      }
    }
    Result<std::string> text = internal_error("unhandled");
    switch (cmd.kind) {
      case CommandKind::kPost: text = I.post(ctx, cmd, txn, author); break;
      case CommandKind::kProjectAdd: text = I.project_add(ctx, txn, author); break;
      case CommandKind::kReverse: text = I.reverse(ctx, txn, author); break;
      case CommandKind::kSubsidyList: text = I.subsidy_list(ctx, cmd, txn, author); break;
      case CommandKind::kPublish: {
        if (ctx.args.empty()) {
          text = say("请写明月份,例如“公开 2022-11”。(publish needs a month)");
          break;
        }
        auto p = I.publish_in(ctx.village->id, ctx.args[0], txn, author);
        if (!p.is_ok()) {
          text = shown_to_person(p.status(), "未公开,没有做任何改动 (nothing was published): ");
          break;
        }
        for (const auto& [bot, chat] : ctx.dir->groups_of.count(ctx.village->id) ? ctx.dir->groups_of.at(ctx.village->id)
                                                                                 : std::vector<std::pair<std::string, std::string>>{})
          reply.pushes.push_back({bot, chat, p->notice, Audience::kGroup});
        // Only groups a bot can push to count as notified (issue #13).
        text = "已公开" + ctx.village->name + month_zh(ctx.args[0]) + "账目," +
               (p->groups_notified > 0 ? "将推送到" + std::to_string(p->groups_notified) + "个村民群" : std::string("没有能推送到的村民群")) +
               "。核验码:" + checkpoint_short_form(p->close.checkpoint) + " (published; " +
               std::to_string(p->groups_notified) + (p->groups_notified == 1 ? " group" : " groups") + " to be notified)\n" +
               Bot::unreachable_groups_text(*p);
        break;
      }
      case CommandKind::kProjectFinish: {
        if (ctx.args.empty()) {
          text = say("格式:结项 项目名称,例如“结项 水利建设”。(project finish NAME)");
          break;
        }
        auto r = txn.finish_project(ctx.village->id, ctx.args[0], author);
        if (!r.is_ok()) {
          text = shown_to_person(r.status());
          break;
        }
        text = "项目“" + ctx.args[0] + "”已结项(第#" + std::to_string(*r) + "条)。专项资金如有结余,请记账说明去向或退回。(project finished)\n";
        break;
      }
      case CommandKind::kComplain: text = I.complain(ctx, cmd, false, txn, &reply.pushes); break;
      case CommandKind::kComplainAnonymously: text = I.complain(ctx, cmd, true, txn, &reply.pushes); break;
      case CommandKind::kSatisfied: text = I.rate(ctx, true, txn); break;
      case CommandKind::kUnsatisfied: text = I.rate(ctx, false, txn); break;
      case CommandKind::kAssign: text = I.inspect(ctx, ComplaintStatus::kAssigned, txn, &reply.pushes); break;
      case CommandKind::kInvestigate: text = I.inspect(ctx, ComplaintStatus::kInvestigating, txn, &reply.pushes); break;
      case CommandKind::kResolve: text = I.inspect(ctx, ComplaintStatus::kResolved, txn, &reply.pushes); break;
      case CommandKind::kReject: text = I.inspect(ctx, ComplaintStatus::kRejected, txn, &reply.pushes); break;
      default: break;
    }
    if (!text.is_ok()) {
      reply.pushes.clear();
      if (text.status().code() == Code::kFailedPrecondition) refusal = text.status().message();
      return text.status();  // rolls back: malformed input writes nothing
    }
    reply.text = *text;
    // A filed anonymous complaint's reply holds its bearer receipt, and its
    // record must not be joinable to the sender: neither is stored.
    reply.ephemeral = cmd.kind == CommandKind::kComplainAnonymously;
    if (!msg.message_id.empty()) {
      Status st = reply.ephemeral ? I.dedupe.record_anonymous(txn, msg) : I.dedupe.record(txn, msg, reply.text);
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  });
  if (!s.is_ok()) {
    if (!refusal.empty()) {
      reply.text = refusal;
      reply.pushes.clear();
      return reply;
    }
    return s;
  }
  return reply;
}

}  // namespace sunledger
