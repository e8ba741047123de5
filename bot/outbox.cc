#include "bot/outbox.h"

#include <algorithm>
#include <functional>

#include "bot/deliveries.h"
#include "bot/directory.h"
#include "ledger/checkpoint.h"
#include "ledger/identity.h"

namespace sunledger {

namespace {

// The outbox's indexes, defined once: created from here and registered with
// the ledger from here (verify names any other index).
const char* const kIndexes[] = {
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt_at) WHERE delivered_at IS NULL",
    // Each chat's queue, in order: what due_for_bot() walks.
    "CREATE INDEX IF NOT EXISTS outbox_queue ON outbox(bot, chat, id) WHERE delivered_at IS NULL AND dead_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbox_dead ON outbox(dead_at) WHERE dead_at IS NOT NULL",
};

// The table, defined once too: create_schema makes it from here and adds the
// columns below (to a new table as to an older one), and own_tables() tells
// verify the forms it may have.
const char* const kTable =
    "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, bot TEXT NOT NULL, chat TEXT NOT NULL, text TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " delivered_at INTEGER, last_error TEXT, audience TEXT NOT NULL DEFAULT 'person')";
// The first versions' table, which gained audience by ALTER TABLE.
const char* const kFirstTable =
    "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, bot TEXT NOT NULL, chat TEXT NOT NULL, text TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " delivered_at INTEGER, last_error TEXT)";
const char* const kAddAudience = "ALTER TABLE outbox ADD COLUMN audience TEXT NOT NULL DEFAULT 'person'";
const char* const kAddDeadAt = "ALTER TABLE outbox ADD COLUMN dead_at INTEGER";
const char* const kAddDeadReason = "ALTER TABLE outbox ADD COLUMN dead_reason TEXT";
const char* const kAddSig = "ALTER TABLE outbox ADD COLUMN sig BLOB";
const char* const kAddDeadConfig = "ALTER TABLE outbox ADD COLUMN dead_config TEXT";
// Monthly notices held for a witness quorum (issue #15).
const char* const kAddHeldVillage = "ALTER TABLE outbox ADD COLUMN held_village TEXT";
const char* const kAddHeldMonth = "ALTER TABLE outbox ADD COLUMN held_month TEXT";
const char* const kAddReleasedAt = "ALTER TABLE outbox ADD COLUMN released_at INTEGER";
// A released notice's pre-release signature fingerprint (bot/deliveries.h).
const char* const kAddHeldPush = "ALTER TABLE outbox ADD COLUMN held_push TEXT";
// Nodes sharing a PostgreSQL database (issue #17): which node's sender has
// the row (its writer session's backend pid) and since when (see claim()).
const char* const kAddClaimedBy = "ALTER TABLE outbox ADD COLUMN claimed_by INTEGER";
const char* const kAddClaimedAt = "ALTER TABLE outbox ADD COLUMN claimed_at INTEGER";
// What every read of a row selects, in row()'s order.
#define SUNLEDGER_OUTBOX_COLUMNS \
  "id, bot, chat, text, attempts, created_at, audience, sig, coalesce(held_village, ''), coalesce(held_month, ''), " \
  "coalesce(released_at, 0), coalesce(held_push, ''), next_attempt_at"

}  // namespace


