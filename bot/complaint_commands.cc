// Complaints in chat: filing (named or anonymous), the reporter's follow-up
// and rating, and the inspectors' queue, view and transitions.
#include "bot/bot_impl.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Complaints


bool Bot::Impl::inspector_covers(const Context& ctx, const std::string& village) const {
  auto it = ctx.dir->villages.find(village);
  if (it == ctx.dir->villages.end()) return false;
  for (const auto& a : ctx.inspector_areas)
    if (area_covers(a, it->second)) return true;
  return false;
}

Status Bot::Impl::record_seen(const InboundMessage& msg, const Context& ctx) {
  if (!msg.group || !ctx.village) return Status::ok();
  auto key = std::make_tuple(msg.bot_id, msg.sender_id, ctx.village->id);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (seen.count(key)) return Status::ok();
  }
  // Recorded already, by this node before a restart or by another node on
  // the same database: a read, where a write would wait for the log's
  // group commit and its fsync. Only a row signed by our key counts: one
  // unsigned (an older version's) or forged is signed again below.
  bool recorded = false;
  Status looked = ledger->read([&](Ledger::ReadTxn& r) -> Status {
    auto villages = signed_rows::seen_villages(r.sql(), ledger->signer().public_key(), msg.bot_id, msg.sender_id);
    if (!villages.is_ok()) return villages.status();
    recorded = std::find(villages->begin(), villages->end(), ctx.village->id) != villages->end();
    return Status::ok();
  });
  if (!looked.is_ok()) return looked;
  if (!recorded) {
    // Who belongs to which village, for complaints sent later in private
    // chat. Written once per person and village, not on every question.
    Status s = ledger->write([&](WriteTxn& txn) -> Status {
      return signed_rows::record_seen_member(txn, msg.bot_id, msg.sender_id, ctx.village->id);
    });
    // A folder that cannot sign (a backup holds only the verifier key)
    // records nobody, and still answers the question.
    if (s.code() == Code::kPermissionDenied) return Status::ok();
    if (!s.is_ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu);
  seen.insert(key);
  return Status::ok();
}

Status Bot::Impl::queue_status_push(WriteTxn& txn, const Complaint& c, std::vector<Push>* pushes) {
  // Only to the reporter, only privately: a bot without a private channel
  // sends nothing (the reporter was told at filing to ask 进度 instead).
  if (c.anonymous || !c.reporter || c.reporter->user_id.empty() || !reaches_person(c.reporter->bot_id)) return Status::ok();
  const ComplaintEvent& e = c.events.back();
  std::string text = "您的投诉(编号" + c.receipt + ")有新进展:" + complaint_status_zh(c.status);
  if (!e.assignee.empty()) text += ",处理人:" + e.assignee;
  if (!e.note.empty()) text += "。说明:" + e.note;
  text += "\n发送“进度 " + c.receipt + "”查看全部进展。(your complaint has a new status)\n";
  Push p{c.reporter->bot_id, c.reporter->user_id, text, Audience::kPerson};
  if (Status s = Outbox::enqueue(txn, p); !s.is_ok()) return s;
  pushes->push_back(p);
  return Status::ok();
}

namespace {
// The example keeps the sender's own form: an anonymous reporter copying a
// named example ("投诉 双江村 …") would file under their name.
std::string name_the_village(bool anonymous) {
  return anonymous ? "请写明是哪个村的问题,例如“匿名投诉 双江村 内容”。(name the village: anonymous-complain VILLAGE TEXT)"
                   : "请写明是哪个村的问题,例如“投诉 双江村 内容”。(name the village: complain VILLAGE TEXT)";
}
}  // namespace

