// What the ledger answers: villages, entries, projects, month closes, roots
// and proofs, each inside one read snapshot; and backups.
#include "ledger/ledger.h"

#include <sys/stat.h>

#include <algorithm>

#include "ledger/checkpoint.h"
#include "ledger/cosignatures.h"
#include "ledger/merkle.h"

#include "ledger/ledger_internal.h"
#include "ledger/month_cache.h"
#include "ledger/sql_engine.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

Status Ledger::read(const std::function<Status(ReadTxn&)>& fn) {
  class Txn final : public ReadTxn {
   public:
    explicit Txn(ReadConnection& c) : c_(c) {}
    sql::Session& sql() override { return c_.db(); }
    Status leaves(const std::string& log_name, uint64_t from,
                  const std::function<void(uint64_t, std::string_view)>& visit) override {
      try {
        auto& q = c_.db().statement("SELECT idx, leaf FROM entries WHERE log_id=(SELECT id FROM logs WHERE name=?) AND idx>=? ORDER BY idx");
        q.bind(1, log_name);
        q.bind(2, static_cast<int64_t>(from));
        visit_leaf_rows(q, visit);
        return Status::ok();
      } catch (const sql::Error& e) {
        return from_sql(e, "read log " + log_name);
      }
    }

    Result<uint64_t> log_size(const std::string& log_name) override {
      try {
        auto& q = c_.db().statement("SELECT size FROM logs WHERE name=?");
        q.bind(1, log_name);
        uint64_t size = q.step() ? static_cast<uint64_t>(q.column_int64(0)) : 0;
        q.reset();
        return size;
      } catch (const sql::Error& e) {
        return from_sql(e, "read the size of log " + log_name);
      }
    }

   private:
    ReadConnection& c_;
  };
  try {
    auto conn = read();
    Transaction snapshot(conn.db(), Transaction::Kind::kRead);
    Txn txn(conn);
    return fn(txn);
  } catch (const sql::Error& e) {
    return from_sql(e, "read");
  } catch (const json::exception& e) {
    return internal_error(std::string("json: ") + e.what());
  }
}

Status Ledger::backup(const std::string& dest_path) {
  struct stat st{};
  if (::stat(dest_path.c_str(), &st) == 0) return already_exists("backup target " + dest_path + " exists already");
  return engine_->backup_to(dest_path);
}

Result<std::vector<Village>> Ledger::villages() {
  try {
    auto conn = read();
    auto& q = conn.db().statement("SELECT id, name, town FROM villages ORDER BY town, id");
    std::vector<Village> out;
    while (q.step()) out.push_back({q.column_text(0), q.column_text(1), q.column_text(2)});
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "villages");
  }
}

Result<Village> Ledger::village(const std::string& id) {
  try {
    auto conn = read();
    auto& q = conn.db().statement("SELECT id, name, town FROM villages WHERE id=?");
    q.bind(1, id);
    if (!q.step()) return not_found("没有这个村“" + id + "” (no such village)");
    return Village{q.column_text(0), q.column_text(1), q.column_text(2)};
  } catch (const sql::Error& e) {
    return from_sql(e, "village");
  }
}

Result<uint64_t> Ledger::log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    return row->size;
  } catch (const sql::Error& e) {
    return from_sql(e, "log size");
  }
}

Result<uint64_t> Ledger::total_entries() {
  try {
    auto conn = read();
    // Village books only: a count that moved with the complaints log would
    // let anyone scraping /metrics time a filing.
    auto& q = conn.db().statement("SELECT coalesce(sum(l.size), 0) FROM logs l JOIN villages v ON v.log_id = l.id");
    uint64_t n = q.step() ? static_cast<uint64_t>(q.column_int64(0)) : 0;
    q.reset();
    return n;
  } catch (const sql::Error& e) {
    return from_sql(e, "total entries");
  }
}

Result<std::vector<std::string>> Ledger::log_names() {
  try {
    auto conn = read();
    auto& q = conn.db().statement("SELECT name FROM logs WHERE size > 0 ORDER BY name");
    std::vector<std::string> out;
    while (q.step()) out.push_back(q.column_text(0));
    q.reset();
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "log names");
  }
}

