#include "bot/bot.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <map>
#include <deque>
#include <mutex>
#include <set>
#include <tuple>

#include "bot/books.h"
#include "bot/command.h"
#include "bot/dedupe.h"
#include "bot/directory.h"
#include "bot/outbox.h"
#include "bot/render.h"
#include "ledger/crypto.h"
#include "ledger/identity.h"

namespace sunledger {

using nlohmann::json;

namespace {

const char* kBotSchema[] = {
    "CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, PRIMARY KEY(bot, user, village))",
    // Anonymous receipts that were posted in a group: a bearer secret the whole
    // group has read no longer works, for anyone (by its keyed hash).
    "CREATE TABLE IF NOT EXISTS exposed_receipts(ref TEXT PRIMARY KEY, day INTEGER NOT NULL)",
};

constexpr size_t kMaxBodyLines = 200;


// What the bot knows about the sender of one message.
struct Context {
  const InboundMessage* msg = nullptr;
  std::shared_ptr<const Directory> dir;
  const Village* village = nullptr;
  bool official = false;                  // official of `village`
  std::vector<std::string> inspector_areas;
  std::vector<std::string> official_villages;
  std::vector<std::string> args;
};

// A refusal or a correction to show the sender; changes nothing.
Status say(const std::string& text) { return Status(Code::kFailedPrecondition, text); }

std::string role_refusal(const std::string& keyword, const std::string& who_zh, const std::string& who_en) {
  return "“" + keyword + "”只有" + who_zh + "可以使用,本次没有做任何改动。(only " + who_en + " may use " + keyword +
         "; nothing was changed)";
}

}  // namespace

// A rendered 账目 answer, good while the village's log has this size and
// the day has not changed (flags depend on the date).
struct RenderedAccounts {
  uint64_t size = 0;
  std::string day;
  std::string text;
};

// A village's books kept up to date entry by entry.
struct VillageCache {
  explicit VillageCache(const Village& v) : builder(v) {}
  std::mutex mu;
  BooksBuilder builder;
  std::string today;
  std::shared_ptr<const VillageBooks> books;
};

struct Bot::Impl {
  Impl(Ledger* l, BotOptions o)
      : ledger(l),
        options(std::move(o)),
        complaints(l, options.identity_salt, options.complaint_deadlines),
        dedupe(options.identity_salt),
        directory_store(l) {}
  Ledger* ledger;
  BotOptions options;
  Complaints complaints;
  DedupeRecords dedupe;
  std::set<std::tuple<std::string, std::string, std::string>> seen;  // (bot, user, village) recorded this run
  std::mutex rate_mu;
  struct SenderWindow {
    std::deque<int64_t> times;  // command times within the last minute
    int64_t warned_at = 0;      // when this sender was last told to slow down (0: never)
  };
  std::map<std::pair<std::string, std::string>, SenderWindow> recent;  // (bot, sender)

  enum class Flood {
    kNo,      // within the limit: answer the command
    kWarn,    // over it: say so (at most once a minute per sender)
    kSilent,  // over it and already told this minute: answer nothing
  };
  // Sliding one-minute window per sender. The warning itself is rate-limited:
  // on platforms without a passive reply every answer is a push, and a flood
  // of 90 messages once queued 70 warnings ahead of everyone's pushes.
  Flood over_rate_limit(const InboundMessage& msg) {
    if (options.commands_per_minute <= 0) return Flood::kNo;
    int64_t now = ledger->clock().now_unix_seconds();
    std::lock_guard<std::mutex> lock(rate_mu);
    auto& w = recent[{msg.bot_id, msg.sender_id}];
    while (!w.times.empty() && w.times.front() <= now - 60) w.times.pop_front();
    if (static_cast<int>(w.times.size()) >= options.commands_per_minute) {
      if (w.warned_at != 0 && w.warned_at > now - 60) return Flood::kSilent;
      w.warned_at = now;
      return Flood::kWarn;
    }
    w.times.push_back(now);
    if (recent.size() > 100'000) {
      // Forget idle senders so the map cannot grow without bound.
      for (auto it = recent.begin(); it != recent.end();)
        it = (it->second.times.empty() || it->second.times.back() <= now - 60) && it->second.warned_at <= now - 60
                 ? recent.erase(it)
                 : std::next(it);
    }
    return Flood::kNo;
  }
  std::mutex mu;
  DirectoryStore directory_store;
  std::map<std::string, std::shared_ptr<VillageCache>> books;
  std::map<std::pair<std::string, std::string>, RenderedAccounts> accounts_cache;  // (village, month), published months only

  std::string today() const {
    return format_date(local_date(ledger->clock().now_unix_seconds(), ledger->utc_offset_minutes()));
  }

  Result<std::shared_ptr<const Directory>> directory() { return directory_store.snapshot(); }
  Result<std::shared_ptr<const VillageBooks>> village_books(const Village& v);
  Status resolve(Context& ctx, const ParsedCommand& cmd);

  // Queries.
  Result<std::string> help(const Context& ctx);
  Result<std::string> accounts(const Context& ctx);
  Result<std::string> details(const Context& ctx);
  Result<std::string> projects(const Context& ctx);
  Result<std::string> subsidies(const Context& ctx);
  Result<std::string> balance(const Context& ctx);
  Result<std::string> verify(const Context& ctx);
  Result<std::string> alerts(const Context& ctx);
  Result<std::string> query(const Context& ctx, CommandKind kind);