Result<std::string> Bot::Impl::complain(const Context& ctx, const ParsedCommand& cmd, bool anonymous, WriteTxn& txn,
                                        std::vector<Push>* pushes) {
  const auto& msg = *ctx.msg;
  // In a group everyone reads the reply: an anonymous complaint there would
  // name its reporter, and a receipt there would be anyone's. Nothing is filed.
  if (msg.group && anonymous)
    return say("匿名投诉请私信本机器人发送,在群里发送会让大家知道是谁反映的。本次没有登记。(send anonymous complaints to the "
               "bot in private chat; nothing was filed)");
  if (msg.group && !reaches_person(msg.bot_id) && options.takes_private_messages &&
      !options.takes_private_messages(msg.bot_id))
    return say("本机器人只在群里,不能私聊,无法私下受理投诉。请直接向镇纪委反映;管理员为机器人配置企业微信应用"
               "(corp_id、agent_id、corp_secret)后,就可以私信机器人投诉。本次没有登记。(this bot lives only in the "
               "group and cannot take private messages: report to the township discipline commission directly; an "
               "administrator can configure the WeCom app so that complaints can be sent privately; nothing was filed)");
  if (msg.group && !reaches_person(msg.bot_id))
    return say("本机器人无法私信把回执发给您,请私信本机器人发送投诉,内容和回执都不会出现在群里。本次没有登记。(this bot cannot "
               "send you the receipt privately: please complain in private chat; nothing was filed)");
  const Village* village = ctx.village;
  std::string text = cmd.rest;
  if (!msg.group && !cmd.args.empty() && ctx.dir->find_village(cmd.args[0]) == village && village) {
    // "投诉 小河村 内容": the village was named first.
    if (text.rfind(cmd.args[0], 0) == 0) text = text.substr(cmd.args[0].size());
    size_t b = text.find_first_not_of(" \t\r\n");
    text = b == std::string::npos ? "" : text.substr(b);
  } else if (!msg.group) {
    // A private complaint concerns the village the sender belongs to.
    std::set<std::string> candidates(ctx.official_villages.begin(), ctx.official_villages.end());
    auto seen = signed_rows::seen_villages(txn.sql(), ledger->signer().public_key(), msg.bot_id, msg.sender_id);
    if (!seen.is_ok()) return seen.status();
    candidates.insert(seen->begin(), seen->end());
    if (candidates.size() != 1)
      return say(candidates.empty() ? name_the_village(anonymous)
                                    : "您属于多个村,请写明村名,例如“" + std::string(anonymous ? "匿名投诉" : "投诉") +
                                          " 双江村 内容”。(you belong to several villages; name one)");
    village = ctx.dir->find_village(*candidates.begin());
  }
  if (!village) return say(name_the_village(anonymous));
  if (text.empty()) return say("请在“投诉”后面写明反映的问题,例如“投诉 #25 道路工程款用了水利专项资金”。(write the complaint after the command)");
  std::optional<Reporter> reporter;
  // Pushes to the reporter are addressed to their platform user id, the one
  // address every platform's app API takes for one person.
  if (!anonymous) reporter = Reporter{msg.bot_id, msg.sender_id, msg.sender_name, msg.sender_id};
  auto c = complaints.file(txn, village->id, text, reporter);
  if (!c.is_ok()) return shown_to_person(c.status());
  std::string deadline = local_day(complaint_deadline(*c, options.complaint_deadlines), ledger->utc_offset_minutes());
  std::string out = "已受理您对" + village->name + "的投诉,编号:" + c->receipt + "\n";
  out += "纪委将在" + deadline + "前转办,发送“进度 " + c->receipt + "”随时查询办理情况;办结后可回复“满意 编号”或“不满意 编号 原因”。\n";
  if (!c->links.empty()) {
    out += "已关联:";
    for (size_t i = 0; i < c->links.size(); ++i) out += (i ? "、" : "") + c->links[i];
    out += "\n";
  }
  out += anonymous ? "匿名投诉不保存您的身份,编号是查询进度的唯一凭证,请妥善保存,不要告诉别人。(anonymous: the receipt is the "
                     "only way to follow it; keep it to yourself)\n"
                   : "您的身份只有纪检监察人员可见。(only the discipline inspectors can see who complained)\n";
  if (!anonymous && !reaches_person(msg.bot_id))
    out += "本机器人无法主动私信通知您,请随时发送“进度 " + c->receipt +
           "”查询办理情况。(this bot cannot message you first: ask with 进度 and the receipt)\n";
  if (!msg.group) return out;
  // Filed in a group: the receipt goes to the reporter privately, and the
  // group sees neither the receipt nor the text.
  Push p{msg.bot_id, msg.sender_id, out, Audience::kPerson};
  if (Status s = Outbox::enqueue(txn, p); !s.is_ok()) return s;
  pushes->push_back(p);
  return std::string("已受理,回执已私信发给您。以后请私信本机器人投诉,内容不会出现在群里。(received; the receipt was sent to you "
                     "privately)\n");
}

bool Bot::Impl::too_many_failed_lookups(const InboundMessage& msg, bool count_one) {
  int64_t now = ledger->clock().now_unix_seconds();
  std::lock_guard<std::mutex> lock(lookup_mu);
  auto& times = failed_lookups[{msg.bot_id, msg.sender_id}];
  while (!times.empty() && times.front() <= now - 3600) times.pop_front();
  if (count_one) times.push_back(now);
  if (failed_lookups.size() > 100'000) {
    for (auto it = failed_lookups.begin(); it != failed_lookups.end();)
      it = it->second.empty() || it->second.back() <= now - 3600 ? failed_lookups.erase(it) : std::next(it);
  }
  return static_cast<int>(times.size()) >= kFailedLookupsPerHour;
}