namespace {
const char* audience_name(Audience a) { return a == Audience::kGroup ? "group" : "person"; }
const char* reason_name(DeadReason r) {
  switch (r) {
    case DeadReason::kConfiguration: return "configuration";
    case DeadReason::kTampered: return "tampered";
    case DeadReason::kAttempts: break;
  }
  return "attempts";
}

// SUNLEDGER_OUTBOX_COLUMNS
OutboxMessage row(sql::Statement& q) {
  return {q.column_int64(0), q.column_text(1), q.column_text(2), q.column_text(3),
          q.column_text(6) == "group" ? Audience::kGroup : Audience::kPerson, q.column_int(4),
          q.column_int64(5), q.column_blob(7), q.column_text(8), q.column_text(9), q.column_int64(10),
          q.column_text(11), q.column_int64(12)};
}

// What a push's signature covers. The first line holds spaces: no checkpoint
// body (whose first line is an origin) can be taken for it, nor it for one.
// A held notice's first line differs, and its village and month are signed
// too: cleared or moved by hand, the row no longer verifies. A released
// notice's differs again and covers held_push (the fingerprint it was
// queued with): cleared by hand, so that a delivered notice's copy would not
// be known, the row no longer verifies either. Rows released before
// held_push existed have none and verify as they were signed.
std::string signed_bytes(const OutboxMessage& m) {
  bool held = !m.held_village.empty();
  bool released = held && !m.held_push.empty();
  std::string out = released ? "sunledger outbox released push\n"
                    : held   ? "sunledger outbox held push\n"
                             : "sunledger outbox push\n";
  for (const std::string& field : {std::to_string(m.id), m.bot_id, m.chat_id, std::string(audience_name(m.audience)),
                                   std::to_string(m.created_at)})
    out += field + '\0';
  if (held) out += m.held_village + '\0' + m.held_month + '\0';
  if (released) out += m.held_push + '\0';
  return out + m.text;
}
// A row change that the signed deliveries log records in the same write
// (`record`). When the log refuses the entry (the ledger failed
// verification, or the log's stored state no longer matches its checkpoint),
// the change is made without it: the push went out, or is given up on,
// whatever the log says, and must not be tried again and again (the tamper
// alarm is one such push). verify names the row while the edit stands, and
// *refused says why, so the caller has the ledger checked at once, before the
// edit is undone. Storage briefly unavailable changes nothing.
// `what` names the change for the refusal's signed record ("push 7 delivered").
Status write_recording(Ledger* ledger, const std::function<Status(WriteTxn&, bool record)>& change,
                       std::string* refused, const std::string& what) {
  Status s = ledger->write([&](WriteTxn& txn) { return change(txn, true); });
  if (s.is_ok() || s.code() == Code::kUnavailable) return s;
  if (refused != nullptr) *refused = s.to_string();
  // The refusal signed in the admin log in the same write as the change
  // (review R1): serve killed before its alarm, and the log's edit undone,
  // it is still named by verify until cleared. Where the admin log refuses
  // too (a ledger that failed verification), the change alone.
  Status noted = ledger->write([&](WriteTxn& txn) -> Status {
    if (Status c = change(txn, false); !c.is_ok()) return c;
    return DirectoryStore::record_refused_record(txn, what, s.to_string());
  });
  if (noted.is_ok() || noted.code() == Code::kUnavailable) return noted;
  return ledger->write([&](WriteTxn& txn) { return change(txn, false); });
}

// Nodes sharing a PostgreSQL database (issue #17): a writer that picks the
// rows it records in the deliveries log takes that log first, so that two
// nodes starting at once (each reviving, or giving up on, the same rows)
// pick them one after the other, not both from the same state.
Status hold_deliveries(WriteTxn& txn) {
  auto held = txn.log_size(deliveries::kLogName);
  return held.is_ok() ? Status::ok() : held.status();
}

// Whether the outbox table has `column` (older versions lacked some).
bool outbox_has(WriteTxn& txn, const std::string& column) {
  auto columns = txn.sql().columns("outbox");
  return std::find(columns.begin(), columns.end(), column) != columns.end();
}

}  // namespace