  // Writes, inside the caller's transaction.
  Result<std::string> post(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a);
  Result<std::string> project_add(const Context& ctx, WriteTxn& txn, const Author& a);
  Result<std::string> reverse(const Context& ctx, WriteTxn& txn, const Author& a);
  Result<std::string> subsidy_list(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a);
  Result<Published> publish_in(const std::string& village, const std::string& month, WriteTxn& txn, const Author& a);
  Result<std::string> last_closed_or_arg(const Context& ctx, const VillageBooks& books, size_t arg);

  // Complaints.
  Result<std::string> complain(const Context& ctx, const ParsedCommand& cmd, bool anonymous, WriteTxn& txn,
                               std::vector<Push>* pushes);
  Result<std::string> complaint_status(const Context& ctx);
  // The complaint a receipt names, if the sender may act on it: a named
  // complaint only for its reporter (same bot, same platform user id), an
  // anonymous one for whoever holds the receipt. Anything else reads exactly
  // like an unknown receipt, and counts against the sender's failed look-ups.
  Result<std::string> reporter_receipt(const Context& ctx, size_t* used);
  bool reaches_person(const std::string& bot_id) const {
    return options.reaches_person && options.reaches_person(bot_id);
  }
  // Failed receipt look-ups per (bot, sender) in the last hour: anonymous
  // receipts are bearer secrets and must not be guessable by trying.
  std::mutex lookup_mu;
  std::map<std::pair<std::string, std::string>, std::deque<int64_t>> failed_lookups;
  bool too_many_failed_lookups(const InboundMessage& msg, bool count_one);
  // An anonymous receipt posted in a group is burnt: the whole group read it.
  // True when args named an anonymous complaint (now burnt), in txn.
  Result<bool> burn_if_anonymous(WriteTxn& txn, const std::vector<std::string>& args);
  bool exposed(const std::string& receipt);
  std::string exposed_ref(const std::string& receipt) const;
  Result<std::string> rate(const Context& ctx, bool satisfied, WriteTxn& txn);
  Result<std::string> queue(const Context& ctx);
  Result<std::string> show(const Context& ctx);
  Result<std::string> inspect(const Context& ctx, ComplaintStatus to, WriteTxn& txn, std::vector<Push>* pushes);
  bool inspector_covers(const Context& ctx, const std::string& village) const;
  Status queue_status_push(WriteTxn& txn, const Complaint& c, std::vector<Push>* pushes);
  Status record_seen(const InboundMessage& msg, const Context& ctx);
  std::string complaint_counts(const std::string& village, const std::string& month);
};

Bot::Bot(Ledger* ledger, BotOptions options) : impl_(std::make_unique<Impl>(ledger, std::move(options))) {}
Bot::~Bot() = default;

Status Bot::initialize() {
  return impl_->ledger->write([](WriteTxn& txn) -> Status {
    for (const char* sql : kBotSchema) txn.db().exec(sql);
    if (Status s = Outbox::create_schema(txn); !s.is_ok()) return s;
    if (Status s = DirectoryStore::create_schema(txn); !s.is_ok()) return s;
    if (Status s = DedupeRecords::create_schema(txn); !s.is_ok()) return s;
    Complaints::create_schema(txn.db());
    return Status::ok();
  });
}

// ---------------------------------------------------------------------------
// Directory administration: the CLI's, recorded in the admin log.

Status Bot::bind_group(const std::string& village, const std::string& bot_id, const std::string& chat_id, bool rebind,
                       const Author& by) {
  return impl_->directory_store.bind_group(village, bot_id, chat_id, rebind, by);
}
Status Bot::add_member(const Membership& m, const Author& by) { return impl_->directory_store.add_member(m, by); }
Result<std::vector<GroupBinding>> Bot::list_groups() { return impl_->directory_store.list_groups(); }
Status Bot::unbind_group(const std::string& bot_id, const std::string& chat_id, const Author& by) {
  return impl_->directory_store.unbind_group(bot_id, chat_id, by);
}
Result<std::vector<Membership>> Bot::list_members(const std::string& bot_id) {
  return impl_->directory_store.list_members(bot_id);
}
Result<size_t> Bot::remove_member(const std::string& bot_id, const std::string& user_id, const Author& by) {
  return impl_->directory_store.remove_member(bot_id, user_id, by);
}
Result<CreatedToken> Bot::create_token(const ApiPrincipal& p, int days, const Author& by) {
  return impl_->directory_store.create_token(p, days, by);
}
Result<std::string> Bot::create_token(const ApiPrincipal& p) {
  auto t = create_token(p, 365);
  if (!t.is_ok()) return t.status();
  return t->token;
}
Result<std::vector<TokenInfo>> Bot::list_tokens() { return impl_->directory_store.list_tokens(); }
Status Bot::revoke_token(int64_t id, const Author& by) { return impl_->directory_store.revoke_token(id, by); }
Result<ApiPrincipal> Bot::authenticate(const std::string& token) { return impl_->directory_store.authenticate(token); }

// ---------------------------------------------------------------------------
// Books cache

Result<std::shared_ptr<const VillageBooks>> Bot::Impl::village_books(const Village& v) {
  auto size = ledger->log_size(v.id);
  if (!size.is_ok()) return size.status();
  std::string day = today();
  std::shared_ptr<VillageCache> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = books[v.id];
    if (!slot) slot = std::make_shared<VillageCache>(v);
    cache = slot;
  }
  // One thread brings a village's books up to date; the others wait for it
  // rather than all reading the same new entries.
  std::lock_guard<std::mutex> lock(cache->mu);
  if (cache->books && cache->books->size == *size && cache->today == day) return cache->books;
  constexpr uint64_t kChunk = 1000;
  for (uint64_t from = cache->builder.size(); from < *size; from += kChunk) {
    auto entries = ledger->entries(v.id, from, std::min(*size, from + kChunk));
    if (!entries.is_ok()) return entries.status();
    for (const auto& e : *entries) cache->builder.apply(e);
  }
  BooksOptions o{options.cash_limit, options.publish_by_day, day};
  cache->books = std::make_shared<const VillageBooks>(cache->builder.snapshot(o));
  cache->today = day;
  return cache->books;
}

