#include "webhooks/adapters/app_api.h"

#include "webhooks/adapters/common.h"

namespace sunledger::adapters {

Result<std::string> AccessTokenCache::get(HttpClient& client, int64_t now, const Fetch& fetch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!token_.empty() && now < expires_at_) return token_;
  auto fetched = fetch(client);
  if (!fetched.is_ok()) return fetched.status();
  if (fetched->token.empty()) return unavailable("the platform answered without an access token");
  token_ = fetched->token;
  // Kept until 5 minutes before it expires, and at least a minute.
  expires_at_ = now + std::max<int64_t>(60, fetched->expires_in - 300);
  return token_;
}

void AccessTokenCache::invalidate(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token_ == token) {
    token_.clear();
    expires_at_ = 0;
  }
}

Result<HttpResult> send_for_answer(HttpClient& client, const OutboundRequest& request) {
  auto res = client.send(request);
  if (!res.is_ok()) return unavailable("no answer: " + res.status().message());
  return *res;
}

Status robot_answer_ok(const HttpResult& answer) {
  if (answer.status < 200 || answer.status >= 300)
    return unavailable("HTTP " + std::to_string(answer.status) + " " + utf8_prefix(answer.body, 200));
  auto j = parse_body(answer.body);
  if (j && j->is_object()) {
    for (const char* key : {"errcode", "code", "StatusCode"})
      if (j->contains(key) && (*j)[key].is_number_integer() && (*j)[key].get<int64_t>() != 0)
        return unavailable("the platform refused the message: " + utf8_prefix(answer.body, 200));
    if (j->contains("ok") && (*j)["ok"].is_boolean() && !(*j)["ok"].get<bool>())
      return unavailable("the platform refused the message: " + utf8_prefix(answer.body, 200));
  }
  return Status::ok();
}

std::string utf8_prefix(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t n = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to a character boundary.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

}  // namespace sunledger::adapters
