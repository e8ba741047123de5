// What officials do in chat: post lines, register and finish projects,
// reverse entries, post subsidy lists and publish a month.
#include <algorithm>

#include "bot/bot_impl.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Writes

namespace {

// Parses "收入|支出 类别 金额 摘要 [项目:名称] [资金:来源] [对方:名称] [日期:2022-11-05] [重复:确认]".
Result<TransactionLine> parse_post_line(const BodyLine& body, const std::string& month, const std::string& today) {
  auto words = split_words(body.text);
  TransactionLine t;
  t.source_line = body.number;
  // The corrections (issue #16): "期初余额 金额 资金:现金", "转账 金额 从:现金 到:银行存款",
  // "退回 金额 项目:水利建设 [资金:专项资金] [对方:区财政局]"; a description is optional.
  if (!words.empty()) {
    if (words[0] == "期初余额" || words[0] == "opening") t.kind = kOpeningBalanceKind;
    else if (words[0] == "转账" || words[0] == "transfer") t.kind = kTransferKind;
    else if (words[0] == "退回" || words[0] == "return") t.kind = kSpecialReturnKind;
  }
  size_t first_word = 3;
  if (!t.kind.empty()) {
    if (words.size() < 3)
      return invalid_argument("格式:期初余额 金额 资金:名称|转账 金额 从:资金 到:资金|退回 金额 项目:名称 (expected: opening|transfer|return AMOUNT ...)");
    words.insert(words.begin() + 1, "");  // no category: the kind is its own
    first_word = 3;
  } else {
    if (words.size() < 4)
      return invalid_argument("格式应为“收入|支出 类别 金额 摘要”,缺少内容 (expected: income|expense CATEGORY AMOUNT ITEM)");
    if (words[0] == "收入" || words[0] == "income") t.income = true;
    else if (words[0] == "支出" || words[0] == "expense") t.income = false;
    else
      return invalid_argument("第一项应为“收入”“支出”“期初余额”“转账”或“退回”,而不是“" + words[0] +
                              "” (must start with income, expense, opening, transfer or return)");
  }
  t.category = words[1];
  auto amount = parse_amount(words[2]);
  if (!amount.is_ok()) return amount.status();
  t.amount = *amount;
  std::string item;
  for (size_t i = first_word; i < words.size(); ++i) {
    std::string w = words[i];
    // Full-width colons are what Chinese keyboards type.
    if (auto p = w.find("\xEF\xBC\x9A"); p != std::string::npos) w.replace(p, 3, ":");
    auto colon = w.find(':');
    std::string key = colon == std::string::npos ? "" : w.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : w.substr(colon + 1);
    if (key == "项目" || key == "project") t.project = value;
    else if (key == "资金" || key == "fund" || ((key == "从" || key == "from") && t.kind == kTransferKind)) t.fund = value;
    else if ((key == "到" || key == "to") && t.kind == kTransferKind) t.to_fund = value;
    else if (key == "对方" || key == "party") t.counterparty = value;
    else if (key == "备注" || key == "note") t.note = value;
    else if (key == "日期" || key == "date") t.date = value;
    else if (key == "重复" || key == "repeat") {
      if (value != "确认" && value != "是" && value != "yes" && value != "confirm")
        return invalid_argument("“重复:”后面只能写“确认”,表示确实又发生了一笔相同的账 (repeat: takes only 确认/yes)");
      t.repeat = true;
    }
    else item += (item.empty() ? "" : " ") + words[i];
  }
  if (item.empty() && t.kind.empty()) return invalid_argument("缺少摘要(这笔钱是做什么的) (missing item description)");
  t.item = item;
  if (t.date.empty()) t.date = today.substr(0, 7) == month ? today : month + "-" + (month < today.substr(0, 7) ? "28" : "01");
  if (t.date.substr(0, 7) != month) return invalid_argument("日期 " + t.date + " 不在 " + month + " 内 (date outside the month)");
  return t;
}

// Whether a chat line names its date (日期:2022-11-05, date:…, full-width colon too).
bool has_date_word(const std::string& line) {
  for (const char* k : {"日期:", "日期\xEF\xBC\x9A", "date:", "date\xEF\xBC\x9A"})
    if (line.find(k) != std::string::npos) return true;
  return false;
}

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

}  // namespace

