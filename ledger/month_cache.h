// The months Ledger::month_entries read lately. A month asked for again (a
// villager's 明细, 低保 or 搜索, each page of the web's month page, the read
// API) costs no read of its entries and no parsing of them while its log has
// not grown. Private to the ledger library.
//
// Why a month is keyed by (log row id, log size): a log is append-only and
// its size is committed with its entries, so the entries of a month among a
// log's first `size` are the same whenever they are read. month_entries
// reads the size, then only the entries below it (idx<size), so what it
// keeps is exactly that set, whatever a later snapshot would add.
//
// What this changes for tampering: a leaf edited by hand after its month was
// read is not served from here (the signed one is), and one edited, read and
// put back is served as edited until the log grows. Either way `verify`
// reads the database itself; the web's page cache has always kept pages
// the same way.
//
// Thread safe: every call takes the cache's own mutex. What find returns is
// immutable and shared, so holding it costs no copy and no lock.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger::ledger_internal {

class MonthEntriesCache {
 public:
  // A month weighs its leaves' bytes plus kOverheadBytes for it and for each
  // of its entries. 16 MiB of leaves: a year of a large village's months or
  // several hundred ordinary ones; parsed, about four times that in memory.
  static constexpr size_t kMaxKeptBytes = 16u << 20;
  static constexpr size_t kOverheadBytes = 256;
  // Holds at most max_bytes in all (at least one month whatever its weight);
  // the least recently used months go first.
  explicit MonthEntriesCache(size_t max_bytes = kMaxKeptBytes) : max_bytes_(max_bytes) {}

  // The month's entries among log log_id's first size, if kept; null if not.
  MonthEntries find(int64_t log_id, const std::string& month, uint64_t size);
  // Keeps entries as the month's among log log_id's first size, replacing
  // what was kept for a smaller size (never a larger one: a reader of an
  // older snapshot may finish last).
  void put(int64_t log_id, const std::string& month, uint64_t size, MonthEntries entries);
  // The weight held now (for tests).
  size_t held() const;
  static size_t weight(const std::vector<Entry>& entries);

 private:
  using Key = std::pair<int64_t, std::string>;
  struct Slot {
    uint64_t size = 0;
    MonthEntries entries;
    size_t weight = 0;
    std::list<Key>::iterator used;  // its place in recent_
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<Key, Slot> slots_;  // guarded by mu_
  std::list<Key> recent_;      // most recently used first; guarded by mu_
  size_t held_ = 0;            // guarded by mu_
};

}  // namespace sunledger::ledger_internal
