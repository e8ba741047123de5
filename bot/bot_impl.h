// Private to the bot library: the state behind Bot (Bot::Impl) and the
// helpers its command files share. Each command file (queries.cc,
// official_commands.cc, complaint_commands.cc, dispatch.cc, digest.cc)
// defines the Impl methods of its job.
//
// Thread safety: as Bot's. Impl's maps are guarded by the mutex named beside them.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>

#include "bot/books.h"
#include "bot/bot.h"
#include "bot/command.h"
#include "bot/dedupe.h"
#include "bot/directory.h"
#include "bot/outbox.h"
#include "bot/sign_in.h"
#include "bot/signed_rows.h"
#include "bot/render.h"
#include "ledger/crypto.h"
#include "ledger/identity.h"

namespace sunledger {
namespace bot_internal {

inline constexpr size_t kMaxBodyLines = 200;


// What the bot knows about the sender of one message.
struct Context {
  const InboundMessage* msg = nullptr;
  std::shared_ptr<const Directory> dir;
  const Village* village = nullptr;
  bool official = false;                  // official of `village`
  std::vector<std::string> inspector_areas;
  std::vector<std::string> official_villages;
  std::vector<std::string> args;
  // Set by a read that answers from its cache of finished replies (the line
  // ended, identity numbers masked, as Bot::handle leaves every reply), so
  // handle() does not scan the same text again on every request (issue #18).
  mutable bool reply_finished = false;
};

// A refusal or a correction to show the sender; changes nothing.
inline Status say(const std::string& text) { return Status(Code::kFailedPrecondition, text); }

// The one rule for what a person is shown when an operation failed. Their
// mistake (malformed input, a thing that does not exist or exists already,
// the wrong state, the wrong role) becomes a reply, after `prefix` ("nothing
// was posted; fix and resend"). A ledger that failed verification is said as
// it is, without the prefix: it is not their mistake. Anything else
// (storage unavailable, a bug) stays an error, which the webhook answers as
// "try again later" and a retried delivery repeats, never as their mistake.
inline Status shown_to_person(const Status& s, const std::string& prefix = "") {
  switch (s.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kPermissionDenied:
      return say(prefix + s.message());
    case Code::kDataLoss:
      return say(s.message());
    default:
      return s;
  }
}

inline std::string role_refusal(const std::string& keyword, const std::string& who_zh, const std::string& who_en) {
  return "“" + keyword + "”只有" + who_zh + "可以使用,本次没有做任何改动。(only " + who_en + " may use " + keyword +
         "; nothing was changed)";
}


inline Status need_village(const Context& ctx) {
  if (ctx.village) return Status::ok();
  // The chat id is what the administrator needs, and the platform shows it nowhere obvious.
  if (ctx.msg->group)
    return say("本群还没有绑定到村,请把下面这行发给乡镇管理员运行(村编号换成本村的):\nsunledger group bind --village 村编号 --bot " +
               ctx.msg->bot_id + " --chat " + ctx.msg->chat_id +
               "\n(this group is not bound to a village yet; the township runs the line above with the village id)");
  return say("请在本村的群里发送,或在命令后写明村名,例如“账目 双江村 2022-11”。(send this in your village group, or "
             "name the village after the command)");
}

inline std::string local_day(int64_t t, int offset) { return format_date(local_date(t, offset)); }

// Reads a receipt from the first words ("4821-0937-5516" or "4821 0937 5516")
// and returns it with the number of words it took.
inline std::pair<std::optional<std::string>, size_t> take_receipt(const std::vector<std::string>& args) {
  if (args.empty()) return {std::nullopt, 0};
  if (auto r = Complaints::normalise_receipt(args[0])) return {r, 1};
  // Typed with spaces: "4821 0937 5516", or an anonymous "7KQ2M X9D4P 3HN8R VW6TZ".
  if (args.size() >= 3)
    if (auto r = Complaints::normalise_receipt(args[0] + args[1] + args[2])) return {r, 3};
  if (args.size() >= 4)
    if (auto r = Complaints::normalise_receipt(args[0] + args[1] + args[2] + args[3])) return {r, 4};
  return {std::nullopt, 0};
}

inline std::string join_from(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) out += (out.empty() ? "" : " ") + words[i];
  return out;
}

inline const char* kUnknownReceipt = "没有找到这个编号的投诉,请核对编号。(no complaint with this receipt)";
inline const char* kReceiptBurnt =
    "这个匿名投诉的编号已经发到群里,为保护匿名已停用,投诉仍在办理。请不要把编号发到群里。(this anonymous receipt was "
    "posted in a group and no longer works; the complaint goes on)";
inline const char* kTooManyLookups =
    "查询失败次数太多,请一小时后再试。(too many failed look-ups; please try again in an hour)";
inline constexpr int kFailedLookupsPerHour = 10;


// What a redelivery of a command whose reply was a secret (a sign-in link) is told.
inline const char* kSecretReplyReplay =
    "这条消息已经处理过了。登录链接只显示一次;如果没有收到或已过期,请再发送“登录”。(handled already: the sign-in link is "
    "shown once; if you did not get it or it expired, send 登录 again)";

inline const char* kIntegrityWarning =
    "⚠ 账本核验未通过,以下内容可能已被篡改,已暂停记账。(warning: the ledger failed verification; this answer may show "
    "altered data)\n";

// A complaint event in Chinese text: the status it moved to, or the rating.
inline std::string complaint_event_zh(const std::string& kind) {
  if (kind == "filed") return "已受理";
  if (kind == "satisfied") return "评价:满意";
  if (kind == "unsatisfied") return "评价:不满意";
  if (kind == Complaints::kReceiptExposed) return "编号在群里公开,已停用";
  if (auto status = parse_complaint_status(kind)) return complaint_status_zh(*status);
  return kind;
}

}  // namespace bot_internal

