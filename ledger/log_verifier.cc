// Verifying one log: the leaves recomputed into a tree, the stored hashes and
// checkpoints compared with it, every statement added up again, and the
// derived tables rebuilt (derived_tables.cc) and compared.
#include "ledger/log_verifier.h"

#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/cosignatures.h"
#include "ledger/derived_tables.h"
#include "ledger/evidence_pins.h"
#include "ledger/leaf_fields.h"
#include "ledger/merkle.h"

#include "ledger/ledger_internal.h"

namespace sunledger::ledger_internal {

using nlohmann::json;

namespace {

// Recomputed levels of one log's tree, built from the stored leaves alone.
struct RecomputedTree {
  std::vector<std::vector<Hash>> levels;  // levels[0] = leaf hashes

  void build() {
    while (levels.back().size() > 1) {
      const auto& below = levels.back();
      std::vector<Hash> up;
      up.reserve(below.size() / 2);
      for (size_t i = 0; i + 1 < below.size(); i += 2) up.push_back(merkle_node_hash(below[i], below[i + 1]));
      if (up.empty()) break;
      levels.push_back(std::move(up));
    }
  }
  Hash root(uint64_t size) const {
    if (size == 0) return merkle_empty_root();
    // Perfect subtrees of the decomposition, left to right, combined right to left.
    std::vector<Hash> parts;
    uint64_t begin = 0;
    for (int level = 63; level >= 0; --level) {
      uint64_t width = uint64_t{1} << level;
      if (size - begin >= width) {
        parts.push_back(levels[static_cast<size_t>(level)][begin >> level]);
        begin += width;
      }
    }
    Hash h = parts.back();
    for (size_t i = parts.size() - 1; i-- > 0;) h = merkle_node_hash(parts[i], h);
    return h;
  }
};

struct LogVerifier {
  LogVerifier(Connection& connection, const std::string& log_origin, const std::string& verifier_key, int utc_offset,
              VerifyReport& out)
      : db(connection), origin(log_origin), vkey(verifier_key), zone(utc_offset), report(out) {}

  Connection& db;
  const std::string& origin;
  const std::string& vkey;
  int zone;  // the UTC offset this process reckons dates in (read from meta at open)
  VerifyReport& report;
  uint64_t first_bad = UINT64_MAX;
  std::string reason;

  std::set<uint64_t> located;  // leaf indexes already found bad

  // A village entry pinning evidence in another log (evidence_pins.h): the
  // pinned leaf must be there, byte for byte.
  struct Pin {
    uint64_t at = 0;  // the pinning entry
    std::string log;
    int64_t index = -1;
    std::string leaf_sha256;
  };
  std::vector<Pin> pins;

  void bad(uint64_t index, const std::string& why) {
    located.insert(index);
    if (index < first_bad) {
      first_bad = index;
      reason = why;
    }
  }

  // Checkpoint results are kept apart from located problems: a checkpoint
  // that does not match says only that something at or after the last
  // matching checkpoint changed, so it locates the damage only when nothing
  // more precise (a leaf whose stored hash differs, a gap) was found.
  struct CheckpointResult {
    uint64_t size = 0;
    bool ok = false;
    std::string why;
  };
  std::vector<CheckpointResult> checkpoints;

  void check_checkpoint(const std::string& note, const std::string& log_name, const RecomputedTree& tree,
                        uint64_t entries, const std::string& label, uint64_t* signed_size) {
    auto cp = open_checkpoint(note, vkey);
    if (!cp.is_ok()) {
      checkpoints.push_back({0, false, label + ": " + cp.status().message()});
      return;
    }
    if (signed_size) *signed_size = cp->size;
    if (cp->origin != origin + "/" + log_name) {
      checkpoints.push_back({0, false, label + ": origin " + cp->origin + " is not this log's"});
      return;
    }
    if (cp->size > entries) {
      bad(entries, label + " covers " + std::to_string(cp->size) + " entries but only " + std::to_string(entries) +
                       " are stored (entries were deleted or the log truncated)");
      return;
    }
    bool ok = tree.root(cp->size) == cp->root;
    checkpoints.push_back({cp->size, ok, ok ? "" : label + " (size " + std::to_string(cp->size) + ") does not match the stored entries"});
  }

  void locate_checkpoint_failures() {
    for (const auto& failed : checkpoints) {
      if (failed.ok) continue;
      uint64_t good_below = 0;
      for (const auto& c : checkpoints)
        if (c.ok && c.size < failed.size) good_below = std::max(good_below, c.size);
      bad(good_below, failed.why);
    }
  }

