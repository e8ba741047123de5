// Outbound HTTP, behind an interface so tests and deployments can swap it.
//
// Ownership: make_http_client() returns an owned client that keeps nothing
// of a request after send() returns. Thread safety: send() may be called
// from any thread at once (every implementation must allow it: the outbox
// lanes share one client).
#pragma once

#include <memory>
#include <string>

#include <utility>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

// One outbound call: a push to a chat platform, or a call for an access token.
struct OutboundRequest {
  std::string method = "POST";  // POST or GET (GET sends no body)
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
};

struct HttpResult {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // kUnavailable when no usable answer came: no connection, the deadline
  // passed, the answer was larger than the cap, or it was a redirect (never
  // followed). Any other HTTP status is a result.
  virtual Result<HttpResult> send(const OutboundRequest& request) = 0;
};

struct HttpClientOptions {
  // The whole call: connect, send, and the answer's status, headers and body.
  // cpp-httplib's own timeouts are per read, so a target sending one byte
  // every few seconds would otherwise hold the caller for ever.
  int deadline_ms = 10'000;
  // Answers are read up to this size; a larger one is abandoned (a push's
  // answer is a few bytes of JSON).
  size_t max_answer_bytes = 64 * 1024;
};

// cpp-httplib underneath; http and https (certificates verified); redirects are
// never followed (a 3xx is kUnavailable, whatever Location says).
std::unique_ptr<HttpClient> make_http_client(HttpClientOptions options);
// The same with a deadline of `timeout_seconds` for each whole call.
std::unique_ptr<HttpClient> make_http_client(int timeout_seconds = 10);

}  // namespace sunledger
