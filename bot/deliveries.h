// The signed record of delivered pushes: a log of its own ("deliveries",
// origin ORIGIN/deliveries; no village may take the name) with one entry per
// outbox row delivered, appended in the transaction that marks the row
// delivered, and one per push queued ("queued", see below).
//
// Why a signed log: an outbox row is signed when it is queued, so a copy of a
// pending row taken before its delivery stays genuine for ever, and put back
// after the delivery (its delivered mark cleared, its text restored) it would
// be sent again. What stops that must be a record the insider cannot take
// back. A column of the row goes with the copy; a row of another table, even
// a signed one, can be deleted (a deleted row reads as absent). An entry of a
// Merkle log cannot: the later entries and the signed checkpoint cover it, so
// removing it breaks the tree, and verify names the log. The sender trusts
// only the entries verify would pass (an entry forged without the key cannot
// hold back a push, the tamper alarm included), and verify compares the log
// with the outbox both ways: a row put back after its delivery is named, and
// so is a delivered row the log does not record (entries removed).
//
// An entry names the push by its outbox id and a fingerprint of its
// signature: a row deleted by hand lets SQLite give its id to the next push,
// and that new, genuine push (the tamper alarm, say) must not pass for the
// delivered one. A monthly notice held for the witnesses (issue #15) is
// signed again when released, its text then carrying the cosignatures; a
// copy of the row taken while it was held would be released again under yet
// another signature once one more witness cosigned. So the released row keeps
// the fingerprint of the signature it was queued with (outbox column
// held_push, covered by the new signature), and its entry names that one too
// ("held"): a put-back copy of the row, held or released, matches its entry.
// Entries written before "held" existed match by "push" alone.
//
// Every push is recorded when it is queued too ("queued", in the write that
// queues it): its row deleted with sqlite3 before it went out would otherwise
// leave no trace, and verify names a queued push whose row is gone and that
// no entry records delivered. Monthly notices were recorded so first (issue
// #15); a complaint update, a receipt or an inspectors' alarm since the
// review that found it lost unsaid ("what": "push" in its entry, so verify
// names it a push; entries without it are notices). Rows queued before
// their kind was recorded have no entry and are not judged: nothing
// requires a pending row to have one, so they are not flagged either.
//
// Dead letters are recorded too ("dead", review R2): dead_at, next_attempt_at
// and attempts are columns no signature covers, so an insider with sqlite3
// could stop a queued notice (dead_at set with a made-up reason, or its next
// attempt put off to 2100) with verify intact. Every row given up on gets a
// "dead" entry in the write that gives it up, every row revived a "revived"
// one, each by id and signature fingerprint; verify requires every dead,
// undelivered row to be dead by the log's last word on it. next_attempt_at
// is not judged (review R1): the sender never believes a wait longer than
// its longest backoff, nor one on a row it has not tried since it started
// (Outbox::is_due, webhooks/outbox_sender.h), so moving it holds nothing back
// for long, and judging it made a clock stepped back read as tampering. Rows dead before this version have no entry: the entry
// that starts the log (or, in a log an older version started, one appended
// when this version's serve first starts: start_dead_record) lists the rows
// dead at that moment ("dead_before", with "at", the time), and only the
// first such list is believed, only for rows created by then (a deleted row's
// id reused later is another push). `attempts` raised by hand makes a row a
// real dead letter sooner, recorded like any other and listed for inspectors
// (GET /v1/outbox/dead): that one cannot be hidden.
//
// Privacy: an entry holds that id, the fingerprints and the
// day, never the chat, the person or the text (the fingerprint is a hash of a
// signature that only the key can make, so it cannot be matched against a
// guessed text); the outbox row keeps what it kept before.
//
// What it does not stop (README, "Pushes only the bot queued, each once"):
// the log's tail rolled back (its last entries, subtree hashes and the logs
// row with its older checkpoint, all from a copy taken before) together with
// every row delivered since, put back pending from the same copy: that is a
// rollback of both to the copy, which only a witness outside the server can
// tell; the submitter sends this log to the witnesses as every other
// (webhooks/witness_submitter.h), and a witness holding the larger tree
// refuses it and alarms the inspectors. A row queued after the copy has no
// pending copy (its text is gone once delivered), so its missing entry is
// named. A log dropped whole is started again at serve's next start
// (start_dead_record), the next delivery or monthly notice queued, and the
// witnesses refuse it the same way.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/merkle.h"

namespace sunledger::deliveries {

inline constexpr const char* kLogName = "deliveries";

// Thread safety: IdRanges and Delivered are plain values (no locking: one
// thread at a time, or const use from several); the functions below are
// safe from any thread, each running its own ledger transaction.

// A set of outbox ids as ranges (first -> last): ids are delivered mostly in
// order, so a few ranges hold millions.
class IdRanges {
 public:
  bool contains(int64_t id) const;
  void insert(int64_t id);
  const std::map<int64_t, int64_t>& ranges() const { return ranges_; }

