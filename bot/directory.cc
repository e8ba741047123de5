#include "bot/directory.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "bot/directory_log.h"
#include "bot/portable_sql.h"
#include "bot/village_registry.h"
#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;
using directory_log::known_area;
using directory_log::log_change;
using directory_log::token_fields;

const char* role_name(Role role) {
  switch (role) {
    case Role::kVillager: return "villager";
    case Role::kOfficial: return "official";
    case Role::kInspector: return "inspector";
  }
  return "villager";
}

std::optional<Role> parse_role(const std::string& text) {
  if (text == "official" || text == "村干部") return Role::kOfficial;
  if (text == "inspector" || text == "纪检") return Role::kInspector;
  if (text == "villager" || text == "村民") return Role::kVillager;
  return std::nullopt;
}

const Village* Directory::find_village(const std::string& id_or_name) const {
  if (auto it = villages.find(id_or_name); it != villages.end()) return &it->second;
  for (const auto& [id, v] : villages)
    if (v.name == id_or_name) return &v;
  return nullptr;
}

bool area_covers(const std::string& area, const Village& v) { return area == "all" || area == v.town; }

// In the form SQLite and PostgreSQL read the same (bot/portable_sql.h).
const char* const bot_sql::kMembersTable =
    "CREATE TABLE IF NOT EXISTS members(bot TEXT NOT NULL, \"user\" TEXT NOT NULL, village TEXT NOT NULL,"
    " role TEXT NOT NULL, area TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " PRIMARY KEY(bot, \"user\", village, role, area))";
// A token's id is its row's: named in the admin log, it never changes.
const char* const bot_sql::kApiTokensTable =
    "CREATE TABLE IF NOT EXISTS api_tokens(id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " village TEXT NOT NULL, area TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER, revoked_at INTEGER)";
const char* const bot_sql::kAddMember =
    "INSERT INTO members(bot, \"user\", village, role, area, created_at) VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING";
const char* const bot_sql::kRemoveMember = "DELETE FROM members WHERE bot=? AND \"user\"=?";
const char* const bot_sql::kListMembers =
    "SELECT bot, \"user\", village, role, area FROM members WHERE ?='' OR bot=? ORDER BY bot, \"user\", role";
const char* const bot_sql::kImportMembers =
    "SELECT bot, \"user\", village, role, area FROM members ORDER BY bot, \"user\", role, village, area";
const char* const bot_sql::kImportTokens =
    "SELECT id, hash, role, village, area, label, created_at, expires_at, revoked_at FROM api_tokens ORDER BY id";