Result<std::string> Bot::Impl::post(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a) {
  if (ctx.args.empty() || !valid_month(ctx.args[0]))
    return say("请写明月份,例如“记账 2022-11”,下面每行一笔。(post needs a month, e.g. post 2022-11, then one entry per line)");
  const std::string month = ctx.args[0];
  if (cmd.body.empty())
    return say("“记账 " + month + "”下面每行写一笔:支出 工程款 157600 水渠修缮 项目:水利建设 (one entry per line below the command)");
  if (cmd.body.size() > kMaxBodyLines) return say("一次最多200笔,请分几次发送。(at most 200 entries per message)");
  std::vector<TransactionLine> lines;
  std::vector<std::string> errors;
  std::string day = today();
  std::set<std::string> assumed_dates;  // dates given to lines that named none
  for (const auto& body : cmd.body) {
    auto t = parse_post_line(body, month, day);
    if (!t.is_ok()) errors.push_back("第" + std::to_string(body.number) + "行: " + t.status().message());
    else lines.push_back(*t);
    if (t.is_ok() && !has_date_word(body.text)) assumed_dates.insert(t->date);
  }
  if (!errors.empty()) return say("未记账,请改正后重发 (nothing was posted; fix and resend):\n" + join_errors(errors));
  auto r = txn.post_transactions(ctx.village->id, lines, a);
  if (!r.is_ok()) return shown_to_person(r.status(), "未记账,请改正后重发 (nothing was posted; fix and resend):\n");
  // Month so far, including what this message added (same transaction).
  auto totals = txn.month_totals(ctx.village->id, month);
  if (!totals.is_ok()) return totals.status();
  Fen income = totals->income, expense = totals->expense;
  // A line without 日期: is booked on a date we chose: say which.
  std::string dated;
  for (const auto& d : assumed_dates)
    dated += "没有写“日期:”的记为" + d + "。(lines without a date are booked on " + d + ")\n";
  std::string range = "#" + std::to_string(r->front()) + (r->size() > 1 ? "至#" + std::to_string(r->back()) : "");
  // Publishing pushes the notice only to groups a bot can reach: the hint
  // promises no push that publishing would not make.
  bool reachable = false;
  if (auto g = ctx.dir->groups_of.find(ctx.village->id); g != ctx.dir->groups_of.end())
    for (const auto& bound : g->second) reachable |= group_push_problem(bound.first).empty();
  std::string then = reachable ? "结账并推送到村民群" : "结账公开(本村还没有能推送通知的村民群)";
  return "已记账" + std::to_string(r->size()) + "笔(" + range + ")。(posted " + std::to_string(r->size()) +
         (r->size() == 1 ? " entry)\n" : " entries)\n") +
         ctx.village->name + " " + month_zh(month) + "目前合计(未公开):收入" + format_yuan_with_wan(income) + ",支出" +
         format_yuan_with_wan(expense) + "\n" + dated +
         "公开前可用“冲销 条目号 原因”更正;发送“公开 " + month + "”" + then + "。\n";
}

Result<std::string> Bot::Impl::project_add(const Context& ctx, WriteTxn& txn, const Author& a) {
  if (ctx.args.size() < 2)
    return say("格式:立项 名称 批复金额 [专项],例如“立项 水利建设 30万 专项”。(project add NAME AMOUNT [special])");
  auto amount = parse_amount(ctx.args[1]);
  if (!amount.is_ok()) return shown_to_person(amount.status());
  bool special = false;
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    if (ctx.args[i] == "专项" || ctx.args[i] == "special" || ctx.args[i] == "专项资金") special = true;
    else return say("没看懂“" + ctx.args[i] + "”:只能写“专项”。(only “special” may follow the amount)");
  }
  auto r = txn.register_project(ctx.village->id, {ctx.args[0], *amount, special}, a);
  if (!r.is_ok()) return shown_to_person(r.status());
  return "已立项:" + ctx.args[0] + ",批复" + format_yuan_with_wan(*amount) + (special ? ",专项资金(只能用于本项目)" : "") +
         "。第#" + std::to_string(*r) + "条。(project registered)\n";
}

Result<std::string> Bot::Impl::reverse(const Context& ctx, WriteTxn& txn, const Author& a) {
  if (ctx.args.size() < 2) return say("格式:冲销 条目号 原因,例如“冲销 12 重复记账”。(reverse INDEX REASON)");
  std::string idx = ctx.args[0];
  if (!idx.empty() && idx[0] == '#') idx = idx.substr(1);
  if (idx.empty() || idx.size() > 12 || idx.find_first_not_of("0123456789") != std::string::npos)
    return say("条目号“" + ctx.args[0] + "”应为数字,例如 12 或 #12。(the entry index must be a number)");
  std::string reason;
  for (size_t i = 1; i < ctx.args.size(); ++i) reason += (reason.empty() ? "" : " ") + ctx.args[i];
  auto r = txn.reverse(ctx.village->id, std::stoull(idx), reason, a);
  if (!r.is_ok()) return shown_to_person(r.status());
  return "已冲销第#" + idx + "条(冲销记录#" + std::to_string(*r) + "),原记录仍保留可查。原因:" + reason +
         " (reversed; the original stays visible)\n";
}

