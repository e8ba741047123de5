// Verify's second half: the derived tables (month closes, projects, finished
// projects, reversals, villages and the time zone) rebuilt from a log's
// signed entries and compared with the stored rows, both ways.
#include "ledger/derived_tables.h"


#include <algorithm>

#include "ledger/ledger_internal.h"
#include "ledger/line_keys.h"

namespace sunledger::ledger_internal {

void DerivedTables::collect(const LeafFields& f, std::string_view kind, uint64_t idx) {
  using F = LeafFields;
  if (kind == "statement") {
    std::string month(f.string(F::kMonth));
    if (expect.statements.count(month))
      problems.emplace_back(idx, "entry " + std::to_string(idx) + " is a second statement of " + month);
    else if (month <= expect.last_statement_month)
      problems.emplace_back(idx, "the statement of " + month + " (entry " + std::to_string(idx) + ") comes after " +
                                    expect.last_statement_month + "'s");
    expect.statements.emplace(month, idx);
    expect.last_statement_month = std::max(expect.last_statement_month, month);
  } else if (kind == "project") {
    // The ledger registers a name once, finishes it once and reverses an
    // entry once, each decided by its derived table: a row deleted by hand
    // let the same change be signed a second time (a project re-registered
    // with another budget, an income reversed twice), and the table, put
    // back or rewritten afterwards, matched one of the two entries.
    std::string name(f.string(F::kName));
    if (auto first = expect.projects.find(name); first != expect.projects.end()) {
      problems.emplace_back(idx, "entry " + std::to_string(idx) + " registers project " + name + " a second time (first: entry " +
                                    std::to_string(first->second.idx) + ")");
      return;
    }
    expect.projects[name] = {f.is_integer(F::kApproved) ? f.fen(F::kApproved) : -1, f.is_true(F::kSpecial), idx};
  } else if (kind == "project_finished") {
    std::string name(f.string(F::kName));
    if (!expect.finished.emplace(name, idx).second)
      problems.emplace_back(idx, "entry " + std::to_string(idx) + " finishes project " + name + " a second time");
  } else if (kind == "reversal") {
    if (f.is_unsigned(F::kTarget) && !expect.reversals.emplace(f.unsigned_value(F::kTarget), idx).second)
      problems.emplace_back(idx, "entry " + std::to_string(idx) + " reverses entry " + std::to_string(f.unsigned_value(F::kTarget)) +
                                    " a second time");
  } else if (kind == "txn") {
    expect.line_keys.emplace_back(line_key(f.string(F::kDirection), f.string(F::kDate), f.fen(F::kAmount),
                                           f.string(F::kItem), f.string(F::kCounterparty)),
                                  idx);
  } else if (kind == "account_map") {
    // A later mapping of the same name replaces the earlier one.
    expect.account_maps[{std::string(f.string(F::kDirection)), std::string(f.string(F::kName))}] = {
        std::string(f.string(F::kAccount)), idx};
  } else if (kind == "village") {
    std::string id(f.string(F::kVillage));
    if (expect.villages.count(id)) problems.emplace_back(idx, "entry " + std::to_string(idx) + " registers " + id + " a second time");
    else expect.villages[id] = {std::string(f.string(F::kName)), std::string(f.string(F::kTown)), idx};
    // Registrations made before the zone was recorded carry none.
    if (f.is_integer(F::kUtcOffset)) expect.zones.emplace_back(idx, f.fen(F::kUtcOffset));
  }
}

// The villages table against the registry's entries, both ways.
void DerivedTables::compare_villages(uint64_t size) {
  auto& q = db.statement("SELECT id, name, town FROM villages ORDER BY id");
  auto left = expect.villages;
  while (q.step()) {
    std::string id = q.column_text(0), name = q.column_text(1), town = q.column_text(2);
    auto it = left.find(id);
    if (it == left.end()) {
      problems.emplace_back(size, "villages: village " + id + " (" + name + ", " + town + ") has no registration entry");
      continue;
    }
    auto& [reg_name, reg_town, idx] = it->second;
    if (name != reg_name || town != reg_town)
      problems.emplace_back(idx, "villages: village " + id + " is stored as " + name + ", " + town + " but entry " +
                                    std::to_string(idx) + " registered it as " + reg_name + ", " + reg_town);
    left.erase(it);
  }
  for (const auto& [id, reg] : left)
    problems.emplace_back(std::get<2>(reg), "villages: village " + id + " (registered in entry " +
                                               std::to_string(std::get<2>(reg)) + ") is missing");
  compare_zone();
}

// The time zone in `meta` against the one the registrations recorded: moved,
// it shifts every date shown (an entry's month, a complaint's deadline, the
// day the overdue digest is due) without touching a signed byte.
void DerivedTables::compare_zone() {
  if (expect.zones.empty()) return;
  auto& q = db.statement("SELECT value FROM meta WHERE key='utc_offset_minutes'");
  std::string stored = q.step() ? q.column_text(0) : "(none)";
  for (const auto& [idx, registered] : expect.zones) {
    // Both the stored zone and the one this process took from it at open:
    // meta edited before a start and put back before the check would
    // otherwise leave a server reckoning every date in a zone verify never saw.
    if (stored != std::to_string(registered))
      problems.emplace_back(idx, "meta: the deployment's UTC offset is stored as " + stored + " minutes, but entry " +
                                    std::to_string(idx) + " registered its village under " + std::to_string(registered));
    else if (zone != registered)
      problems.emplace_back(idx, "meta: this server reckons dates at UTC offset " + std::to_string(zone) +
                                    " minutes (read at its start), but entry " + std::to_string(idx) +
                                    " registered its village under " + std::to_string(registered));
    else continue;
    return;  // one problem says it; every registration would repeat it
  }
}

// Each derived table against what its entries say, in both directions: a
// row edited, deleted or added by hand is named with its table and entry.
// Long (about 70 lines): one short block per derived table, all reading the
// one log's entries already in memory; a function per table would pass that
// state around for nothing.
void DerivedTables::compare(int64_t log_id) {
  auto e = [](uint64_t i) { return "entry " + std::to_string(i); };
  {
    auto& q = db.statement("SELECT month, statement_idx, tree_size FROM month_closes WHERE log_id=?");
    q.bind(1, log_id);
    std::map<std::string, uint64_t> left = expect.statements;
    while (q.step()) {
      std::string month = q.column_text(0);
      uint64_t idx = static_cast<uint64_t>(q.column_int64(1)), size = static_cast<uint64_t>(q.column_int64(2));
      auto it = left.find(month);
      if (it == left.end()) {
        problems.emplace_back(idx, "month_closes: a close of " + month + " without a statement entry of that month");
        continue;
      }
      if (idx != it->second || size != it->second + 1)
        problems.emplace_back(std::min(idx, it->second), "month_closes: the close of " + month + " points at " + e(idx) +
                                                            ", but its statement is " + e(it->second));
      left.erase(it);
    }
    for (const auto& [month, idx] : left)
      problems.emplace_back(idx, "month_closes: the close of " + month + " (statement " + e(idx) + ") is missing");
  }
  {
    auto& q = db.statement("SELECT name, approved, special, entry_idx FROM projects WHERE log_id=?");
    q.bind(1, log_id);
    auto left = expect.projects;
    while (q.step()) {
      std::string name = q.column_text(0);
      uint64_t idx = static_cast<uint64_t>(q.column_int64(3));
      auto it = left.find(name);
      if (it == left.end()) {
        problems.emplace_back(idx, "projects: project " + name + " has no registration entry");
        continue;
      }
      if (q.column_int64(1) != it->second.approved || (q.column_int(2) != 0) != it->second.special ||
          idx != it->second.idx)
        problems.emplace_back(it->second.idx, "projects: project " + name + " does not match its registration, " + e(it->second.idx));
      left.erase(it);
    }
    for (const auto& [name, p] : left)
      problems.emplace_back(p.idx, "projects: project " + name + " (registered in " + e(p.idx) + ") is missing");
  }
  {
    auto& q = db.statement("SELECT name, entry_idx FROM finished_projects WHERE log_id=?");
    q.bind(1, log_id);
    auto left = expect.finished;
    while (q.step()) {
      std::string name = q.column_text(0);
      uint64_t idx = static_cast<uint64_t>(q.column_int64(1));
      auto it = left.find(name);
      if (it == left.end() || it->second != idx)
        problems.emplace_back(idx, "finished_projects: project " + name + " does not match a finishing entry");
      if (it != left.end()) left.erase(it);
    }
    for (const auto& [name, idx] : left)
      problems.emplace_back(idx, "finished_projects: the finishing of " + name + " (" + e(idx) + ") is missing");
  }
  {
    auto& q = db.statement("SELECT target_idx, reversal_idx FROM reversals WHERE log_id=?");
    q.bind(1, log_id);
    auto left = expect.reversals;
    while (q.step()) {
      uint64_t target = static_cast<uint64_t>(q.column_int64(0)), idx = static_cast<uint64_t>(q.column_int64(1));
      auto it = left.find(target);
      if (it == left.end() || it->second != idx)
        problems.emplace_back(idx, "reversals: the reversal of " + e(target) + " does not match a reversal entry");
      if (it != left.end()) left.erase(it);
    }
    for (const auto& [target, idx] : left)
      problems.emplace_back(idx, "reversals: the reversal of " + e(target) + " (" + e(idx) + ") is missing");
  }
  {
    // The mapping decides which categories a post accepts and how the
    // published books are exported: a row edited by hand is named.
    auto& q = db.statement("SELECT direction, name, account, entry_idx FROM account_maps WHERE log_id=?");
    q.bind(1, log_id);
    auto left = expect.account_maps;
    while (q.step()) {
      std::pair<std::string, std::string> key{q.column_text(0), q.column_text(1)};
      uint64_t idx = static_cast<uint64_t>(q.column_int64(3));
      auto it = left.find(key);
      if (it == left.end() || it->second.first != q.column_text(2) || it->second.second != idx)
        problems.emplace_back(idx, "account_maps: the mapping of " + key.first + " " + key.second +
                                       " does not match its last mapping entry");
      if (it != left.end()) left.erase(it);
    }
    for (const auto& [key, value] : left)
      problems.emplace_back(value.second, "account_maps: the mapping of " + key.first + " " + key.second + " (" +
                                              e(value.second) + ") is missing");
  }
}

// A row deleted by hand lets a double post through; one added refuses a
// line nobody posted. Both lists in (key, entry) order, walked together.
void DerivedTables::compare_line_keys(int64_t log_id) {
  auto& want = expect.line_keys;
  std::sort(want.begin(), want.end());
  auto& q = db.statement("SELECT key, idx FROM line_keys WHERE log_id=? ORDER BY key, idx");
  q.bind(1, log_id);
  size_t i = 0;
  auto missing = [this](uint64_t idx) {
    problems.emplace_back(idx, "line_keys: the duplicate-check row of entry " + std::to_string(idx) + " is missing or altered");
  };
  while (q.step()) {
    std::string_view col = q.column_blob_view(0);
    std::pair<std::string, uint64_t> row{std::string(col), static_cast<uint64_t>(q.column_int64(1))};
    while (i < want.size() && want[i] < row) missing(want[i++].second);
    if (i < want.size() && want[i] == row) {
      ++i;
      continue;
    }
    problems.emplace_back(row.second, "line_keys: a duplicate-check row for entry " + std::to_string(row.second) +
                                          " matches no posted line");
  }
  while (i < want.size()) missing(want[i++].second);
}

}  // namespace sunledger::ledger_internal
