// The bot's own SQL in the form SQLite and PostgreSQL read the same (issue
// #17, bot/portable_sql.h): a database an older version made (`user`
// unquoted, api_tokens without an id column) is migrated at the next start
// with every token id kept and verify intact; and every statement that
// changed runs, as the module runs it, on a real PostgreSQL database.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "bot/directory.h"
#include "bot/portable_sql.h"
#include "bot/sign_in.h"
#include "bot/signed_rows.h"
#include "ledger/crypto.h"
#include "ledger/pg_connection.h"
#include "support/pg_cluster.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

BotOptions bot_options() {
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  return o;
}

std::string problems_of(Bot& bot) {
  auto r = bot.verify_deployment();
  if (!r.is_ok()) return "error: " + r.status().to_string();
  std::string out;
  for (const auto& p : *r) out += p.log + "#" + std::to_string(p.first_bad_index) + ": " + p.reason + "\n";
  return out;
}

std::vector<std::pair<int64_t, std::string>> token_rows(const std::string& db_path, const char* id_column) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, std::string("SELECT ") + id_column + ", hash FROM api_tokens ORDER BY 1");
  std::vector<std::pair<int64_t, std::string>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString());
  return out;
}

// Puts `table` back in the form an older version made (`old_schema`: its
// CREATE TABLE and the ALTER TABLEs that followed), its rows copied
// (`columns`; `from` selects them from the current table).
void remake_as_older(SQLite::Database& db, const std::string& table, const std::vector<std::string>& old_schema,
                     const std::string& columns, const std::string& from) {
  db.exec("ALTER TABLE " + table + " RENAME TO old_copy");
  for (const auto& sql : old_schema) db.exec(sql);
  db.exec("INSERT INTO " + table + "(" + columns + ") SELECT " + from + " FROM old_copy");
  db.exec("DROP TABLE old_copy");
}

