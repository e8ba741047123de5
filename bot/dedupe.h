// Dedupe records: a platform delivers a message again when our answer was
// slow or lost, and a change must never run twice. Each record is keyed by
// keyed hashes (HMAC under the deployment's id-salt), never by the platform's
// ids: the table cannot be joined to a sender, a chat or a message id, not
// even for an anonymous complaint. The stored reply is sealed (AES-256-GCM)
// under a key derived from (bot, chat, sender, message id), so only a
// redelivery of the very same message gets it back; the same message id from
// another chat or sender is a conflict and learns nothing.
//
// A record deleted by hand used to let a redelivery of its message run again
// (platforms retry for minutes): a complaint filed twice, a post booked twice.
// So every record is also an entry of a signed log of its own, "handled"
// (origin ORIGIN/handled; no village may take the name), appended in the same
// transaction: the record's id key and the day, nothing else (what the table
// holds already). An entry cannot be removed without breaking the log's tree
// and signed checkpoint; a message whose key the log holds is not run again
// even when its record is gone, and verify names the record missing. What it
// does not stop: the log's tail rolled back together with the records, from a
// copy taken before (only a witness outside the server, issue #15, tells).
//
// Thread safety: find() and record() run inside the caller's write
// transaction; warm_up() runs on any thread before it; the keys read from
// the log are guarded by a mutex.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bot/bot.h"
#include "ledger/ledger.h"

namespace sunledger {

class DedupeRecords {
 public:
  static constexpr const char* kLogName = "handled";
  // Keys read from the log's entries, as (index, key prefix, recorded_at).
  using Read = std::vector<std::tuple<uint64_t, std::string, std::string>>;

  // Borrows `ledger`, which must outlive it.
  DedupeRecords(Ledger* ledger, std::string salt) : ledger_(ledger), salt_(std::move(salt)) {}

  // Creates the table, and drops the plaintext table older versions kept.
  static Status create_schema(WriteTxn& txn);
  // Its table, for Ledger::expect_tables (the bot registers it).
  static std::vector<SchemaTable> own_tables();

  struct Found {
    enum class Kind { kNew, kReplay, kConflict };
    Kind kind = Kind::kNew;
    std::string reply;  // kReplay: the reply given the first time
  };
  // Reads the log's last days into memory, off the writer: the first
  // message after a start would otherwise walk a log of years inside the
  // write. Later calls return at once (find() takes the few entries
  // committed since, in the writer).
  [[nodiscard]] Status warm_up() const;
  // The record of this message, or, when it is gone, whether the signed log
  // holds it as handled (its entries committed before this write, read in
  // the writer's transaction: a repeat within one batch meets the record
  // that write made; an entry of the batch itself may still roll back).
  [[nodiscard]] Result<Found> find(WriteTxn& txn, const InboundMessage& m) const;
  // Records the message and its reply in the caller's transaction. The date
  // is kept to the day: the record must not time an anonymous filing.
  [[nodiscard]] Status record(WriteTxn& txn, const InboundMessage& m, const std::string& reply) const;
  // The record of an anonymous filing: keyed by (bot, message id) alone, with
  // no reply kept. Even an insider holding the id-salt, who can try every
  // (chat, sender) pair, finds nothing to match; a redelivery is told the
  // complaint was filed, without its receipt (shown once only).
  [[nodiscard]] Status record_anonymous(WriteTxn& txn, const InboundMessage& m) const;
  static const char* kAnonymousReplay;
  // record() found the message recorded by another node's write that
  // committed after find() (kAlreadyExists with this message): nothing of
  // this write may stand; run it again, and find() answers with that
  // write's reply.
  static const char* kRaced;
  static bool raced(const Status& s);
  // The answer to a redelivery whose kept reply no longer opens (edited).
  static const char* kHandledReplay;

  // The log against the table: the record of every entry must be there (log
  // "handled", named by entry).
  Result<std::vector<VerifyProblem>> verify() const;

 private:
  std::string key(const char* purpose, const InboundMessage& m, bool whole_tuple) const;
  Status insert(WriteTxn& txn, const std::string& id_key, const std::string& who_key, const std::string& sealed) const;
  // Takes entries read from the log into memory; drops the keys of days past.
  void absorb(const Read& read, uint64_t end, const std::string& cutoff) const;
  std::string cutoff() const;
  Ledger* ledger_;
  std::string salt_;
  mutable std::mutex warm_mu_;  // held by the one warm_up() that reads
  mutable bool warm_ = false;    // guarded by warm_mu_
  mutable std::mutex mu_;
  mutable uint64_t read_up_to_ = 0;                               // entries read from the log; guarded by mu_
  mutable std::unordered_set<std::string> recent_;                // key prefixes; guarded by mu_
  mutable std::deque<std::pair<std::string, std::string>> days_;  // (recorded_at, prefix), oldest first; guarded by mu_
};

}  // namespace sunledger