namespace {

const char* const kSchema[] = {
    "CREATE TABLE IF NOT EXISTS group_bindings(bot TEXT NOT NULL, chat TEXT NOT NULL,"
    " village TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(bot, chat))",
    bot_sql::kMembersTable,
    bot_sql::kApiTokensTable,
    // One row: whether the rows made before the admin log existed were recorded in it.
    "CREATE TABLE IF NOT EXISTS directory_state(id INTEGER PRIMARY KEY CHECK(id = 1), admin_log_started INTEGER NOT NULL)",
};
// members as versions before issue #17 made it, `user` unquoted (the same column).
const char* const kUnquotedMembers =
    "CREATE TABLE IF NOT EXISTS members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL, role TEXT NOT NULL,"
    " area TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(bot, user, village, role, area))";
// api_tokens before issue #17: no id column (a token's id was its implicit
// rowid), and expires_at and revoked_at added by ALTER TABLE in this order.
// create_schema rebuilds such a table in today's form, keeping every rowid.
const char* const kAddExpiresAt = "ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER";
const char* const kAddRevokedAt = "ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER";

// Rebuilds an api_tokens table of before issue #17 (no id column) in today's
// form, each token's id its old rowid. The old table is renamed first and
// today's created under the real name, so that the stored CREATE text is
// today's exactly (a table renamed into place keeps a quoted name in it).
void rebuild_tokens_with_ids(sql::Session& db) {
  auto columns = db.columns("api_tokens");
  std::set<std::string> have(columns.begin(), columns.end());
  if (have.count("id")) return;
  if (!have.count("expires_at")) db.exec(kAddExpiresAt);
  if (!have.count("revoked_at")) db.exec(kAddRevokedAt);
  db.exec("ALTER TABLE api_tokens RENAME TO api_tokens_before_ids");
  db.exec(bot_sql::kApiTokensTable);
  db.exec(
      "INSERT INTO api_tokens(id, hash, role, village, area, label, created_at, expires_at, revoked_at)"
      " SELECT rowid, hash, role, village, area, label, created_at, expires_at, revoked_at"
      " FROM api_tokens_before_ids ORDER BY rowid");
  db.exec("DROP TABLE api_tokens_before_ids");
}
// Before the admin log, a binding named its village's row in the ledger.
const char* const kFirstGroupBindings =
    "CREATE TABLE IF NOT EXISTS group_bindings(bot TEXT NOT NULL, chat TEXT NOT NULL,"
    " village TEXT NOT NULL REFERENCES villages(id), created_at INTEGER NOT NULL, PRIMARY KEY(bot, chat))";

// Records the rows of a deployment made before the admin log existed.
Status import_existing_rows(WriteTxn& txn) {
  const Author importer{"sunledger", "system", "upgrade"};
  std::vector<json> changes;
  {
    auto& b = txn.sql().statement("SELECT bot, chat, village FROM group_bindings ORDER BY bot, chat");
    while (b.step())
      changes.push_back({{"op", "bind_group"}, {"imported", true}, {"bot", b.column_text(0)},
                         {"chat", b.column_text(1)}, {"village", b.column_text(2)}});
    auto& m = txn.sql().statement(bot_sql::kImportMembers);
    while (m.step())
      changes.push_back({{"op", "add_member"}, {"imported", true}, {"bot", m.column_text(0)},
                         {"user", m.column_text(1)}, {"village", m.column_text(2)},
                         {"role", m.column_text(3)}, {"area", m.column_text(4)}});
    auto& t = txn.sql().statement(bot_sql::kImportTokens);
    while (t.step()) {
      std::optional<int64_t> expires;
      if (!t.column_is_null(7)) expires = t.column_int64(7);
      json f = token_fields(t.column_int64(0), t.column_text(1), t.column_text(2),
                            t.column_text(3), t.column_text(4), t.column_text(5),
                            t.column_int64(6), expires);
      f["op"] = "create_token";
      f["imported"] = true;
      changes.push_back(f);
      if (!t.column_is_null(8))
        changes.push_back({{"op", "revoke_token"}, {"imported", true}, {"token_id", t.column_int64(0)},
                           {"revoked_at", t.column_int64(8)}});
    }
  }
  for (auto& c : changes)
    if (Status s = log_change(txn, std::move(c), importer); !s.is_ok()) return s;
  return Status::ok();
}

}  // namespace

// Its tables as create_schema leaves them: group_bindings also as the
// versions before the admin log made it, members also as the versions before
// issue #17 made it. api_tokens has today's form only: create_schema rebuilds
// an older one, so the old form after a start is a table rebuilt by hand.
std::vector<SchemaTable> DirectoryStore::own_tables() {
  auto out = tables_among(kSchema);
  for (auto& t : out) {
    if (t.name == "group_bindings") t.sql.push_back(normalized_schema_sql(kFirstGroupBindings));
    if (t.name == "members") t.sql.push_back(normalized_schema_sql(kUnquotedMembers));
  }
  return out;
}

Status DirectoryStore::create_schema(WriteTxn& txn) {
  // Only a database made before the admin log existed (no directory_state
  // table at all) has rows to import; where the table exists and its row is
  // gone, somebody deleted it, and the rows stay unrecorded for verify to name.
  // A database whose admin log has entries was made by this version whatever
  // became of the table: dropping it must not get an insider's rows signed
  // as "imported" on top of the log a witness already holds.
  bool upgrading = !txn.sql().table_exists("directory_state");
  if (upgrading) {
    auto logged = txn.log_size(kLogName);
    if (!logged.is_ok()) return logged.status();
    upgrading = *logged == 0;
  }
  for (const char* sql : kSchema) txn.sql().exec(sql);
  // Tokens expire and can be revoked, and have an id column (older versions
  // had none of these).
  rebuild_tokens_with_ids(txn.sql());
  if (!upgrading) return Status::ok();
  if (Status s = import_existing_rows(txn); !s.is_ok()) return s;
  txn.sql().exec("INSERT INTO directory_state(id, admin_log_started) VALUES(1, 1)");
  return Status::ok();
}

