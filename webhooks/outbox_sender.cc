#include "webhooks/outbox_sender.h"

#include <cstdio>

#include "webhooks/metrics.h"

namespace sunledger {

OutboxSender::OutboxSender(Ledger* ledger, const std::map<std::string, PlatformAdapter*>& adapters, HttpClient* client,
                           OutboxSenderOptions options, Metrics* metrics)
    : ledger_(ledger), outbox_(ledger), adapters_(adapters), client_(client), options_(options), metrics_(metrics) {}

OutboxSender::~OutboxSender() { stop(); }

void OutboxSender::start() {
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      deliver_due();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms), [this] { return stop_ || poked_; });
      poked_ = false;
    }
  });
}

void OutboxSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxSender::notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

bool OutboxSender::rate_limited(const std::string& bot, int per_minute, int64_t now) {
  auto& times = sent_[bot];
  while (!times.empty() && times.front() <= now - 60) times.pop_front();
  return static_cast<int>(times.size()) >= per_minute;
}

size_t OutboxSender::deliver_due() {
  int64_t now = ledger_->clock().now_unix_seconds();
  auto due = outbox_.due(now, options_.batch);
  if (!due.is_ok()) {
    std::fprintf(stderr, "sunledger: outbox read failed: %s\n", due.status().to_string().c_str());
    return 0;
  }
  size_t delivered = 0;
  for (const auto& m : *due) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    auto it = adapters_.find(m.bot_id);
    if (it == adapters_.end()) {
      // A bot removed from bots.json: keep the row, try again much later.
      outbox_.mark_failed(m.id, now + options_.max_backoff_seconds, "no such bot in the config");
      continue;
    }
    PlatformAdapter* adapter = it->second;
    if (rate_limited(m.bot_id, adapter->pushes_per_minute(), now)) continue;  // waits for the window; not a failure
    sent_[m.bot_id].push_back(now);
    Status outcome = adapter->deliver(m, now, *client_);
    if (outcome.is_ok()) {
      Status s = outbox_.mark_delivered(m.id, now);
      if (!s.is_ok()) std::fprintf(stderr, "sunledger: outbox record failed: %s\n", s.to_string().c_str());
      ++delivered;
      if (metrics_) metrics_->add_counter("pushes_delivered_total");
    } else {
      // A configuration that cannot deliver it (no push_url, no private
      // channel) will not change by retrying soon.
      int64_t backoff = outcome.code() == Code::kFailedPrecondition
                            ? options_.max_backoff_seconds
                            : std::min<int64_t>(int64_t{1} << std::min(m.attempts, 20), options_.max_backoff_seconds);
      outbox_.mark_failed(m.id, now + backoff, outcome.message());
      // Logged without the message text: only the bot and the row.
      std::fprintf(stderr, "sunledger: push %lld via %s failed (attempt %d): %s\n", static_cast<long long>(m.id),
                   m.bot_id.c_str(), m.attempts + 1, code_name(outcome.code()));
      if (metrics_) metrics_->add_counter("pushes_failed_total");
    }
  }
  return delivered;
}

}  // namespace sunledger