Result<std::string> Bot::Impl::subsidy_list(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a) {
  if (ctx.args.empty() || !valid_month(ctx.args[0]))
    return say("请写明月份,例如“低保名单 2022-11”,下面每行:姓名 身份证号 金额 [人数]。(subsidy list needs a month)");
  if (cmd.body.empty()) return say("名单为空:下面每行写“姓名 身份证号 金额 [人数]”。(one recipient per line)");
  if (cmd.body.size() > kMaxBodyLines) return say("一次最多200户,请分几次发送。(at most 200 lines per message)");
  if (options.identity_salt.size() < 16) return internal_error("identity salt is not configured");
  std::vector<SubsidyLine> lines;
  std::vector<std::string> errors;
  for (const auto& body : cmd.body) {
    auto w = split_words(body.text);
    std::string prefix = "第" + std::to_string(body.number) + "行: ";
    if (w.size() < 3 || w.size() > 4) {
      errors.push_back(prefix + "格式应为“姓名 身份证号 金额 [人数]” (expected NAME ID AMOUNT [PERSONS])");
      continue;
    }
    // The identity number is checked, hashed and masked here; it is never
    // stored, logged or repeated back, not even in an error. A number in
    // another column (columns swapped) would be stored or quoted as a name,
    // amount or count, so such a line is refused naming only the field.
    struct Field {
      size_t word;
      const char* zh;
      const char* en;
    };
    std::string misplaced;
    for (Field f : {Field{0, "姓名", "name"}, Field{2, "金额", "amount"}, Field{3, "人数", "persons"}})
      if (misplaced.empty() && f.word < w.size() && looks_like_resident_id(w[f.word]))
        misplaced = std::string("“") + f.zh + "”一栏像是身份证号,请检查各栏的顺序 (the " + f.en +
                    " field looks like an identity number; check the column order)";
    if (!misplaced.empty()) {
      errors.push_back(prefix + misplaced);
      continue;
    }
    if (Status s = validate_resident_id(w[1]); !s.is_ok()) {
      errors.push_back(prefix + s.message());
      continue;
    }
    auto amount = parse_amount(w[2]);
    if (!amount.is_ok()) {
      errors.push_back(prefix + amount.status().message());
      continue;
    }
    int persons = 1;
    if (w.size() == 4) {
      if (w[3].size() > 2 || w[3].find_first_not_of("0123456789") != std::string::npos || std::stoi(w[3]) < 1) {
        errors.push_back(prefix + "人数应为1到50的数字 (persons must be 1 to 50)");
        continue;
      }
      persons = std::stoi(w[3]);
    }
    lines.push_back({"低保", mask_person_name(w[0]), mask_resident_id(w[1]), hash_resident_id(options.identity_salt, w[1]),
                     *amount, persons});
  }
  if (!errors.empty()) return say("未登记,请改正后重发 (nothing was recorded; fix and resend):\n" + join_errors(errors));
  auto r = txn.post_subsidies(ctx.village->id, ctx.args[0], lines, a);
  if (!r.is_ok()) return shown_to_person(r.status(), "未登记 (nothing was recorded):");
  Fen total = 0;
  std::string names;
  for (const auto& l : lines) {
    total += l.amount;
    names += l.name_masked + " ";
  }
  return "已登记" + month_zh(ctx.args[0]) + "低保名单" + std::to_string(lines.size()) + "户,合计" + format_yuan_with_wan(total) +
         ":" + names + "(身份证号只保存加密摘要 / identity numbers are stored only as keyed hashes)\n";
}

