// The durable outbox: pushes (monthly notices, complaint updates) are written
// in the same transaction as the change that caused them and delivered later
// by the webhooks module's sender. A row survives restarts until marked
// delivered; once delivered it is never handed out again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "ledger/ledger.h"

namespace sunledger {

struct OutboxMessage {
  int64_t id = 0;
  std::string bot_id;
  std::string chat_id;
  std::string text;
  Audience audience = Audience::kPerson;
  int attempts = 0;
  int64_t created_at = 0;
  std::string signature;  // by the log key, over id, bot, chat, audience, creation and text (and the hold)
  // A monthly notice (issue #15): the village and month whose closing
  // checkpoint its tlog-proof block carries, "" for every other push. A
  // server run with `serve --witness-quorum K` holds it back until K
  // witnesses cosigned that checkpoint (webhooks/notice_quorum.h). Signed
  // with the rest: an insider who clears it breaks the row's signature.
  std::string held_village, held_month;
  // When the quorum was found and the text re-rendered with the
  // cosignatures (0: not yet). Not signed, and never believed: the sender
  // checks the text's cosignatures itself.
  int64_t released_at = 0;
  // A released notice: the fingerprint (deliveries::fingerprint_hex) of the
  // signature it was queued with, "" before its first release and for every
  // other push. Signed with the rest once set, and recorded with its
  // delivery, so a copy of the row taken while it was held is known
  // delivered although a release signs it again (bot/deliveries.h).
  std::string held_push = "";
  // When the last attempt's backoff ends, as the row says. Not signed and
  // never trusted beyond Outbox::kMaxBackoffSeconds from now (is_due); the
  // sender keeps its own schedule in memory (webhooks/outbox_sender.h).
  int64_t next_attempt_at = 0;
};

// What a monthly notice waits for: the month whose closing checkpoint it carries.
struct HeldFor {
  std::string village, month;
};

// Why a row was given up on.
enum class DeadReason {
  kAttempts,       // the platform did not take it, attempt after attempt
  kConfiguration,  // this bot's configuration cannot deliver it (no push_url, no private channel, no such bot)
  kTampered,       // not queued by this deployment, or altered since: its signature does not match
};

// What inspectors see of a push given up on: never its text nor its address.
struct DeadLetter {
  int64_t id = 0;
  std::string bot_id;
  Audience audience = Audience::kPerson;
  int attempts = 0;
  std::string reason;      // "attempts", "configuration" or "tampered"
  std::string last_error;  // the platform's status or the adapter's reason
  int64_t created_at = 0;
  int64_t dead_at = 0;
};

// Borrows `ledger`, which must outlive it. Thread-safe: no state of its own;
// each call is one ledger transaction (enqueue runs in the caller's).
class Outbox {
 public:
  // The sender's retry backoff (webhooks/outbox_sender.cc): 1 s after the
  // first failed attempt, doubling, never more than kMaxBackoffSeconds after
  // the attempt ended. Defined here, beside the rows it dates, because no
  // reader believes a next attempt further ahead than that (is_due).
  static constexpr int64_t kMaxBackoffSeconds = 600;
  static int64_t retry_backoff(int attempts) {
    int64_t doubled = int64_t{1} << (attempts < 0 ? 0 : attempts > 20 ? 20 : attempts);
    return doubled < kMaxBackoffSeconds ? doubled : kMaxBackoffSeconds;
  }
  // Whether a row waiting until `next_attempt` is due at `now`. A wait
  // longer than any backoff the sender sets is not believed (review R1): the
  // column is not signed, so it was set by hand, or the clock was stepped
  // back since; either way the row is due now. So next_attempt_at is no
  // evidence of anything and verify does not judge it.
  static bool is_due(int64_t next_attempt, int64_t now) {
    return next_attempt <= now || next_attempt > now + kMaxBackoffSeconds;
  }

  explicit Outbox(Ledger* ledger) : ledger_(ledger) {}
  // The indexes create_schema makes, for Ledger::expect_indexes (the bot
  // registers them whenever it is constructed, so verify knows them).
  static std::vector<SchemaIndex> own_indexes();
  // The same for its table (Ledger::expect_tables), with the forms older
  // deployments migrated by create_schema have.
  static std::vector<SchemaTable> own_tables();

  // Inside a write: queues a push, committed with the caller's change, and
  // signs it with the log key (see authentic()).
  // A monthly notice names its village and month (`held`): see
  // OutboxMessage::held_village.
  static Status enqueue(WriteTxn& txn, const Push& push, const HeldFor& held = {});
  // Whether a row is one this deployment queued, unchanged: someone with
  // sqlite3 but not the key could otherwise make the bot post anything to any
  // chat in its own name, or redirect a reporter's update into a group.
  bool authentic(const OutboxMessage& m) const;
  // The same for row `id` as snapshot `r` holds it (false when there is none):
  // for verify (bot/deliveries.h), which reads the outbox in its own snapshot.
  bool authentic_row(Ledger::ReadTxn& r, int64_t id) const;
  // Creates the outbox table, or brings an older one up to date (the
  // audience column; rows of older versions addressed to a bound group are
  // group pushes, every other row is a person's).
  static Status create_schema(WriteTxn& txn);

