// What anyone may ask: help, accounts, details, projects, subsidies, balance,
// verification and alerts, answered from the cached books.
#include "bot/bot_impl.h"
#include "ledger/chart.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Queries

// Generated from the command table: every command the sender may use, in
// sections by role, each with its usage and what it does.
Result<std::string> Bot::Impl::help(const Context& ctx) {
  bool official = ctx.official || !ctx.official_villages.empty();
  bool inspector = !ctx.inspector_areas.empty();
  std::vector<std::string> lines;
  // A bot nobody can message privately (a WeCom group robot) lists no
  // private-only command: "send it privately" could not be followed.
  bool private_ok = takes_private(ctx.msg->bot_id);
  bool any_private = false;
  auto section = [&](CommandRole role) {
    for (const auto& c : command_table()) {
      if (c.role != role || c.kind == CommandKind::kHelp) continue;
      // A named complaint in a group needs a bot that can send the receipt
      // privately; on one that cannot, it works in private chat only.
      bool private_here = c.private_only || (c.kind == CommandKind::kComplain && !reaches_person(ctx.msg->bot_id));
      if (private_here && !private_ok) continue;
      any_private |= private_here;
      lines.push_back(std::string(c.usage) + "  " + std::string(c.what) + (private_here ? " [私信]" : "") + "\n");
    }
  };
  section(CommandRole::kAnyone);
  if (official) {
    lines.push_back("—— 村干部 (officials) ——\n");
    section(CommandRole::kOfficial);
  }
  if (inspector) {
    lines.push_back("—— 纪检监察 (inspectors) ——\n");
    section(CommandRole::kInspector);
  }
  if (official || inspector) section(CommandRole::kOfficialOrInspector);
  if (any_private)
    lines.push_back("[私信]的命令请私信机器人发送;编号即投诉回执号;私信查询某村时在命令后写村名,如“账目 双江村 2022-11”。"
                    "(private-chat commands; receipts; name the village in private chat)\n");
  else if (!private_ok)
    lines.push_back("本机器人只在群里,不能私聊:投诉请直接向镇纪委反映。(this bot lives only in the group: report problems "
                    "to the township discipline commission directly)\n");
  if (std::string web = web_line(ctx.village ? ctx.village->id : ""); !web.empty()) lines.push_back(web);
  int page = !ctx.args.empty() && ctx.args[0].size() <= 2 && ctx.args[0].find_first_not_of("0123456789") == std::string::npos
                 ? std::stoi(ctx.args[0])
                 : 1;
  // Someone who is both an official and an inspector gets more than one
  // WeCom message holds: paged like every long answer.
  return paginate("【村务监督机器人 可用命令】(commands)\n", lines, page, options.max_reply_bytes, "发送“帮助");
}

Result<std::string> Bot::Impl::last_closed_or_arg(const Context& ctx, const VillageBooks& b, size_t arg) {
  if (ctx.args.size() > arg) {
    const std::string& m = ctx.args[arg];
    if (!valid_month(m)) return say("月份“" + m + "”应写成 2022-11 这样。(month must look like 2022-11)");
    // Months close in order from the first with entries: one before the
    // first published month will never be, and "not yet" would mislead.
    if (!b.closed_months.empty() && m < *b.closed_months.begin())
      return say(b.village_name + "的公开账目从" + month_zh(*b.closed_months.begin()) + "开始," + month_zh(m) +
                 "没有账目。(the published accounts of " + b.village_name + " begin with " + *b.closed_months.begin() +
                 "; there are none for " + m + ")");
    if (!b.closed_months.count(m))
      return say(b.village_name + " " + month_zh(m) + "的账目还没有公开。(the accounts of " + m + " are not published yet)");
    return m;
  }
  if (b.closed_months.empty()) return say(b.village_name + "还没有公开过账目。(no month has been published yet)");
  return *b.closed_months.rbegin();
}

namespace {

// 账目 2022: the year statement by account (年度收支决算) of the village's
// published months, added up and worded by ledger/chart.h.
Result<std::string> year_statement_reply(Ledger& ledger, const Context& ctx) {
  auto text = year_statement_text(ledger, ctx.village->id, ctx.args[0]);
  if (!text.is_ok()) return shown_to_person(text.status());
  return *text;
}

}  // namespace

