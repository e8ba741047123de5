// verify for the directory: its tables rebuilt from the admin log and
// compared both ways, each difference named by table, row and entry.
#include "bot/directory.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Verification: the tables rebuilt from the admin log.

namespace {

struct TokenRow {
  std::string hash, role, village, area, label;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at, revoked_at;
  bool operator==(const TokenRow&) const = default;
};

std::string describe(const TokenRow& t) {
  return t.role + " " + (t.village.empty() ? t.area : t.village) + " \"" + t.label + "\"" +
         (t.revoked_at ? " revoked" : "") + (t.expires_at ? " expires " + utc_timestamp(*t.expires_at) : "");
}

}  // namespace

Result<std::vector<VerifyProblem>> DirectoryStore::verify() {
  std::vector<VerifyProblem> problems;
  auto bad = [&](uint64_t index, const std::string& why) { problems.push_back({kLogName, index, why}); };
  auto size = ledger_->log_size(kLogName);
  uint64_t n = 0;
  if (size.is_ok()) n = *size;
  else if (size.status().code() != Code::kNotFound) return size.status();

  // Replayed from the first entry, whatever a running server has cached.
  auto replayed = replay(n, false);
  if (!replayed.is_ok()) return replayed.status();
  const DirectoryState& st = **replayed;
  for (const auto& [index, why] : st.problems) bad(index, why);
  using BindingKey = std::pair<std::string, std::string>;                                          // bot, chat
  using MemberKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;  // bot, user, role, village, area
  auto bindings = st.bindings;
  auto members = st.members;
  std::map<int64_t, std::pair<TokenRow, uint64_t>> tokens;
  for (const auto& [id, t] : st.tokens)
    tokens[id] = {TokenRow{t.sha256, t.role, t.village, t.area, t.label, t.created_at, t.expires_at, t.revoked_at}, t.entry};

  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    SQLite::Statement b(r.db(), "SELECT bot, chat, village FROM group_bindings ORDER BY bot, chat");
    while (b.executeStep()) {
      BindingKey k{b.getColumn(0).getString(), b.getColumn(1).getString()};
      std::string village = b.getColumn(2).getString();
      auto it = bindings.find(k);
      std::string what = "group_bindings: chat " + k.second + " on bot " + k.first;
      if (it == bindings.end()) bad(n, what + " is bound to " + village + " but no admin log entry bound it");
      else if (it->second.first != village)
        bad(it->second.second, what + " is bound to " + village + " but the admin log bound it to " + it->second.first);
      if (it != bindings.end()) bindings.erase(it);
    }
    for (const auto& [k, v] : bindings)
      bad(v.second, "group_bindings: chat " + k.second + " on bot " + k.first + " (" + v.first +
                        ") was bound by the admin log but its row is missing");

    SQLite::Statement m(r.db(), "SELECT bot, user, role, village, area FROM members ORDER BY bot, user");
    while (m.executeStep()) {
      MemberKey k{m.getColumn(0).getString(), m.getColumn(1).getString(), m.getColumn(2).getString(),
                  m.getColumn(3).getString(), m.getColumn(4).getString()};
      std::string what = "members: " + std::get<2>(k) + " " + std::get<1>(k) + " on bot " + std::get<0>(k) + " (" +
                         (std::get<3>(k).empty() ? std::get<4>(k) : std::get<3>(k)) + ")";
      if (auto it = members.find(k); it == members.end()) bad(n, what + " has no admin log entry that granted it");
      else members.erase(it);
    }
    for (const auto& [k, index] : members)
      bad(index, "members: " + std::get<2>(k) + " " + std::get<1>(k) + " on bot " + std::get<0>(k) +
                     " was granted by the admin log but its row is missing");

    SQLite::Statement t(r.db(), "SELECT rowid, hash, role, village, area, label, created_at, expires_at, revoked_at "
                                "FROM api_tokens ORDER BY rowid");
    while (t.executeStep()) {
      int64_t id = t.getColumn(0).getInt64();
      TokenRow row{t.getColumn(1).getString(), t.getColumn(2).getString(), t.getColumn(3).getString(),
                   t.getColumn(4).getString(), t.getColumn(5).getString(), t.getColumn(6).getInt64(),
                   t.getColumn(7).isNull() ? std::nullopt : std::optional<int64_t>(t.getColumn(7).getInt64()),
                   t.getColumn(8).isNull() ? std::nullopt : std::optional<int64_t>(t.getColumn(8).getInt64())};
      std::string what = "api_tokens: token id " + std::to_string(id);
      auto it = tokens.find(id);
      if (it == tokens.end()) bad(n, what + " (" + describe(row) + ") has no admin log entry that created it");
      else if (!(it->second.first == row))
        bad(it->second.second, what + " is stored as " + describe(row) + (row.hash != it->second.first.hash ? " with another hash" : "") +
                                   " but the admin log says " + describe(it->second.first));
      if (it != tokens.end()) tokens.erase(it);
    }
    for (const auto& [id, v] : tokens)
      bad(v.second, "api_tokens: token id " + std::to_string(id) + " was created by the admin log but its row is missing");
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return problems;
}

}  // namespace sunledger