  struct Totals {
    Fen income = 0, expense = 0;
    uint64_t first_index = UINT64_MAX;
  };
  std::map<std::string, Totals, std::less<>> totals;
  // The derived tables rebuilt from this log's entries; what they find only
  // says that something changed (see the end of run()).
  DerivedTables tables{db, zone};
  std::vector<std::pair<uint64_t, std::string>>& derived = tables.problems;

  // Each statement added up again from its month's entries before it: a
  // statement signed while an entry was hidden from it (its month column
  // moved, its leaf edited and later put back) does not match.
  std::map<std::string, StatementBuilder, std::less<>> open_months;
  json previous_statement;
  void check_statement(const json& f, const std::string& village, const std::string& month, uint64_t idx) {
    auto it = open_months.find(month);
    const StatementBuilder& added = it != open_months.end() ? it->second : StatementBuilder{};
    auto expected = added.statement(village, month, previous_statement);
    std::string differs = expected.is_ok() ? "" : "totals overflow";
    if (expected.is_ok())
      for (const auto& [key, value] : expected->items()) {
        auto signed_value = f.find(key);  // a field older statements lack is not compared
        if (signed_value != f.end() && !(*signed_value == value)) {
          differs = key;
          break;
        }
      }
    if (!differs.empty())
      derived.emplace_back(idx, "the statement of " + month + " (entry " + std::to_string(idx) +
                                    ") does not add up to the month's entries: " + differs + " differs");
    previous_statement = f;
    if (it != open_months.end()) open_months.erase(it);
  }

  void run(const CheckedLog& row, WitnessKeys* witnesses) {
    // The villages table maps a village to its log: pointed at another
    // village's log, every answer about one would be the other's books.
    if (row.is_village && row.village_id != row.name)
      derived.emplace_back(0, "villages: village " + row.village_id + " points at the log of " + row.name);
    RecomputedTree tree;
    tree.levels.emplace_back();
    tree.levels[0].reserve(row.stored_size);
    read_leaves(row, tree.levels[0]);
    uint64_t count = tree.levels[0].size();
    if (count != row.stored_size)
      bad(std::min(count, row.stored_size),
          "the log records size " + std::to_string(row.stored_size) + " but holds " + std::to_string(count) + " entries");
    if (count > 0) tree.build();
    compare_month_totals(row.id);
    tables.compare(row.id);
    tables.compare_line_keys(row.id);
    if (row.name == kVillagesLog) tables.compare_villages(count);
    check_stored_hashes(row.id, tree, count);
    check_checkpoints(row, tree, count);
    // Derived tables and checkpoints only say that something changed; they
    // locate the damage when no leaf or stored hash does.
    if (first_bad == UINT64_MAX)
      for (const auto& [index, why] : derived) bad(index, why);
    if (first_bad == UINT64_MAX) locate_checkpoint_failures();
    if (first_bad != UINT64_MAX) report.problems.push_back({row.name, first_bad, reason});
    check_pins(row);
    if (witnesses)
      for (auto& p : check_cosignature_rows(db, row.id, origin + "/" + row.name, count,
                                            [&tree](uint64_t size) { return tree.root(size); }, *witnesses))
        report.problems.push_back({row.name, p.size, std::move(p.reason)});
    ++report.logs_checked;
  }

  // 1. Leaves: contiguous indexes, and the queryable columns agree with the
  //    signed bytes (a doctored month column would hide an entry).
  void read_leaves(const CheckedLog& row, std::vector<Hash>& leaves) {
    auto& q = db.statement("SELECT idx, kind, month, leaf, typeof(idx)='integer' FROM entries WHERE log_id=? ORDER BY idx");
    q.bind(1, row.id);
    uint64_t expected = 0;
    LeafFields f;
    while (q.step()) {
      uint64_t idx = static_cast<uint64_t>(q.column_int64(0));
      // The column is not STRICT: 10.5 is stored as a real and read as 10, so
      // a row slipped in between two entries would pass for one of them.
      // Such a row, or an index seen already, is named and left out.
      if (q.column_int(4) == 0 || idx < expected) {
        uint64_t at = std::min(idx, expected);
        bad(at, "a row of the log claims index " + q.column_text(0) + " (entry " + std::to_string(at) +
                    " onwards): not a whole number, or an index already taken");
        continue;
      }
      if (idx != expected) {
        bad(expected, "entry " + std::to_string(expected) + " is missing");
        expected = idx;
        leaves.resize(idx, Hash{});
      }
      std::string_view leaf = q.column_blob_view(3);
      leaves.push_back(merkle_leaf_hash(leaf));
      bool parsed = f.parse(leaf);
      auto text = [&](int i) { return q.column_text_view(i); };  // NULL reads as ""
      std::string_view month = text(2), kind = f.string(LeafFields::kKind);
      if (!parsed || kind != text(1) || f.string(LeafFields::kMonth) != month ||
          (row.is_village && f.string(LeafFields::kVillage) != row.name))
        bad(idx, "entry " + std::to_string(idx) + " does not match its indexed columns");
      if (parsed) {
        tables.collect(f, kind, idx);
        recount(f, kind, month, leaf, idx, row);
      }
      ++expected;
      ++report.entries_checked;
    }
  }