Result<std::string> Bot::Impl::accounts(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  if (!ctx.args.empty() && ctx.args[0].size() == 4 && ctx.args[0].find_first_not_of("0123456789") == std::string::npos)
    return year_statement_reply(*ledger, ctx);
  // The answer is kept per (village, month) while the books' size and the
  // day stay (accounts_cache below); village_books answers from memory while
  // Ledger::change_generation() has not moved, so a repeated question reads
  // no storage.
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  auto month = last_closed_or_arg(ctx, **b, 0);
  if (!month.is_ok()) return month.status();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = accounts_cache.find({ctx.village->id, *month});
    if (it != accounts_cache.end() && it->second.size == (*b)->size && it->second.day == today()) {
      ctx.reply_finished = true;
      return it->second.text;
    }
  }
  auto close = ledger->month_close(ctx.village->id, *month);
  if (!close.is_ok()) return close.status();
  std::string text;
  if (recorded_alerts(close->statement, ctx.village->id)) {
    // Frozen at publication: the alerts its statement signed, then those
    // raised since, dated, apart (issue #16).
    auto alerts = bot->month_alerts(ctx.village->id, *month);
    if (!alerts.is_ok()) return alerts.status();
    text = render_statement(ctx.village->name, *close, alerts->at_publication, alerts->later);
  } else {
    // A statement signed before statements recorded their alerts: the flags
    // of the books as published, as before (a line of a month still open
    // changes no published month's answer; 预警 shows officials everything).
    bool latest = *month == *(*b)->closed_months.rbegin();
    std::vector<Flag> flags;
    for (const auto& f : (*b)->published->flags)
      if (f.month == *month || (latest && f.month.empty())) flags.push_back(f);
    text = render_statement(ctx.village->name, *close, flags);
  }
  // Kept finished: the answer is masked once here, not on every request.
  text = finish_reply_text(std::move(text));
  ctx.reply_finished = true;
  std::lock_guard<std::mutex> lock(mu);
  accounts_cache[{ctx.village->id, *month}] = RenderedAccounts{(*b)->size, today(), text};
  return text;
}

Result<std::string> Bot::Impl::details(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  if (ctx.args.empty()) return say("请写明月份,例如“明细 2022-11”。(name the month, e.g. details 2022-11)");
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  auto month = last_closed_or_arg(ctx, **b, 0);
  if (!month.is_ok()) return month.status();
  int direction = 0, page = 1;
  std::string filter_word, category;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    const std::string& a = ctx.args[i];
    if (a == "收入" || a == "income") {
      direction = 1;
      filter_word += " " + a;
    } else if (a == "支出" || a == "expense") {
      direction = -1;
      filter_word += " " + a;
    } else if (!a.empty() && a.size() <= 4 && a.find_first_not_of("0123456789") == std::string::npos) {
      page = std::stoi(a);
    } else if (category.empty()) {
      // 明细 2022-11 工程款: a villager asks about one kind of spending.
      category = a;
      filter_word += " " + a;
    } else {
      return say("没看懂“" + a + "”:可以写 收入、支出、一个类别或页码。(expected income, expense, one category or a page number)");
    }
  }
  auto month_entries = ledger->month_entries(ctx.village->id, *month);
  if (!month_entries.is_ok()) return month_entries.status();
  const std::vector<Entry>* entries = month_entries->get();
  std::vector<Entry> kept;
  if (!category.empty()) {
    std::set<std::string> present;
    for (const auto& e : *entries) {
      std::string kind = entry_string(e.fields, "kind");
      if (kind != "txn" && kind != "reversal") continue;
      std::string c = entry_string(e.fields, "category");  // a reversal carries its line's
      present.insert(c);
      if (c == category) kept.push_back(e);
    }
    if (kept.empty()) {
      std::string known;
      for (const auto& c : present) known += (known.empty() ? "" : "、") + c;
      return say(month_zh(*month) + "没有“" + category + "”类的记录。" +
                 (known.empty() ? std::string("这个月没有收支记录。") : "这个月的类别有:" + known + "。") +
                 " (no entries of that category this month" + (known.empty() ? "" : "; its categories are listed") + ")");
    }
    entries = &kept;
  }
  auto lines = render_detail_lines(*entries, direction);
  if (lines.empty()) lines.push_back("(本月没有这类记录 / no such entries)\n");
  std::string header = "【" + ctx.village->name + " " + month_zh(*month) + " 明细" +
                       (direction > 0 ? "(收入)" : direction < 0 ? "(支出)" : "") +
                       (category.empty() ? "" : "(" + category + ")") + "】\n";
  return paginate(header, lines, page, options.max_reply_bytes, "发送“明细 " + *month + filter_word + "");
}