Status Outbox::create_schema(WriteTxn& txn) {
  txn.sql().exec(kTable);
  if (!outbox_has(txn, "audience")) {
    txn.sql().exec(kAddAudience);
    txn.sql().exec(
        "UPDATE outbox SET audience='group' WHERE EXISTS(SELECT 1 FROM group_bindings g WHERE g.bot=outbox.bot AND g.chat=outbox.chat)");
    // Older versions kept the text of every delivered push.
    txn.sql().exec("UPDATE outbox SET text='', chat=CASE audience WHEN 'group' THEN chat ELSE '' END WHERE delivered_at IS NOT NULL");
  }
  // Dead letters (issue #19): rows given up on after too many attempts, or at
  // once when the bot's configuration cannot deliver them.
  if (!outbox_has(txn, "dead_at")) {
    txn.sql().exec(kAddDeadAt);
    txn.sql().exec(kAddDeadReason);
  }
  // Signed pushes. Rows of older versions have none and are never sent (an
  // insider's rows would otherwise pass for them).
  if (!outbox_has(txn, "sig")) txn.sql().exec(kAddSig);
  // The configuration a row failed under (rows of older versions: none, so
  // they are tried once more).
  if (!outbox_has(txn, "dead_config")) txn.sql().exec(kAddDeadConfig);
  // Notices held for a witness quorum (rows of older versions hold nothing).
  if (!outbox_has(txn, "held_village")) {
    txn.sql().exec(kAddHeldVillage);
    txn.sql().exec(kAddHeldMonth);
    txn.sql().exec(kAddReleasedAt);
  }
  // Rows released before it existed keep none (bot/deliveries.h).
  if (!outbox_has(txn, "held_push")) txn.sql().exec(kAddHeldPush);
  if (!outbox_has(txn, "claimed_by")) {
    txn.sql().exec(kAddClaimedBy);
    txn.sql().exec(kAddClaimedAt);
  }
  for (const char* sql : kIndexes) txn.sql().exec(sql);
  return Status::ok();
}

std::vector<SchemaIndex> Outbox::own_indexes() {
  return indexes_among(kIndexes);
}

// Every table create_schema leaves: today's, and the first versions' with
// audience added, each with the columns added since, in the order it adds them.
std::vector<SchemaTable> Outbox::own_tables() {
  const char* const since_audience[] = {kAddDeadAt,     kAddDeadReason, kAddSig,       kAddDeadConfig, kAddHeldVillage,
                                        kAddHeldMonth,  kAddReleasedAt, kAddHeldPush,  kAddClaimedBy,  kAddClaimedAt};
  const char* const since_first[] = {kAddAudience,   kAddDeadAt,     kAddDeadReason, kAddSig,       kAddDeadConfig,
                                     kAddHeldVillage, kAddHeldMonth, kAddReleasedAt, kAddHeldPush,  kAddClaimedBy,
                                     kAddClaimedAt};
  SchemaTable t = schema_table(kTable);
  t.sql = {table_sql_after(kTable, since_audience), table_sql_after(kFirstTable, since_first)};
  return {t};
}

Status Outbox::enqueue(WriteTxn& txn, const Push& push, const HeldFor& held) {
  auto& q = txn.sql().statement(
      "INSERT INTO outbox(bot, chat, text, created_at, next_attempt_at, audience, held_village, held_month)"
      " VALUES(?,?,?,?,?,?,?,?)");
  q.bind(1, push.bot_id);
  q.bind(2, push.chat_id);
  q.bind(3, redact_resident_ids(push.text));  // as every reply is: no identity number leaves in a push
  q.bind(4, txn.now());
  q.bind(5, txn.now());
  q.bind(6, audience_name(push.audience));
  if (held.village.empty()) {
    q.bind_null(7);
    q.bind_null(8);
  } else {
    q.bind(7, held.village);
    q.bind(8, held.month);
  }
  q.exec();
  OutboxMessage m{txn.sql().last_insert_id(), push.bot_id, push.chat_id, redact_resident_ids(push.text), push.audience, 0,
                  txn.now(), "", held.village, held.village.empty() ? "" : held.month};
  auto sig = txn.sign(signed_bytes(m));
  if (!sig.is_ok()) return sig.status();
  auto& u = txn.sql().statement("UPDATE outbox SET sig=? WHERE id=?");
  u.bind_blob(1, *sig);
  u.bind(2, m.id);
  u.exec();
  // Every push (a monthly notice, a reporter's update, a receipt, an alarm):
  // signed as queued in this same write, so a row deleted by hand before it
  // goes out is named by verify, not lost unsaid (issue #15).
  bool notice = !held.village.empty();
  Status recorded = deliveries::record_queued(txn, m.id, *sig, notice);
  if (recorded.is_ok() || notice || recorded.code() != Code::kDataLoss) return recorded;
  // Any other push still goes out when the log refuses the entry because the
  // ledger failed verification (or this log no longer matches its checkpoint,
  // which the refusal has the whole ledger checked for): the inspectors'
  // alarm about it is such a push. Nothing was appended (the refusal comes
  // first), and verify requires no entry of a pending row, so none is missed.
  return Status::ok();
}