namespace {
std::optional<int64_t> opt_int(const json& f, const char* key) {
  auto it = f.find(key);
  if (it == f.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

void DirectoryState::apply(const Entry& e) {
  const json& f = e.fields;
  std::string op = entry_string(f, "op");
  if (op == "bind_group") {
    bindings[{entry_string(f, "bot"), entry_string(f, "chat")}] = {entry_string(f, "village"), e.index};
  } else if (op == "unbind_group") {
    bindings.erase({entry_string(f, "bot"), entry_string(f, "chat")});
  } else if (op == "add_member") {
    members.emplace(std::make_tuple(entry_string(f, "bot"), entry_string(f, "user"), entry_string(f, "role"),
                                    entry_string(f, "village"), entry_string(f, "area")),
                    e.index);
  } else if (op == "remove_member") {
    std::string b = entry_string(f, "bot"), u = entry_string(f, "user");
    for (auto it = members.begin(); it != members.end();)
      it = std::get<0>(it->first) == b && std::get<1>(it->first) == u ? members.erase(it) : std::next(it);
  } else if (op == "create_token") {
    Token t{opt_int(f, "token_id").value_or(-1), entry_string(f, "token_sha256"), entry_string(f, "role"),
            entry_string(f, "village"), entry_string(f, "area"), entry_string(f, "label"),
            opt_int(f, "created_at").value_or(0), opt_int(f, "expires_at"), std::nullopt, e.index};
    tokens[t.id] = t;
  } else if (op == "revoke_token") {
    auto it = tokens.find(opt_int(f, "token_id").value_or(-1));
    if (it == tokens.end()) problems.emplace_back(e.index, "admin log: revokes a token it never created");
    else it->second.revoked_at = opt_int(f, "revoked_at");
  } else if (op == "witness_refused" || op == "witness_refusals_before" || op == "clear_witness_refusal" ||
             op == "deliveries_record_refused" || op == "clear_deliveries_record_refused") {
    apply_refusal(op, e);  // bot/witness_refusals.cc
  } else {
    problems.emplace_back(e.index, "admin log: unknown change \"" + op + "\"");
  }
  size = e.index + 1;
}

Result<std::shared_ptr<const DirectoryState>> DirectoryStore::replay(uint64_t size, bool use_cache) {
  auto state = std::make_shared<DirectoryState>();
  if (use_cache) {
    std::lock_guard<std::mutex> lock(mu_);
    using Have = const std::shared_ptr<const DirectoryState>*;
    for (Have have : {cached_ ? &cached_->state : Have{nullptr}, Have{&replayed_}}) {
      if (have == nullptr || !*have || (*have)->size > size || (*have)->size < state->size) continue;
      if ((*have)->size == size) return *have;  // nothing to add: no copy
      *state = **have;
    }
  }
  constexpr uint64_t kChunk = 1000;
  for (uint64_t from = state->size; from < size; from += kChunk) {
    auto entries = ledger_->entries(kLogName, from, std::min(size, from + kChunk));
    if (!entries.is_ok()) return entries.status();
    for (const auto& e : *entries) state->apply(e);
  }
  if (use_cache) {
    std::lock_guard<std::mutex> lock(mu_);
    replayed_ = state;
  }
  return std::shared_ptr<const DirectoryState>(state);
}

// The directory as the admin log stands inside a write: what every change
// decides from. The tables are only its mirror; an insider who deletes or
// edits a row must not be able to make a removal, a revocation or an unbind
// "find nothing" (so nothing is logged, and the running server, which
// replays the log, keeps granting).
Result<std::shared_ptr<const DirectoryState>> DirectoryStore::logged_state(WriteTxn& txn) {
  auto size = txn.log_size(kLogName);
  if (!size.is_ok()) return size.status();
  return replay(*size, true);
}

Result<std::shared_ptr<const Directory>> DirectoryStore::snapshot(Freshness freshness) {
  // Read before storage is: a commit after this moves it again, so a snapshot
  // found current below is never kept under a generation newer than it.
  uint64_t generation = ledger_->change_generation();
  if (freshness == Freshness::kRecent) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ && cached_generation_ == generation) return cached_;
  }
  // Villages are added only with an entry of the registry log: its size
  // says whether the villages' table may have moved, without counting it.
  auto gen = ledger_->registry_and_log_size(kLogName);
  if (!gen.is_ok()) return gen.status();
  auto [registry_size, version] = *gen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ && cached_->version == version && cached_registry_size_ == registry_size) {
      cached_generation_ = generation;
      return cached_;
    }
  }
  // Built from the signed admin log, not from the tables: the tables are what
  // the CLI lists and verify compares, never what grants a right.
  auto d = std::make_shared<Directory>();
  d->version = version;
  if (version > 0) {
    // The replay reads leaves as stored: an entry edited with sqlite3 (the
    // trigger dropped) would grant its role until the next hourly verify.
    // Only a log our signature covers grants anything, and the entries
    // replayed are the very ones checked, read in one snapshot: replayed
    // apart from the check, a leaf forged for the replay and put back before
    // the check was trusted, and granted its role until the log grew again.
    auto checked = ledger_->checked_entries(kLogName);
    if (!checked.is_ok()) return checked.status();
    // A log that fails is replayed only as far as it is intact: an entry
    // edited (an inspector's grant made an insider's) must not receive the
    // tamper alarm in the real inspector's place.
    auto state = std::make_shared<DirectoryState>();
    for (const auto& e : checked->entries)
      if (e.index < checked->first_bad) state->apply(e);
    d->state = state;
    d->trusted = checked->intact;
  } else {
    d->state = std::make_shared<DirectoryState>();
  }
  auto villages = registered_villages(*ledger_, registry_size);
  if (!villages.is_ok()) return villages.status();
  d->villages = std::move(*villages);
  for (const auto& [key, value] : d->state->bindings) {
    d->bindings[key] = value.first;
    d->groups_of[value.first].emplace_back(key.first, key.second);
  }
  for (const auto& [key, entry] : d->state->members) {
    const auto& [bot, user, role, village, area] = key;
    d->members[{bot, user}].push_back({bot, user, village, parse_role(role).value_or(Role::kVillager), area});
  }
  std::lock_guard<std::mutex> lock(mu_);
  cached_ = d;
  cached_registry_size_ = registry_size;
  cached_generation_ = generation;
  return std::shared_ptr<const Directory>(d);
}

