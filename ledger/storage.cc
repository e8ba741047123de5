// The storage underneath: storage errors as statuses, pooled read
// connections, the change generation, and rows read back as entries.
#include "ledger/ledger.h"

#include "ledger/ledger_internal.h"
#include "ledger/sql_engine.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace ledger_internal {

Status from_sql(const sql::Error& e, const std::string& what) {
  if (e.kind() == sql::Error::Kind::kUnavailable)
    return unavailable("存储暂时不可用,请稍后再试 (storage unavailable: " + what + ": " + e.what() + ")");
  // Shown as is to whoever asked, an official in chat too: Chinese first.
  if (e.kind() == sql::Error::Kind::kCorrupt)
    return data_loss("数据库已损坏,没有做任何改动,请联系乡镇管理员从备份恢复 (" + what + ": database is corrupt: " + e.what() + ")");
  return internal_error(what + ": " + e.what());
}

Result<LogRow> find_log(sql::Statement& q, const std::string& name) {
  q.bind(1, name);
  if (!q.step()) return not_found("没有这个村或日志“" + name + "” (no such village or log)");
  LogRow row{q.column_int64(0), static_cast<uint64_t>(q.column_int64(1))};
  q.reset();
  return row;
}

void visit_leaf_rows(sql::Statement& q, const std::function<void(uint64_t, std::string_view)>& visit) {
  while (q.step()) {
    std::string_view leaf = q.column_blob_view(1);
    visit(static_cast<uint64_t>(q.column_int64(0)), leaf);
  }
  q.reset();
}

Entry entry_from_row(uint64_t idx, std::string_view leaf) {
  Entry e;
  e.index = idx;
  e.leaf.assign(leaf);
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
  return ReadConnection(this, engine_->open_reader());
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
      int64_t version = engine_->change_probe();
      if (version < 0 || version != probe_data_version_) generation_.fetch_add(1, std::memory_order_acq_rel);
      probe_data_version_ = version;
      last_probe_start_ns_.store(start, std::memory_order_release);
    }
  }
  return generation_.load(std::memory_order_acquire);
}

}  // namespace sunledger
