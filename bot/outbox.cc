#include "bot/outbox.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "ledger/identity.h"

namespace sunledger {

namespace {
const char* audience_name(Audience a) { return a == Audience::kGroup ? "group" : "person"; }
}  // namespace

Status Outbox::create_schema(WriteTxn& txn) {
  txn.db().exec(
      "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, bot TEXT NOT NULL, chat TEXT NOT NULL, text TEXT NOT NULL,"
      " created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
      " delivered_at INTEGER, last_error TEXT, audience TEXT NOT NULL DEFAULT 'person')");
  bool has_audience = false;
  {
    SQLite::Statement cols(txn.db(), "SELECT name FROM pragma_table_info('outbox')");
    while (cols.executeStep()) has_audience |= cols.getColumn(0).getString() == "audience";
  }
  if (!has_audience) {
    txn.db().exec("ALTER TABLE outbox ADD COLUMN audience TEXT NOT NULL DEFAULT 'person'");
    txn.db().exec(
        "UPDATE outbox SET audience='group' WHERE EXISTS(SELECT 1 FROM group_bindings g WHERE g.bot=outbox.bot AND g.chat=outbox.chat)");
    // Older versions kept the text of every delivered push.
    txn.db().exec("UPDATE outbox SET text='', chat=CASE audience WHEN 'group' THEN chat ELSE '' END WHERE delivered_at IS NOT NULL");
  }
  txn.db().exec("CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt_at) WHERE delivered_at IS NULL");
  return Status::ok();
}

Status Outbox::enqueue(WriteTxn& txn, const Push& push) {
  auto& q = txn.statement("INSERT INTO outbox(bot, chat, text, created_at, next_attempt_at, audience) VALUES(?,?,?,?,?,?)");
  q.bind(1, push.bot_id);
  q.bind(2, push.chat_id);
  q.bind(3, redact_resident_ids(push.text));  // as every reply is: no identity number leaves in a push
  q.bind(4, txn.now());
  q.bind(5, txn.now());
  q.bind(6, audience_name(push.audience));
  q.exec();
  return Status::ok();
}

Result<std::vector<OutboxMessage>> Outbox::due(int64_t now, size_t limit) {
  std::vector<OutboxMessage> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement(
        "SELECT id, bot, chat, text, attempts, created_at, audience FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?");
    q.bind(1, now);
    q.bind(2, static_cast<int64_t>(limit));
    while (q.executeStep())
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     q.getColumn(3).getString(),
                     q.getColumn(6).getString() == "group" ? Audience::kGroup : Audience::kPerson, q.getColumn(4).getInt(),
                     q.getColumn(5).getInt64()});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Outbox::mark_delivered(int64_t id, int64_t now) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.statement("UPDATE outbox SET delivered_at=?, attempts=attempts+1, text='',"
                            " chat=CASE audience WHEN 'group' THEN chat ELSE '' END WHERE id=? AND delivered_at IS NULL");
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
