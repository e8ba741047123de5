// The storage underneath: SQLite errors as statuses, the private database file,
// pooled read connections, and rows read back as entries.
#include "ledger/ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger/ledger_internal.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace ledger_internal {

Status from_sqlite(const SQLite::Exception& e, const std::string& what) {
  return from_sql(sql::Error(error_kind(e.getErrorCode()), e.what()), what);
}

Status from_sql(const sql::Error& e, const std::string& what) {
  if (e.kind() == sql::Error::Kind::kUnavailable)
    return unavailable("存储暂时不可用,请稍后再试 (storage unavailable: " + what + ": " + e.what() + ")");
  // Shown as is to whoever asked, an official in chat too: Chinese first.
  if (e.kind() == sql::Error::Kind::kCorrupt)
    return data_loss("数据库已损坏,没有做任何改动,请联系乡镇管理员从备份恢复 (" + what + ": database is corrupt: " + e.what() + ")");
  return internal_error(what + ": " + e.what());
}

Status ensure_private_file(const std::string& path) {
  // SQLite gives the -wal and -shm files the main file's mode, so creating
  // the database 0600 keeps all three private.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot create database file " + path);
  ::close(fd);
  return Status::ok();
}

Result<LogRow> find_log(SQLite::Statement& q, const std::string& name) {
  q.bind(1, name);
  if (!q.executeStep()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
  LogRow row{q.getColumn(0).getInt64(), static_cast<uint64_t>(q.getColumn(1).getInt64())};
  q.reset();
  return row;
}

void visit_leaf_rows(SQLite::Statement& q, const std::function<void(uint64_t, std::string_view)>& visit) {
  while (q.executeStep()) {
    auto leaf = q.getColumn(1);
    visit(static_cast<uint64_t>(q.getColumn(0).getInt64()),
          std::string_view(static_cast<const char*>(leaf.getBlob()), static_cast<size_t>(leaf.getBytes())));
  }
  q.reset();
}

Entry entry_from_row(uint64_t idx, const void* blob, int bytes) {
  Entry e;
  e.index = idx;
  e.leaf.assign(static_cast<const char*>(blob), static_cast<size_t>(bytes));
  e.fields = json::parse(e.leaf, nullptr, false);
  return e;
}

}  // namespace ledger_internal

// ---------------------------------------------------------------------------
// Connections

Ledger::ReadConnection Ledger::read() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return ReadConnection(this, std::move(r));
    }
  }
  auto r = std::make_unique<PooledReader>();
  r->db = std::make_unique<SQLite::Database>(options_.db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
  r->session = std::make_unique<SqliteConnection>(*r->db);
  return ReadConnection(this, std::move(r));
}

uint64_t Ledger::change_generation() {
  using std::chrono::steady_clock;
  const int64_t interval = std::chrono::duration_cast<std::chrono::nanoseconds>(kExternalChangeDelay).count();
  int64_t now = steady_clock::now().time_since_epoch().count();
  if (now - last_probe_start_ns_.load(std::memory_order_acquire) >= interval) {
    std::lock_guard<std::mutex> lock(probe_mu_);
    // A probe that began within the interval before this call (one another
    // thread just ran while this one waited) saw every commit this call must.
    if (now - last_probe_start_ns_.load(std::memory_order_acquire) >= interval) {
      int64_t start = steady_clock::now().time_since_epoch().count();
      int64_t version = -1;
      try {
        if (!probe_db_)
          probe_db_ = std::make_unique<ledger_internal::SqliteDatabase>(options_.db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
        SQLite::Statement q(*probe_db_, "PRAGMA data_version");
        if (q.executeStep()) version = q.getColumn(0).getInt64();
      } catch (const SQLite::Exception&) {
        probe_db_.reset();  // opened afresh next time; meanwhile every cache goes to storage
      }
      if (version < 0 || version != probe_data_version_) generation_.fetch_add(1, std::memory_order_acq_rel);
      probe_data_version_ = version;
      last_probe_start_ns_.store(start, std::memory_order_release);
    }
  }
  return generation_.load(std::memory_order_acquire);
}

}  // namespace sunledger
