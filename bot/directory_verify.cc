// verify for the directory: its tables rebuilt from the admin log and
// compared both ways, each difference named by table, row and entry.
#include "bot/directory.h"
#include "bot/portable_sql.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Verification: the tables rebuilt from the admin log.

const char* const bot_sql::kVerifyMembers =
    "SELECT bot, \"user\", role, village, area FROM members ORDER BY bot, \"user\"";
const char* const bot_sql::kVerifyTokens =
    "SELECT id, hash, role, village, area, label, created_at, expires_at, revoked_at FROM api_tokens ORDER BY id";

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

namespace {

// Each directory table compared both ways with what the admin log's replay
// says it must hold. A row no entry made is located at the log's end (`n`):
// something was added after the last entry.
struct DirectoryComparison {
  uint64_t n;
  std::vector<VerifyProblem>& problems;
  void bad(uint64_t index, const std::string& why) { problems.push_back({DirectoryStore::kLogName, index, why}); }

  void bindings(sql::Session& db, DirectoryState::Bindings expected) {
    auto& b = db.statement("SELECT bot, chat, village FROM group_bindings ORDER BY bot, chat");
    while (b.step()) {
      std::pair<std::string, std::string> k{b.column_text(0), b.column_text(1)};
      std::string village = b.column_text(2);
      auto it = expected.find(k);
      std::string what = "group_bindings: chat " + k.second + " on bot " + k.first;
      if (it == expected.end()) bad(n, what + " is bound to " + village + " but no admin log entry bound it");
      else if (it->second.first != village)
        bad(it->second.second, what + " is bound to " + village + " but the admin log bound it to " + it->second.first);
      if (it != expected.end()) expected.erase(it);
    }
    for (const auto& [k, v] : expected)
      bad(v.second, "group_bindings: chat " + k.second + " on bot " + k.first + " (" + v.first +
                        ") was bound by the admin log but its row is missing");
  }

  void members(sql::Session& db, DirectoryState::Members expected) {
    auto& m = db.statement(bot_sql::kVerifyMembers);
    while (m.step()) {
      DirectoryState::Members::key_type k{m.column_text(0), m.column_text(1), m.column_text(2),
                                          m.column_text(3), m.column_text(4)};
      std::string what = "members: " + std::get<2>(k) + " " + std::get<1>(k) + " on bot " + std::get<0>(k) + " (" +
                         (std::get<3>(k).empty() ? std::get<4>(k) : std::get<3>(k)) + ")";
      if (auto it = expected.find(k); it == expected.end()) bad(n, what + " has no admin log entry that granted it");
      else expected.erase(it);
    }
    for (const auto& [k, index] : expected)
      bad(index, "members: " + std::get<2>(k) + " " + std::get<1>(k) + " on bot " + std::get<0>(k) +
                     " was granted by the admin log but its row is missing");
  }

  void tokens(sql::Session& db, const std::map<int64_t, DirectoryState::Token>& logged) {
    std::map<int64_t, std::pair<TokenRow, uint64_t>> expected;
    for (const auto& [id, t] : logged)
      expected[id] = {TokenRow{t.sha256, t.role, t.village, t.area, t.label, t.created_at, t.expires_at, t.revoked_at}, t.entry};
    auto& t = db.statement(bot_sql::kVerifyTokens);
    while (t.step()) {
      int64_t id = t.column_int64(0);
      TokenRow row{t.column_text(1), t.column_text(2), t.column_text(3),
                   t.column_text(4), t.column_text(5), t.column_int64(6),
                   t.column_is_null(7) ? std::nullopt : std::optional<int64_t>(t.column_int64(7)),
                   t.column_is_null(8) ? std::nullopt : std::optional<int64_t>(t.column_int64(8))};
      std::string what = "api_tokens: token id " + std::to_string(id);
      auto it = expected.find(id);
      if (it == expected.end()) bad(n, what + " (" + describe(row) + ") has no admin log entry that created it");
      else if (!(it->second.first == row))
        bad(it->second.second, what + " is stored as " + describe(row) + (row.hash != it->second.first.hash ? " with another hash" : "") +
                                   " but the admin log says " + describe(it->second.first));
      if (it != expected.end()) expected.erase(it);
    }
    for (const auto& [id, v] : expected)
      bad(v.second, "api_tokens: token id " + std::to_string(id) + " was created by the admin log but its row is missing");
  }
};

}  // namespace

Result<std::vector<VerifyProblem>> DirectoryStore::verify() {
  // The tables are compared in a snapshot whose admin log is the one
  // replayed: a change committed in between by another process (a node
  // sharing the database, the CLI) would look made by hand. When the
  // snapshot's log has grown, the replay goes on to it and everything is
  // read again (a few times: a node changing the directory without pause
  // is not what an administrator does).
  for (int attempt = 1;; ++attempt) {
    std::vector<VerifyProblem> problems;
    // The witness refusals and the log's size in one snapshot
    // (bot/witness_refusals.cc); 0 for a log not started.
    auto refusals = ledger_->witness_refusals_at(kLogName);
    if (!refusals.is_ok()) return refusals.status();
    uint64_t n = refusals->log_size;
    // Replayed from the first entry, whatever a running server has cached.
    auto replayed = replay(n, false);
    if (!replayed.is_ok()) return replayed.status();
    const DirectoryState& st = **replayed;
    for (const auto& [index, why] : st.problems) problems.push_back({kLogName, index, why});
    DirectoryComparison compare{n, problems};
    uint64_t seen = n;
    Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
      auto size = r.log_size(kLogName);
      if (!size.is_ok()) return size.status();
      seen = *size;
      if (seen != n && attempt < 5) return Status::ok();
      compare.bindings(r.sql(), st.bindings);
      compare.members(r.sql(), st.members);
      compare.tokens(r.sql(), st.tokens);
      return Status::ok();
    });
    if (!s.is_ok()) return s;
    if (seen != n && attempt < 5) continue;
    auto refused = refusal_problems(st, refusals->rows, n);
    problems.insert(problems.end(), refused.begin(), refused.end());
    return problems;
  }
}

}  // namespace sunledger