bool Outbox::authentic(const OutboxMessage& m) const {
  return !m.signature.empty() && ed25519_verify(ledger_->signer().public_key(), signed_bytes(m), m.signature);
}

bool Outbox::authentic_row(Ledger::ReadTxn& r, int64_t id) const {
  auto& q = r.sql().statement("SELECT " SUNLEDGER_OUTBOX_COLUMNS " FROM outbox WHERE id=?");
  q.reset();
  q.bind(1, id);
  bool out = q.step() && authentic(row(q));
  q.reset();
  return out;
}

Result<std::vector<OutboxMessage>> Outbox::due(int64_t now, size_t limit) {
  std::vector<OutboxMessage> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    // As is_due: a wait longer than any backoff is not believed.
    auto& q = r.sql().statement(
        "SELECT " SUNLEDGER_OUTBOX_COLUMNS " FROM outbox"
        " WHERE delivered_at IS NULL AND dead_at IS NULL AND (next_attempt_at <= ? OR next_attempt_at > ?)"
        " ORDER BY id LIMIT ?");
    q.bind(1, now);
    q.bind(2, now + kMaxBackoffSeconds);
    q.bind(3, static_cast<int64_t>(limit));
    while (q.step()) out.push_back(row(q));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<std::vector<OutboxMessage>> Outbox::heads_for_bot(const std::string& bot, bool hold_notices) {
  std::vector<OutboxMessage> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    // A held notice stays its chat's head (the NOT EXISTS below counts it),
    // so nothing published after it overtakes it. No LIMIT: a chat waiting
    // on a retry must not hide the due heads of chats after it.
    auto& q = r.sql().statement(
        "SELECT " SUNLEDGER_OUTBOX_COLUMNS " FROM outbox o"
        " WHERE bot = ? AND delivered_at IS NULL AND dead_at IS NULL"
        " AND (? = 0 OR held_village IS NULL OR released_at IS NOT NULL)"
        " AND NOT EXISTS(SELECT 1 FROM outbox p WHERE p.bot = o.bot AND p.chat = o.chat AND p.id < o.id"
        "                AND p.delivered_at IS NULL AND p.dead_at IS NULL)"
        " ORDER BY id");
    q.bind(1, bot);
    q.bind(2, hold_notices ? 1 : 0);
    while (q.step()) out.push_back(row(q));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<std::vector<OutboxMessage>> Outbox::due_for_bot(const std::string& bot, int64_t now, size_t limit,
                                                       bool hold_notices) {
  auto heads = heads_for_bot(bot, hold_notices);
  if (!heads.is_ok()) return heads.status();
  std::vector<OutboxMessage> out;
  for (auto& m : *heads) {
    if (out.size() >= limit) break;
    if (is_due(m.next_attempt_at, now)) out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<OutboxMessage>> Outbox::held_notices() {
  std::vector<OutboxMessage> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT " SUNLEDGER_OUTBOX_COLUMNS " FROM outbox WHERE held_village IS NOT NULL"
                                " AND delivered_at IS NULL AND dead_at IS NULL ORDER BY id");
    while (q.step()) out.push_back(row(q));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<bool> Outbox::release(const OutboxMessage& m, const std::string& text, int64_t now) {
  bool changed = false;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    changed = false;
    OutboxMessage released = m;
    released.text = text;
    // The signature it was queued with, kept through every later release
    // (one the sender undid included): what its delivery will record.
    if (released.held_push.empty()) released.held_push = deliveries::fingerprint_hex(deliveries::fingerprint(m.signature));
    auto sig = txn.sign(signed_bytes(released));
    if (!sig.is_ok()) return sig.status();
    // Matched on everything the old signature covers, and the signature
    // itself: a row edited since it was read is left as it is.
    auto& q = txn.sql().statement(
        "UPDATE outbox SET text=?, sig=?, released_at=?, held_push=? WHERE id=? AND sig=? AND text=? AND bot=? AND chat=?"
        " AND held_village=? AND held_month=? AND created_at=? AND coalesce(held_push, '')=?"
        " AND delivered_at IS NULL AND dead_at IS NULL");
    q.bind(1, text);
    q.bind_blob(2, *sig);
    q.bind(3, now);
    q.bind(4, released.held_push);
    q.bind(5, m.id);
    q.bind_blob(6, m.signature);
    q.bind(7, m.text);
    q.bind(8, m.bot_id);
    q.bind(9, m.chat_id);
    q.bind(10, m.held_village);
    q.bind(11, m.held_month);
    q.bind(12, m.created_at);
    q.bind(13, m.held_push);
    changed = q.exec() == 1;
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return changed;
}

Status Outbox::unrelease(int64_t id) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement("UPDATE outbox SET released_at=NULL WHERE id=?");
    q.bind(1, id);
    q.exec();
    return Status::ok();
  });
}

Result<bool> Outbox::shared_storage() {
  bool shared = false;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    shared = r.sql().dialect() == sql::Session::Dialect::kPostgresql;
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return shared;
}

Result<bool> Outbox::claim(int64_t id, int64_t now) {
  bool claimed = false;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    claimed = false;
    if (txn.sql().dialect() != sql::Session::Dialect::kPostgresql) {
      claimed = true;  // one server per SQLite file (serve.lock): nobody to share with
      return Status::ok();
    }
    // A row another node's sender is not sending: unclaimed, this node's
    // own (this Ledger's writer session), or claimed by a session that is
    // gone (its node died: the server ends a killed client's backend at
    // once) or that has held it longer than any send takes (its pid may
    // have been reused since). SKIP LOCKED: a row another node is claiming
    // right now is that node's.
    auto& q = txn.sql().statement(
        "UPDATE outbox SET claimed_by = pg_backend_pid(), claimed_at = ? WHERE id = ("
        "SELECT o.id FROM outbox o WHERE o.id = ? AND o.delivered_at IS NULL AND o.dead_at IS NULL"
        " AND (o.claimed_by IS NULL OR o.claimed_by = pg_backend_pid() OR o.claimed_at < ?"
        "      OR NOT EXISTS(SELECT 1 FROM pg_stat_activity a WHERE a.pid = o.claimed_by))"
        " FOR UPDATE SKIP LOCKED)");
    q.bind(1, now);
    q.bind(2, id);
    q.bind(3, now - kClaimSeconds);
    claimed = q.exec() == 1;
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return claimed;
}

Result<std::vector<std::string>> Outbox::pending_bots() {
  std::vector<std::string> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT DISTINCT bot FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL");
    while (q.step()) out.push_back(q.column_text(0));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Outbox::mark_delivered(const OutboxMessage& sent, int64_t now, std::string* refused) {
  int64_t id = sent.id;
  return write_recording(ledger_, [&](WriteTxn& txn, bool record) -> Status {
    auto& q = txn.sql().statement(
        "UPDATE outbox SET delivered_at=?, attempts=attempts+1, text='',"
        " chat=CASE audience WHEN 'group' THEN chat ELSE '' END WHERE id=? AND delivered_at IS NULL");
    q.bind(1, now);
    q.bind(2, id);
    if (q.exec() == 0 || !record) return Status::ok();
    // In the same transaction: the row is never marked delivered without
    // its entry (see bot/deliveries.h).
    // held_push only for a notice: on any other row no signature covers it.
    return deliveries::record(txn, id, sent.signature, sent.held_village.empty() ? "" : sent.held_push);
  }, refused, "push " + std::to_string(id) + " delivered");
}

Status Outbox::mark_failed(int64_t id, int64_t next_attempt_at, const std::string& error) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement("UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE id=? AND delivered_at IS NULL");
    q.bind(1, next_attempt_at);
    q.bind(2, error.substr(0, 300));
    q.bind(3, id);
    q.exec();
    return Status::ok();
  });
}

