#include "bot/dedupe.h"

#include <algorithm>
#include <tuple>

#include "bot/portable_sql.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/identity.h"

namespace sunledger {

namespace {

const Author kRecorder{"sunledger", "system", "dedupe"};

// Platforms deliver a message again within minutes or hours, never days
// later: the keys of the last days are enough to hold a redelivery back, and
// memory stays bounded.
constexpr int64_t kKeepDays = 8;
// Kept as a prefix of 30 hex characters (120 bits), which std::string holds
// without allocating.
constexpr size_t kPrefix = 30;

// The table, defined once: made by create_schema, registered by own_tables().
const char* const kTable =
    "CREATE TABLE IF NOT EXISTS dedupe_records(id_key TEXT PRIMARY KEY, who_key TEXT NOT NULL, reply BLOB NOT NULL,"
    " day INTEGER NOT NULL)";

}  // namespace

std::vector<SchemaTable> DedupeRecords::own_tables() { return {schema_table(kTable)}; }

Status DedupeRecords::create_schema(WriteTxn& txn) {
  txn.sql().exec(kTable);
  // Older versions stored (bot, message id, reply text) in plain: the replies
  // held receipts, and the ids could be joined to the platform's records.
  txn.sql().exec("DROP TABLE IF EXISTS processed_messages");
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

Status DedupeRecords::insert(WriteTxn& txn, const std::string& id_key, const std::string& who_key,
                             const std::string& sealed) const {
  // By the unique key, not by find() alone: a node that found no record
  // while another node's write of the same message was still open meets
  // that record here once it commits (PostgreSQL's INSERT waits for it).
  // Nothing is inserted then, and run_write answers with the stored reply.
  auto& q = txn.sql().statement(
      "INSERT INTO dedupe_records(id_key, who_key, reply, day) VALUES(?,?,?,?) ON CONFLICT(id_key) DO NOTHING");
  q.bind(1, id_key);
  q.bind(2, who_key);
  q.bind_blob(3, sealed);
  q.bind(4, txn.now() / 86400);
  if (q.exec() == 0) return already_exists(kRaced);
  // The key and the day only, like the record: it must not time an
  // anonymous filing, nor hold anything the table does not.
  auto r = txn.append_to_log(kLogName, {{"kind", "handled"}, {"key", id_key}}, kRecorder, true);
  return r.is_ok() ? Status::ok() : r.status();
}

Status DedupeRecords::record_anonymous(WriteTxn& txn, const InboundMessage& m) const {
  return insert(txn, hex_encode(key("dedupe-id", m, false)), "", "");
}

std::string DedupeRecords::cutoff() const {
  return utc_timestamp(ledger_->clock().now_unix_seconds() - kKeepDays * 86400);
}

namespace {

// One leaf of the log into `read`, when it is of the last days.
void take(DedupeRecords::Read& read, uint64_t idx, std::string_view leaf, const std::string& cutoff) {
  auto f = nlohmann::json::parse(leaf.begin(), leaf.end(), nullptr, false);
  std::string k = f.is_object() ? f.value("key", "") : "", at = f.is_object() ? f.value("recorded_at", "") : "";
  if (k.size() >= kPrefix && at >= cutoff) read.emplace_back(idx, k.substr(0, kPrefix), at);
}

}  // namespace

void DedupeRecords::absorb(const Read& read, uint64_t end, const std::string& cutoff) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [idx, prefix, at] : read) {
    if (idx < read_up_to_) continue;  // taken in already by the other reader
    recent_.insert(prefix);
    days_.emplace_back(at, prefix);
  }
  read_up_to_ = std::max(read_up_to_, end);
  while (!days_.empty() && days_.front().first < cutoff) {
    recent_.erase(days_.front().second);
    days_.pop_front();
  }
}

Status DedupeRecords::warm_up() const {
  std::lock_guard<std::mutex> warm(warm_mu_);
  if (warm_) return Status::ok();
  // Committed entries only, in a read of its own, while the writer goes on:
  // the writer takes in what commits after (find()). Only the last days'
  // keys are kept: a log of years of messages stays out of memory.
  std::string since = cutoff();
  Read read;
  uint64_t end = 0;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    return r.leaves(kLogName, 0, [&](uint64_t idx, std::string_view leaf) {
      end = idx + 1;
      take(read, idx, leaf, since);
    });
  });
  if (!s.is_ok()) return s;
  absorb(read, end, since);
  warm_ = true;
  return Status::ok();
}

const char* DedupeRecords::kRaced =
    "这条消息正在另一台服务器上办理 (this message was handled by another node meanwhile)";

bool DedupeRecords::raced(const Status& s) { return s.code() == Code::kAlreadyExists && s.message() == kRaced; }

Result<DedupeRecords::Found> DedupeRecords::find(WriteTxn& txn, const InboundMessage& m) const {
  Found out;
  std::string id_key = hex_encode(key("dedupe-id", m, false));
  if (txn.sql().dialect() == sql::Session::Dialect::kPostgresql) {
    // Nodes sharing a database: a redelivery to another node waits here
    // until the write handling the first delivery ends, then reads its
    // record below (READ COMMITTED: each statement sees what committed
    // before it), instead of running the change again and meeting the
    // record only at its INSERT. Released at commit or rollback. SQLite has
    // one writer: nothing to wait for. Named by the id key, in a class of
    // its own.
    txn.sql().lock_name_until_commit(bot_sql::kMessageLock, id_key);
  }
  auto& q = txn.sql().statement("SELECT who_key, reply FROM dedupe_records WHERE id_key=?");
  q.bind(1, id_key);
  if (!q.step()) {
    q.reset();
    // No record, but the signed log holds the key: the record was deleted
    // by hand, and this is a redelivery of a message that was handled.
    // What committed since the last look is a batch or two: read here, in
    // the writer, whose pages are warm, not in a read of its own per message.
    uint64_t from = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = read_up_to_;
    }
    std::string since = cutoff();
    Read read;
    uint64_t end = from;
    Status s = txn.committed_leaves(kLogName, from, [&](uint64_t idx, std::string_view leaf) {
      end = idx + 1;
      take(read, idx, leaf, since);
    });
    if (!s.is_ok()) return s;
    absorb(read, end, since);
    bool in_log = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_log = recent_.count(id_key.substr(0, kPrefix)) > 0;
    }
    if (in_log) {
      out.kind = Found::Kind::kReplay;
      out.reply = kHandledReplay;
    }
    return out;
  }
  std::string who = q.column_text(0);
  std::string sealed = q.column_blob(1);
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
  return insert(txn, hex_encode(key("dedupe-id", m, false)), hex_encode(key("dedupe-who", m, true)), *sealed);
}

Result<std::vector<VerifyProblem>> DedupeRecords::verify() const {
  std::vector<VerifyProblem> problems;
  // One snapshot: a message handled in between would look unrecorded. The
  // entries' hashes and checkpoint are Ledger::verify's to check.
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT 1 FROM dedupe_records WHERE id_key=?");
    return r.leaves(kLogName, 0, [&](uint64_t idx, std::string_view leaf) {
      auto f = nlohmann::json::parse(leaf.begin(), leaf.end(), nullptr, false);
      q.reset();
      q.bind(1, f.is_object() ? f.value("key", "") : std::string());
      if (!q.step())
        problems.push_back({kLogName, idx, "dedupe_records: the record of the message handled in entry " + std::to_string(idx) +
                                               " is missing (deleted by hand? a redelivery of it would have run again)"});
    });
  });
  if (!s.is_ok()) return s;
  return problems;
}

}  // namespace sunledger
