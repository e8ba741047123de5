#include "bot/outbox.h"

#include <SQLiteCpp/SQLiteCpp.h>

namespace sunledger {

Status Outbox::enqueue(WriteTxn& txn, const Push& push) {
  auto& q = txn.statement("INSERT INTO outbox(bot, chat, text, created_at, next_attempt_at) VALUES(?,?,?,?,?)");
  q.bind(1, push.bot_id);
  q.bind(2, push.chat_id);
  q.bind(3, push.text);
  q.bind(4, txn.now());
  q.bind(5, txn.now());
  q.exec();
  return Status::ok();
}

Result<std::vector<OutboxMessage>> Outbox::due(int64_t now, size_t limit) {
  std::vector<OutboxMessage> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement(
        "SELECT id, bot, chat, text, attempts, created_at FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?");
    q.bind(1, now);
    q.bind(2, static_cast<int64_t>(limit));
    while (q.executeStep())
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     q.getColumn(3).getString(), q.getColumn(4).getInt(), q.getColumn(5).getInt64()});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Outbox::mark_delivered(int64_t id, int64_t now) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.statement("UPDATE outbox SET delivered_at=?, attempts=attempts+1 WHERE id=? AND delivered_at IS NULL");
    q.bind(1, now);
    q.bind(2, id);
    q.exec();
    return Status::ok();
  });
}

Status Outbox::mark_failed(int64_t id, int64_t next_attempt_at, const std::string& error) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.statement("UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE id=? AND delivered_at IS NULL");
    q.bind(1, next_attempt_at);
    q.bind(2, error.substr(0, 300));
    q.bind(3, id);
    q.exec();
    return Status::ok();
  });
}

Result<int64_t> Outbox::depth() {
  int64_t n = 0;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement("SELECT count(*) FROM outbox WHERE delivered_at IS NULL");
    if (q.executeStep()) n = q.getColumn(0).getInt64();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return n;
}

}  // namespace sunledger