// A deployment of the version before issue #17, with an admin log: its
// tables as that version made them (as the tests before it ran them), then
// a start of this version.
TEST(PortableSqlUpgrade, AnOlderDatabaseKeepsEveryTokenIdAndVerifiesIntact) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database an older version made; no PostgreSQL database predates it");
  testing::TestLedger t{"test.sunledger", Bot::reserved_log_names()};
  auto bot = std::make_unique<Bot>(t.ledger.get(), bot_options());
  ASSERT_TRUE(bot->initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  ASSERT_TRUE(bot->add_member({"b", "li", "", Role::kInspector, "朱亭镇"}).is_ok());
  std::vector<CreatedToken> tokens;
  const ApiPrincipal principals[] = {{Role::kOfficial, "shuangjiang", "", "会计站"},
                                     {Role::kInspector, "", "朱亭镇", "纪检"},
                                     {Role::kOfficial, "shuangjiang", "", "审计"}};
  // Six, so that a rebuild numbering them in any order but their rowids'
  // (say, by hash) keeps them by chance once in 720.
  for (int round = 0; round < 2; ++round)
    for (const auto& p : principals) {
      auto c = bot->create_token(p, 30);
      ASSERT_TRUE(c.is_ok()) << c.status().to_string();
      tokens.push_back(*c);
    }
  ASSERT_TRUE(bot->revoke_token(tokens[1].id).is_ok());
  ASSERT_EQ(problems_of(*bot), "");
  const auto ids_before = token_rows(t.db_path(), "id");
  ASSERT_EQ(ids_before.size(), 6u);
  bot.reset();
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    // api_tokens: no id column, expires_at and revoked_at added later; each
    // row at its token's rowid.
    remake_as_older(db, "api_tokens",
                    {"CREATE TABLE IF NOT EXISTS api_tokens(hash TEXT PRIMARY KEY, role TEXT NOT NULL, village TEXT NOT NULL,"
                     " area TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL)",
                     "ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER",
                     "ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER"},
                    "rowid, hash, role, village, area, label, created_at, expires_at, revoked_at",
                    "id, hash, role, village, area, label, created_at, expires_at, revoked_at");
    // `user` unquoted.
    remake_as_older(db, "members",
                    {"CREATE TABLE IF NOT EXISTS members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL,"
                    " role TEXT NOT NULL, area TEXT NOT NULL, created_at INTEGER NOT NULL,"
                    " PRIMARY KEY(bot, user, village, role, area))"},
                    "bot, user, village, role, area, created_at", "bot, \"user\", village, role, area, created_at");
    remake_as_older(db, "seen_members",
                    {"CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL,"
                    " first_seen INTEGER NOT NULL, sig BLOB, PRIMARY KEY(bot, user, village))"},
                    "bot, user, village, first_seen, sig", "bot, \"user\", village, first_seen, sig");
    remake_as_older(db, "sign_in_links",
                    {"CREATE TABLE IF NOT EXISTS sign_in_links(key TEXT PRIMARY KEY, bot TEXT NOT NULL, user TEXT NOT NULL,"
                    " expires_at INTEGER NOT NULL, sig BLOB NOT NULL)"},
                    "key, bot, user, expires_at, sig", "key, bot, \"user\", expires_at, sig");
    remake_as_older(db, "dashboard_sessions",
                    {"CREATE TABLE IF NOT EXISTS dashboard_sessions(key TEXT PRIMARY KEY, kind TEXT NOT NULL, bot TEXT NOT NULL,"
                    " user TEXT NOT NULL, token_id INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
                    " sig BLOB NOT NULL)"},
                    "key, kind, bot, user, token_id, created_at, expires_at, sig",
                    "key, kind, bot, \"user\", token_id, created_at, expires_at, sig");
  }
  ASSERT_EQ(token_rows(t.db_path(), "rowid"), ids_before);  // the older table, as it was
  bot = std::make_unique<Bot>(t.ledger.get(), bot_options());
  ASSERT_TRUE(bot->initialize().is_ok());  // the start that migrates
  ASSERT_TRUE(bot->initialize().is_ok());  // and the next, which finds nothing to do
  EXPECT_EQ(token_rows(t.db_path(), "id"), ids_before);
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
    EXPECT_EQ(db.execAndGet("SELECT sql FROM sqlite_master WHERE name='api_tokens'").getString(),
              normalized_schema_sql(bot_sql::kApiTokensTable));
    EXPECT_EQ(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name LIKE 'api_tokens_%'").getInt(), 0);
  }
  EXPECT_EQ(problems_of(*bot), "");

  // Tokens authenticate as the same ids; the revoked one stays revoked.
  auto first = bot->authenticate(tokens[0].token);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->token_id, tokens[0].id);
  auto third = bot->authenticate(tokens[2].token);
  ASSERT_TRUE(third.is_ok()) << third.status().to_string();
  EXPECT_EQ(third->token_id, tokens[2].id);
  EXPECT_EQ(bot->authenticate(tokens[1].token).status().code(), Code::kPermissionDenied);
  // New writes through the rebuilt and the quoted tables.
  auto newest = bot->create_token({Role::kOfficial, "shuangjiang", "", "出纳"}, 30);
  ASSERT_TRUE(newest.is_ok()) << newest.status().to_string();
  EXPECT_EQ(newest->id, ids_before.back().first + 1);
  ASSERT_TRUE(bot->revoke_token(tokens[2].id).is_ok());
  EXPECT_EQ(bot->authenticate(tokens[2].token).status().code(), Code::kPermissionDenied);
  auto listed = bot->list_tokens();
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), tokens.size() + 1);
  EXPECT_EQ(listed->back().id, newest->id);
  EXPECT_NE(listed->at(2).revoked_at, 0);
  bool added = false;
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}, kCliAdmin, &added).is_ok());
  EXPECT_FALSE(added);  // there already: nothing inserted, nothing logged
  ASSERT_TRUE(bot->add_member({"b", "zhao", "shuangjiang", Role::kOfficial, ""}).is_ok());
  auto removed = bot->remove_member("b", "li");
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(*removed, 1u);
  auto members = bot->list_members("b");
  ASSERT_TRUE(members.is_ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ(members->at(0).user_id, "wang");
  EXPECT_EQ(members->at(1).user_id, "zhao");
  EXPECT_EQ(problems_of(*bot), "");

  // A change by hand is still named: a token's id moved, a column added to
  // a table kept in its older form.
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE api_tokens SET id = 40 WHERE id = " + std::to_string(tokens[0].id));
  }
  std::string r = problems_of(*bot);
  EXPECT_NE(r.find("api_tokens: token id 40"), std::string::npos) << r;
  EXPECT_NE(r.find("api_tokens: token id " + std::to_string(tokens[0].id) + " was created by the admin log but its row is missing"),
            std::string::npos)
      << r;
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE api_tokens SET id = " + std::to_string(tokens[0].id) + " WHERE id = 40");
    db.exec("ALTER TABLE members ADD COLUMN note TEXT DEFAULT 'x'");
  }
  r = problems_of(*bot);
  EXPECT_NE(r.find("schema: table members is not as sunledger makes it"), std::string::npos) << r;
  EXPECT_EQ(r.find("api_tokens"), std::string::npos) << r;
}

