// What the ledger library's source files share, and nothing outside it may
// include: the storage helpers, pooled read connections (each with its
// prepared statements, sql_connection.h), the write transaction's per-log
// state, and the month rules. Names no storage engine (sql_engine.h).
// Each .cc of ledger/ holds one job (see the README's layout table).
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ledger/ledger.h"

namespace sunledger {
struct AccountMap;
}
#include "ledger/merkle.h"
#include "ledger/month_statement.h"
#include "ledger/sql_connection.h"

namespace sunledger {

// A pooled read-only connection with its own prepared statements, taken
// from the pool and returned to it when it goes out of scope.
class Ledger::ReadConnection {
 public:
  ReadConnection(Ledger* ledger, std::unique_ptr<ledger_internal::Connection> r) : ledger_(ledger), r_(std::move(r)) {}
  ReadConnection(ReadConnection&&) = default;
  ~ReadConnection() {
    if (!r_) return;
    r_->reset_all();
    std::lock_guard<std::mutex> lock(ledger_->pool_mu_);
    ledger_->readers_.push_back(std::move(r_));
  }
  ledger_internal::Connection& db() { return *r_; }

 private:
  Ledger* ledger_;
  std::unique_ptr<ledger_internal::Connection> r_;
};

struct WriteTxn::LogState {
  int64_t id = 0;
  std::string name;
  CompactRange range;
  // The size when this transaction first read the log: what was committed
  // before it began (its writers' appends come after).
  uint64_t committed_size = 0;
  bool touched = false;
  // What posting reads of the log once per transaction rather than once per
  // writer (a batch posts to one village many times; on PostgreSQL each read
  // is a round trip): its last closed month and its account mapping. Only an
  // entry of another kind than a money line changes them (a month's
  // statement, an account mapping), and append() of such an entry forgets
  // them, as does restore() (a failed writer's reads may have seen its own
  // writes).
  // The subtree hashes this transaction's appends made, written by finish()
  // a few statements of many rows each, not one statement per hash: nothing
  // reads the nodes table through the write transaction (proofs and tiles
  // read committed trees on read connections). Each with the leaf whose
  // append made it, so that restore() keeps those below the restored size.
  struct NewNode {
    uint64_t made_by;
    CompactRange::NewNode node;
  };
  std::vector<NewNode> new_nodes;
  // What this transaction's entries add to their months' totals, written by
  // finish() as one upsert per month rather than one per entry (a batch
  // posts to the same month again and again); month_totals() adds them to
  // what the table holds. Each with the entry that made it, as new_nodes.
  struct TotalsChange {
    uint64_t made_by;
    std::string month;
    Fen income;
    Fen expense;
  };
  std::vector<TotalsChange> totals_changes;
  // A month's totals as the table held them when this transaction first
  // read them (month_totals(), once per month rather than once per writer:
  // the bot reads them for every post's answer). The table's row changes
  // only in finish(), and another node's commit only after this one ends:
  // the log's lock is held from log_for on. So the read stays right for the
  // whole transaction, across a failed writer's restore() too.
  std::map<std::string, MonthTotals> totals_read;
  // The duplicate check's keys of this transaction's money lines, written by
  // finish() in multi-row statements; duplicate_check() reads them before
  // the table's. Each with its line's entry.
  struct NewLineKey {
    uint64_t made_by;
    std::string key;
  };
  std::vector<NewLineKey> new_line_keys;
  std::optional<std::optional<std::string>> last_closed;
  std::shared_ptr<const AccountMap> accounts;
  void forget_reads() {
    last_closed.reset();
    accounts.reset();
  }
};

namespace ledger_internal {

// The longest text field of an entry, in bytes.
inline constexpr size_t kMaxTextField = 500;

// A storage failure as a Status: storage trouble is kUnavailable (retry later), corruption kDataLoss.
Status from_sql(const sql::Error& e, const std::string& what);

// A text field of an entry: required or not, at most max bytes, valid UTF-8 without control
// characters, and no identity number.
Status check_text(const std::string& value, const char* zh, const char* en, bool required, size_t max = kMaxTextField);

// The names of a line in NFC, or the first one that could impersonate another.
Status normalize_names(TransactionLine& line);
// A correction line (TransactionLine::kind set) against the village's
// mapping: money_before says whether a money entry precedes it (an opening
// balance then needs a January 1st date); project_special whether its
// project is special (nullopt: no such project, refused elsewhere).
Status check_correction(const TransactionLine& line, const AccountMap& map, bool money_before,
                        const std::optional<bool>& project_special);
// What a line changes of its project's unspent special money (what a return
// may pay back): an income line adds, an expense line and a return take away,
// an opening balance under the project adds; other kinds change nothing.
Fen special_money_change(std::string_view kind, bool income, Fen amount);
// A project's unspent money as its stored entries have it (reversals netted),
// counted as the bot's 结余 alert counts it, with opening balances under the
// project as money received. q is kUnspentSpecialQuery, its log bound here.
inline constexpr const char* kUnspentSpecialQuery =
    "SELECT leaf FROM entries WHERE log_id=? AND kind IN ('txn','reversal','special_return','opening_balance')";
Fen unspent_special(sql::Statement& q, int64_t log_id, const std::string& project);
// A village's corrections, newest first, for posting's check of doubles.
inline constexpr const char* kPostedCorrectionsQuery =
    "SELECT idx, leaf FROM entries WHERE log_id=? AND kind IN ('opening_balance','transfer','special_return') "
    "ORDER BY idx DESC";
// Why 冲销 refuses a correction (entry #target of that kind), and how to undo
// it: a reversal is counted by verify, the independent checker and the month
// page's script as the opposite of an income or expense line, and a
// correction is neither; its own opposite (a transfer back) they already add up.
std::string correction_not_reversible(uint64_t target, const std::string& kind, const nlohmann::json& original);
// The leaf fields of a correction line.
nlohmann::json correction_fields(const std::string& village, const TransactionLine& line);

// The signed registry of villages: one entry per village with its name and
// town, so that verify can check the villages table (a town decides which
// inspectors see a village; a name, which village "账目 双江村" answers for).
// Each entry also records the deployment's time zone, which decides every
// date the ledger and the bot show (an entry's month, a deadline, the day a
// digest is due): verify compares it with the one stored in `meta`.
constexpr const char* kVillagesLog = Ledger::kRegistryLog;

inline nlohmann::json village_registration(const Village& v, int utc_offset_minutes) {
  return nlohmann::json{{"kind", "village"},
                        {"village", v.id},
                        {"name", v.name},
                        {"town", v.town},
                        {"utc_offset_minutes", utc_offset_minutes}};
}
inline const Author kRegistrar{"sunledger", "system", "registry"};

// Subtree hashes straight from the nodes table, one prepared statement reused
// for the O(log n) look-ups of a proof.
class NodeTableSource final : public SubtreeHashSource {
 public:
  NodeTableSource(sql::Statement& q, int64_t log_id) : q_(q), log_id_(log_id) {}
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    q_.reset();
    q_.bind(1, log_id_);
    q_.bind(2, level);
    q_.bind(3, static_cast<int64_t>(index));
    if (!q_.step()) return data_loss("missing subtree hash at level " + std::to_string(level) + " index " + std::to_string(index));
    std::string_view col = q_.column_blob_view(0);
    if (col.size() != 32) return data_loss("malformed subtree hash");
    Hash h{};
    std::memcpy(h.data(), col.data(), 32);
    return h;
  }