Result<Village> DirectoryStore::registered_village(const std::string& id) {
  auto d = snapshot();
  if (!d.is_ok()) return d.status();
  auto it = (*d)->villages.find(id);
  if (it == (*d)->villages.end()) return not_found("没有这个村或日志“" + id + "” (no such village or log)");
  return it->second;
}

Status DirectoryStore::bind_group(const std::string& village, const std::string& bot_id, const std::string& chat_id,
                                  bool rebind, const Author& by) {
  if (bot_id.empty() || chat_id.empty()) return invalid_argument("bot and chat ids must not be empty");
  auto v = registered_village(village);
  if (!v.is_ok()) return v.status();
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    // Moving a group to another village moves all its villagers: only on purpose.
    auto cur = (*logged)->bindings.find({bot_id, chat_id});
    bool bound = cur != (*logged)->bindings.end();
    if (bound && cur->second.first == village) return Status::ok();  // nothing changes, nothing to log
    if (bound && !rebind)
      return already_exists("this chat is bound to " + cur->second.first + " already; add --rebind to move it to " + village);
    auto& q = txn.sql().statement(
        "INSERT INTO group_bindings(bot, chat, village, created_at) VALUES(?,?,?,?) "
        "ON CONFLICT(bot, chat) DO UPDATE SET village=excluded.village");
    q.bind(1, bot_id);
    q.bind(2, chat_id);
    q.bind(3, village);
    q.bind(4, txn.now());
    q.exec();
    return log_change(txn, {{"op", "bind_group"}, {"bot", bot_id}, {"chat", chat_id}, {"village", village}}, by);
  });
}

