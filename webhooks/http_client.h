// Outbound HTTP, behind an interface so tests and deployments can swap it.
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
  // kUnavailable when no answer came (connection, timeout); an answer of any
  // HTTP status is a result.
  virtual Result<HttpResult> send(const OutboundRequest& request) = 0;
};

// cpp-httplib underneath; http and https (certificates verified), with
// connection, read and write timeouts always set.
std::unique_ptr<HttpClient> make_http_client(int timeout_seconds = 10);

}  // namespace sunledger
