// What the ledger answers: villages, entries, projects, month closes, roots
// and proofs, each inside one read snapshot; and backups.
#include "ledger/ledger.h"

#include <sys/stat.h>

#include <algorithm>

#include <SQLiteCpp/Backup.h>
#include <sqlite3.h>

#include "ledger/checkpoint.h"
#include "ledger/cosignatures.h"
#include "ledger/merkle.h"

#include "ledger/ledger_internal.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

Status Ledger::read(const std::function<Status(ReadTxn&)>& fn) {
  class Txn final : public ReadTxn {
   public:
    explicit Txn(ReadConnection& c) : c_(c) {}
    sql::Session& sql() override { return c_.session(); }
    Status leaves(const std::string& log_name, uint64_t from,
                  const std::function<void(uint64_t, std::string_view)>& visit) override {
      try {
        auto& q = c_.stmt("SELECT idx, leaf FROM entries WHERE log_id=(SELECT id FROM logs WHERE name=?) AND idx>=? ORDER BY idx");
        q.bind(1, log_name);
        q.bind(2, static_cast<int64_t>(from));
        visit_leaf_rows(q, visit);
        return Status::ok();
      } catch (const SQLite::Exception& e) {
        return from_sqlite(e, "read log " + log_name);
      }
    }

   private:
    ReadConnection& c_;
  };
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());
    Txn txn(conn);
    return fn(txn);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "read");
  } catch (const sql::Error& e) {
    return from_sql(e, "read");
  } catch (const json::exception& e) {
    return internal_error(std::string("json: ") + e.what());
  }
}

Status Ledger::backup(const std::string& dest_path) {
  struct stat st{};
  if (::stat(dest_path.c_str(), &st) == 0) return already_exists("backup target " + dest_path + " exists already");
  if (auto s = ensure_private_file(dest_path); !s.is_ok()) return s;
  try {
    SQLite::Database src(options_.db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Database dest(dest_path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
    SQLite::Backup copy(dest, src);
    // Page by page, so writers are blocked for one step at a time; SQLite
    // restarts the copy if a writer changes a page already copied.
    for (;;) {
      int rc = copy.executeStep(256);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return unavailable("backup step failed");
      if (rc != SQLITE_OK) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    dest.exec("PRAGMA journal_mode=WAL");
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "backup to " + dest_path);
  }
  return Status::ok();
}

Result<std::vector<Village>> Ledger::villages() {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT id, name, town FROM villages ORDER BY town, id");
    std::vector<Village> out;
    while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "villages");
  }
}

Result<Village> Ledger::village(const std::string& id) {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT id, name, town FROM villages WHERE id=?");
    q.bind(1, id);
    if (!q.executeStep()) return not_found("没有这个村“" + id + "” (no such village)");
    return Village{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()};
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "village");
  }
}

Result<uint64_t> Ledger::log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    return row->size;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "log size");
  }
}

Result<uint64_t> Ledger::total_entries() {
  try {
    auto conn = read();
    // Village books only: a count that moved with the complaints log would
    // let anyone scraping /metrics time a filing.
    auto& q = conn.stmt("SELECT coalesce(sum(l.size), 0) FROM logs l JOIN villages v ON v.log_id = l.id");
    uint64_t n = q.executeStep() ? static_cast<uint64_t>(q.getColumn(0).getInt64()) : 0;
    q.reset();
    return n;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "total entries");
  }
}

Result<std::pair<uint64_t, uint64_t>> Ledger::village_count_and_log_size(const std::string& log_name) {
  try {
    auto conn = read();
    auto& q = conn.stmt("SELECT (SELECT count(*) FROM villages), coalesce((SELECT size FROM logs WHERE name=?), 0)");
    q.bind(1, log_name);
    std::pair<uint64_t, uint64_t> out{0, 0};
    if (q.executeStep())
      out = {static_cast<uint64_t>(q.getColumn(0).getInt64()), static_cast<uint64_t>(q.getColumn(1).getInt64())};
    q.reset();
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "village count");
  }
}

Result<std::string> Ledger::checkpoint(const std::string& log_name) {
  try {
    auto conn = read();
    SQLite::Statement q(conn.db(), "SELECT checkpoint, id FROM logs WHERE name=?");
    q.bind(1, log_name);
    if (!q.executeStep()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");
    return with_cosignatures(conn.db(), q.getColumn(1).getInt64(), q.getColumn(0).getString(), *witness_keys_);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "checkpoint");
  }
}

