#include "bot/sign_in.h"

#include <algorithm>

#include "bot/portable_sql.h"
#include "ledger/checkpoint.h"
#include "ledger/crypto.h"

namespace sunledger {

namespace {

// The tables, defined once: made by create_schema, registered by own_tables().
// key: the SHA-256 (hex) of the secret; sig: the log key's signature over
// what the row grants.
// (bot_sql::kSignInLinksTable and kDashboardSessionsTable, below.) As versions
// before issue #17 made them, with `user` unquoted (the same column):
const char* const kUnquotedLinks =
    "CREATE TABLE IF NOT EXISTS sign_in_links(key TEXT PRIMARY KEY, bot TEXT NOT NULL, user TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, sig BLOB NOT NULL)";
const char* const kUnquotedSessions =
    "CREATE TABLE IF NOT EXISTS dashboard_sessions(key TEXT PRIMARY KEY, kind TEXT NOT NULL, bot TEXT NOT NULL,"
    " user TEXT NOT NULL, token_id INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " sig BLOB NOT NULL)";

// What each signature covers. The first line holds spaces, so no checkpoint
// body can be taken for it; NUL separators keep fields apart.
std::string link_bytes(const std::string& key, const std::string& bot, const std::string& user, int64_t expires) {
  return "sunledger sign-in link\n" + key + '\0' + bot + '\0' + user + '\0' + std::to_string(expires);
}
std::string session_bytes(const std::string& key, const std::string& kind, const std::string& bot,
                          const std::string& user, int64_t token_id, int64_t expires) {
  return "sunledger dashboard session\n" + key + '\0' + kind + '\0' + bot + '\0' + user + '\0' +
         std::to_string(token_id) + '\0' + std::to_string(expires);
}

std::string digest(const std::string& secret) { return hex_encode(sha256(secret)); }

// 256 random bits as 64 letters a to p: no digits, so no run of them can look
// like an identity number (every chat reply masks those), and nothing to escape in a URL.
std::string new_secret() {
  std::string out;
  for (unsigned char b : random_bytes(32)) {
    out.push_back(static_cast<char>('a' + (b >> 4)));
    out.push_back(static_cast<char>('a' + (b & 15)));
  }
  return out;
}

bool plausible_secret(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'p'; });
}

const char* kBadLink =
    "登录链接无效、已用过或已过期(10分钟内有效,只能用一次),请私信机器人再发送“登录”。(the sign-in link is invalid, used "
    "or expired: it works once, within 10 minutes; send 登录 to the bot again)";
const char* kNoSession = "请先登录。(please sign in)";

}  // namespace

const char* const bot_sql::kSignInLinksTable =
    "CREATE TABLE IF NOT EXISTS sign_in_links(key TEXT PRIMARY KEY, bot TEXT NOT NULL, \"user\" TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, sig BLOB NOT NULL)";
const char* const bot_sql::kDashboardSessionsTable =
    "CREATE TABLE IF NOT EXISTS dashboard_sessions(key TEXT PRIMARY KEY, kind TEXT NOT NULL, bot TEXT NOT NULL,"
    " \"user\" TEXT NOT NULL, token_id INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " sig BLOB NOT NULL)";
const char* const bot_sql::kInsertSignInLink =
    "INSERT INTO sign_in_links(key, bot, \"user\", expires_at, sig) VALUES(?,?,?,?,?)";
const char* const bot_sql::kInsertDashboardSession =
    "INSERT INTO dashboard_sessions(key, kind, bot, \"user\", token_id, created_at, expires_at, sig)"
    " VALUES(?,?,?,?,?,?,?,?)";
const char* const bot_sql::kSelectSignInLink = "SELECT bot, \"user\", expires_at, sig FROM sign_in_links WHERE key=?";
const char* const bot_sql::kSelectDashboardSession =
    "SELECT kind, bot, \"user\", token_id, expires_at, sig FROM dashboard_sessions WHERE key=?";