// A deployment made before the admin log, whose token rowids are not 1..n:
// the rebuild keeps them, and the import records them as they were.
TEST(PortableSqlUpgrade, TokensMadeBeforeTheAdminLogKeepTheirRowids) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database an older version made; no PostgreSQL database predates it");
  testing::TestLedger t{"test.sunledger", Bot::reserved_log_names()};
  const std::string token3 = "sl_" + std::string(48, '3'), token7 = "sl_" + std::string(48, '7');
  {
    Bot bot(t.ledger.get(), bot_options());
    ASSERT_TRUE(bot.initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  }
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TABLE directory_state");
    db.exec("DROP TABLE api_tokens");
    db.exec("CREATE TABLE IF NOT EXISTS api_tokens(hash TEXT PRIMARY KEY, role TEXT NOT NULL, village TEXT NOT NULL,"
            " area TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL)");
    for (const auto& [rowid, token] : {std::pair{7, token7}, std::pair{3, token3}})
      db.exec("INSERT INTO api_tokens(rowid, hash, role, village, area, label, created_at) VALUES(" +
              std::to_string(rowid) + ", '" + hex_encode(sha256(token)) + "', 'official', 'shuangjiang', '', 'x', 5)");
  }
  Bot bot(t.ledger.get(), bot_options());
  ASSERT_TRUE(bot.initialize().is_ok());
  EXPECT_EQ(problems_of(bot), "");
  EXPECT_EQ(token_rows(t.db_path(), "id"),
            (std::vector<std::pair<int64_t, std::string>>{{3, hex_encode(sha256(token3))}, {7, hex_encode(sha256(token7))}}));
  auto p3 = bot.authenticate(token3);
  ASSERT_TRUE(p3.is_ok()) << p3.status().to_string();
  EXPECT_EQ(p3->token_id, 3);
  auto p7 = bot.authenticate(token7);
  ASSERT_TRUE(p7.is_ok()) << p7.status().to_string();
  EXPECT_EQ(p7->token_id, 7);
  auto next = bot.create_token({Role::kOfficial, "shuangjiang", "", "y"}, 30);
  ASSERT_TRUE(next.is_ok());
  EXPECT_EQ(next->id, 8);
  EXPECT_EQ(problems_of(bot), "");
}