Result<std::string> Bot::Impl::projects(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  std::string name = ctx.args.empty() ? "" : ctx.args[0];
  std::vector<std::string> blocks;
  for (const auto& p : (*b)->projects)
    if (name.empty() || p.name == name) blocks.push_back(render_project(p, (*b)->flags));
  if (blocks.empty())
    return say(name.empty() ? ctx.village->name + "还没有登记项目。(no projects registered)"
                            : "没有名为“" + name + "”的项目。(no such project)");
  return paginate("【" + ctx.village->name + " 项目】\n", blocks, 1, options.max_reply_bytes, "发送“项目 名称”");
}

Result<std::string> Bot::Impl::subsidies(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  auto month = last_closed_or_arg(ctx, **b, 0);
  if (!month.is_ok()) return month.status();
  int page = ctx.args.size() > 1 && ctx.args[1].find_first_not_of("0123456789") == std::string::npos && ctx.args[1].size() <= 4
                 ? std::stoi(ctx.args[1])
                 : 1;
  auto entries = ledger->month_entries(ctx.village->id, *month);
  if (!entries.is_ok()) return entries.status();
  auto lines = render_subsidy_lines(**entries);
  if (lines.empty()) lines.push_back("(本月没有补助名单 / no subsidy list this month)\n");
  return paginate("【" + ctx.village->name + " " + month_zh(*month) + " 低保等补助名单】\n", lines, page,
                  options.max_reply_bytes, "发送“低保 " + *month);
}

Result<std::string> Bot::Impl::balance(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  return render_balance(**b);
}

Result<std::string> Bot::Impl::verify(const Context& ctx, const ParsedCommand& cmd) {
  // A checkpoint pasted after the keyword (it spans lines, or carries a
  // signature line's em dash): checked against today's log (fork_reports.cc).
  if (!cmd.body.empty() || cmd.rest.find("\xE2\x80\x94") != std::string::npos) return verify_pasted(ctx, cmd.rest);
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  auto month = last_closed_or_arg(ctx, **b, 0);
  if (!month.is_ok()) return month.status();
  auto close = ledger->month_close(ctx.village->id, *month);
  if (!close.is_ok()) return close.status();
  return render_verify(ctx.village->name, *close, ledger->verifier_key());
}

Result<std::string> Bot::Impl::alerts(const Context& ctx) {
  std::vector<const Village*> watched;
  for (const auto& entry : ctx.dir->villages) {
    const Village& v = entry.second;
    bool inspector = std::any_of(ctx.inspector_areas.begin(), ctx.inspector_areas.end(),
                                 [&v](const std::string& a) { return area_covers(a, v); });
    bool own = std::find(ctx.official_villages.begin(), ctx.official_villages.end(), v.id) != ctx.official_villages.end();
    if (inspector || own) watched.push_back(&v);
  }
  if (watched.empty()) return std::string("目前没有预警。(no alerts)\n");  // an inspector of an area with no village yet
  std::vector<std::string> lines;
  for (const Village* v : watched) {
    auto b = village_books(*v);
    if (!b.is_ok()) return b.status();
    // A group chat is read by villagers: a private person's name is masked there.
    const auto& masked = (*b)->public_texts;
    for (const auto& f : (*b)->flags) {
      auto shown = ctx.msg->group ? masked.find(f.text) : masked.end();
      lines.push_back("[" + v->town + v->name + "] " + (shown != masked.end() ? shown->second : f.text) + "\n");
    }
  }
  if (lines.empty()) lines.push_back("目前没有预警。(no alerts)\n");
  int page = !ctx.args.empty() && ctx.args[0].size() <= 4 && ctx.args[0].find_first_not_of("0123456789") == std::string::npos
                 ? std::stoi(ctx.args[0])
                 : 1;
  return paginate("【预警 (alerts)】\n", lines, page, options.max_reply_bytes, "发送“预警");
}

}  // namespace sunledger
