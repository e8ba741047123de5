// Dedupe records: a platform delivers a message again when our answer was
// slow or lost, and a change must never run twice. Each record is keyed by
// keyed hashes (HMAC under the deployment's id-salt), never by the platform's
// ids: the table cannot be joined to a sender, a chat or a message id, not
// even for an anonymous complaint. The stored reply is sealed (AES-256-GCM)
// under a key derived from (bot, chat, sender, message id), so only a
// redelivery of the very same message gets it back; the same message id from
// another chat or sender is a conflict and learns nothing.
//
// Thread safety: stateless apart from the salt; every call runs inside the
// caller's write transaction.
#pragma once

#include <string>

#include "bot/bot.h"
#include "ledger/ledger.h"

namespace sunledger {

class DedupeRecords {
 public:
  explicit DedupeRecords(std::string salt) : salt_(std::move(salt)) {}

  // Creates the table, and drops the plaintext table older versions kept.
  static Status create_schema(WriteTxn& txn);

  struct Found {
    enum class Kind { kNew, kReplay, kConflict };
    Kind kind = Kind::kNew;
    std::string reply;  // kReplay: the reply given the first time
  };
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
  // The answer to a redelivery whose kept reply no longer opens (edited).
  static const char* kHandledReplay;

 private:
  std::string key(const char* purpose, const InboundMessage& m, bool whole_tuple) const;
  std::string salt_;
};

}  // namespace sunledger
