// What the adapters need to talk to a platform's app API: an access token
// cache, and one helper that sends a request and reads the platform's answer.
// Private to webhooks/adapters/.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "ledger/status.h"
#include "webhooks/http_client.h"

namespace sunledger::adapters {

struct FetchedToken {
  std::string token;
  int64_t expires_in = 0;  // seconds, as the platform said
};

// An app API access token, fetched on first use and kept until shortly
// before it expires (5 minutes early, so a push never carries a token that
// dies on the way).
//
// Thread safety: get() and invalidate() may be called from any thread; one
// caller fetches while the others wait for it.
class AccessTokenCache {
 public:
  using Fetch = std::function<Result<FetchedToken>(HttpClient&)>;
  [[nodiscard]] Result<std::string> get(HttpClient& client, int64_t now, const Fetch& fetch);
  // The platform said this token is invalid or expired: the next get() fetches
  // a new one (unless another thread already did).
  void invalidate(const std::string& token);

 private:
  std::mutex mu_;
  std::string token_;
  int64_t expires_at_ = 0;
};

// Sends the request; kUnavailable when there is no answer or it is not 2xx.
// The message never carries the URL (it may hold an access token or a key).
[[nodiscard]] Result<HttpResult> send_for_answer(HttpClient& client, const OutboundRequest& request);
// A group robot's answer: 2xx and no error code in the body (WeCom, DingTalk
// and Feishu answer 200 with an error code when they refuse a message).
[[nodiscard]] Status robot_answer_ok(const HttpResult& answer);
// The longest prefix of text of at most max_bytes that does not split a
// UTF-8 character.
std::string utf8_prefix(const std::string& text, size_t max_bytes);

}  // namespace sunledger::adapters