  // What one parsed entry adds to its month's recount and running totals.
  void recount(const LeafFields& f, std::string_view kind, std::string_view month, std::string_view leaf, uint64_t idx,
               const CheckedLog& row) {
    using F = LeafFields;
    if (row.is_village) {
      // A statement is one entry a month: its whole document is compared.
      // Every other entry of a month feeds that month's recount from the
      // fields LeafFields read, without a JSON document.
      if (kind == "statement") check_statement(json::parse(leaf, nullptr, false), row.name, std::string(month), idx);
      else if (kind == kForkReportedKind) collect_pin(json::parse(leaf, nullptr, false), idx);
      else if (!month.empty()) {
        // A closed month takes no entry (the ledger decides from
        // month_closes): one signed while its close row was deleted by hand
        // is in no statement at all, and was not seen once the row was put back.
        if (!tables.expect.last_statement_month.empty() && month <= tables.expect.last_statement_month)
          derived.emplace_back(idx, "entry " + std::to_string(idx) + " of " + std::string(month) + " was recorded after " +
                                        tables.expect.last_statement_month + " was closed");
        auto m = open_months.find(month);
        if (m == open_months.end()) m = open_months.emplace(std::string(month), StatementBuilder{}).first;
        m->second.add(static_cast<int64_t>(idx), kind, f.fen(F::kAmount), f.string(F::kTargetKind), f.string(F::kDirection),
                      f.string(F::kFund), f.string(F::kCategory), f.string(F::kProject), f.string(F::kToFund));
      }
    }
    if (kind == "txn" || (kind == "reversal" && f.string(F::kTargetKind) == "txn")) {
      auto it = totals.find(month);
      if (it == totals.end()) it = totals.emplace(std::string(month), Totals{}).first;
      auto& t = it->second;
      if (t.first_index == UINT64_MAX) t.first_index = idx;
      Fen amount = kind == "txn" ? f.fen(F::kAmount) : -f.fen(F::kAmount);
      (f.string(F::kDirection) == "income" ? t.income : t.expense) += amount;
    }
  }

  void collect_pin(const json& f, uint64_t idx) {
    Pin p{idx, entry_string(f, "log"), -1, entry_string(f, "leaf_sha256")};
    auto i = f.find("index");
    if (i != f.end() && i->is_number_unsigned()) p.index = static_cast<int64_t>(i->get<uint64_t>());
    pins.push_back(std::move(p));
  }

  // Every pin of this village's log against the pinned log in this same
  // snapshot. A problem is named under the pinned log and index (that is
  // what was removed or changed), one per pin: the village's own entries
  // are intact, and its signed pin is the evidence that the other log lost
  // something. Reported even where the pinned log's own check finds the
  // same damage: a log deleted whole leaves nothing else to say so.
  void check_pins(const CheckedLog& row) {
    if (pins.empty()) return;
    auto& q = db.statement("SELECT e.leaf FROM entries e JOIN logs l ON l.id=e.log_id WHERE l.name=? AND e.idx=?");
    for (const auto& p : pins) {
      std::string what = "village " + row.name + "'s entry #" + std::to_string(p.at) + " (" + kForkReportedKind +
                         ", signed in its log and cosigned with it) pins entry #" + std::to_string(p.index) + " of log " +
                         p.log + " with SHA-256 " + p.leaf_sha256;
      if (p.log.empty() || p.index < 0 || p.leaf_sha256.size() != 64) {
        report.problems.push_back({row.name, p.at, "entry " + std::to_string(p.at) + " is a " + kForkReportedKind +
                                                       " pin without a log, index or SHA-256"});
        continue;
      }
      q.reset();
      q.bind(1, p.log);
      q.bind(2, p.index);
      std::string why;
      if (!q.step()) {
        why = "entry #" + std::to_string(p.index) + " of log " + p.log + " is missing (deleted by hand?), but " + what;
      } else {
        std::string_view leaf = q.column_blob_view(0);
        if (hex_encode(sha256(leaf)) != p.leaf_sha256)
          why = "entry #" + std::to_string(p.index) + " of log " + p.log + " is not the evidence that was reported (edited or "
                "truncated by hand?): " + what;
      }
      if (!why.empty()) report.problems.push_back({p.log, static_cast<uint64_t>(p.index), why});
    }
  }