Result<std::vector<Entry>> Ledger::entries(const std::string& log_name, uint64_t from, uint64_t to) {
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    if (from > to || to > row->size)
      return invalid_argument("entry range [" + std::to_string(from) + ", " + std::to_string(to) +
                              ") is outside the log of size " + std::to_string(row->size));
    SQLite::Statement q(conn.db(), "SELECT idx, leaf FROM entries WHERE log_id=? AND idx>=? AND idx<? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, static_cast<int64_t>(from));
    q.bind(3, static_cast<int64_t>(to));
    std::vector<Entry> out;
    while (q.executeStep()) {
      auto col = q.getColumn(1);
      out.push_back(entry_from_row(static_cast<uint64_t>(q.getColumn(0).getInt64()), col.getBlob(), col.getBytes()));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "entries");
  }
}

Result<std::vector<Entry>> Ledger::month_entries(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    // INDEXED BY: see WriteTxn::close_month; a scan of the whole log otherwise.
    auto& q = conn.stmt("SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, month);
    std::vector<Entry> out;
    while (q.executeStep()) {
      auto col = q.getColumn(1);
      out.push_back(entry_from_row(static_cast<uint64_t>(q.getColumn(0).getInt64()), col.getBlob(), col.getBytes()));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month entries");
  }
}

Result<std::vector<Project>> Ledger::projects(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(),
                        "SELECT p.name, p.approved, p.special, p.entry_idx, f.name IS NOT NULL FROM projects p "
                        "LEFT JOIN finished_projects f ON f.log_id=p.log_id AND f.name=p.name WHERE p.log_id=? ORDER BY p.entry_idx");
    q.bind(1, row->id);
    std::vector<Project> out;
    while (q.executeStep())
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt() != 0,
                     static_cast<uint64_t>(q.getColumn(3).getInt64()), q.getColumn(4).getInt() != 0});
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "projects");
  }
}

namespace {
const char* kMonthCloseQuery =
    "SELECT m.month, m.statement_idx, m.tree_size, m.checkpoint, e.leaf FROM month_closes m "
    "JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx WHERE m.log_id=?";

MonthClose month_close_from_row(SQLite::Statement& q) {
  MonthClose mc;
  mc.month = q.getColumn(0).getString();
  mc.statement_index = static_cast<uint64_t>(q.getColumn(1).getInt64());
  mc.tree_size = static_cast<uint64_t>(q.getColumn(2).getInt64());
  mc.checkpoint = q.getColumn(3).getString();
  auto col = q.getColumn(4);
  mc.statement_leaf.assign(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()));
  mc.statement = json::parse(mc.statement_leaf, nullptr, false);
  return mc;
}
}  // namespace

Result<MonthClose> Ledger::month_close(const std::string& village, const std::string& month) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(), std::string(kMonthCloseQuery) + " AND m.month=?");
    q.bind(1, row->id);
    q.bind(2, month);
    if (!q.executeStep()) return failed_precondition(month + " 的账目还没有公开 (month " + month + " is not closed yet)");
    MonthClose mc = month_close_from_row(q);
    mc.checkpoint = with_cosignatures(conn.db(), row->id, std::move(mc.checkpoint), *witness_keys_);
    // Nodes are append-only: the proof within the month's tree never changes.
    SqliteSubtreeSource source(conn.stmt(kNodeQuery), row->id);
    MerkleTree tree(&source, std::max(row->size, mc.tree_size));
    auto proof = tree.inclusion_proof(mc.statement_index, mc.tree_size);
    if (!proof.is_ok()) return proof.status();
    mc.statement_proof = std::move(*proof);
    return mc;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month close");
  }
}

Result<std::vector<MonthClose>> Ledger::month_closes(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    SQLite::Statement q(conn.db(), std::string(kMonthCloseQuery) + " ORDER BY m.month");
    q.bind(1, row->id);
    std::vector<MonthClose> out;
    while (q.executeStep()) out.push_back(month_close_from_row(q));
    for (auto& mc : out) mc.checkpoint = with_cosignatures(conn.db(), row->id, std::move(mc.checkpoint), *witness_keys_);
    return out;
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month closes");
  }
}

Result<std::optional<std::string>> Ledger::last_closed_month(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return last_closed(conn.db(), row->id);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "last closed month");
  }
}

Result<std::optional<std::string>> Ledger::month_to_close(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return ledger_internal::month_to_close(conn.db(), row->id);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "month to close");
  }
}

template <typename T>
Result<T> Ledger::with_tree(const std::string& log_name, const char* what,
                            const std::function<Result<T>(MerkleTree&)>& fn) {
  try {
    auto conn = read();
    SQLite::Transaction snapshot(conn.db());  // size and nodes from one snapshot
    auto row = find_log(conn.stmt(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    SqliteSubtreeSource source(conn.stmt(kNodeQuery), row->id);
    MerkleTree tree(&source, row->size);
    return fn(tree);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, what);
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