Result<std::pair<uint64_t, uint64_t>> Ledger::registry_and_log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto& q = conn.db().statement(
        "SELECT coalesce((SELECT size FROM logs WHERE name=?), 0), coalesce((SELECT size FROM logs WHERE name=?), 0)");
    q.bind(1, std::string_view(kRegistryLog));
    q.bind(2, log_name);
    std::pair<uint64_t, uint64_t> out{0, 0};
    if (q.step())
      out = {static_cast<uint64_t>(q.column_int64(0)), static_cast<uint64_t>(q.column_int64(1))};
    q.reset();
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "registry and log size");
  }
}

Result<std::string> Ledger::checkpoint(const std::string& log_name) {
  try {
    auto conn = read();
    auto& q = conn.db().statement("SELECT checkpoint, id FROM logs WHERE name=?");
    q.bind(1, log_name);
    if (!q.step()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");
    return with_cosignatures(conn.db(), q.column_int64(1), q.column_text(0), *witness_keys_);
  } catch (const sql::Error& e) {
    return from_sql(e, "checkpoint");
  }
}

Result<std::vector<Entry>> Ledger::entries(const std::string& log_name, uint64_t from, uint64_t to) {
  try {
    auto conn = read();
    Transaction snapshot(conn.db(), Transaction::Kind::kRead);
    auto row = find_log(conn.db().statement(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    if (from > to || to > row->size)
      return invalid_argument("entry range [" + std::to_string(from) + ", " + std::to_string(to) +
                              ") is outside the log of size " + std::to_string(row->size));
    auto& q = conn.db().statement("SELECT idx, leaf FROM entries WHERE log_id=? AND idx>=? AND idx<? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, static_cast<int64_t>(from));
    q.bind(3, static_cast<int64_t>(to));
    std::vector<Entry> out;
    while (q.step()) {
      std::string_view col = q.column_blob_view(1);
      out.push_back(entry_from_row(static_cast<uint64_t>(q.column_int64(0)), col));
    }
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "entries");
  }
}

Result<MonthEntries> Ledger::month_entries(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    if (auto kept = month_cache_->find(row->id, month, row->size)) return kept;
    // INDEXED BY: see WriteTxn::close_month; a scan of the whole log otherwise
    // (dropped on PostgreSQL by its connection). idx<size: only what the size
    // read above covers, whatever a later snapshot would add (month_cache.h).
    auto& q = conn.db().statement(
        "SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? AND idx<? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, month);
    q.bind(3, static_cast<int64_t>(row->size));
    auto out = std::make_shared<std::vector<Entry>>();
    while (q.step()) {
      std::string_view col = q.column_blob_view(1);
      out->push_back(entry_from_row(static_cast<uint64_t>(q.column_int64(0)), col));
    }
    MonthEntries entries = std::move(out);
    month_cache_->put(row->id, month, row->size, entries);
    return entries;
  } catch (const sql::Error& e) {
    return from_sql(e, "month entries");
  }
}

Result<std::vector<Project>> Ledger::projects(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    auto& q = conn.db().statement(
        "SELECT p.name, p.approved, p.special, p.entry_idx, f.name IS NOT NULL FROM projects p "
        "LEFT JOIN finished_projects f ON f.log_id=p.log_id AND f.name=p.name WHERE p.log_id=? ORDER BY p.entry_idx");
    q.bind(1, row->id);
    std::vector<Project> out;
    while (q.step())
      out.push_back({q.column_text(0), q.column_int64(1), q.column_int(2) != 0,
                     static_cast<uint64_t>(q.column_int64(3)), q.column_int(4) != 0});
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "projects");
  }
}

namespace {
// Whole literals, one a query: a connection caches its statements by the
// SQL's address (sql.h).
constexpr const char* kMonthCloseQuery =
    "SELECT m.month, m.statement_idx, m.tree_size, m.checkpoint, e.leaf FROM month_closes m "
    "JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx WHERE m.log_id=? AND m.month=?";
constexpr const char* kMonthClosesQuery =
    "SELECT m.month, m.statement_idx, m.tree_size, m.checkpoint, e.leaf FROM month_closes m "
    "JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx WHERE m.log_id=? ORDER BY m.month";

MonthClose month_close_from_row(sql::Statement& q) {
  MonthClose mc;
  mc.month = q.column_text(0);
  mc.statement_index = static_cast<uint64_t>(q.column_int64(1));
  mc.tree_size = static_cast<uint64_t>(q.column_int64(2));
  mc.checkpoint = q.column_text(3);
  mc.statement_leaf = q.column_blob(4);
  mc.statement = json::parse(mc.statement_leaf, nullptr, false);
  return mc;
}
}  // namespace

Result<MonthClose> Ledger::month_close(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    auto& q = conn.db().statement(kMonthCloseQuery);
    q.bind(1, row->id);
    q.bind(2, month);
    if (!q.step()) return failed_precondition(month + " 的账目还没有公开 (month " + month + " is not closed yet)");
    MonthClose mc = month_close_from_row(q);
    mc.checkpoint = with_cosignatures(conn.db(), row->id, std::move(mc.checkpoint), *witness_keys_);
    // Nodes are append-only: the proof within the month's tree never changes.
    NodeTableSource source(conn.db().statement(kNodeQuery), row->id);
    MerkleTree tree(&source, std::max(row->size, mc.tree_size));
    auto proof = tree.inclusion_proof(mc.statement_index, mc.tree_size);
    if (!proof.is_ok()) return proof.status();
    mc.statement_proof = std::move(*proof);
    return mc;
  } catch (const sql::Error& e) {
    return from_sql(e, "month close");
  }
}