Result<Bot::Published> Bot::Impl::publish_in(const std::string& village_id, const std::string& month, WriteTxn& txn,
                                             const Author& a) {
  auto d = directory();
  if (!d.is_ok()) return d.status();
  const Village* v = (*d)->find_village(village_id);
  if (!v) return not_found("没有这个村“" + village_id + "” (no such village)");
  if (!valid_month(month)) return invalid_argument("月份应写成 2022-11 这样 (month must be YYYY-MM)");
  // Flags are computed from what is already committed: the month's lines.
  auto b = village_books(*v);
  if (!b.is_ok()) return b.status();
  Published p;
  // The flags of the books as this statement publishes them: lines of later
  // months, still open, raise nothing in it. The statement signs them (its
  // "alerts"): what the month shows from then on, whatever is posted later.
  VillageBooks as_published;
  {
    auto cache = village_cache(*v);
    std::lock_guard<std::mutex> books_lock(cache->mu);
    BooksOptions o{options.cash_limit, options.publish_by_day, today()};
    as_published = cache->published.snapshot(o, month);
  }
  std::vector<Flag> flags = notice_flags(as_published.flags, month);
  // A leaf stays under 64 KiB with the statement's own figures: the alerts get half.
  nlohmann::json alerts = recorded_alerts_json(flags, kMaxLeafBytes / 2);
  auto idx = txn.close_month(v->id, month, a, &p.close, &alerts);
  if (!idx.is_ok()) return idx.status();
  auto shown = recorded_alerts(p.close.statement, v->id);
  // The offline proof comes last: the long block after what people read.
  p.notice = render_notice(v->name, p.close, shown ? *shown : flags) + complaint_counts(v->id, month) +
             web_line(v->id, month) + render_proof_block(p.close);
  if (auto it = (*d)->groups_of.find(v->id); it != (*d)->groups_of.end()) {
    for (const auto& [bound_bot, chat] : it->second) {
      // A named copy: clang (before 16) refuses a structured binding captured by a lambda.
      const std::string bot = bound_bot;
      // Named by its month, so a server with a witness quorum holds it until
      // the month's checkpoint is cosigned (whatever this process's quorum).
      if (Status s = Outbox::enqueue(txn, {bot, chat, p.notice, Audience::kGroup}, HeldFor{v->id, month}); !s.is_ok())
        return s;
      std::string problem = group_push_problem(bot);
      if (problem.empty()) {
        ++p.groups_notified;
        continue;
      }
      auto u = std::find_if(p.groups_unreachable.begin(), p.groups_unreachable.end(),
                            [&](const UnreachableGroups& g) { return g.bot_id == bot; });
      if (u == p.groups_unreachable.end()) u = p.groups_unreachable.insert(u, UnreachableGroups{bot, 0, problem});
      ++u->groups;
    }
  }
  p.waiting_for_witnesses = options.witness_quorum;
  return p;
}

std::string Bot::unreachable_groups_text(const Published& p) {
  std::string out;
  for (const auto& u : p.groups_unreachable) {
    std::string n = std::to_string(u.groups);
    bool unknown = u.problem == BotOptions::kNotConfigured;
    out += n + "个村民群收不到通知:机器人 " + u.bot_id + (unknown ? " 不在 bots.json 中" : " 没有配置推送地址 push_url") +
           ",请乡镇管理员配置 (" + n + (u.groups == 1 ? " group" : " groups") + " cannot be reached: bot " + u.bot_id +
           (unknown ? " is not in bots.json" : " has no push_url") + "; the township administrator configures it)\n";
  }
  return out;
}

Result<std::string> Bot::Impl::publish_command(const Context& ctx, WriteTxn& txn, const Author& author,
                                               std::vector<Push>* pushes) {
  if (ctx.args.empty()) return say("请写明月份,例如“公开 2022-11”。(publish needs a month)");
  auto p = publish_in(ctx.village->id, ctx.args[0], txn, author);
  if (!p.is_ok()) return shown_to_person(p.status(), "未公开,没有做任何改动 (nothing was published): ");
  if (auto groups = ctx.dir->groups_of.find(ctx.village->id); groups != ctx.dir->groups_of.end())
    for (const auto& [bot, chat] : groups->second) pushes->push_back({bot, chat, p->notice, Audience::kGroup});
  // Only groups a bot can push to count as notified (issue #13).
  std::string groups = std::to_string(p->groups_notified);
  std::string en_groups = groups + (p->groups_notified == 1 ? " group" : " groups");
  if (p->groups_notified > 0 && p->waiting_for_witnesses > 0) {
    // Held until the witnesses cosigned (issue #15): not sent yet, so not said to be.
    std::string k = std::to_string(p->waiting_for_witnesses);
    return "已公开" + ctx.village->name + month_zh(ctx.args[0]) + "账目,等待" + k + "个见证方联署后推送到" + groups +
           "个村民群。核验码:" + checkpoint_short_form(p->close.checkpoint) + " (published; the notice goes to " +
           en_groups + " once " + k + (p->waiting_for_witnesses == 1 ? " witness has" : " witnesses have") +
           " cosigned its checkpoint)\n" + Bot::unreachable_groups_text(*p);
  }
  return "已公开" + ctx.village->name + month_zh(ctx.args[0]) + "账目," +
         (p->groups_notified > 0 ? "将推送到" + groups + "个村民群" : std::string("没有能推送到的村民群")) +
         "。核验码:" + checkpoint_short_form(p->close.checkpoint) + " (published; " + en_groups + " to be notified)\n" +
         Bot::unreachable_groups_text(*p);
}

Result<std::string> Bot::Impl::project_finish(const Context& ctx, WriteTxn& txn, const Author& author) {
  if (ctx.args.empty()) return say("格式:结项 项目名称,例如“结项 水利建设”。(project finish NAME)");
  auto r = txn.finish_project(ctx.village->id, ctx.args[0], author);
  if (!r.is_ok()) return shown_to_person(r.status());
  return "项目“" + ctx.args[0] + "”已结项(第#" + std::to_string(*r) + "条)。专项资金如有结余,请记账说明去向或退回。(project finished)\n";
}

}  // namespace sunledger
