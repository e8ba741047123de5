// The bot: what villagers, officials and inspectors say in chat, and what it
// answers. Platform-neutral: it takes one inbound message and returns the
// reply plus the pushes for other chats; it knows nothing of HTTP.
//
// Thread safety: a Bot may be shared by threads (handle() is called from the
// HTTP worker pool); writes go through the ledger's group commit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bot/books.h"
#include "bot/complaints.h"
#include "bot/directory.h"
#include "bot/sign_in.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace sunledger {

// One message as every platform adapter produces it.
struct InboundMessage {
  std::string bot_id;
  std::string chat_id;
  bool group = false;  // a group chat (else a private chat with the bot)
  std::string sender_id;
  std::string sender_name;
  std::string text;
  std::string message_id;  // the platform's id; retried deliveries repeat it
  int64_t time = 0;        // unix seconds, as the platform stamped it (0: unknown)
};

// Who a push is for. A person's push goes through the platform's app API to
// that one user (chat_id holds their platform user id) and never to a chat
// others read; a group push carries group-wide notices only. kPerson is the
// value-initialised default, so a push whose audience was forgotten can only
// fail to reach a group, never leak into one.
enum class Audience { kPerson = 0, kGroup = 1 };

// A message for another chat, delivered later through the outbox.
struct Push {
  std::string bot_id;
  std::string chat_id;  // kPerson: the person's platform user id; kGroup: the group's chat id
  std::string text;
  Audience audience = Audience::kPerson;
};

struct BotReply {
  std::string text;          // for the sender's chat (empty: say nothing)
  std::vector<Push> pushes;  // already queued in the outbox when handle() returns
  bool replayed = false;     // a retried delivery of a write: the stored reply, nothing re-run
  // The text names an anonymous complaint's receipt: it must never be stored
  // (not in the outbox, not as the dedupe record's reply). A platform that
  // replies through an API delivers it once, from memory.
  bool ephemeral = false;
  // The message came from a group bound to no village: the server logs its
  // chat id, which the administrator needs for `sunledger group bind`.
  bool unbound_group = false;
};

struct BotOptions {
  // Replies longer than this are paged (WeCom text messages take 2,048 bytes).
  size_t max_reply_bytes = 2000;
  // A cash expense above this is flagged (default 5,000 yuan).
  Fen cash_limit = 5'000 * 100;
  // A month must be published by this day of the following month.
  int publish_by_day = 15;
  // Text larger than this is refused before parsing.
  size_t max_message_bytes = 16 * 1024;
  // Key for identity-number hashes and complaint commitments (the deployment's id-salt).
  std::string identity_salt;
  ComplaintDeadlines complaint_deadlines;
  // Commands one sender may send a minute before the bot asks them to wait,
  // so one member cannot flood a group through the bot (0: no limit).
  int commands_per_minute = 20;
  // Whether a bot can message one person privately (its platform's app API is
  // configured). Nothing meant for one person is queued for a bot that cannot:
  // no receipt, status update or inspector digest ever falls back to a group.
  // Null: no bot can.
  std::function<bool(const std::string& bot_id)> reaches_person;
  // Whether people can write to a bot one to one (a WeCom group robot
  // cannot). Null: every bot can.
  std::function<bool(const std::string& bot_id)> takes_private_messages;
  // Why a bot's pushes cannot reach a group, "" when they can:
  // kNoPushUrl (its configuration has no push_url, nor an app that reaches
  // groups) or kNotConfigured (it is not in the configuration). Publishing
  // counts such groups apart instead of calling them notified. Null: every
  // bot can (the configuration is not known).
  std::function<std::string(const std::string& bot_id)> group_push_problem;
  // Where the public web pages are reached (https://…, no trailing slash):
  // 帮助 and each monthly notice name the village's page, so a villager can
  // open the accounts on a phone. "": no web address is mentioned (one a
  // villager cannot open, such as loopback, must not be).
  std::string public_url;
  // `serve --witness-quorum K`: a monthly notice reaches the groups only once
  // K witnesses cosigned its checkpoint (webhooks/notice_quorum.h holds it);
  // publishing says it waits instead of saying it was sent. 0: sent at once.
  int witness_quorum = 0;
  static constexpr const char* kNoPushUrl = "no_push_url";
  static constexpr const char* kNotConfigured = "not_configured";
};