using namespace bot_internal;


// A rendered 账目 answer, good while the village's log has this size and
// the day has not changed (flags depend on the date).
struct RenderedAccounts {
  uint64_t size = 0;
  std::string day;
  std::string text;  // finished as Bot::handle finishes a reply (finish_reply_text)
};

// What Bot::handle makes of every reply's text: its last line ended, and no
// identity number left readable, whatever path built it.
inline std::string finish_reply_text(std::string text) {
  if (!text.empty() && text.back() != '\n') text += "\n";
  return redact_resident_ids(text);
}

// A village's books kept up to date entry by entry.
struct VillageCache {
  explicit VillageCache(const Village& v) : builder(v), published(v) {}
  std::mutex mu;
  BooksBuilder builder;
  PublishedBooksBuilder published;  // fed the same entries
  std::string today;
  std::shared_ptr<const VillageBooks> books;
  uint64_t generation = 0;  // Ledger::change_generation() when books was last found current
};

struct Bot::Impl {
  Impl(Ledger* l, BotOptions o)
      : ledger(l),
        options(std::move(o)),
        complaints(l, options.identity_salt, options.complaint_deadlines),
        dedupe(l, options.identity_salt),
        directory_store(l),
        sign_in(l, &directory_store) {}
  Bot* bot = nullptr;  // the Bot that owns this (for its public reads, e.g. month_alerts)
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
  InspectorSignIn sign_in;  // after directory_store, which it borrows
  std::map<std::string, std::shared_ptr<VillageCache>> books;
  std::map<std::pair<std::string, std::string>, RenderedAccounts> accounts_cache;  // (village, month), published months only
  // Bot::published_flags by (village, month): what a month's notice flagged
  // when its statement recorded no alerts, from the entries before that
  // statement (which never change) and its day. Kept so that each page of
  // the month's web page does not replay the log up to it again. Guarded by
  // mu; emptied when it holds kMaxPublishedFlagsKept.
  struct PublishedFlagsKept {
    uint64_t statement_index = 0;
    std::string day;
    std::vector<Flag> flags;
  };
  static constexpr size_t kMaxPublishedFlagsKept = 4096;
  std::map<std::pair<std::string, std::string>, PublishedFlagsKept> published_flags_kept;

  // Asked twice per cached answer: the date is formatted (snprintf) once per
  // thread and local day, the day number being all it depends on.
  std::string today() const {
    int64_t now = ledger->clock().now_unix_seconds();
    int offset = ledger->utc_offset_minutes();
    int64_t local = now + int64_t{offset} * 60, day = local / 86400 - (local % 86400 < 0 ? 1 : 0);
    thread_local int64_t cached_day = INT64_MIN;
    thread_local std::string cached;
    if (day != cached_day) {
      cached = format_date(local_date(now, offset));
      cached_day = day;
    }
    return cached;
  }