  // The running month totals (a derived table) agree with the entries.
  void compare_month_totals(int64_t log_id) {
    auto& tq = db.statement("SELECT month, income, expense FROM month_totals WHERE log_id=?");
    tq.bind(1, log_id);
    std::map<std::string, std::pair<Fen, Fen>> stored;
    while (tq.step()) stored[tq.column_text(0)] = {tq.column_int64(1), tq.column_int64(2)};
    for (const auto& [month, t] : totals) {
      auto it = stored.find(month);
      if (it == stored.end() || it->second.first != t.income || it->second.second != t.expense)
        derived.emplace_back(t.first_index, "the running totals of " + month + " do not match its entries");
      if (it != stored.end()) stored.erase(it);
    }
    for (const auto& [month, t] : stored)
      if (t.first != 0 || t.second != 0) derived.emplace_back(0, "running totals recorded for " + month + ", which has no entries");
  }

  // 2. Stored subtree hashes (what proofs are served from) match the recomputation.
  void check_stored_hashes(int64_t log_id, const RecomputedTree& tree, uint64_t count) {
    auto& nq = db.statement("SELECT level, idx, hash FROM nodes WHERE log_id=? ORDER BY level, idx");
    nq.bind(1, log_id);
    // Every complete subtree's hash must be there too: proofs are served from
    // them, and one deleted left verify saying intact while proofs failed.
    std::vector<uint64_t> next_at_level(64, 0);
    auto missing = [&](size_t level, uint64_t idx) {
      uint64_t first_leaf = idx << level;
      bad(first_leaf, "stored hash at level " + std::to_string(level) + " index " + std::to_string(idx) +
                          " is missing (proofs over entry " + std::to_string(first_leaf) + " onwards cannot be served)");
    };
    while (nq.step()) {
      size_t level = static_cast<size_t>(nq.column_int(0));
      uint64_t idx = static_cast<uint64_t>(nq.column_int64(1));
      if (level < next_at_level.size() && idx < (count >> level)) {
        if (idx > next_at_level[level]) missing(level, next_at_level[level]);
        next_at_level[level] = std::max(next_at_level[level], idx + 1);
      }
      std::string_view col = nq.column_blob_view(2);
      uint64_t first_leaf = level < 63 ? idx << level : UINT64_MAX;
      uint64_t end_leaf = level < 63 ? (idx + 1) << level : UINT64_MAX;
      if (level >= tree.levels.size() || idx >= tree.levels[level].size() || col.size() != 32 ||
          std::memcmp(col.data(), tree.levels[level][idx].data(), 32) != 0) {
        // A parent differs whenever a leaf below it does; report it only when
        // no leaf below explains it (the parent hash itself was edited).
        auto below = located.lower_bound(first_leaf);
        if (below != located.end() && *below < end_leaf) continue;
        located.insert(first_leaf);
        bad(first_leaf, "stored hash at level " + std::to_string(level) + " index " + std::to_string(idx) +
                            " does not match entry " + std::to_string(first_leaf) + " onwards");
      }
    }
    for (size_t level = 0; level < next_at_level.size(); ++level)
      if (next_at_level[level] < (count >> level)) missing(level, next_at_level[level]);
  }

  // 3. Every kept checkpoint is signed by our key and matches the tree.
  void check_checkpoints(const CheckedLog& row, const RecomputedTree& tree, uint64_t count) {
    uint64_t latest_size = 0;
    if (row.latest_note.empty()) bad(0, "the log has no checkpoint");
    else check_checkpoint(row.latest_note, row.name, tree, count, "the latest checkpoint", &latest_size);
    if (latest_size < count && first_bad == UINT64_MAX)
      bad(latest_size, "entries from " + std::to_string(latest_size) + " on are not covered by the latest checkpoint");
    auto& mq = db.statement("SELECT month, statement_idx, tree_size, checkpoint FROM month_closes WHERE log_id=? ORDER BY month");
    mq.bind(1, row.id);
    uint64_t previous = 0;
    while (mq.step()) {
      std::string month = mq.column_text(0);
      uint64_t size = 0;
      check_checkpoint(mq.column_text(3), row.name, tree, count, "the checkpoint of " + month, &size);
      if (size < previous) bad(size, "the checkpoint of " + month + " is smaller than an earlier month's");
      if (size != static_cast<uint64_t>(mq.column_int64(2)) ||
          static_cast<uint64_t>(mq.column_int64(1)) >= size)
        bad(size, "the close record of " + month + " does not match its checkpoint");
      previous = size;
    }
  }
};

}  // namespace

void verify_log(Connection& db, const std::string& origin, const std::string& verifier_key, int utc_offset,
                const CheckedLog& row, VerifyReport& report, WitnessKeys* witnesses) {
  LogVerifier v{db, origin, verifier_key, utc_offset, report};
  v.run(row, witnesses);
}

}  // namespace sunledger::ledger_internal