// Today's text first, then as databases made before issue #17 keep it.
std::vector<SchemaTable> InspectorSignIn::own_tables() {
  std::vector<SchemaTable> out = {schema_table(bot_sql::kSignInLinksTable),
                                  schema_table(bot_sql::kDashboardSessionsTable)};
  out[0].sql.push_back(normalized_schema_sql(kUnquotedLinks));
  out[1].sql.push_back(normalized_schema_sql(kUnquotedSessions));
  return out;
}

Status InspectorSignIn::create_schema(WriteTxn& txn) {
  txn.sql().exec(bot_sql::kSignInLinksTable);
  txn.sql().exec(bot_sql::kDashboardSessionsTable);
  return Status::ok();
}

Result<std::string> InspectorSignIn::issue_link(WriteTxn& txn, const std::string& bot_id, const std::string& user_id) {
  std::string token = new_secret();
  std::string key = digest(token);
  int64_t expires = txn.now() + kLinkSeconds;
  auto sig = txn.sign(link_bytes(key, bot_id, user_id, expires));
  if (!sig.is_ok()) return sig.status();
  auto& db = txn.sql();
  // The expired rows another node may be deleting too: its lock first, so
  // that no node waits on those rows while holding a log another waits for
  // (sql::Session::lock_until_commit's order covers named locks, not rows).
  db.lock_name_until_commit(bot_sql::kExpiryLock, "sign_in_links");
  auto& old = db.statement("DELETE FROM sign_in_links WHERE expires_at <= ?");
  old.bind(1, txn.now());
  old.exec();
  auto& q = db.statement(bot_sql::kInsertSignInLink);
  q.bind(1, key);
  q.bind(2, bot_id);
  q.bind(3, user_id);
  q.bind(4, expires);
  q.bind_blob(5, *sig);
  q.exec();
  return token;
}

Result<DashboardUser> InspectorSignIn::member_user(const std::string& bot_id, const std::string& user_id) {
  auto d = directory_->snapshot();
  if (!d.is_ok()) return d.status();
  DashboardUser u{user_id, bot_id + "/" + user_id, {}};
  if (auto it = (*d)->members.find({bot_id, user_id}); (*d)->trusted && it != (*d)->members.end())
    for (const auto& m : it->second)
      if (m.role == Role::kInspector) u.areas.push_back(m.area);
  if (u.areas.empty()) return permission_denied("您已不是纪检监察人员,不能登录。(you are no longer an inspector)");
  return u;
}

Result<DashboardUser> InspectorSignIn::token_user(int64_t token_id) {
  auto p = directory_->token_principal(token_id);
  if (!p.is_ok()) return p.status();
  if (p->role != Role::kInspector)
    return permission_denied("只有纪检监察人员的令牌可以登录,村干部的令牌不行。(only inspector tokens may sign in; an "
                             "official's token may not)");
  std::string label = p->label.empty() ? "inspector" : p->label;
  return DashboardUser{"api:" + label, "API 令牌 (token) " + label, {p->area}};
}

Result<DashboardSession> InspectorSignIn::open_session(WriteTxn& txn, const std::string& kind, const std::string& bot_id,
                                                       const std::string& user_id, int64_t token_id,
                                                       DashboardUser user) {
  DashboardSession s{new_secret(), std::move(user), txn.now() + kSessionSeconds};
  std::string key = digest(s.token);
  auto sig = txn.sign(session_bytes(key, kind, bot_id, user_id, token_id, s.expires_at));
  if (!sig.is_ok()) return sig.status();
  auto& db = txn.sql();
  // The expired rows another node may be deleting too: its lock first, so
  // that no node waits on those rows while holding a log another waits for
  // (sql::Session::lock_until_commit's order covers named locks, not rows).
  db.lock_name_until_commit(bot_sql::kExpiryLock, "dashboard_sessions");
  auto& old = db.statement("DELETE FROM dashboard_sessions WHERE expires_at <= ?");
  old.bind(1, txn.now());
  old.exec();
  auto& q = db.statement(bot_sql::kInsertDashboardSession);
  q.bind(1, key);
  q.bind(2, kind);
  q.bind(3, bot_id);
  q.bind(4, user_id);
  q.bind(5, token_id);
  q.bind(6, txn.now());
  q.bind(7, s.expires_at);
  q.bind_blob(8, *sig);
  q.exec();
  return s;
}