 private:
  std::map<int64_t, int64_t> ranges_;
};

// A push's fingerprint: the first 8 bytes of SHA-256 over its signature.
uint64_t fingerprint(const std::string& signature);
// As entries and the outbox's held_push column write it: 16 lowercase hex digits.
std::string fingerprint_hex(uint64_t fingerprint);
// Its inverse; nothing for anything else ("" included).
std::optional<uint64_t> parse_fingerprint(const std::string& hex);

// The pushes a log records as delivered.
class Delivered {
 public:
  // Whether the push with this id and signature fingerprint was delivered.
  bool contains(int64_t id, uint64_t fingerprint) const;
  void insert(int64_t id, uint64_t fingerprint);
  // Adds what `other` records (pushes and imported ids); keeps this one's.
  void merge(const Delivered& other);
  // Whether the push with this id was delivered: the one signed with
  // `signature`, or, for a released notice (held_push: the hex fingerprint
  // of the signature it was queued with, "" for any other push), the notice
  // it was released from, under whichever signature it went out.
  bool contains_push(int64_t id, const std::string& signature, const std::string& held_push) const;
  // Rows delivered before the log existed, recorded by id alone.
  IdRanges imported;
  // The log's first `verified.size()` entries, which these were read from,
  // as a compact range (their tree's frontier), when they matched the log's
  // signed checkpoint (empty when there was no log); catch_up reads only what
  // follows. Unset when the log was not intact: catch_up then reads the
  // whole log again, but only once per checkpoint (`reread_at` marks it).
  std::optional<CompactRange> verified;
  std::string reread_at;

 private:
  std::vector<std::pair<int64_t, uint64_t>> pushes_;  // sorted: compact for millions
};

// Inside a write that just marked row `outbox_id` delivered: records it by
// the signature it went out with (and, for a released notice, its held_push:
// the fingerprint it was queued with), as the sender read and checked them,
// not as read again from the row, which sqlite3 can change in between. The log's
// first entry ("imported") lists the rows delivered before the log existed,
// so they are covered too.
Status record(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& held_push);

// Inside the write that queues push `outbox_id` (a monthly notice, held for
// the witnesses or not, when `notice`): records that it was queued, by the
// fingerprint of the signature it was queued with ("queued", never "push":
// that key means delivered). verify names such a push whose row is gone and
// that no entry records delivered; rows queued before this entry existed
// have none.
Status record_queued(WriteTxn& txn, int64_t outbox_id, const std::string& signature, bool notice);

// Inside the write that gives up on row `outbox_id` (before its dead_at is
// set): records it dead ("dead", the fingerprint of its signature as the row
// holds it, the reason: "attempts", "configuration" or "tampered", and the
// configuration hash it failed under, as the row's dead_config: never a
// secret). verify holds the row's dead_reason and dead_config to them: a
// configuration dead letter relabelled by hand would never be revived
// (review R1).
Status record_dead(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& reason,
                   const std::string& config);
// Inside the write that puts a dead row back in the queue: records it revived
// (by: the operator who asked, `outbox retry --by`; "" when revived by a
// changed configuration).
Status record_revived(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& by = "");
// At serve's start, before anything is given up on: makes sure the log lists
// the rows dead before dead letters were recorded (see above). Writes
// nothing once it does (a scan of the log's leaves, in the writer); starts
// the log when there is none.
Status start_dead_record(Ledger& ledger);

// The pushes the log's entries record as delivered (each under its "push"
// and its "held" fingerprint), from its entries that match its signed
// checkpoint only (see above).
Result<Delivered> recorded(Ledger& ledger);

// Brings `delivered` (from recorded()) up to the log as it stands now, for a
// sender whose memory must also know the pushes other processes delivered
// (another node on the same PostgreSQL database took a row over): reads only
// the entries appended since, and keeps them when, appended to those it was
// read from, they make the log's signed checkpoint. Otherwise (the log not
// intact, rolled back, its row edited) it reads the whole log again, as
// recorded() does, once per checkpoint, and adds what that believes: it
// never forgets what it knew, since each push it holds was either checked
// against a signed checkpoint or delivered by this process, and an insider
// who breaks the log must not make a node forget and send a put-back row
// again. Nothing to read costs one read of the checkpoint. Errors are
// storage's only (the caller then sends nothing): a log that no longer
// matches its row is read again, never a reason to stop every push, the
// inspectors' alarm included.
Status catch_up(Ledger& ledger, Delivered& delivered);

// The outbox against the log, both ways (log "deliveries", named by entry),
// every queued push against its row, and every undelivered row's
// dead_at against the dead letters recorded.
Result<std::vector<VerifyProblem>> verify(Ledger& ledger);

}  // namespace sunledger::deliveries