Result<std::string> Bot::Impl::reporter_receipt(const Context& ctx, size_t* used) {
  const auto& msg = *ctx.msg;
  if (too_many_failed_lookups(msg, false)) return say(kTooManyLookups);
  auto [receipt, n] = take_receipt(ctx.args);
  *used = n;
  Result<Complaint> c = not_found("");
  if (receipt) c = complaints.get(*receipt);
  if (c.is_ok()) {
    if (c->anonymous && c->receipt_exposed)
      return say(kReceiptBurnt);
    if (c->anonymous) return c->receipt;  // the receipt is the bearer secret
    if (c->reporter && c->reporter->bot_id == msg.bot_id && c->reporter->user_id == msg.sender_id) return c->receipt;
  } else if (c.status().code() != Code::kNotFound) {
    return c.status();
  }
  too_many_failed_lookups(msg, true);
  return say(kUnknownReceipt);
}

namespace {
// A receipt in a group is everyone's: the group would read the status and the
// inspectors' notes, learn who reported, and hold an anonymous bearer receipt.
// One answer for every receipt, genuine or made up, burnt or not: a
// different one would tell the group that the string was a real anonymous
// receipt, and so that its poster is probably the reporter.
const char* kReceiptInAGroup =
    "请私信本机器人查询或评价投诉,不要把编号发到群里;匿名投诉的编号发到群里后即停用,投诉仍在办理。(ask about or rate a "
    "complaint in private chat; do not post its receipt in the group: an anonymous receipt posted here stops working, "
    "the complaint goes on)";
}  // namespace

Result<bool> Bot::Impl::burn_if_anonymous(WriteTxn& txn, const std::vector<std::string>& args) {
  auto [receipt, used] = take_receipt(args);
  if (!receipt) return false;
  auto c = complaints.load(txn, *receipt);
  if (!c.is_ok() || !c->anonymous) return false;
  auto exposed = complaints.expose_receipt(txn, c->receipt);
  if (!exposed.is_ok()) return exposed.status();
  return true;
}

Result<std::string> Bot::Impl::complaint_status(const Context& ctx) {
  if (ctx.msg->group) {
    // Burnt or not, the group gets the same answer (see kReceiptInAGroup).
    Status s = ledger->write([&](WriteTxn& txn) -> Status { return burn_if_anonymous(txn, ctx.args).status(); });
    // The burn is a signed event: a folder that cannot sign (a backup) or a
    // ledger that failed verification (appends refused) cannot record it,
    // and the group is still told not to post receipts.
    if (!s.is_ok() && s.code() != Code::kPermissionDenied && s.code() != Code::kDataLoss) return s;
    return say(kReceiptInAGroup);
  }
  if (ctx.args.empty()) return say("请写明投诉编号,例如“进度 4821-0937-5516”。(status needs the receipt)");
  size_t used = 0;
  auto receipt = reporter_receipt(ctx, &used);
  if (!receipt.is_ok()) return receipt.status();
  auto c = complaints.get(*receipt);
  if (!c.is_ok()) return c.status().code() == Code::kNotFound ? say(kUnknownReceipt) : c.status();
  int offset = ledger->utc_offset_minutes();
  std::string out = "【投诉 " + c->receipt + "】状态:" + complaint_status_zh(c->status) + "\n";
  for (const auto& e : c->events) {
    out += "- " + local_day(e.at, offset) + " " + complaint_event_zh(e.kind);
    if (!e.assignee.empty()) out += ",处理人:" + e.assignee;
    if (!e.note.empty()) out += ",说明:" + e.note;
    out += "\n";
  }
  int64_t deadline = complaint_deadline(*c, options.complaint_deadlines);
  if (deadline) {
    out += "下一个期限:" + local_day(deadline, offset);
    if (complaint_overdue(*c, options.complaint_deadlines, ledger->clock().now_unix_seconds())) out += "(已逾期 / overdue)";
    out += "\n";
  }
  return out;
}

