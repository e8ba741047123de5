// Outbound HTTP, behind an interface so tests and deployments can swap it.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"
#include "webhooks/adapter.h"

namespace sunledger {

struct HttpResult {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResult> post(const OutboundRequest& request) = 0;
};

// cpp-httplib underneath; http and https (certificates verified), with
// connection, read and write timeouts always set.
std::unique_ptr<HttpClient> make_http_client(int timeout_seconds = 10);

}  // namespace sunledger