Status Outbox::mark_dead(int64_t id, int64_t now, DeadReason reason, const std::string& error, bool attempted,
                         const std::string& config, std::string* refused) {
  return write_recording(ledger_, [&](WriteTxn& txn, bool record) -> Status {
    if (record) {
      if (Status held = hold_deliveries(txn); !held.is_ok()) return held;
      auto& q = txn.sql().statement("SELECT sig FROM outbox WHERE id=? AND delivered_at IS NULL AND dead_at IS NULL");
      q.bind(1, id);
      if (!q.step()) return Status::ok();  // delivered or given up on meanwhile: nothing changes
      // Before the row changes: a log this entry starts lists the rows dead
      // before it (bot/deliveries.h), and this one is not.
      if (Status s = deliveries::record_dead(txn, id, q.column_blob(0), reason_name(reason), config); !s.is_ok()) return s;
    }
    auto& q = txn.sql().statement(
        "UPDATE outbox SET attempts=attempts+?, dead_at=?, dead_reason=?, last_error=?, dead_config=? WHERE id=?"
        " AND delivered_at IS NULL AND dead_at IS NULL");
    q.bind(1, attempted ? 1 : 0);
    q.bind(2, now);
    q.bind(3, reason_name(reason));
    q.bind(4, error.substr(0, 300));
    q.bind(5, config);
    q.bind(6, id);
    q.exec();
    return Status::ok();
  }, refused, "push " + std::to_string(id) + " given up on (" + reason_name(reason) + ")");
}