// ---------------------------------------------------------------------------
// Who is asking, about which village

Status Bot::Impl::resolve(Context& ctx, const ParsedCommand& cmd) {
  auto d = directory();
  if (!d.is_ok()) return d.status();
  ctx.dir = *d;
  ctx.args = cmd.args;
  const auto& msg = *ctx.msg;
  if (auto it = ctx.dir->members.find({msg.bot_id, msg.sender_id}); it != ctx.dir->members.end()) {
    for (const auto& m : it->second) {
      if (m.role == Role::kOfficial) ctx.official_villages.push_back(m.village);
      if (m.role == Role::kInspector) ctx.inspector_areas.push_back(m.area);
    }
  }
  if (msg.group) {
    auto it = ctx.dir->bindings.find({msg.bot_id, msg.chat_id});
    if (it != ctx.dir->bindings.end()) ctx.village = ctx.dir->find_village(it->second);
  } else {
    // In private chat a village may be named first ("账目 双江村 2022-11");
    // otherwise an official's own village is meant.
    if (!ctx.args.empty()) {
      if (const Village* v = ctx.dir->find_village(ctx.args[0])) {
        ctx.village = v;
        ctx.args.erase(ctx.args.begin());
      }
    }
    if (!ctx.village && ctx.official_villages.size() == 1) ctx.village = ctx.dir->find_village(ctx.official_villages[0]);
  }
  if (ctx.village)
    ctx.official = std::find(ctx.official_villages.begin(), ctx.official_villages.end(), ctx.village->id) !=
                   ctx.official_villages.end();
  return Status::ok();
}

namespace {
Status need_village(const Context& ctx) {
  if (ctx.village) return Status::ok();
  if (ctx.msg->group)
    return say("本群还没有绑定到村,请乡镇管理员绑定后再用。(this group is not bound to a village yet; ask the township "
               "to run `sunledger group bind`)");
  return say("请在本村的群里发送,或在命令后写明村名,例如“账目 双江村 2022-11”。(send this in your village group, or "
             "name the village after the command)");
}
}  // namespace

// ---------------------------------------------------------------------------
// Queries

Result<std::string> Bot::Impl::help(const Context& ctx) {
  std::string out = "【村务监督机器人 可用命令】(commands)\n";
  out += "账目 [2022-11] 看某月公开账目 (accounts)\n";
  out += "明细 2022-11 [收入|支出] [页] 看每一笔 (details)\n";
  out += "项目 [名称] 看项目预算和花费 (projects)\n";
  out += "低保 [2022-11] 看低保等补助名单 (subsidies)\n";
  out += "余额 看各项资金余额 (balance)\n";
  out += "核验 [2022-11] 看签名和核对方法 (verify)\n";
  if (ctx.official || !ctx.official_villages.empty()) {
    out += "—— 村干部 (officials) ——\n";
    out += "记账 2022-11 换行后每行一笔:支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 对方:某工程队 (post)\n";
    out += "立项 水利建设 30万 专项 (project add)\n";
    out += "结项 水利建设 项目完工结项 (project finish)\n";
    out += "冲销 12 重复记账 (reverse)\n";
    out += "低保名单 2022-11 换行后每行:张三 身份证号 620 [人数]\n";
    out += "公开 2022-11 结账并推送到村民群 (publish)\n";
  }
  if (ctx.official || !ctx.official_villages.empty() || !ctx.inspector_areas.empty())
    out += "预警 看自动发现的问题 (alerts)\n";
  return out;
}

Result<std::string> Bot::Impl::last_closed_or_arg(const Context& ctx, const VillageBooks& b, size_t arg) {
  if (ctx.args.size() > arg) {
    const std::string& m = ctx.args[arg];
    if (!valid_month(m)) return say("月份“" + m + "”应写成 2022-11 这样。(month must look like 2022-11)");
    if (!b.closed_months.count(m))
      return say(b.village_name + " " + month_zh(m) + "的账目还没有公开。(the accounts of " + m + " are not published yet)");
    return m;
  }
  if (b.closed_months.empty()) return say(b.village_name + "还没有公开过账目。(no month has been published yet)");
  return *b.closed_months.rbegin();
}

Result<std::string> Bot::Impl::accounts(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  auto month = last_closed_or_arg(ctx, **b, 0);
  if (!month.is_ok()) return month.status();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = accounts_cache.find({ctx.village->id, *month});
    if (it != accounts_cache.end() && it->second.size == (*b)->size && it->second.day == today()) return it->second.text;
  }
  auto close = ledger->month_close(ctx.village->id, *month);
  if (!close.is_ok()) return close.status();
  bool latest = *month == *(*b)->closed_months.rbegin();
  std::vector<Flag> flags;
  for (const auto& f : (*b)->flags)
    if (f.month == *month || (latest && f.month.empty())) flags.push_back(f);
  std::string text = render_statement(ctx.village->name, *close, flags);
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
  std::string filter_word;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    const std::string& a = ctx.args[i];
    if (a == "收入" || a == "income") {
      direction = 1;
      filter_word = " " + a;
    } else if (a == "支出" || a == "expense") {
      direction = -1;
      filter_word = " " + a;
    } else if (!a.empty() && a.size() <= 4 && a.find_first_not_of("0123456789") == std::string::npos) {
      page = std::stoi(a);
    } else {
      return say("没看懂“" + a + "”:可以写 收入、支出 或页码。(expected income, expense or a page number)");
    }
  }
  auto entries = ledger->month_entries(ctx.village->id, *month);
  if (!entries.is_ok()) return entries.status();
  auto lines = render_detail_lines(*entries, direction);
  if (lines.empty()) lines.push_back("(本月没有这类记录 / no such entries)\n");
  std::string header = "【" + ctx.village->name + " " + month_zh(*month) + " 明细" +
                       (direction > 0 ? "(收入)" : direction < 0 ? "(支出)" : "") + "】\n";
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
  auto lines = render_subsidy_lines(*entries);
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

