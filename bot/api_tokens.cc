// The directory's API tokens: created, revoked, listed and checked, each
// change signed in the admin log, which alone decides what a token grants.
#include <algorithm>

#include "bot/directory.h"
#include "bot/directory_log.h"
#include "bot/portable_sql.h"
#include "ledger/crypto.h"

namespace sunledger {

using directory_log::known_area;
using directory_log::log_change;
using directory_log::token_fields;
using nlohmann::json;

const char* const bot_sql::kCreateToken =
    "INSERT INTO api_tokens(hash, role, village, area, label, created_at, expires_at) VALUES(?,?,?,?,?,?,?)"
    " RETURNING id";
const char* const bot_sql::kRevokeToken = "UPDATE api_tokens SET revoked_at=? WHERE id=?";
const char* const bot_sql::kListTokens =
    "SELECT id, role, village, area, label, created_at, coalesce(expires_at, 0), coalesce(revoked_at, 0)"
    " FROM api_tokens ORDER BY id";

Result<CreatedToken> DirectoryStore::create_token(const ApiPrincipal& p, int days, const Author& by) {
  if (p.role == Role::kOfficial) {
    if (auto v = registered_village(p.village); !v.is_ok()) return v.status();
  } else if (p.role == Role::kInspector) {
    if (p.area.empty()) return invalid_argument("an inspector token needs --area (a town, or all)");
    auto d = snapshot();
    if (!d.is_ok()) return d.status();
    if (Status s = known_area((*d)->villages, p.area); !s.is_ok()) return s;
  } else {
    return invalid_argument("tokens are for officials or inspectors");
  }
  if (days < 1 || days > 3650) return invalid_argument("--expires must be 1 to 3650 days");
  CreatedToken out;
  out.token = "sl_" + hex_encode(random_bytes(24));
  std::string hash = hex_encode(sha256(out.token));
  std::string village = p.role == Role::kOfficial ? p.village : "";
  std::string area = p.role == Role::kInspector ? p.area : "";
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    int64_t expires = txn.now() + int64_t{days} * 86400;
    auto& q = txn.sql().statement(bot_sql::kCreateToken);
    q.bind(1, hash);
    q.bind(2, role_name(p.role));
    q.bind(3, village);
    q.bind(4, area);
    q.bind(5, p.label);
    q.bind(6, txn.now());
    q.bind(7, expires);
    // The id from the INSERT itself: PostgreSQL's last_insert_id() is
    // lastval(), whichever sequence the session used last.
    if (!q.step()) return internal_error("api_tokens: the INSERT returned no id");
    out.id = q.column_int64(0);
    q.reset();
    json f = token_fields(out.id, hash, role_name(p.role), village, area, p.label, txn.now(), expires);
    f["op"] = "create_token";
    return log_change(txn, f, by);
  });
  if (!s.is_ok()) return s;
  return out;
}

Status DirectoryStore::revoke_token(int64_t id, const Author& by) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    // Whether the token still works is the log's to say: a row marked revoked
    // by hand must not keep the revocation from being signed.
    auto it = (*logged)->tokens.find(id);
    if (it == (*logged)->tokens.end() || it->second.revoked_at) return not_found("no unrevoked token with id " + std::to_string(id));
    auto& q = txn.sql().statement(bot_sql::kRevokeToken);
    q.bind(1, txn.now());
    q.bind(2, id);
    q.exec();
    return log_change(txn, {{"op", "revoke_token"}, {"token_id", id}, {"revoked_at", txn.now()}}, by);
  });
}

Result<std::vector<TokenInfo>> DirectoryStore::list_tokens() {
  std::vector<TokenInfo> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement(bot_sql::kListTokens);
    while (q.step()) {
      TokenInfo t;
      t.id = q.column_int64(0);
      t.principal = {parse_role(q.column_text(1)).value_or(Role::kVillager), q.column_text(2),
                     q.column_text(3), q.column_text(4)};
      t.created_at = q.column_int64(5);
      t.expires_at = q.column_int64(6);
      t.revoked_at = q.column_int64(7);
      out.push_back(t);
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<ApiPrincipal> DirectoryStore::authenticate(const std::string& token) {
  // Looked up by the token's SHA-256 in the admin log's tokens (a row added or
  // un-revoked with sqlite3 grants nothing): the database never holds the
  // token, and comparing digests leaks nothing about the token itself.
  if (token.size() < 10 || token.size() > 200) return permission_denied("令牌无效 (invalid token)");
  std::string digest = hex_encode(sha256(token));
  auto d = snapshot();
  if (!d.is_ok()) return d.status();
  const DirectoryState::Token* found = nullptr;
  for (const auto& [id, t] : (*d)->state->tokens)
    if (constant_time_equal(t.sha256, digest)) found = &t;
  return principal_of(**d, found);
}

Result<ApiPrincipal> DirectoryStore::token_principal(int64_t id) {
  auto d = snapshot();
  if (!d.is_ok()) return d.status();
  auto it = (*d)->state->tokens.find(id);
  return principal_of(**d, it == (*d)->state->tokens.end() ? nullptr : &it->second);
}

// What a token found in the admin log grants now: nothing when the log is
// not trusted, the token is revoked or expired, or of no known role.
Result<ApiPrincipal> DirectoryStore::principal_of(const Directory& d, const DirectoryState::Token* found) {
  if (found == nullptr || !d.trusted) return permission_denied("令牌无效 (invalid token)");
  if (found->revoked_at)
    return permission_denied("令牌已被吊销,请向乡镇管理员申请新令牌 (token revoked; ask for a new one)");
  auto role = parse_role(found->role);
  if (!role || *role == Role::kVillager) return permission_denied("令牌无效 (invalid token)");
  int64_t now = ledger_->clock().now_unix_seconds();
  if (found->expires_at && *found->expires_at <= now)
    return permission_denied("令牌已过期,请乡镇管理员重新签发 (token expired; ask for a new one)");
  return ApiPrincipal{*role, found->village, found->area, found->label, found->id};
}

}  // namespace sunledger