// Every statement of bot/portable_sql.h, run as its module runs it, on a
// real PostgreSQL database through the connection a ledger there will use
// (its `?` numbered, its DDL's types translated; nothing else rewritten).
TEST(PortableSqlOnPostgres, EveryChangedStatementRunsAsOnSqlite) {
  using ledger_internal::PgConnection;
  const std::string conninfo = testing::pg_fresh_database();
  ASSERT_FALSE(conninfo.empty());
  auto opened = PgConnection::open(conninfo);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  PgConnection& db = **opened;
  try {
    db.begin_write();
    // The modules' tables, from the texts create_schema runs: every table of
    // the directory, the signed rows and the sign-in (the triggers of
    // Complaints::create_schema are SQLite's, and not among them).
    for (const auto& tables : {DirectoryStore::own_tables(), signed_rows::own_tables(), InspectorSignIn::own_tables()})
      for (const auto& table : tables) db.exec(table.sql.front());
    db.exec(bot_sql::kApiTokensTable);  // IF NOT EXISTS, as create_schema runs it again at every start
    EXPECT_EQ(db.columns("members"), (std::vector<std::string>{"bot", "user", "village", "role", "area", "created_at"}));

    // seen_members: the upsert, then the lookup by "user" (unquoted, it
    // compared the current role with the parameter and matched nothing).
    for (int round = 0; round < 2; ++round)
      for (const char* user : {"alice", "bob"}) {
        auto& q = db.statement(bot_sql::kRecordSeenMember);
        q.bind(1, "b");
        q.bind(2, user);
        q.bind(3, std::string("village-of-") + user);
        q.bind(4, int64_t{100 + round});
        q.bind_blob(5, "sig" + std::to_string(round));
        EXPECT_EQ(q.exec(), 1);
        q.reset();
      }
    {
      auto& q = db.statement(bot_sql::kSeenVillages);
      q.bind(1, "b");
      q.bind(2, "alice");
      ASSERT_TRUE(q.step());
      EXPECT_EQ(q.column_text(0), "village-of-alice");
      EXPECT_EQ(q.column_blob(1), "sig1");  // the conflict updated the signature
      EXPECT_FALSE(q.step());
      q.reset();
    }

    // sign_in_links and dashboard_sessions.
    {
      auto& q = db.statement(bot_sql::kInsertSignInLink);
      q.bind(1, "k1");
      q.bind(2, "b");
      q.bind(3, "alice");
      q.bind(4, int64_t{5000});
      q.bind_blob(5, "s");
      EXPECT_EQ(q.exec(), 1);
      auto& r = db.statement(bot_sql::kSelectSignInLink);
      r.bind(1, "k1");
      ASSERT_TRUE(r.step());
      EXPECT_EQ(r.column_text(0), "b");
      EXPECT_EQ(r.column_text(1), "alice");
      EXPECT_EQ(r.column_int64(2), 5000);
      EXPECT_EQ(r.column_blob(3), "s");
      r.reset();
    }
    {
      auto& q = db.statement(bot_sql::kInsertDashboardSession);
      q.bind(1, "k2");
      q.bind(2, "member");
      q.bind(3, "b");
      q.bind(4, "alice");
      q.bind(5, int64_t{0});
      q.bind(6, int64_t{10});
      q.bind(7, int64_t{20});
      q.bind_blob(8, "s2");
      EXPECT_EQ(q.exec(), 1);
      auto& r = db.statement(bot_sql::kSelectDashboardSession);
      r.bind(1, "k2");
      ASSERT_TRUE(r.step());
      EXPECT_EQ(r.column_text(0), "member");
      EXPECT_EQ(r.column_text(2), "alice");
      EXPECT_EQ(r.column_int64(4), 20);
      r.reset();
    }

    // members: added twice (the second inserts nothing), listed, removed.
    std::vector<int64_t> inserted;
    for (const char* user : {"wang", "wang", "li"}) {
      auto& q = db.statement(bot_sql::kAddMember);
      q.bind(1, "b");
      q.bind(2, user);
      q.bind(3, "shuangjiang");
      q.bind(4, "official");
      q.bind(5, "");
      q.bind(6, int64_t{1});
      inserted.push_back(q.exec());
      q.reset();
    }
    EXPECT_EQ(inserted, (std::vector<int64_t>{1, 0, 1}));
    auto users = [&](const char* sql, int column, const std::string& bot) {
      auto& q = db.statement(sql);
      if (sql == bot_sql::kListMembers) {
        q.bind(1, bot);
        q.bind(2, bot);
      }
      std::vector<std::string> out;
      while (q.step()) out.push_back(q.column_text(column));
      q.reset();
      return out;
    };
    const std::vector<std::string> both{"li", "wang"};
    EXPECT_EQ(users(bot_sql::kListMembers, 1, ""), both);
    EXPECT_EQ(users(bot_sql::kListMembers, 1, "b"), both);
    EXPECT_TRUE(users(bot_sql::kListMembers, 1, "other").empty());
    EXPECT_EQ(users(bot_sql::kImportMembers, 1, ""), both);
    EXPECT_EQ(users(bot_sql::kVerifyMembers, 1, ""), both);
    {
      auto& q = db.statement(bot_sql::kRemoveMember);
      q.bind(1, "b");
      q.bind(2, "li");
      EXPECT_EQ(q.exec(), 1);
      q.reset();
    }
    EXPECT_EQ(users(bot_sql::kVerifyMembers, 1, ""), std::vector<std::string>{"wang"});

    // api_tokens: each new id from the INSERT itself, though the session
    // used another table's sequence in between.
    db.exec("CREATE TABLE other_ids(id INTEGER PRIMARY KEY, x TEXT)");
    std::vector<int64_t> ids;
    for (int i = 0; i < 3; ++i) {
      auto& q = db.statement(bot_sql::kCreateToken);
      q.bind(1, "hash" + std::to_string(i));
      q.bind(2, "official");
      q.bind(3, "shuangjiang");
      q.bind(4, "");
      q.bind(5, "label" + std::to_string(i));
      q.bind(6, int64_t{7});
      q.bind(7, int64_t{1000 + i});
      ASSERT_TRUE(q.step());
      ids.push_back(q.column_int64(0));
      q.reset();
      auto& o = db.statement("INSERT INTO other_ids(x) VALUES('a'), ('b'), ('c'), ('d')");
      o.exec();
    }
    EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(db.last_insert_id(), 12);  // what last_insert_id() would have named: another table's
    {
      auto& q = db.statement(bot_sql::kRevokeToken);
      q.bind(1, int64_t{50});
      q.bind(2, int64_t{2});
      EXPECT_EQ(q.exec(), 1);
      q.reset();
    }
    {
      auto& q = db.statement(bot_sql::kListTokens);
      std::vector<std::vector<int64_t>> rows;  // id, expires_at, revoked_at
      while (q.step()) rows.push_back({q.column_int64(0), q.column_int64(6), q.column_int64(7)});
      q.reset();
      EXPECT_EQ(rows, (std::vector<std::vector<int64_t>>{{1, 1000, 0}, {2, 1001, 50}, {3, 1002, 0}}));
    }
    for (const char* sql : {bot_sql::kImportTokens, bot_sql::kVerifyTokens}) {
      auto& q = db.statement(sql);
      std::vector<std::string> rows;
      while (q.step())
        rows.push_back(std::to_string(q.column_int64(0)) + " " + q.column_text(1) + " " + q.column_text(5) + " " +
                       (q.column_is_null(8) ? "-" : std::to_string(q.column_int64(8))));
      q.reset();
      EXPECT_EQ(rows, (std::vector<std::string>{"1 hash0 label0 -", "2 hash1 label1 50", "3 hash2 label2 -"})) << sql;
    }
    // The hash stays unique, as the primary key kept it before.
    {
      auto& q = db.statement(bot_sql::kCreateToken);
      q.bind(1, "hash0");
      q.bind(2, "official");
      q.bind(3, "shuangjiang");
      q.bind(4, "");
      q.bind(5, "again");
      q.bind(6, int64_t{7});
      q.bind(7, int64_t{1});
      EXPECT_THROW((void)q.step(), sql::Error);
    }
    db.rollback();
  } catch (const sql::Error& e) {
    FAIL() << e.what();
  }
}

}  // namespace
}  // namespace sunledger