Result<std::string> Bot::Impl::verify(const Context& ctx) {
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
  if (watched.empty()) return say(role_refusal("预警", "纪检监察人员和村干部", "inspectors and officials"));
  std::vector<std::string> lines;
  for (const Village* v : watched) {
    auto b = village_books(*v);
    if (!b.is_ok()) return b.status();
    for (const auto& f : (*b)->flags) lines.push_back("[" + v->town + v->name + "] " + f.text + "\n");
  }
  if (lines.empty()) lines.push_back("目前没有预警。(no alerts)\n");
  int page = !ctx.args.empty() && ctx.args[0].size() <= 4 && ctx.args[0].find_first_not_of("0123456789") == std::string::npos
                 ? std::stoi(ctx.args[0])
                 : 1;
  return paginate("【预警 (alerts)】\n", lines, page, options.max_reply_bytes, "发送“预警");
}

Result<std::string> Bot::Impl::query(const Context& ctx, CommandKind kind) {
  switch (kind) {
    case CommandKind::kHelp: return help(ctx);
    case CommandKind::kAccounts: return accounts(ctx);
    case CommandKind::kDetails: return details(ctx);
    case CommandKind::kProjects: return projects(ctx);
    case CommandKind::kSubsidies: return subsidies(ctx);
    case CommandKind::kBalance: return balance(ctx);
    case CommandKind::kVerify: return verify(ctx);
    case CommandKind::kAlerts: return alerts(ctx);
    case CommandKind::kComplaintStatus: return complaint_status(ctx);
    case CommandKind::kQueue: return queue(ctx);
    case CommandKind::kShowComplaint: return show(ctx);
    default: return internal_error("not a query");
  }
}

// ---------------------------------------------------------------------------
// Writes

namespace {

// Parses "收入|支出 类别 金额 摘要 [项目:名称] [资金:来源] [对方:名称] [日期:2022-11-05]".
Result<TransactionLine> parse_post_line(const BodyLine& body, const std::string& month, const std::string& today) {
  auto words = split_words(body.text);
  TransactionLine t;
  t.source_line = body.number;
  if (words.size() < 4)
    return invalid_argument("格式应为“收入|支出 类别 金额 摘要”,缺少内容 (expected: income|expense CATEGORY AMOUNT ITEM)");
  if (words[0] == "收入" || words[0] == "income") t.income = true;
  else if (words[0] == "支出" || words[0] == "expense") t.income = false;
  else return invalid_argument("第一项应为“收入”或“支出”,而不是“" + words[0] + "” (must start with income or expense)");
  t.category = words[1];
  auto amount = parse_amount(words[2]);
  if (!amount.is_ok()) return amount.status();
  t.amount = *amount;
  std::string item;
  for (size_t i = 3; i < words.size(); ++i) {
    std::string w = words[i];
    // Full-width colons are what Chinese keyboards type.
    if (auto p = w.find("\xEF\xBC\x9A"); p != std::string::npos) w.replace(p, 3, ":");
    auto colon = w.find(':');
    std::string key = colon == std::string::npos ? "" : w.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : w.substr(colon + 1);
    if (key == "项目" || key == "project") t.project = value;
    else if (key == "资金" || key == "fund") t.fund = value;
    else if (key == "对方" || key == "party") t.counterparty = value;
    else if (key == "备注" || key == "note") t.note = value;
    else if (key == "日期" || key == "date") t.date = value;
    else item += (item.empty() ? "" : " ") + words[i];
  }
  if (item.empty()) return invalid_argument("缺少摘要(这笔钱是做什么的) (missing item description)");
  t.item = item;
  if (t.date.empty()) t.date = today.substr(0, 7) == month ? today : month + "-" + (month < today.substr(0, 7) ? "28" : "01");
  if (t.date.substr(0, 7) != month) return invalid_argument("日期 " + t.date + " 不在 " + month + " 内 (date outside the month)");
  return t;
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
  for (const auto& body : cmd.body) {
    auto t = parse_post_line(body, month, day);
    if (!t.is_ok()) errors.push_back("第" + std::to_string(body.number) + "行: " + t.status().message());
    else lines.push_back(*t);
  }
  if (!errors.empty()) return say("未记账,请改正后重发 (nothing was posted; fix and resend):\n" + join_errors(errors));
  auto r = txn.post_transactions(ctx.village->id, lines, a);
  if (!r.is_ok()) return say("未记账,请改正后重发 (nothing was posted; fix and resend):\n" + r.status().message());
  // Month so far, including what this message added (same transaction).
  auto totals = txn.month_totals(ctx.village->id, month);
  if (!totals.is_ok()) return totals.status();
  Fen income = totals->income, expense = totals->expense;
  std::string range = "#" + std::to_string(r->front()) + (r->size() > 1 ? "至#" + std::to_string(r->back()) : "");
  return "已记账" + std::to_string(r->size()) + "笔(" + range + ")。(posted " + std::to_string(r->size()) + " entries)\n" +
         ctx.village->name + " " + month_zh(month) + "目前合计(未公开):收入" + format_yuan_with_wan(income) + ",支出" +
         format_yuan_with_wan(expense) + "\n公开前可用“冲销 条目号 原因”更正;发送“公开 " + month + "”结账并推送到村民群。\n";
}

Result<std::string> Bot::Impl::project_add(const Context& ctx, WriteTxn& txn, const Author& a) {
  if (ctx.args.size() < 2)
    return say("格式:立项 名称 批复金额 [专项],例如“立项 水利建设 30万 专项”。(project add NAME AMOUNT [special])");
  auto amount = parse_amount(ctx.args[1]);
  if (!amount.is_ok()) return say(amount.status().message());
  bool special = false;
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    if (ctx.args[i] == "专项" || ctx.args[i] == "special" || ctx.args[i] == "专项资金") special = true;
    else return say("没看懂“" + ctx.args[i] + "”:只能写“专项”。(only “special” may follow the amount)");
  }
  auto r = txn.register_project(ctx.village->id, {ctx.args[0], *amount, special}, a);
  if (!r.is_ok()) return say(r.status().message());
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
  if (!r.is_ok()) return say(r.status().message());
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
  if (!r.is_ok()) return say("未登记 (nothing was recorded):" + r.status().message());
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
  auto idx = txn.close_month(v->id, month, a);
  if (!idx.is_ok()) return idx.status();
  Published p;
  SQLite::Statement q(txn.db(),
                      "SELECT m.statement_idx, m.tree_size, m.checkpoint, e.leaf FROM month_closes m JOIN logs l ON l.id=m.log_id "
                      "JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx WHERE l.name=? AND m.month=?");
  q.bind(1, v->id);
  q.bind(2, month);
  if (!q.executeStep()) return internal_error("month close not found after closing");
  p.close.month = month;
  p.close.statement_index = static_cast<uint64_t>(q.getColumn(0).getInt64());
  p.close.tree_size = static_cast<uint64_t>(q.getColumn(1).getInt64());
  p.close.checkpoint = q.getColumn(2).getString();
  auto col = q.getColumn(3);
  p.close.statement = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  std::vector<Flag> flags;
  for (const auto& f : (*b)->flags)
    if ((f.month == month || f.month.empty()) && !(f.kind == FlagKind::kMonthNotPublished && f.month == month))
      flags.push_back(f);
  p.notice = render_notice(v->name, p.close, flags) + complaint_counts(v->id, month);
  if (auto it = (*d)->groups_of.find(v->id); it != (*d)->groups_of.end()) {
    for (const auto& [bot, chat] : it->second) {
      if (Status s = Outbox::enqueue(txn, {bot, chat, p.notice, Audience::kGroup}); !s.is_ok()) return s;
      ++p.groups_notified;
    }
  }
  return p;
}