Result<std::string> Bot::Impl::rate(const Context& ctx, bool satisfied, WriteTxn& txn) {
  if (ctx.msg->group) {
    // A refusal would roll the burn back with it: a burnt receipt is an
    // answer, committed with this transaction.
    auto burnt = burn_if_anonymous(txn, ctx.args);
    if (!burnt.is_ok()) return burnt.status();
    if (*burnt) return std::string(kReceiptInAGroup) + "\n";  // committed, yet answered as any other
    return say(kReceiptInAGroup);
  }
  if (ctx.args.empty()) return say("请写明投诉编号,例如“满意 4821-0937-5516”。(needs the receipt)");
  size_t used = 0;
  auto receipt = reporter_receipt(ctx, &used);
  if (!receipt.is_ok()) return receipt.status();
  std::string reason = join_from(ctx.args, used);
  auto c = complaints.rate(txn, *receipt, satisfied, reason);
  if (!c.is_ok()) {
    if (c.status().code() == Code::kNotFound) return say(kUnknownReceipt);
    return shown_to_person(c.status());
  }
  if (satisfied) return "感谢您的评价,投诉" + c->receipt + "已记为满意。(thank you; recorded as satisfied)\n";
  if (c->status == ComplaintStatus::kReopened)
    return "已记录您的不满意,投诉" + c->receipt + "已重新交纪委办理。(recorded; the complaint is reopened for the inspectors)\n";
  return "已记录您的不满意。办结已超过" + std::to_string(options.complaint_deadlines.rating_days) +
         "天,未重新办理;如有新情况请重新投诉。(recorded; too late to reopen, please file again)\n";
}

Result<std::string> Bot::Impl::queue(const Context& ctx) {
  if (ctx.msg->group) return say("请私信机器人查看待办。(use this in private chat)");
  std::vector<std::string> villages;
  for (const auto& [id, v] : ctx.dir->villages)
    if (inspector_covers(ctx, id)) villages.push_back(id);
  ComplaintFilter f;
  f.villages = villages;
  f.open_only = true;
  auto list = complaints.list(f);
  if (!list.is_ok()) return list.status();
  int64_t now = ledger->clock().now_unix_seconds();
  std::stable_sort(list->begin(), list->end(), [&](const Complaint& a, const Complaint& b) {
    return complaint_overdue(a, options.complaint_deadlines, now) > complaint_overdue(b, options.complaint_deadlines, now);
  });
  std::vector<std::string> lines;
  int offset = ledger->utc_offset_minutes();
  for (const auto& c : *list) {
    bool overdue = complaint_overdue(c, options.complaint_deadlines, now);
    const Village* v = ctx.dir->find_village(c.village);
    lines.push_back(std::string(overdue ? "⚠逾期 " : "") + c.receipt + " " + (v ? v->name : c.village) + " " +
                    complaint_status_zh(c.status) + " 受理于" + local_day(c.filed_at, offset) + " 期限" +
                    local_day(complaint_deadline(c, options.complaint_deadlines), offset) + "\n");
  }
  if (lines.empty()) lines.push_back("没有待办的投诉。(no open complaints)\n");
  int page = !ctx.args.empty() && ctx.args[0].size() <= 4 && ctx.args[0].find_first_not_of("0123456789") == std::string::npos
                 ? std::stoi(ctx.args[0])
                 : 1;
  return paginate("【待办投诉 (queue)】\n", lines, page, options.max_reply_bytes, "发送“待办");
}

Result<std::string> Bot::Impl::show(const Context& ctx) {
  if (ctx.msg->group) return say("投诉内容只能私信查看。(use this in private chat)");
  auto [receipt, used] = take_receipt(ctx.args);
  if (!receipt) return say(kUnknownReceipt);
  auto c = complaints.get(*receipt);
  if (!c.is_ok() || !inspector_covers(ctx, c->village)) return say(kUnknownReceipt);
  int offset = ledger->utc_offset_minutes();
  const Village* v = ctx.dir->find_village(c->village);
  std::string out = "【投诉 " + c->receipt + "】" + (v ? v->town + v->name : c->village) + " 状态:" + complaint_status_zh(c->status) + "\n";
  out += "反映人:" + (c->anonymous ? std::string("匿名 (anonymous)")
                                  : c->reporter->name + "(" + c->reporter->bot_id + "/" + c->reporter->user_id + ")") + "\n";
  out += "内容:" + c->text + "\n";
  if (!c->links.empty()) {
    out += "关联:";
    for (size_t i = 0; i < c->links.size(); ++i) out += (i ? "、" : "") + c->links[i];
    out += "\n";
  }
  for (const auto& e : c->events) {
    std::string actor = e.actor == "reporter" ? "反映人" : e.actor;
    out += "- " + local_day(e.at, offset) + " " + complaint_event_zh(e.kind) + (actor.empty() ? "" : "(" + actor + ")");
    if (!e.assignee.empty()) out += " 处理人:" + e.assignee;
    if (!e.note.empty()) out += " " + e.note;
    out += "\n";
  }
  int64_t deadline = complaint_deadline(*c, options.complaint_deadlines);
  if (deadline) out += "期限:" + local_day(deadline, offset) + "\n";
  return paginate("", {out}, 1, options.max_reply_bytes * 2, "");
}

