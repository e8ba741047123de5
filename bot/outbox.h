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
};

class Outbox {
 public:
  explicit Outbox(Ledger* ledger) : ledger_(ledger) {}

  // Inside a write: queues a push, committed with the caller's change.
  static Status enqueue(WriteTxn& txn, const Push& push);
  // Creates the outbox table, or brings an older one up to date (the
  // audience column; rows of older versions addressed to a bound group are
  // group pushes, every other row is a person's).
  static Status create_schema(WriteTxn& txn);

  // Undelivered messages whose next attempt is due, oldest first.
  Result<std::vector<OutboxMessage>> due(int64_t now, size_t limit);
  // A delivered row keeps no text and, for a person, no address: once sent,
  // the outbox is no record of who was told what.
  Status mark_delivered(int64_t id, int64_t now);
  Status mark_failed(int64_t id, int64_t next_attempt_at, const std::string& error);
  // Undelivered messages, for /metrics.
  Result<int64_t> depth();

 private:
  Ledger* ledger_;
};

}  // namespace sunledger
