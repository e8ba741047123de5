// The bot's SQL that SQLite and PostgreSQL would read differently if written
// in SQLite's habits (issue #17), each statement written once in the form both
// engines read the same, and named here so that a test can run the very text
// the module runs on a real PostgreSQL database (tests/bot/portable_sql_test.cc).
// Each is defined in the module that runs it.
//
// The forms chosen:
// - the column `user` (seen_members, members, sign_in_links,
//   dashboard_sessions) is written "user" everywhere, DDL included:
//   PostgreSQL reserves the word, and in a WHERE an unquoted `user` is the
//   current role there, a comparison that silently matches nothing. Quoted,
//   both engines name the same column, and SQLite databases made before keep
//   theirs (the column's name is unchanged; only the stored CREATE text
//   differs, and own_tables() accepts both texts). The DDL is quoted in the
//   source rather than by the PostgreSQL translation (ledger/sql_dialect.h)
//   because the DML must be quoted anyway: one text, read the same by both,
//   with nothing rewritten behind the module's back.
// - `INSERT OR IGNORE` (SQLite only) is `INSERT … ON CONFLICT DO NOTHING`.
// - api_tokens has an explicit `id INTEGER PRIMARY KEY` (SQLite's rowid
//   alias, an identity column on PostgreSQL) instead of the implicit rowid,
//   which PostgreSQL does not have and which VACUUM may renumber on SQLite in
//   a table without one; a token's id is named in the signed admin log and
//   must never change. An older database's table is rebuilt once, each row
//   keeping its rowid as its id (DirectoryStore::create_schema). A new token's
//   id comes from `INSERT … RETURNING id` (SQLite >= 3.35; Debian 12 has
//   3.40), not last_insert_id(), which PostgreSQL answers with lastval(), the
//   last value of whatever sequence the session used last.
#pragma once

#include <cstdint>

namespace sunledger::bot_sql {

// The classes of the bot's name locks on PostgreSQL
// (sql::Session::lock_name_until_commit), all in one place so that none
// collides with another nor with the ledger's log locks ("SUNL",
// PgConnection::kLogLockClass).
inline constexpr int32_t kMessageLock = 0x53554E44;    // "SUND": a message's dedupe key (bot/dedupe.cc)
inline constexpr int32_t kMemberLock = 0x53554E4D;     // "SUNM": a seen member (bot/signed_rows.cc)
inline constexpr int32_t kComplaintLock = 0x53554E43;  // "SUNC": a complaint's receipt (bot/complaints.cc)
inline constexpr int32_t kStateLock = 0x53554E53;      // "SUNS": a key of bot_state (bot/digest.cc)
inline constexpr int32_t kExpiryLock = 0x53554E58;     // "SUNX": a table whose expired rows go (bot/sign_in.cc)

// bot/signed_rows.cc
extern const char* const kSeenMembersTable;
extern const char* const kRecordSeenMember;
extern const char* const kSeenVillages;

// bot/sign_in.cc
extern const char* const kSignInLinksTable;
extern const char* const kDashboardSessionsTable;
extern const char* const kInsertSignInLink;
extern const char* const kInsertDashboardSession;
extern const char* const kSelectSignInLink;
extern const char* const kSelectDashboardSession;

// bot/directory.cc
extern const char* const kMembersTable;
extern const char* const kApiTokensTable;
extern const char* const kAddMember;
extern const char* const kRemoveMember;
extern const char* const kListMembers;
extern const char* const kImportMembers;
extern const char* const kImportTokens;

// bot/directory_verify.cc
extern const char* const kVerifyMembers;
extern const char* const kVerifyTokens;

// bot/api_tokens.cc
extern const char* const kCreateToken;
extern const char* const kRevokeToken;
extern const char* const kListTokens;

}  // namespace sunledger::bot_sql
