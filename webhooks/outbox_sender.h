// Delivers the outbox in the background: each platform's push request, with
// retries, exponential backoff and each bot's rate limit. A message recorded
// as delivered is never sent again; one not yet delivered survives restarts.
//
// Thread safety: start/stop from one thread; notify() from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "bot/outbox.h"
#include "webhooks/adapter.h"
#include "webhooks/http_client.h"

namespace sunledger {

class Metrics;

struct OutboxSenderOptions {
  int poll_interval_ms = 200;
  int max_backoff_seconds = 600;
  size_t batch = 50;
};

class OutboxSender {
 public:
  OutboxSender(Ledger* ledger, const std::map<std::string, PlatformAdapter*>& adapters, HttpClient* client,
               OutboxSenderOptions options = {}, Metrics* metrics = nullptr);
  ~OutboxSender();

  void start();
  // Finishes the delivery in progress, records it, and stops.
  void stop();
  void notify();
  // One pass over the due messages (what the thread does each tick); returns
  // how many were delivered.
  size_t deliver_due();

 private:
  bool rate_limited(const std::string& bot, int per_minute, int64_t now);

  Ledger* ledger_;
  Outbox outbox_;
  std::map<std::string, PlatformAdapter*> adapters_;
  HttpClient* client_;
  OutboxSenderOptions options_;
  Metrics* metrics_;
  std::map<std::string, std::deque<int64_t>> sent_;  // per bot: send times within the last minute
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace sunledger