Result<DashboardSession> InspectorSignIn::redeem_link(const std::string& token) {
  if (!plausible_secret(token)) return permission_denied(kBadLink);
  std::string key = digest(token);
  const std::string public_key = ledger_->signer().public_key();
  std::optional<DashboardSession> out;
  std::string refused;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    // Its row is deleted below: the table's lock first, as for the expired
    // rows (issue_link).
    txn.sql().lock_name_until_commit(bot_sql::kExpiryLock, "sign_in_links");
    auto& q = txn.sql().statement(bot_sql::kSelectSignInLink);
    q.bind(1, key);
    if (!q.step()) return permission_denied(kBadLink);
    std::string bot = q.column_text(0), user = q.column_text(1);
    int64_t expires = q.column_int64(2);
    bool genuine = ed25519_verify(public_key, link_bytes(key, bot, user, expires), q.column_blob(3));
    q.reset();
    // Used once: gone whatever follows (expired, forged, or a session opened).
    auto& del = txn.sql().statement("DELETE FROM sign_in_links WHERE key=?");
    del.bind(1, key);
    del.exec();
    if (!genuine || expires <= txn.now()) {
      refused = kBadLink;
      return Status::ok();  // the deletion commits
    }
    auto u = member_user(bot, user);
    if (!u.is_ok()) {
      if (u.status().code() != Code::kPermissionDenied) return u.status();
      refused = u.status().message();
      return Status::ok();
    }
    auto session = open_session(txn, "member", bot, user, 0, std::move(*u));
    if (!session.is_ok()) return session.status();
    out = std::move(*session);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  if (!out) return permission_denied(refused);
  return std::move(*out);
}

Result<DashboardSession> InspectorSignIn::sign_in_with_api_token(const std::string& api_token) {
  auto p = directory_->authenticate(api_token);
  if (!p.is_ok()) return p.status();
  auto u = token_user(p->token_id);
  if (!u.is_ok()) return u.status();
  std::optional<DashboardSession> out;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    auto session = open_session(txn, "token", "", "", p->token_id, std::move(*u));
    if (!session.is_ok()) return session.status();
    out = std::move(*session);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<DashboardUser> InspectorSignIn::session(const std::string& token) {
  if (!plausible_secret(token)) return permission_denied(kNoSession);
  std::string key = digest(token);
  std::string kind, bot, user;
  int64_t token_id = 0, expires = 0;
  bool found = false;
  const std::string public_key = ledger_->signer().public_key();
  Status s = ledger_->read([&](Ledger::ReadTxn& txn) -> Status {
    auto& q = txn.sql().statement(bot_sql::kSelectDashboardSession);
    q.bind(1, key);
    if (!q.step()) return Status::ok();
    kind = q.column_text(0);
    bot = q.column_text(1);
    user = q.column_text(2);
    token_id = q.column_int64(3);
    expires = q.column_int64(4);
    found = ed25519_verify(public_key, session_bytes(key, kind, bot, user, token_id, expires), q.column_blob(5));
    q.reset();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  if (!found || expires <= ledger_->clock().now_unix_seconds()) return permission_denied(kNoSession);
  if (kind == "member") return member_user(bot, user);
  if (kind == "token") return token_user(token_id);
  return permission_denied(kNoSession);
}

Status InspectorSignIn::end_session(const std::string& token) {
  if (!plausible_secret(token)) return Status::ok();
  std::string key = digest(token);
  return ledger_->write([&](WriteTxn& txn) -> Status {
    txn.sql().lock_name_until_commit(bot_sql::kExpiryLock, "dashboard_sessions");  // as open_session
    auto& q = txn.sql().statement("DELETE FROM dashboard_sessions WHERE key=?");
    q.bind(1, key);
    q.exec();
    return Status::ok();
  });
}

}  // namespace sunledger