class Bot {
 public:
  Bot(Ledger* ledger, BotOptions options);
  // The logs the bot keeps beside the villages' (complaints, the admin log,
  // the deliveries of pushes, the messages handled):
  // pass them as Ledger::Options::reserved_log_names so no village takes one.
  static std::set<std::string> reserved_log_names();
  ~Bot();

  // How many entries the complaints log holds (0 before the first complaint):
  // a folder without the id-salt says it could not check them only when
  // there are some.
  Result<uint64_t> complaint_entries();

  // Creates the bot's tables (directory, dedupe records, outbox) if missing.
  Status initialize();

  // Answers one message. Commands that change something run in one ledger
  // transaction together with the dedupe record of message_id and the outbox
  // rows of their pushes; a retried delivery gets the stored reply back.
  Result<BotReply> handle(const InboundMessage& message);

  // Directory administration (the CLI); see bot/directory.h. Every change is
  // an entry of the signed admin log, made by `by`, and takes effect at once,
  // in a running server too (its directory reloads when the log grows).
  // A chat bound to another village is refused (kAlreadyExists) unless rebind.
  Status bind_group(const std::string& village, const std::string& bot_id, const std::string& chat_id,
                    bool rebind = false, const Author& by = kCliAdmin);
  // added (optional): false when the user already had that role (nothing changes).
  Status add_member(const Membership& member, const Author& by = kCliAdmin, bool* added = nullptr);
  using GroupBinding = sunledger::GroupBinding;
  using TokenInfo = sunledger::TokenInfo;
  using CreatedToken = sunledger::CreatedToken;
  Result<std::vector<GroupBinding>> list_groups();
  Status unbind_group(const std::string& bot_id, const std::string& chat_id, const Author& by = kCliAdmin);
  // Empty bot_id: every bot.
  Result<std::vector<Membership>> list_members(const std::string& bot_id = "");
  // Every role of that user on that bot; kNotFound when there was none.
  Result<size_t> remove_member(const std::string& bot_id, const std::string& user_id, const Author& by = kCliAdmin);
  // Expires after `days` (1 to 3650).
  Result<CreatedToken> create_token(const ApiPrincipal& principal, int days, const Author& by = kCliAdmin);
  Result<std::vector<TokenInfo>> list_tokens();
  Status revoke_token(int64_t id, const Author& by = kCliAdmin);
  // Lets the server ask a witness it stopped submitting a log to (a refusal,
  // Ledger::refuse_witness) again: the refusal removed, a signed admin-log
  // entry of who (`by`) cleared it and why, and a private push of it to the
  // inspectors whose area holds the village, all in one write. kNotFound
  // when that witness refused no such log.
  Status clear_witness_refusal(const std::string& log, const std::string& witness, const std::string& by,
                               const std::string& reason, const Author& author = kCliAdmin);
  // Prints once: the token itself is never stored, only its SHA-256.
  Result<std::string> create_token(const ApiPrincipal& principal);  // 365 days
  Result<ApiPrincipal> authenticate(const std::string& bearer_token);