Status DirectoryStore::unbind_group(const std::string& bot_id, const std::string& chat_id, const Author& by) {
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    auto& q = txn.sql().statement("DELETE FROM group_bindings WHERE bot=? AND chat=?");
    q.bind(1, bot_id);
    q.bind(2, chat_id);
    bool had_row = q.exec() > 0;
    if (!(*logged)->bindings.count({bot_id, chat_id}) && !had_row)
      return not_found("no group " + chat_id + " bound on bot " + bot_id);
    return log_change(txn, {{"op", "unbind_group"}, {"bot", bot_id}, {"chat", chat_id}}, by);
  });
}

Status DirectoryStore::add_member(const Membership& m, const Author& by, bool* added) {
  if (added) *added = false;
  if (m.bot_id.empty() || m.user_id.empty()) return invalid_argument("bot and user ids must not be empty");
  if (m.role == Role::kOfficial) {
    if (m.village.empty()) return invalid_argument("an official belongs to a village (--village)");
    if (auto v = registered_village(m.village); !v.is_ok()) return v.status();
  } else if (m.role == Role::kInspector) {
    if (m.area.empty() && m.village.empty()) return invalid_argument("an inspector watches a town or all (--area 朱亭镇|all)");
  } else {
    return invalid_argument("role must be official or inspector (villagers are whoever is in a bound group)");
  }
  std::string area = m.area;
  if (m.role == Role::kInspector && !area.empty()) {
    auto d = snapshot();
    if (!d.is_ok()) return d.status();
    if (Status s = known_area((*d)->villages, area); !s.is_ok()) return s;
  }
  if (m.role == Role::kInspector && area.empty()) {
    auto v = registered_village(m.village);
    if (!v.is_ok()) return v.status();
    area = v->town;  // an inspector named with --village watches that village's town
  }
  std::string village = m.role == Role::kOfficial ? m.village : "";
  if (m.role != Role::kInspector) area.clear();
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement(bot_sql::kAddMember);
    q.bind(1, m.bot_id);
    q.bind(2, m.user_id);
    q.bind(3, village);
    q.bind(4, role_name(m.role));
    q.bind(5, area);
    q.bind(6, txn.now());
    q.exec();
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    // Already a member in that role (by the log, not a row someone inserted): nothing changes.
    if ((*logged)->members.count({m.bot_id, m.user_id, role_name(m.role), village, area})) return Status::ok();
    if (added) *added = true;  // the transaction's failure says otherwise
    return log_change(txn,
                      {{"op", "add_member"}, {"bot", m.bot_id}, {"user", m.user_id}, {"village", village},
                       {"role", role_name(m.role)}, {"area", area}},
                      by);
  });
}

Result<size_t> DirectoryStore::remove_member(const std::string& bot_id, const std::string& user_id, const Author& by) {
  size_t removed = 0;
  Status s = ledger_->write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement(bot_sql::kRemoveMember);
    q.bind(1, bot_id);
    q.bind(2, user_id);
    size_t rows = static_cast<size_t>(q.exec());
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    // Counted from the log: its grants are what a running server acts on.
    removed = 0;
    for (const auto& [key, entry] : (*logged)->members)
      if (std::get<0>(key) == bot_id && std::get<1>(key) == user_id) ++removed;
    if (removed == 0 && rows == 0) return not_found("user " + user_id + " has no role on bot " + bot_id);
    removed = std::max(removed, rows);
    return log_change(txn, {{"op", "remove_member"}, {"bot", bot_id}, {"user", user_id}}, by);
  });
  if (!s.is_ok()) return s;
  return removed;
}

Result<std::vector<GroupBinding>> DirectoryStore::list_groups() {
  std::vector<GroupBinding> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement("SELECT bot, chat, village FROM group_bindings ORDER BY village, bot, chat");
    while (q.step()) out.push_back({q.column_text(0), q.column_text(1), q.column_text(2)});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<std::vector<Membership>> DirectoryStore::list_members(const std::string& bot_id) {
  std::vector<Membership> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement(bot_sql::kListMembers);
    q.bind(1, bot_id);
    q.bind(2, bot_id);
    while (q.step())
      out.push_back({q.column_text(0), q.column_text(1), q.column_text(2),
                     parse_role(q.column_text(3)).value_or(Role::kVillager), q.column_text(4)});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

}  // namespace sunledger