// ---------------------------------------------------------------------------
// Complaints

namespace {

std::string local_day(int64_t t, int offset) { return format_date(local_date(t, offset)); }

// Reads a receipt from the first words ("4821-0937-5516" or "4821 0937 5516")
// and returns it with the number of words it took.
std::pair<std::optional<std::string>, size_t> take_receipt(const std::vector<std::string>& args) {
  if (args.empty()) return {std::nullopt, 0};
  if (auto r = Complaints::normalise_receipt(args[0])) return {r, 1};
  // Typed with spaces: "4821 0937 5516", or an anonymous "7KQ2M X9D4P 3HN8R VW6TZ".
  if (args.size() >= 3)
    if (auto r = Complaints::normalise_receipt(args[0] + args[1] + args[2])) return {r, 3};
  if (args.size() >= 4)
    if (auto r = Complaints::normalise_receipt(args[0] + args[1] + args[2] + args[3])) return {r, 4};
  return {std::nullopt, 0};
}

std::string join_from(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) out += (out.empty() ? "" : " ") + words[i];
  return out;
}

const char* kUnknownReceipt = "没有找到这个编号的投诉,请核对编号。(no complaint with this receipt)";
const char* kReceiptBurnt =
    "这个匿名投诉的编号已经发到群里,为保护匿名已停用,投诉仍在办理。请不要把编号发到群里。(this anonymous receipt was "
    "posted in a group and no longer works; the complaint goes on)";
const char* kTooManyLookups =
    "查询失败次数太多,请一小时后再试。(too many failed look-ups; please try again in an hour)";
