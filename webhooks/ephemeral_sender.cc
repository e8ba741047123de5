#include "webhooks/ephemeral_sender.h"

#include <cstdio>

namespace sunledger {

EphemeralSender::EphemeralSender(HttpClient* client, Clock* clock) : client_(client), clock_(clock) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      auto [adapter, push] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      OutboxMessage m;
      m.bot_id = push.bot_id;
      m.chat_id = push.chat_id;
      m.text = push.text;
      m.audience = push.audience;
      Status s = adapter->deliver(m, clock_->now_unix_seconds(), *client_);
      // Logged without text or address: this is an anonymous reporter's reply.
      if (!s.is_ok()) std::fprintf(stderr, "sunledger: a reply that is never stored was not delivered via %s: %s\n",
                                   push.bot_id.c_str(), code_name(s.code()));
      lock.lock();
      ++attempted_;
      cv_.notify_all();
    }
  });
}

EphemeralSender::~EphemeralSender() { stop(); }

void EphemeralSender::send(PlatformAdapter* adapter, const Push& push) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    queue_.emplace_back(adapter, push);
  }
  cv_.notify_all();
}

void EphemeralSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t EphemeralSender::attempted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attempted_;
}

}  // namespace sunledger
