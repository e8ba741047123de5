// Pushes that must never be stored: the reply that carries an anonymous
// complaint's receipt, on platforms whose replies travel through an API
// (DingTalk's sessionWebhook, Feishu's app). Written to the outbox, it would
// sit in the database (and its WAL) beside the reporter's address. Held in
// memory only and delivered once; lost if the process dies first, in which
// case the reporter sees no receipt and files again.
//
// Ownership: borrows the client and the clock, which must outlive it; the
// adapters passed to send() must outlive it too. Thread safety: send() from
// any thread; stop() (or the destructor) from the owner.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "bot/bot.h"
#include "ledger/clock.h"
#include "webhooks/adapter.h"
#include "webhooks/http_client.h"

namespace sunledger {

class EphemeralSender {
 public:
  EphemeralSender(HttpClient* client, Clock* clock);
  ~EphemeralSender();
  EphemeralSender(const EphemeralSender&) = delete;
  EphemeralSender& operator=(const EphemeralSender&) = delete;

  void send(PlatformAdapter* adapter, const Push& push);
  // Delivers what is queued (each push bounded by the client's deadline) and stops.
  void stop();
  // Deliveries attempted so far (tests wait on it).
  size_t attempted() const;

 private:
  HttpClient* client_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<PlatformAdapter*, Push>> queue_;
  size_t attempted_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sunledger