constexpr int kFailedLookupsPerHour = 10;

}  // namespace

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
  {
    // Who belongs to which village, for complaints sent later in private
    // chat. Written once per person and village, not on every question.
    Status s = ledger->write([&](WriteTxn& txn) -> Status {
      SQLite::Statement q(txn.db(), "INSERT OR IGNORE INTO seen_members(bot, user, village, first_seen) VALUES(?,?,?,?)");
      q.bind(1, msg.bot_id);
      q.bind(2, msg.sender_id);
      q.bind(3, ctx.village->id);
      q.bind(4, txn.now());
      q.exec();
      return Status::ok();
    });
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

Result<std::string> Bot::Impl::complain(const Context& ctx, const ParsedCommand& cmd, bool anonymous, WriteTxn& txn,
                                        std::vector<Push>* pushes) {
  const auto& msg = *ctx.msg;
  // In a group everyone reads the reply: an anonymous complaint there would
  // name its reporter, and a receipt there would be anyone's. Nothing is filed.
  if (msg.group && anonymous)
    return say("匿名投诉请私信本机器人发送,在群里发送会让大家知道是谁反映的。本次没有登记。(send anonymous complaints to the "
               "bot in private chat; nothing was filed)");
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
    auto& q = txn.statement("SELECT village FROM seen_members WHERE bot=? AND user=?");
    q.bind(1, msg.bot_id);
    q.bind(2, msg.sender_id);
    while (q.executeStep()) candidates.insert(q.getColumn(0).getString());
    q.reset();
    if (candidates.size() != 1)
      return say(candidates.empty() ? "请写明是哪个村的问题,例如“投诉 双江村 内容”。(name the village: complain VILLAGE TEXT)"
                                    : "您属于多个村,请写明村名,例如“投诉 双江村 内容”。(you belong to several villages; name one)");
    village = ctx.dir->find_village(*candidates.begin());
  }
  if (!village) return say("请写明是哪个村的问题,例如“投诉 双江村 内容”。(name the village: complain VILLAGE TEXT)");
  if (text.empty()) return say("请在“投诉”后面写明反映的问题,例如“投诉 #25 道路工程款用了水利专项资金”。(write the complaint after the command)");
  std::optional<Reporter> reporter;
  // Pushes to the reporter are addressed to their platform user id, the one
  // address every platform's app API takes for one person.
  if (!anonymous) reporter = Reporter{msg.bot_id, msg.sender_id, msg.sender_name, msg.sender_id};
  auto c = complaints.file(txn, village->id, text, reporter);
  if (!c.is_ok()) return c.status().code() == Code::kInvalidArgument ? say(c.status().message()) : c.status();
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
    if (c->anonymous && exposed(c->receipt))
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
const char* kReceiptInAGroup =
    "请私信本机器人查询或评价投诉,不要把编号发到群里。(ask about or rate a complaint in private chat; do not post its "
    "receipt in the group)";
}  // namespace

std::string Bot::Impl::exposed_ref(const std::string& receipt) const {
  return hex_encode(hmac_sha256(options.identity_salt, "exposed-receipt\n" + receipt));
}

Result<bool> Bot::Impl::burn_if_anonymous(WriteTxn& txn, const std::vector<std::string>& args) {
  auto [receipt, used] = take_receipt(args);
  if (!receipt) return false;
  auto c = complaints.load(txn, *receipt);
  if (!c.is_ok() || !c->anonymous) return false;
  auto& q = txn.statement("INSERT OR IGNORE INTO exposed_receipts(ref, day) VALUES(?,?)");
  q.bind(1, exposed_ref(c->receipt));
  q.bind(2, txn.now() / 86400);
  q.exec();
  q.reset();
  return true;
}

bool Bot::Impl::exposed(const std::string& receipt) {
  std::string ref = exposed_ref(receipt);
  bool found = false;
  Status s = ledger->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement("SELECT 1 FROM exposed_receipts WHERE ref=?");
    q.bind(1, ref);
    found = q.executeStep();
    q.reset();
    return Status::ok();
  });
  return !s.is_ok() || found;  // when in doubt, the receipt does not work
}

Result<std::string> Bot::Impl::complaint_status(const Context& ctx) {
  if (ctx.msg->group) {
    bool burnt = false;
    Status s = ledger->write([&](WriteTxn& txn) -> Status {
      auto b = burn_if_anonymous(txn, ctx.args);
      if (!b.is_ok()) return b.status();
      burnt = *b;
      return Status::ok();
    });
    if (!s.is_ok()) return s;
    return say(burnt ? kReceiptBurnt : kReceiptInAGroup);
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
    std::string what = e.kind == "filed" ? "已受理" : e.kind == "satisfied" ? "评价:满意" : e.kind == "unsatisfied" ? "评价:不满意"
                                                                                                    : complaint_status_zh(*parse_complaint_status(e.kind));
    out += "- " + local_day(e.at, offset) + " " + what;
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
    if (*burnt) return std::string(kReceiptBurnt) + "\n";
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
    if (c.status().code() == Code::kInternal || c.status().code() == Code::kUnavailable) return c.status();
    return say(c.status().message());
  }
  if (satisfied) return "感谢您的评价,投诉" + c->receipt + "已记为满意。(thank you; recorded as satisfied)\n";
  if (c->status == ComplaintStatus::kReopened)
    return "已记录您的不满意,投诉" + c->receipt + "已重新交纪委办理。(recorded; the complaint is reopened for the inspectors)\n";
  return "已记录您的不满意。办结已超过" + std::to_string(options.complaint_deadlines.rating_days) +
         "天,未重新办理;如有新情况请重新投诉。(recorded; too late to reopen, please file again)\n";
}

Result<std::string> Bot::Impl::queue(const Context& ctx) {
  if (ctx.inspector_areas.empty()) return say(role_refusal("待办", "纪检监察人员", "inspectors"));
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
  if (ctx.inspector_areas.empty()) return say(role_refusal("查看", "纪检监察人员", "inspectors"));
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
    out += "- " + local_day(e.at, offset) + " " + e.kind + (e.actor.empty() ? "" : "(" + e.actor + ")");
    if (!e.assignee.empty()) out += " 处理人:" + e.assignee;
    if (!e.note.empty()) out += " " + e.note;
    out += "\n";
  }
  int64_t deadline = complaint_deadline(*c, options.complaint_deadlines);
  if (deadline) out += "期限:" + local_day(deadline, offset) + "\n";
  return paginate("", {out}, 1, options.max_reply_bytes * 2, "");
}