Result<std::vector<int64_t>> Outbox::kill_bot(const std::string& bot, int64_t now, const std::string& error,
                                              std::string* refused) {
  std::vector<int64_t> ids;
  Status s = write_recording(ledger_, [&](WriteTxn& txn, bool record) -> Status {
    ids.clear();
    std::vector<std::string> sigs;
    if (record)
      if (Status held = hold_deliveries(txn); !held.is_ok()) return held;
    {
      auto& q = txn.sql().statement(
          "SELECT id, sig FROM outbox WHERE bot=? AND delivered_at IS NULL AND dead_at IS NULL ORDER BY id");
      q.bind(1, bot);
      while (q.step()) {
        ids.push_back(q.column_int64(0));
        sigs.push_back(q.column_blob(1));
      }
    }
    for (size_t i = 0; record && i < ids.size(); ++i)
      if (Status st = deliveries::record_dead(txn, ids[i], sigs[i], "configuration", ""); !st.is_ok()) return st;
    auto& u = txn.sql().statement(
        "UPDATE outbox SET dead_at=?, dead_reason='configuration', last_error=? WHERE bot=? AND delivered_at IS NULL"
        " AND dead_at IS NULL");
    u.bind(1, now);
    u.bind(2, error.substr(0, 300));
    u.bind(3, bot);
    u.exec();
    return Status::ok();
  }, refused, "the pushes via " + bot + " given up on (no such bot)");
  if (!s.is_ok()) return s;
  return ids;
}

namespace {
// Dead rows (id, signature) back in the queue, attempts from zero, due at
// `now`, each recorded "revived" in the same write (by `by` when given).
Result<int64_t> revive_rows(WriteTxn& txn, const std::vector<std::pair<int64_t, std::string>>& rows, int64_t now,
                            const std::string& by = "") {
  int64_t n = 0;
  for (const auto& row : rows) {
    if (Status st = deliveries::record_revived(txn, row.first, row.second, by); !st.is_ok()) return st;
    auto& u = txn.sql().statement(
        "UPDATE outbox SET dead_at=NULL, dead_reason=NULL, dead_config=NULL, attempts=0, next_attempt_at=? WHERE id=?");
    u.bind(1, now);
    u.bind(2, row.first);
    n += u.exec();
  }
  return n;
}
}  // namespace