  // Undelivered messages whose next attempt is due, oldest first (dead
  // letters are never due).
  Result<std::vector<OutboxMessage>> due(int64_t now, size_t limit);
  // One bot's due messages, oldest first, at most one per chat: the oldest
  // pending message of each chat, and only when its next attempt is due, so a
  // chat's pushes go out in order and a chat waiting on a retry holds back
  // only itself.
  // hold_notices (a server with a witness quorum): a monthly notice not yet
  // released is not due, and holds back its chat's later pushes (notices
  // reach a group in the order they were published).
  Result<std::vector<OutboxMessage>> due_for_bot(const std::string& bot, int64_t now, size_t limit,
                                                 bool hold_notices = false);
  // The same heads, due or not (each with its next_attempt_at): for the
  // sender, which decides from its own schedule when a row it tried is due.
  Result<std::vector<OutboxMessage>> heads_for_bot(const std::string& bot, bool hold_notices = false);
  // Monthly notices not delivered nor given up on, oldest first, released
  // or not (the quorum's round checks each again).
  Result<std::vector<OutboxMessage>> held_notices();
  // Puts the notice's re-rendered text (its checkpoint now with the
  // witnesses' cosignatures) in place, signed again over the fingerprint of
  // the signature it was queued with too (held_push, kept from an earlier
  // release), and marks it released, in one transaction. Only a row still
  // pending and still as it was read (`m`, whose signature the caller
  // checked with authentic()) changes: an edited row is never signed again.
  // The caller first checks that the deliveries log does not record the
  // notice delivered. Returns whether it changed.
  Result<bool> release(const OutboxMessage& m, const std::string& text, int64_t now);
  // A row marked released whose text does not carry the quorum (the mark
  // was written by hand): back to held, so the sender stops looking at it
  // and the quorum's round releases it properly.
  Status unrelease(int64_t id);
  // Nodes sharing one PostgreSQL database (issue #17): each pending row is
  // sent by one node at a time. Before sending a row, the sender claims it:
  // true when this node may send it now (recorded in the row: claimed_by,
  // the backend pid of this Ledger's writer session, and claimed_at);
  // false when another node's sender has it (delivered, given up on, or
  // claimed by a session still connected, for less than kClaimSeconds). A
  // node killed mid-send leaves its claims to whichever node asks next: the
  // server ends a dead client's session, and the claim with it. The claim
  // stays through failed attempts, so the node that tried keeps its backoff
  // schedule (OutboxSender::Lane::retry_at). On SQLite: always true, no
  // write (one server per file).
  static constexpr int64_t kClaimSeconds = 600;
  Result<bool> claim(int64_t id, int64_t now);
  // Whether the rows are shared with other processes' senders (PostgreSQL):
  // the sender claims each row then.
  Result<bool> shared_storage();
  // Bots that have pending (undelivered, not dead) messages.
  Result<std::vector<std::string>> pending_bots();
  // A delivered row keeps no text and, for a person, no address: once sent,
  // the outbox is no record of who was told what. The delivery is recorded
  // in the signed deliveries log in the same transaction (bot/deliveries.h),
  // as `sent` went out (its signature and held_push, which the sender
  // checked), never as the row stands now: a row changed meanwhile (a trigger
  // planted with sqlite3) must not make the entry name another push.
  // When the log refuses the entry (the ledger failed verification, or the
  // log's stored state no longer matches its checkpoint), the row is marked
  // delivered all the same, since the push went out, and *refused says why:
  // the caller must have the ledger checked at once (see OutboxSenderOptions).
  Status mark_delivered(const OutboxMessage& sent, int64_t now, std::string* refused = nullptr);
  Status mark_failed(int64_t id, int64_t next_attempt_at, const std::string& error);
  // Gives up on a row: counted as an attempt when `attempted`, never handed
  // out by due() again (until revived).
  // config: for kConfiguration, what the bot's configuration was (see
  // revive_configuration_dead); never a secret.
  // dead_at is a column anyone with sqlite3 can write, so the row is recorded
  // given up on in the signed deliveries log in the same write ("dead", by
  // its id and signature fingerprint), and verify names a dead row that no
  // entry records so (bot/deliveries.h). When the log refuses the entry, the
  // row is given up on all the same and *refused says why, as for
  // mark_delivered: the caller has the ledger checked at once.
  Status mark_dead(int64_t id, int64_t now, DeadReason reason, const std::string& error, bool attempted = true,
                   const std::string& config = "", std::string* refused = nullptr);
  // Gives up on every pending row of `bot` (a bot no longer in the config),
  // each recorded as mark_dead does; returns their ids.
  Result<std::vector<int64_t>> kill_bot(const std::string& bot, int64_t now, const std::string& error,
                                        std::string* refused = nullptr);
  // Rows dead for a configuration reason go back to the queue (attempts from
  // zero) when the bot's configuration is no longer the one they failed
  // under (`config`, as given to mark_dead): called at start. A restart with
  // the same configuration tries nothing again. Returns how many.
  // Each is recorded "revived" in the deliveries log in the same write. When
  // the log refuses, nothing is revived (they stay dead: tried again at the
  // next start) and *refused says why.
  Result<int64_t> revive_configuration_dead(const std::string& bot, int64_t now, const std::string& config,
                                            std::string* refused = nullptr);
  // An operator's remedy (`sunledger outbox retry ID`): dead letter `id`
  // back in the queue, attempts from zero, due at `now`, with its "revived"
  // entry (naming `by`, who asked) in the same write. Only a row given up on
  // for attempts or configuration, still signed by this deployment: a
  // tampered one (or one whose signature no longer matches) would never be
  // sent anyway. NotFound for an unknown id; FailedPrecondition, nothing
  // changed, for a row delivered, still queued or tampered; a refusal of the
  // deliveries log revives nothing and is returned as is.
  Status revive(int64_t id, int64_t now, const std::string& by);
  // Dead letters, newest first.
  Result<std::vector<DeadLetter>> dead_letters(size_t limit = 1000);
  // Undelivered messages still being tried, for /metrics.
  Result<int64_t> depth();
  // Dead letters, for /metrics.
  Result<int64_t> dead_count();

 private:
  Ledger* ledger_;
};

}  // namespace sunledger