  Result<std::shared_ptr<const Directory>> directory() { return directory_store.snapshot(); }
  // The village's cache of books (made on first use); its mu guards it.
  std::shared_ptr<VillageCache> village_cache(const Village& v);
  Result<std::shared_ptr<const VillageBooks>> village_books(const Village& v);
  Status resolve(Context& ctx, const ParsedCommand& cmd);
  std::optional<BotReply> screen(const InboundMessage& msg, const ParsedCommand& cmd);
  Result<BotReply> run_write(const CommandSpec& spec, const Context& ctx, const ParsedCommand& cmd);

  // Queries.
  Result<std::string> help(const Context& ctx);
  Result<std::string> accounts(const Context& ctx);
  Result<std::string> details(const Context& ctx);
  Result<std::string> search(const Context& ctx);  // search.cc
  Result<std::string> projects(const Context& ctx);
  Result<std::string> subsidies(const Context& ctx);
  Result<std::string> balance(const Context& ctx);
  Result<std::string> verify(const Context& ctx, const ParsedCommand& cmd);
  // 核验 with a pasted checkpoint (fork_reports.cc): consistent with today's
  // log, or a fork kept as evidence and pushed to the village's inspectors.
  Result<std::string> verify_pasted(const Context& ctx, const std::string& text);
  Result<std::string> alerts(const Context& ctx);

  // Writes, inside the caller's transaction.
  Result<std::string> post(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a);
  Result<std::string> project_add(const Context& ctx, WriteTxn& txn, const Author& a);
  Result<std::string> reverse(const Context& ctx, WriteTxn& txn, const Author& a);
  Result<std::string> subsidy_list(const Context& ctx, const ParsedCommand& cmd, WriteTxn& txn, const Author& a);
  Result<Published> publish_in(const std::string& village, const std::string& month, WriteTxn& txn, const Author& a);
  // 公开 in chat: publish_in, the groups' notices added to `pushes`.
  Result<std::string> publish_command(const Context& ctx, WriteTxn& txn, const Author& a, std::vector<Push>* pushes);
  Result<std::string> project_finish(const Context& ctx, WriteTxn& txn, const Author& a);
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
  // Whether anyone can write to the bot one to one (a WeCom group robot cannot).
  bool takes_private(const std::string& bot_id) const {
    return !options.takes_private_messages || options.takes_private_messages(bot_id);
  }
  std::string group_push_problem(const std::string& bot_id) const {
    return options.group_push_problem ? options.group_push_problem(bot_id) : "";
  }
  // Failed receipt look-ups per (bot, sender) in the last hour: anonymous
  // receipts are bearer secrets and must not be guessable by trying.
  std::mutex lookup_mu;
  std::map<std::pair<std::string, std::string>, std::deque<int64_t>> failed_lookups;
  bool too_many_failed_lookups(const InboundMessage& msg, bool count_one);
  // An anonymous receipt posted in a group is burnt: the whole group read it.
  // True when args named an anonymous complaint (now burnt), in txn.
  Result<bool> burn_if_anonymous(WriteTxn& txn, const std::vector<std::string>& args);
  Result<std::string> rate(const Context& ctx, bool satisfied, WriteTxn& txn);
  Result<std::string> queue(const Context& ctx);
  Result<std::string> show(const Context& ctx);
  Result<std::string> inspect(const Context& ctx, ComplaintStatus to, WriteTxn& txn, std::vector<Push>* pushes);
  bool inspector_covers(const Context& ctx, const std::string& village) const;
  // 登录: a one-time link to the dashboard (private chat, inspectors).
  Result<std::string> sign_in_link(const Context& ctx, WriteTxn& txn);
  Status queue_status_push(WriteTxn& txn, const Complaint& c, std::vector<Push>* pushes);
  Status record_seen(const InboundMessage& msg, const Context& ctx);
  std::string complaint_counts(const std::string& village, const std::string& month);
  // The line naming a village's (or a month's) public web page; "" without
  // a public_url. month "" names the village's page.
  std::string web_line(const std::string& village, const std::string& month = "") const;
  // As of `as_of` (unix seconds; 0: now): complaints filed before it only.
  Result<ComplaintCounts> count_complaints(const std::string& village, const std::string& month, int64_t as_of = 0);
};

// What a command's handler (command_table.cc) is given. Borrowed for one
// call; lives on dispatch's stack.
struct CommandRun {
  Bot::Impl& bot;
  const Context& ctx;
  const ParsedCommand& cmd;
  WriteTxn* txn = nullptr;             // a write's transaction; null for a read
  const Author* author = nullptr;      // a write's author; null for a read
  std::vector<Push>* pushes = nullptr;  // the reply's pushes; null for a read
};

}  // namespace sunledger
