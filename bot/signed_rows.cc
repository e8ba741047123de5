#include "bot/signed_rows.h"

#include <algorithm>

#include <tuple>

#include "bot/portable_sql.h"
#include "ledger/checkpoint.h"

namespace sunledger::signed_rows {

namespace {

// What each signature covers. The first line holds spaces, so no checkpoint
// body (whose first line is an origin) can be taken for it, nor it for one;
// NUL separators keep one field from running into the next.
std::string member_bytes(const std::string& bot, const std::string& user, const std::string& village) {
  return "sunledger seen member\n" + bot + '\0' + user + '\0' + village;
}
std::string state_bytes(const std::string& key, const std::string& value) {
  return "sunledger bot state\n" + key + '\0' + value;
}

bool has_column(sql::Session& db, const char* table, const char* column) {
  auto columns = db.columns(table);
  return std::find(columns.begin(), columns.end(), column) != columns.end();
}

// The tables, defined once: made by create_schema, registered by own_tables().
// seen_members: bot_sql::kSeenMembersTable (bot/portable_sql.h).
const char* const kBotState = "CREATE TABLE IF NOT EXISTS bot_state(key TEXT PRIMARY KEY, value TEXT NOT NULL, sig BLOB)";
// As older versions made them, before create_schema added sig to them. With
// sig added, seen_members's text is also the one versions before issue #17
// made (`user` unquoted): SQLite writes an added column before the table's
// constraints, where those versions had sig.
const char* const kUnsignedSeenMembers =
    "CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, PRIMARY KEY(bot, user, village))";
const char* const kUnsignedBotState = "CREATE TABLE IF NOT EXISTS bot_state(key TEXT PRIMARY KEY, value TEXT NOT NULL)";

}  // namespace

}  // namespace sunledger::signed_rows

namespace sunledger {
const char* const bot_sql::kSeenMembersTable =
    "CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, \"user\" TEXT NOT NULL, village TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, sig BLOB, PRIMARY KEY(bot, \"user\", village))";
const char* const bot_sql::kRecordSeenMember =
    "INSERT INTO seen_members(bot, \"user\", village, first_seen, sig) VALUES(?,?,?,?,?)"
    " ON CONFLICT(bot, \"user\", village) DO UPDATE SET sig=excluded.sig";
const char* const bot_sql::kSeenVillages = "SELECT village, sig FROM seen_members WHERE bot=? AND \"user\"=?";
}  // namespace sunledger

namespace sunledger::signed_rows {

std::vector<SchemaTable> own_tables() {
  std::vector<SchemaTable> out;
  for (auto [today, unsigned_form, table] : {std::tuple{bot_sql::kSeenMembersTable, kUnsignedSeenMembers, "seen_members"},
                                            std::tuple{kBotState, kUnsignedBotState, "bot_state"}}) {
    const std::string add_sig = std::string("ALTER TABLE ") + table + " ADD COLUMN sig BLOB";
    const char* const alters[] = {add_sig.c_str()};
    out.push_back(schema_table(today));
    out.back().sql.push_back(table_sql_after(unsigned_form, alters));
  }
  return out;
}

Status create_schema(WriteTxn& txn) {
  auto& db = txn.sql();
  db.exec(bot_sql::kSeenMembersTable);
  db.exec(kBotState);
  // Older versions' rows carry no signature: they read as absent (signing
  // them now would also sign whatever an insider had slipped in).
  for (const char* table : {"seen_members", "bot_state"})
    if (!has_column(db, table, "sig")) db.exec(std::string("ALTER TABLE ") + table + " ADD COLUMN sig BLOB");
  return Status::ok();
}

Status record_seen_member(WriteTxn& txn, const std::string& bot, const std::string& user, const std::string& village) {
  auto sig = txn.sign(member_bytes(bot, user, village));
  if (!sig.is_ok()) return sig.status();
  if (txn.sql().dialect() == sql::Session::Dialect::kPostgresql) {
    // Two nodes' batches recording the same members in crossed orders would
    // wait for each other's row (a deadlock PostgreSQL breaks only after a
    // second); the member's lock first turns that into the group commit's
    // run-again (sql::Session::lock_until_commit). Named by the member, in a
    // class of its own.
    txn.sql().lock_name_until_commit(bot_sql::kMemberLock, member_bytes(bot, user, village));
  }
  auto& q = txn.sql().statement(bot_sql::kRecordSeenMember);
  q.bind(1, bot);
  q.bind(2, user);
  q.bind(3, village);
  q.bind(4, txn.now());
  q.bind_blob(5, *sig);
  q.exec();
  q.reset();
  return Status::ok();
}

Result<std::vector<std::string>> seen_villages(sql::Session& db, const std::string& public_key, const std::string& bot,
                                               const std::string& user) {
  std::vector<std::string> out;
  auto& q = db.statement(bot_sql::kSeenVillages);
  q.bind(1, bot);
  q.bind(2, user);
  while (q.step()) {
    std::string village = q.column_text(0);
    if (ed25519_verify(public_key, member_bytes(bot, user, village), q.column_blob(1))) out.push_back(village);
  }
  q.reset();
  return out;
}

Status put_state(WriteTxn& txn, const std::string& key, const std::string& value) {
  auto sig = txn.sign(state_bytes(key, value));
  if (!sig.is_ok()) return sig.status();
  auto& q = txn.sql().statement(
      "INSERT INTO bot_state(key, value, sig) VALUES(?,?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value,"
      " sig=excluded.sig");
  q.bind(1, key);
  q.bind(2, value);
  q.bind_blob(3, *sig);
  q.exec();
  q.reset();
  return Status::ok();
}

std::optional<std::string> state(sql::Session& db, const std::string& public_key, const std::string& key) {
  auto& q = db.statement("SELECT value, sig FROM bot_state WHERE key=?");
  q.bind(1, key);
  if (!q.step()) return std::nullopt;
  std::string value = q.column_text(0);
  if (!ed25519_verify(public_key, state_bytes(key, value), q.column_blob(1))) return std::nullopt;
  return value;
}

}  // namespace sunledger::signed_rows