Result<std::string> Bot::Impl::inspect(const Context& ctx, ComplaintStatus to, WriteTxn& txn, std::vector<Push>* pushes) {
  if (ctx.msg->group) return say("请私信机器人办理投诉。(use this in private chat)");
  auto [receipt, used] = take_receipt(ctx.args);
  if (!receipt) return say(ctx.args.empty() ? "请写明投诉编号。(needs the receipt)" : kUnknownReceipt);
  auto current = complaints.load(txn, *receipt);
  if (!current.is_ok() || !inspector_covers(ctx, current->village)) return say(kUnknownReceipt);
  std::string assignee, note;
  if (to == ComplaintStatus::kAssigned) {
    assignee = ctx.args.size() > used ? ctx.args[used] : "";
    note = join_from(ctx.args, used + 1);
  } else {
    note = join_from(ctx.args, used);
  }
  auto c = complaints.transition(txn, *receipt, to, note, assignee, ctx.msg->sender_id);
  if (!c.is_ok()) {
    return shown_to_person(c.status());
  }
  if (Status s = queue_status_push(txn, *c, pushes); !s.is_ok()) return s;
  return "投诉" + c->receipt + "已改为“" + complaint_status_zh(c->status) + "”" +
         (c->anonymous ? "(匿名投诉,不推送)"
                       : pushes->empty() ? "(本机器人无法私信反映人,反映人可发送“进度”查询)" : ",已通知反映人") +
         "。(status changed)\n";
}

Result<std::string> Bot::Impl::sign_in_link(const Context& ctx, WriteTxn& txn) {
  if (ctx.msg->group)
    return say("登录链接只能私信发送,请私信机器人发送“登录”。(the sign-in link goes privately: send 登录 to the bot in "
               "private chat)");
  auto token = sign_in.issue_link(txn, ctx.msg->bot_id, ctx.msg->sender_id);
  if (!token.is_ok()) return token.status();
  // The path alone when no public address is set: the inspector knows the host.
  return "【检查台登录 (dashboard sign-in)】\n" + options.public_url + "/inspect/login?t=" + *token +
         "\n10分钟内有效,只能用一次,请勿转发。(valid for 10 minutes, once; do not forward it)\n";
}

Result<Bot::ComplaintCounts> Bot::Impl::count_complaints(const std::string& village, const std::string& month,
                                                        int64_t as_of) {
  ComplaintFilter f;
  f.villages = {village};
  auto list = complaints.list(f);
  if (!list.is_ok()) return list.status();
  int offset = ledger->utc_offset_minutes();
  // What happened before `now` counts (as_of itself excluded: an anonymous
  // filing is dated to the start of its day); without as_of, up to this second.
  int64_t now = as_of != 0 ? as_of : ledger->clock().now_unix_seconds() + 1;
  ComplaintCounts n;
  for (const auto& c : *list) {
    if (c.filed_at >= now) continue;  // filed after the moment counted
    n.any = true;
    bool resolved_then = c.resolved_at != 0 && c.resolved_at < now;
    if (local_day(c.filed_at, offset).substr(0, 7) == month) ++n.received;
    if (resolved_then && local_day(c.resolved_at, offset).substr(0, 7) == month) ++n.resolved;
    // A rejection keeps no time of its own: counted as closed from the start.
    bool closed_then = c.status == ComplaintStatus::kRejected || (c.status == ComplaintStatus::kResolved && resolved_then);
    if (!closed_then) ++n.open;
    if (!closed_then && complaint_overdue(c, options.complaint_deadlines, now)) ++n.overdue;
  }
  return n;
}

std::string Bot::Impl::complaint_counts(const std::string& village, const std::string& month) {
  auto n = count_complaints(village, month);
  if (!n.is_ok() || !n->any) return "";
  std::string out = "投诉:本月受理" + std::to_string(n->received) + "件,办结" + std::to_string(n->resolved) + "件,在办" +
                    std::to_string(n->open) + "件,逾期" + std::to_string(n->overdue) + "件。";
  auto cp = ledger->checkpoint(Complaints::kLogName);
  if (cp.is_ok()) out += "投诉台账核验码:" + checkpoint_short_form(*cp);
  return out + "\n";
}

}  // namespace sunledger