  // The township accounting API's operations (shared with the chat commands).
  // Errors about rows name every bad row.
  Result<AppendResult> post_entries(const std::string& village, const std::vector<TransactionLine>& lines,
                                    const Author& author);
  Result<AppendResult> register_project(const std::string& village, const ProjectRegistration& project,
                                        const Author& author);
  // Closes the month and queues the monthly notice to every group bound to
  // the village; returns the month close and the notice text.
  // groups_notified counts the groups the notice can reach; the groups whose
  // bot cannot push (BotOptions::group_push_problem) are counted apart, by
  // bot, with the reason: the notice is queued for them too (and goes out
  // once the configuration is fixed), but nobody is told they were notified.
  struct UnreachableGroups {
    std::string bot_id;
    size_t groups = 0;
    std::string problem;  // BotOptions::kNoPushUrl or kNotConfigured
  };
  struct Published {
    MonthClose close;
    std::string notice;
    size_t groups_notified = 0;
    std::vector<UnreachableGroups> groups_unreachable;
    // How many witnesses must cosign the month's checkpoint before the
    // notice goes to the groups (BotOptions::witness_quorum); 0: at once.
    int waiting_for_witnesses = 0;
  };
  // The groups a publish could not reach, in Chinese first with the English
  // alias, one line per bot ("" when there are none).
  static std::string unreachable_groups_text(const Published& p);
  Result<Published> publish(const std::string& village, const std::string& month, const Author& author);

  // The monthly notice for a closed month, as pushed to the groups.
  Result<std::string> monthly_notice(const std::string& village, const std::string& month);

  // Public reads, for pages anyone may open (web/): nothing here carries a
  // complaint's text or a reporter's identity.
  // The village's books as the bot answers from them (cached per log size
  // and day; the same flags 预警 shows). kNotFound for an unknown village.
  Result<std::shared_ptr<const VillageBooks>> books(const std::string& village);
  // The alerts a published month's notice carried: the books of the entries
  // before its statement, on the local day the statement was signed, those of
  // that month or of no month. Never changes once the month is published.
  Result<std::vector<Flag>> published_flags(const std::string& village, const std::string& month);
  // A published month's alerts (issue #16): those its signed statement
  // recorded, and the alerts about it raised after its publication (of its
  // month, or of no month while it is the latest published), each dated by
  // the local day of the entry that raised it. A statement signed before
  // statements recorded their alerts gives published_flags and no later ones.
  Result<MonthAlerts> month_alerts(const std::string& village, const std::string& month);
  // Counts only: complaints filed and resolved in `month` (local time), and
  // open and overdue, all as of the start of today (local): a page must not
  // show the moment a complaint was filed. The chat's monthly notice counts
  // up to the moment it is published.
  struct ComplaintCounts {
    int received = 0, resolved = 0, open = 0, overdue = 0;
    bool any = false;  // the village has complaints at all
  };
  Result<ComplaintCounts> complaint_counts(const std::string& village, const std::string& month);

  // Complaints, for the inspectors' HTTP API.
  Complaints& complaints();
  // Sign-in to the inspector's dashboard (web/): links, API tokens, sessions.
  InspectorSignIn& sign_in();
  // A transition by an inspector, with the reporter's push queued in the same
  // transaction (unless anonymous).
  Result<Complaint> transition_complaint(const std::string& receipt, ComplaintStatus to, const std::string& note,
                                         const std::string& assignee, const std::string& actor);
  // Once a local day: queues for every inspector the overdue complaints of
  // their area (to their private chat, whose id is their user id). Returns
  // how many digests were queued; 0 when today's were queued already.
  Result<size_t> push_overdue_digest();

  // Verifies every log (or one village's) and the complaints against their
  // log: the one check `sunledger verify`, `serve` and `ask` run. Without the
  // id-salt (a backup folder) the complaints are not checked.
  Result<std::vector<VerifyProblem>> verify_deployment(const std::string& village = "");
  // Queues `text` privately to every inspector (of every area) on a bot that
  // reaches one person; returns how many were queued. For alarms that must
  // not wait: a ledger that failed verification.
  Result<size_t> alert_inspectors(const std::string& text);

  // The villages an inspector's area ("朱亭镇" or "all") covers.
  Result<std::vector<std::string>> villages_in_area(const std::string& area);

 private:
  // `finished`: the reply's text is already as handle() would leave it.
  Result<BotReply> handle_message(const InboundMessage& message, bool& finished);
  Ledger* ledger();
  struct Impl;
  friend struct CommandRun;  // a command's handler runs against Impl (bot_impl.h)
  std::unique_ptr<Impl> impl_;
};


}  // namespace sunledger