Result<int64_t> Outbox::revive_configuration_dead(const std::string& bot, int64_t now, const std::string& config,
                                                  std::string* refused) {
  int64_t n = 0;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    if (Status held = hold_deliveries(txn); !held.is_ok()) return held;
    std::vector<std::pair<int64_t, std::string>> rows;
    {
      auto& q = txn.sql().statement(
          "SELECT id, sig FROM outbox WHERE bot=? AND delivered_at IS NULL AND dead_reason='configuration'"
          " AND coalesce(dead_config, '') != ? ORDER BY id");
      q.bind(1, bot);
      q.bind(2, config);
      while (q.step()) rows.emplace_back(q.column_int64(0), q.column_blob(1));
    }
    auto revived = revive_rows(txn, rows, now);
    if (!revived.is_ok()) return revived.status();
    n = *revived;
    return Status::ok();
  });
  if (s.is_ok() || s.code() == Code::kUnavailable) {
    if (!s.is_ok()) return s;
    return n;
  }
  // Left dead rather than revived without its entry, which verify would
  // name: the next start tries again.
  if (refused != nullptr) *refused = s.to_string();
  return int64_t{0};
}

Status Outbox::revive(int64_t id, int64_t now, const std::string& by) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    if (Status held = hold_deliveries(txn); !held.is_ok()) return held;
    auto& q = txn.sql().statement("SELECT " SUNLEDGER_OUTBOX_COLUMNS
                                  ", delivered_at IS NOT NULL, dead_at IS NOT NULL, coalesce(dead_reason, '')"
                                  " FROM outbox WHERE id=?");
    q.reset();
    q.bind(1, id);
    if (!q.step()) return not_found("no push " + std::to_string(id) + " in the outbox");
    OutboxMessage m = row(q);
    bool delivered = q.column_int(13) != 0, dead = q.column_int(14) != 0;
    std::string reason = q.column_text(15);
    q.reset();
    std::string push = "push " + std::to_string(id);
    if (delivered) return failed_precondition(push + " was delivered: nothing to send again");
    if (!dead) return failed_precondition(push + " is not a dead letter: it is still queued");
    // A tampered row's signature does not match, or the deliveries log has
    // it delivered already (a replay): the sender would give it up again at
    // once, and no operator can make it genuine.
    if (reason == reason_name(DeadReason::kTampered) || !authentic(m))
      return failed_precondition(push + " is a dead letter for tampering (its signature does not match, or it was "
                                        "delivered already): it is never sent");
    auto revived = revive_rows(txn, {{m.id, m.signature}}, now, by);
    return revived.is_ok() ? Status::ok() : revived.status();
  });
}

Result<std::vector<DeadLetter>> Outbox::dead_letters(size_t limit) {
  std::vector<DeadLetter> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement(
        "SELECT id, bot, audience, attempts, dead_reason, last_error, created_at, dead_at FROM outbox"
        " WHERE dead_at IS NOT NULL AND delivered_at IS NULL ORDER BY dead_at DESC, id DESC LIMIT ?");
    q.bind(1, static_cast<int64_t>(limit));
    while (q.step())
      out.push_back({q.column_int64(0), q.column_text(1),
                     q.column_text(2) == "group" ? Audience::kGroup : Audience::kPerson, q.column_int(3),
                     q.column_text(4), q.column_text(5), q.column_int64(6),
                     q.column_int64(7)});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<int64_t> Outbox::dead_count() {
  int64_t n = 0;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL AND delivered_at IS NULL");
    if (q.step()) n = q.column_int64(0);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return n;
}

Result<int64_t> Outbox::depth() {
  int64_t n = 0;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL");
    if (q.step()) n = q.column_int64(0);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return n;
}

}  // namespace sunledger