Result<std::string> Bot::Impl::inspect(const Context& ctx, ComplaintStatus to, WriteTxn& txn, std::vector<Push>* pushes) {
  std::string keyword = to == ComplaintStatus::kAssigned ? "转办" : to == ComplaintStatus::kInvestigating ? "调查"
                        : to == ComplaintStatus::kResolved ? "办结" : "驳回";
  if (ctx.inspector_areas.empty()) return say(role_refusal(keyword, "纪检监察人员", "inspectors"));
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
    if (c.status().code() == Code::kInternal || c.status().code() == Code::kUnavailable) return c.status();
    return say(c.status().message());
  }
  if (Status s = queue_status_push(txn, *c, pushes); !s.is_ok()) return s;
  return "投诉" + c->receipt + "已改为“" + complaint_status_zh(c->status) + "”" +
         (c->anonymous ? "(匿名投诉,不推送)"
                       : pushes->empty() ? "(本机器人无法私信反映人,反映人可发送“进度”查询)" : ",已通知反映人") +
         "。(status changed)\n";
}

std::string Bot::Impl::complaint_counts(const std::string& village, const std::string& month) {
  ComplaintFilter f;
  f.villages = {village};
  auto list = complaints.list(f);
  if (!list.is_ok() || list->empty()) return "";
  int offset = ledger->utc_offset_minutes();
  int64_t now = ledger->clock().now_unix_seconds();
  int filed = 0, resolved = 0, overdue = 0, open = 0;
  for (const auto& c : *list) {
    if (local_day(c.filed_at, offset).substr(0, 7) == month) ++filed;
    if (c.resolved_at && local_day(c.resolved_at, offset).substr(0, 7) == month) ++resolved;
    if (c.status != ComplaintStatus::kResolved && c.status != ComplaintStatus::kRejected) ++open;
    if (complaint_overdue(c, options.complaint_deadlines, now)) ++overdue;
  }
  std::string out = "投诉:本月受理" + std::to_string(filed) + "件,办结" + std::to_string(resolved) + "件,在办" +
                    std::to_string(open) + "件,逾期" + std::to_string(overdue) + "件。";
  auto cp = ledger->checkpoint("complaints");
  if (cp.is_ok()) out += "投诉台账核验码:" + checkpoint_short_form(*cp);
  return out + "\n";
}

// ---------------------------------------------------------------------------
// Dispatch

namespace {
const char* kIntegrityWarning =
    "⚠ 账本核验未通过,以下内容可能已被篡改,已暂停记账。(warning: the ledger failed verification; this answer may show "
    "altered data)\n";
}  // namespace

