#include "ledger/month_cache.h"

namespace sunledger::ledger_internal {

size_t MonthEntriesCache::weight(const std::vector<Entry>& entries) {
  size_t w = kOverheadBytes;
  for (const auto& e : entries) w += e.leaf.size() + kOverheadBytes;
  return w;
}

MonthEntries MonthEntriesCache::find(int64_t log_id, const std::string& month, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find({log_id, month});
  if (it == slots_.end() || it->second.size != size) return nullptr;
  recent_.splice(recent_.begin(), recent_, it->second.used);
  return it->second.entries;
}

void MonthEntriesCache::put(int64_t log_id, const std::string& month, uint64_t size, MonthEntries entries) {
  if (!entries) return;
  size_t w = weight(*entries);
  std::lock_guard<std::mutex> lock(mu_);
  Key key{log_id, month};
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    if (it->second.size > size) return;
    held_ -= it->second.weight;
    recent_.splice(recent_.begin(), recent_, it->second.used);
    it->second.size = size;
    it->second.entries = std::move(entries);
    it->second.weight = w;
  } else {
    recent_.push_front(key);
    slots_.emplace(key, Slot{size, std::move(entries), w, recent_.begin()});
  }
  held_ += w;
  while (held_ > max_bytes_ && recent_.size() > 1) {
    auto oldest = slots_.find(recent_.back());
    held_ -= oldest->second.weight;
    slots_.erase(oldest);
    recent_.pop_back();
  }
}

size_t MonthEntriesCache::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

}  // namespace sunledger::ledger_internal
