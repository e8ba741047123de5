#include "bot/dedupe.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "ledger/crypto.h"
#include "ledger/identity.h"

namespace sunledger {

Status DedupeRecords::create_schema(WriteTxn& txn) {
  txn.db().exec(
      "CREATE TABLE IF NOT EXISTS dedupe_records(id_key TEXT PRIMARY KEY, who_key TEXT NOT NULL, reply BLOB NOT NULL,"
      " day INTEGER NOT NULL)");
  // Older versions stored (bot, message id, reply text) in plain: the replies
  // held receipts, and the ids could be joined to the platform's records.
  txn.db().exec("DROP TABLE IF EXISTS processed_messages");
  return Status::ok();
}

std::string DedupeRecords::key(const char* purpose, const InboundMessage& m, bool whole_tuple) const {
  // NUL separators: no field can run into the next one.
  std::string data = std::string(purpose) + '\0' + m.bot_id + '\0' + m.message_id;
  if (whole_tuple) data += std::string(1, '\0') + m.chat_id + '\0' + m.sender_id;
  Hash h = hmac_sha256(salt_, data);
  return std::string(as_view(h));
}

const char* DedupeRecords::kHandledReplay =
    "这条消息已经处理过了,没有重复办理。(this message was handled already; nothing was done twice)";

const char* DedupeRecords::kAnonymousReplay =
    "这条匿名投诉已经登记过了。为保护匿名,编号只在第一次回复中显示;如果没有收到,请重新投诉。(this anonymous complaint was "
    "filed already; its receipt is shown once only: if you did not get it, please file again)";

Status DedupeRecords::record_anonymous(WriteTxn& txn, const InboundMessage& m) const {
  auto& q = txn.statement("INSERT INTO dedupe_records(id_key, who_key, reply, day) VALUES(?,?,?,?)");
  q.bind(1, hex_encode(key("dedupe-id", m, false)));
  q.bind(2, "");
  q.bind(3, "", 0);
  q.bind(4, txn.now() / 86400);
  q.exec();
  return Status::ok();
}

Result<DedupeRecords::Found> DedupeRecords::find(WriteTxn& txn, const InboundMessage& m) const {
  Found out;
  auto& q = txn.statement("SELECT who_key, reply FROM dedupe_records WHERE id_key=?");
  q.bind(1, hex_encode(key("dedupe-id", m, false)));
  if (!q.executeStep()) {
    q.reset();
    return out;
  }
  std::string who = q.getColumn(0).getString();
  auto blob = q.getColumn(1);
  std::string sealed;
  if (blob.getBytes() > 0) sealed.assign(static_cast<const char*>(blob.getBlob()), static_cast<size_t>(blob.getBytes()));
  q.reset();
  if (who.empty()) {  // an anonymous filing: nothing kept to compare or return
    out.kind = Found::Kind::kReplay;
    out.reply = kAnonymousReplay;
    return out;
  }
  if (!constant_time_equal(who, hex_encode(key("dedupe-who", m, true)))) {
    out.kind = Found::Kind::kConflict;
    return out;
  }
  auto reply = aead_open(key("dedupe-reply", m, true), sealed);
  out.kind = Found::Kind::kReplay;
  // Its keys matched, so this very message was handled; only the kept reply
  // was edited (nobody without the id-salt can seal one). Saying so keeps
  // the change from running twice, and the platform from retrying forever.
  out.reply = reply.is_ok() ? std::move(*reply) : kHandledReplay;
  return out;
}

Status DedupeRecords::record(WriteTxn& txn, const InboundMessage& m, const std::string& reply) const {
  auto sealed = aead_seal(key("dedupe-reply", m, true), redact_resident_ids(reply));
  if (!sealed.is_ok()) return sealed.status();
  auto& q = txn.statement("INSERT INTO dedupe_records(id_key, who_key, reply, day) VALUES(?,?,?,?)");
  q.bind(1, hex_encode(key("dedupe-id", m, false)));
  q.bind(2, hex_encode(key("dedupe-who", m, true)));
  q.bind(3, sealed->data(), static_cast<int>(sealed->size()));
  q.bind(4, txn.now() / 86400);
  q.exec();
  return Status::ok();
}

}  // namespace sunledger