 private:
  sql::Statement& q_;
  int64_t log_id_;
};

inline constexpr const char* kNodeQuery = "SELECT hash FROM nodes WHERE log_id=? AND level=? AND idx=?";

struct LogRow {
  int64_t id = 0;
  uint64_t size = 0;
};

// q prepared from kFindLog.
Result<LogRow> find_log(sql::Statement& q, const std::string& name);
inline constexpr const char* kFindLog = "SELECT id, size FROM logs WHERE name=?";

Entry entry_from_row(uint64_t idx, std::string_view leaf);
// Steps a prepared "SELECT idx, leaf …" to its end, calling visit with each
// row's index and leaf bytes, then resets it. Throws sql::Error.
void visit_leaf_rows(sql::Statement& q, const std::function<void(uint64_t, std::string_view)>& visit);

// The last closed month of a log (q prepared from kLastClosed), if any.
std::optional<std::string> last_closed(sql::Statement& q, int64_t log_id);
std::optional<std::string> last_closed(Connection& db, int64_t log_id);
inline constexpr const char* kLastClosed = "SELECT max(month) FROM month_closes WHERE log_id=?";

// The only month a log may close next: the month right after its last closed
// one, or, before any was closed, its first month with entries; nullopt when
// nothing was closed and nothing was written (any month may open the books).
std::optional<std::string> month_to_close(Connection& db, int64_t log_id);

// Adds to a month's running totals inside the write. The old values are
// named with their table: PostgreSQL reads a bare `income` as ambiguous
// between the row and excluded.
void add_month_totals(sql::Statement& q, int64_t log_id, const std::string& month, Fen income, Fen expense);
inline constexpr const char* kAddMonthTotals =
    "INSERT INTO month_totals(log_id, month, income, expense) VALUES(?,?,?,?) "
    "ON CONFLICT(log_id, month) DO UPDATE SET income=month_totals.income+excluded.income,"
    " expense=month_totals.expense+excluded.expense";

// Whether a line may be booked into month: well-formed, not in the future, not closed.
Status check_month_open(const std::optional<std::string>& closed, const std::string& month, const std::string& current);

}  // namespace ledger_internal
}  // namespace sunledger