Result<std::vector<MonthClose>> Ledger::month_closes(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    auto& q = conn.db().statement(kMonthClosesQuery);
    q.bind(1, row->id);
    std::vector<MonthClose> out;
    while (q.step()) out.push_back(month_close_from_row(q));
    for (auto& mc : out) mc.checkpoint = with_cosignatures(conn.db(), row->id, std::move(mc.checkpoint), *witness_keys_);
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "month closes");
  }
}

Result<std::optional<std::string>> Ledger::last_closed_month(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return last_closed(conn.db(), row->id);
  } catch (const sql::Error& e) {
    return from_sql(e, "last closed month");
  }
}

Result<std::optional<std::string>> Ledger::month_to_close(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return ledger_internal::month_to_close(conn.db(), row->id);
  } catch (const sql::Error& e) {
    return from_sql(e, "month to close");
  }
}

template <typename T>
Result<T> Ledger::with_tree(const std::string& log_name, const char* what,
                            const std::function<Result<T>(MerkleTree&)>& fn) {
  try {
    auto conn = read();
    Transaction snapshot(conn.db(), Transaction::Kind::kRead);  // size and nodes from one snapshot
    auto row = find_log(conn.db().statement(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    NodeTableSource source(conn.db().statement(kNodeQuery), row->id);
    MerkleTree tree(&source, row->size);
    return fn(tree);
  } catch (const sql::Error& e) {
    return from_sql(e, what);
  }
}

Result<Hash> Ledger::root(const std::string& log_name, uint64_t size) {
  return with_tree<Hash>(log_name, "root", [&](MerkleTree& t) { return t.root(size); });
}

Result<std::vector<Hash>> Ledger::inclusion_proof(const std::string& log_name, uint64_t index, uint64_t size) {
  return with_tree<std::vector<Hash>>(log_name, "inclusion proof",
                                      [&](MerkleTree& t) { return t.inclusion_proof(index, size); });
}

Result<std::vector<Hash>> Ledger::consistency_proof(const std::string& log_name, uint64_t from, uint64_t to) {
  return with_tree<std::vector<Hash>>(log_name, "consistency proof",
                                      [&](MerkleTree& t) { return t.consistency_proof(from, to); });
}

}  // namespace sunledger