Result<BotReply> Bot::handle(const InboundMessage& msg) {
  auto r = handle_message(msg);
  // While the ledger fails verification every answer says so first.
  if (r.is_ok() && !r->text.empty() && !impl_->ledger->integrity_failure().empty()) r->text = kIntegrityWarning + r->text;
  // Every answer ends its last line, however it was built.
  if (r.is_ok() && !r->text.empty() && r->text.back() != '\n') r->text += "\n";
  // Defence in depth: whatever path quoted what people typed, no identity
  // number leaves in a reply.
  if (r.is_ok()) r->text = redact_resident_ids(r->text);
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
  if (Status s = I.resolve(ctx, cmd); !s.is_ok()) return s;
  // Never in the request of an anonymous complaint: its write would carry
  // the sender's id and the moment of filing side by side.
  if (cmd.kind != CommandKind::kComplainAnonymously)
    if (Status s = I.record_seen(msg, ctx); !s.is_ok()) return s;

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
  // Writes: role first, then one transaction holding the change, its pushes
  // and the dedupe record of this platform message.
  bool official_command = cmd.kind == CommandKind::kPost || cmd.kind == CommandKind::kProjectAdd ||
                          cmd.kind == CommandKind::kProjectFinish ||
                          cmd.kind == CommandKind::kReverse || cmd.kind == CommandKind::kSubsidyList ||
                          cmd.kind == CommandKind::kPublish;
  if (official_command) {
    if (Status s = need_village(ctx); !s.is_ok()) {
      reply.text = s.message();
      return reply;
    }
    if (!ctx.official) {
      reply.text = role_refusal(cmd.keyword, ctx.village->name + "的村干部", "officials of " + ctx.village->id);
      return reply;
    }
  }
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
          text = p.status().code() == Code::kInternal || p.status().code() == Code::kUnavailable ? p.status() : say(p.status().message());
          break;
        }
        for (const auto& [bot, chat] : ctx.dir->groups_of.count(ctx.village->id) ? ctx.dir->groups_of.at(ctx.village->id)
                                                                                 : std::vector<std::pair<std::string, std::string>>{})
          reply.pushes.push_back({bot, chat, p->notice, Audience::kGroup});
        text = "已公开" + ctx.village->name + month_zh(ctx.args[0]) + "账目,已推送到" + std::to_string(p->groups_notified) +
               "个村民群。核验码:" + checkpoint_short_form(p->close.checkpoint) + " (published and pushed)\n";
        break;
      }
      case CommandKind::kProjectFinish: {
        if (ctx.args.empty()) {
          text = say("格式:结项 项目名称,例如“结项 水利建设”。(project finish NAME)");
          break;
        }
        auto r = txn.finish_project(ctx.village->id, ctx.args[0], author);
        if (!r.is_ok()) {
          text = r.status().code() == Code::kInternal || r.status().code() == Code::kUnavailable ? r.status() : say(r.status().message());
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

// ---------------------------------------------------------------------------
// The township accounting API

Result<AppendResult> Bot::post_entries(const std::string& village, const std::vector<TransactionLine>& lines,
                                       const Author& author) {
  return impl_->ledger->post_transactions(village, lines, author);
}

Result<AppendResult> Bot::register_project(const std::string& village, const ProjectRegistration& project,
                                           const Author& author) {
  return impl_->ledger->register_project(village, project, author);
}

Result<Bot::Published> Bot::publish(const std::string& village, const std::string& month, const Author& author) {
  std::optional<Published> out;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    auto p = impl_->publish_in(village, month, txn, author);
    if (!p.is_ok()) return p.status();
    out = std::move(*p);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<std::string> Bot::monthly_notice(const std::string& village, const std::string& month) {
  auto v = impl_->ledger->village(village);
  if (!v.is_ok()) return v.status();
  auto close = impl_->ledger->month_close(village, month);
  if (!close.is_ok()) return close.status();
  auto b = impl_->village_books(*v);
  if (!b.is_ok()) return b.status();
  std::vector<Flag> flags;
  for (const auto& f : (*b)->flags)
    if (f.month == month || f.month.empty()) flags.push_back(f);
  return render_notice(v->name, *close, flags) + impl_->complaint_counts(village, month);
}

Complaints& Bot::complaints() { return impl_->complaints; }
Ledger* Bot::ledger() { return impl_->ledger; }

Result<Complaint> Bot::transition_complaint(const std::string& receipt, ComplaintStatus to, const std::string& note,
                                            const std::string& assignee, const std::string& actor) {
  std::optional<Complaint> out;
  std::vector<Push> pushes;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    auto c = impl_->complaints.transition(txn, receipt, to, note, assignee, actor);
    if (!c.is_ok()) return c.status();
    if (Status st = impl_->queue_status_push(txn, *c, &pushes); !st.is_ok()) return st;
    out = std::move(*c);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<size_t> Bot::push_overdue_digest() {
  Impl& I = *impl_;
  int offset = I.ledger->utc_offset_minutes();
  int64_t now = I.ledger->clock().now_unix_seconds();
  std::string today = local_day(now, offset);
  // serve calls this every minute: once today's digest is out, stop before
  // listing every overdue complaint and taking a write slot. The check inside
  // the write below stays, for two servers racing on one database.
  bool sent_today = false;
  Status seen = I.ledger->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement("SELECT value FROM meta WHERE key='overdue_digest_date'");
    sent_today = q.executeStep() && q.getColumn(0).getString() == today;
    return Status::ok();
  });
  if (!seen.is_ok()) return seen;
  if (sent_today) return size_t{0};
  auto d = I.directory();
  if (!d.is_ok()) return d.status();
  ComplaintFilter f;
  f.overdue_only = true;
  auto overdue = I.complaints.list(f);
  if (!overdue.is_ok()) return overdue.status();
  size_t queued = 0;
  Status s = I.ledger->write([&](WriteTxn& txn) -> Status {
    queued = 0;
    SQLite::Statement last(txn.db(), "SELECT value FROM meta WHERE key='overdue_digest_date'");
    if (last.executeStep() && last.getColumn(0).getString() == today) return Status::ok();
    for (const auto& [who, memberships] : (*d)->members) {
      for (const auto& m : memberships) {
        // Only privately: a bot that cannot reach one person sends no digest.
        if (m.role != Role::kInspector || !I.reaches_person(m.bot_id)) continue;
        std::string text;
        for (const auto& c : *overdue) {
          auto v = (*d)->villages.find(c.village);
          if (v == (*d)->villages.end() || !area_covers(m.area, v->second)) continue;
          text += c.receipt + " " + v->second.name + " " + complaint_status_zh(c.status) + " 期限" +
                  local_day(complaint_deadline(c, I.options.complaint_deadlines), offset) + "\n";
        }
        if (text.empty()) continue;
        std::string digest = "【" + today + " 逾期投诉 (overdue complaints)】\n" + text + "发送“待办”查看全部。\n";
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, digest.substr(0, 2000), Audience::kPerson}); !st.is_ok())
          return st;
        ++queued;
      }
    }
    SQLite::Statement mark(txn.db(), "INSERT INTO meta(key, value) VALUES('overdue_digest_date', ?) "
                                     "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    mark.bind(1, today);
    mark.exec();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return queued;
}

Result<std::vector<VerifyProblem>> Bot::verify_deployment(const std::string& village) {
  auto r = impl_->ledger->verify(village);
  if (!r.is_ok()) return r.status();
  std::vector<VerifyProblem> problems = r->problems;
  // Complaint commitments are keyed by the id-salt: a folder without it (a
  // backup) can check the logs but not the stored complaints against them.
  if (village.empty() && impl_->options.identity_salt.size() >= 32) {
    auto c = impl_->complaints.verify();
    if (!c.is_ok()) return c.status();
    problems.insert(problems.end(), c->begin(), c->end());
  }
  if (village.empty()) {
    auto d = impl_->directory_store.verify();
    if (!d.is_ok()) return d.status();
    problems.insert(problems.end(), d->begin(), d->end());
  }
  return problems;
}

Result<size_t> Bot::alert_inspectors(const std::string& text) {
  auto d = impl_->directory();
  if (!d.is_ok()) return d.status();
  size_t queued = 0;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    queued = 0;
    for (const auto& [who, memberships] : (*d)->members)
      for (const auto& m : memberships) {
        if (m.role != Role::kInspector || !impl_->reaches_person(m.bot_id)) continue;
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, text, Audience::kPerson}); !st.is_ok()) return st;
        ++queued;
        break;  // once per person and bot
      }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return queued;
}

Result<std::vector<std::string>> Bot::villages_in_area(const std::string& area) {
  auto d = impl_->directory();
  if (!d.is_ok()) return d.status();
  std::vector<std::string> out;
  for (const auto& [id, v] : (*d)->villages)
    if (area_covers(area, v)) out.push_back(id);
  return out;
}

}  // namespace sunledger
