// The directory's lifecycle for the township's administrator (the CLI):
// listing and removing members, unbinding groups, listing and revoking API
// tokens. Each change bumps the directory version, so a running server
// reloads its directory on the next message and a removal takes effect at once.
#include <SQLiteCpp/SQLiteCpp.h>

#include "bot/bot.h"

namespace sunledger {

namespace {
void bump_version(WriteTxn& txn) {
  txn.db().exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='directory_version'");
}
}  // namespace

Result<std::vector<Bot::GroupBinding>> Bot::list_groups() {
  std::vector<GroupBinding> out;
  Status s = ledger()->read([&](Ledger::ReadTxn& r) -> Status {
    SQLite::Statement q(r.db(), "SELECT bot, chat, village FROM group_bindings ORDER BY village, bot, chat");
    while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Bot::unbind_group(const std::string& bot_id, const std::string& chat_id) {
  return ledger()->write([&](WriteTxn& txn) -> Status {
    SQLite::Statement q(txn.db(), "DELETE FROM group_bindings WHERE bot=? AND chat=?");
    q.bind(1, bot_id);
    q.bind(2, chat_id);
    if (q.exec() == 0) return not_found("no group " + chat_id + " bound on bot " + bot_id);
    bump_version(txn);
    return Status::ok();
  });
}

Result<std::vector<Membership>> Bot::list_members(const std::string& bot_id) {
  std::vector<Membership> out;
  Status s = ledger()->read([&](Ledger::ReadTxn& r) -> Status {
    SQLite::Statement q(r.db(), "SELECT bot, user, village, role, area FROM members WHERE ?='' OR bot=? ORDER BY bot, user, role");
    q.bind(1, bot_id);
    q.bind(2, bot_id);
    while (q.executeStep())
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     parse_role(q.getColumn(3).getString()).value_or(Role::kVillager), q.getColumn(4).getString()});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<size_t> Bot::remove_member(const std::string& bot_id, const std::string& user_id) {
  size_t removed = 0;
  Status s = ledger()->write([&](WriteTxn& txn) -> Status {
    SQLite::Statement q(txn.db(), "DELETE FROM members WHERE bot=? AND user=?");
    q.bind(1, bot_id);
    q.bind(2, user_id);
    removed = static_cast<size_t>(q.exec());
    if (removed == 0) return not_found("user " + user_id + " has no role on bot " + bot_id);
    bump_version(txn);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return removed;
}

Result<std::vector<Bot::TokenInfo>> Bot::list_tokens() {
  std::vector<TokenInfo> out;
  Status s = ledger()->read([&](Ledger::ReadTxn& r) -> Status {
    SQLite::Statement q(r.db(),
                        "SELECT rowid, role, village, area, label, created_at, coalesce(expires_at, 0), coalesce(revoked_at, 0) "
                        "FROM api_tokens ORDER BY rowid");
    while (q.executeStep()) {
      TokenInfo t;
      t.id = q.getColumn(0).getInt64();
      t.principal = {parse_role(q.getColumn(1).getString()).value_or(Role::kVillager), q.getColumn(2).getString(),
                     q.getColumn(3).getString(), q.getColumn(4).getString()};
      t.created_at = q.getColumn(5).getInt64();
      t.expires_at = q.getColumn(6).getInt64();
      t.revoked_at = q.getColumn(7).getInt64();
      out.push_back(t);
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Bot::revoke_token(int64_t id) {
  return ledger()->write([&](WriteTxn& txn) -> Status {
    SQLite::Statement q(txn.db(), "UPDATE api_tokens SET revoked_at=? WHERE rowid=? AND revoked_at IS NULL");
    q.bind(1, txn.now());
    q.bind(2, id);
    if (q.exec() == 0) return not_found("no unrevoked token with id " + std::to_string(id));
    return Status::ok();
  });
}

}  // namespace sunledger
