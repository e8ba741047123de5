// Delivers the outbox in the background: each platform's push request, with
// retries, exponential backoff and each bot's rate limit. A message recorded
// as delivered is never sent again, even when its row is put back from a copy
// (bot/deliveries.h); one not yet delivered survives restarts.
//
// Every bot has a lane of its own (one thread each), so a bot whose target is
// slow, down or hostile never delays another bot's pushes; within a bot each
// chat's pushes go out in order, and a chat waiting on a retry holds back only
// itself. A row the platform refused max_attempts times, or one the bot's
// configuration cannot deliver at all, becomes a dead letter: logged once
// (bot and row id), counted in /metrics, listed for inspectors
// (GET /v1/outbox/dead), never retried by itself.
//
// Ownership: borrows the ledger, the adapters, the HTTP client and the
// metrics (which may be null); all must outlive it. Thread safety: start/stop
// from one thread; notify() from any; deliver_due() from any (a bot's passes
// never overlap).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "bot/deliveries.h"
#include "bot/outbox.h"
#include "webhooks/adapter.h"
#include "webhooks/http_client.h"

namespace sunledger {

class Metrics;
class NoticeQuorum;

struct OutboxSenderOptions {
  int poll_interval_ms = 200;
  // Backoff after a failure: Outbox::retry_backoff (1 s doubling, at most
  // Outbox::kMaxBackoffSeconds), counted from the moment the failed attempt
  // ended, kept in memory (Lane::retry_at). Not an option: no reader believes
  // a longer wait (Outbox::is_due).
  // Rows read per query (each query takes at most one row per chat).
  size_t batch = 50;
  // A row the platform did not take this many times is a dead letter.
  int max_attempts = 8;
  // `serve --witness-quorum K` (K > 0): monthly notices wait until released,
  // and none goes out unless its own text carries K witnesses' cosignatures
  // (checked here, whatever the row says). Borrowed; null: sent at once.
  const NoticeQuorum* quorum = nullptr;
  // Called on the sending thread when a push went out, or was given up on or
  // revived, but the deliveries log refused to record it (a delivered or dead
  // row is changed without its entry; a revival is not made), with a line
  // saying which push and what the ledger said. An insider who makes the log
  // refuse that append and then undoes the edit could have the push sent
  // again from a copy of its row; `serve` alerts the inspectors and checks
  // the whole ledger here at once, while the edit stands, so that writes
  // stop. Null: nothing.
  std::function<void(const std::string& what)> on_record_refused = nullptr;
};

class OutboxSender {
 public:
  OutboxSender(Ledger* ledger, const std::map<std::string, PlatformAdapter*>& adapters, HttpClient* client,
               OutboxSenderOptions options = {}, Metrics* metrics = nullptr);
  ~OutboxSender();

  // Dead-letters the pending rows of bots no longer in the config, puts rows
  // dead for a configuration reason back in the queue of bots whose delivery
  // configuration changed since (not after a restart with the same one), and
  // starts one lane per bot.
  void start();
  // Finishes the deliveries in progress (each bounded by the HTTP client's
  // deadline), records them, and stops.
  void stop();
  void notify();
  // One pass over every bot's due messages, on the calling thread; returns how
  // many were delivered.
  size_t deliver_due();

 private:
  struct Lane {
    std::string bot;
    PlatformAdapter* adapter = nullptr;
    std::mutex pass_mu;                // one pass at a time; guards `sent`
    std::deque<int64_t> sent;          // send times within the last minute
    // Rows this process delivered: one whose delivered mark could not be
    // written is recorded, not sent again. Guarded by pass_mu.
    deliveries::Delivered delivered;
    // When each row this process tried and failed is due again. The outbox's
    // next_attempt_at is a column anyone with sqlite3 can move forward again
    // and again (review R1): a row not tried since this process started is
    // due at once, and one tried is due when this says (never later than
    // Outbox::kMaxBackoffSeconds from now). Guarded by pass_mu.
    std::map<int64_t, int64_t> retry_at;
    bool poked = false;                // under OutboxSender::mu_
    std::thread thread;
  };
  size_t pass(Lane& lane);
  // The lane's heads due now by its own schedule, at most options_.batch.
  Result<std::vector<OutboxMessage>> due(Lane& lane, int64_t now);
  // Returns false when the outcome could not be recorded (stop the pass).
  bool deliver_one(Lane& lane, const OutboxMessage& m, bool* delivered);
  std::optional<bool> settle_unsent(Lane& lane, const OutboxMessage& m);
  std::optional<bool> settle_unwitnessed(const OutboxMessage& m);
  bool holds_notices() const;
  // A record the deliveries log refused (see OutboxSenderOptions::on_record_refused).
  void record_refused(const std::string& what, const std::string& refused);
  void start_bots(int64_t now);
  // Outbox::mark_dead, a refused record said.
  Status give_up(const OutboxMessage& m, int64_t now, DeadReason reason, const std::string& error,
                 bool attempted = true, const std::string& config = "");
  Status record_outcome(Lane& lane, const OutboxMessage& m, const Status& outcome, int64_t now);
  bool rate_limited(Lane& lane, int64_t now);
  bool stopping();
  // Whether the signed deliveries log records row `id` as delivered (loaded
  // once, kept up to date with this sender's own deliveries, and, before a
  // row it does not know goes out, with the entries other processes
  // appended since: deliveries::catch_up). Nullopt when the log cannot be
  // read: nothing is sent then.
  std::optional<bool> logged_as_delivered(const OutboxMessage& m);
  void note_logged(const OutboxMessage& m);

  // Whether another node may send the same rows (PostgreSQL): each row is
  // claimed first (Outbox::claim). Nullopt when storage could not say.
  std::optional<bool> shared_storage();
  // 0 unknown, 1 SQLite (nothing to claim), 2 shared.
  std::atomic<int> shared_{0};
  Ledger* ledger_;
  Outbox outbox_;
  std::map<std::string, PlatformAdapter*> adapters_;
  HttpClient* client_;
  OutboxSenderOptions options_;
  Metrics* metrics_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex logged_mu_;
  bool logged_loaded_ = false;         // guarded by logged_mu_
  deliveries::Delivered logged_;       // guarded by logged_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace sunledger
