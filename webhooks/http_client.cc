#include "webhooks/http_client.h"

#include <httplib.h>

namespace sunledger {
namespace {

class HttplibClient final : public HttpClient {
 public:
  explicit HttplibClient(int timeout) : timeout_(timeout) {}

  Result<HttpResult> send(const OutboundRequest& r) override {
    // Split "scheme://host[:port]" from the path and query.
    size_t scheme_end = r.url.find("://");
    if (scheme_end == std::string::npos) return invalid_argument("push URL without scheme");
    size_t path_start = r.url.find('/', scheme_end + 3);
    std::string origin = path_start == std::string::npos ? r.url : r.url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : r.url.substr(path_start);
    httplib::Client cli(origin);
    if (!cli.is_valid()) return invalid_argument("push URL is not valid");
    cli.set_connection_timeout(timeout_, 0);
    cli.set_read_timeout(timeout_, 0);
    cli.set_write_timeout(timeout_, 0);
    httplib::Headers headers;
    for (const auto& [k, v] : r.headers) headers.emplace(k, v);
    auto res = r.method == "GET" ? cli.Get(path.c_str(), headers) : cli.Post(path.c_str(), headers, r.body, r.content_type.c_str());
    if (!res) return unavailable("push failed: " + httplib::to_string(res.error()));
    return HttpResult{res->status, res->body};
  }

 private:
  int timeout_;
};

}  // namespace

std::unique_ptr<HttpClient> make_http_client(int timeout_seconds) {
  return std::make_unique<HttplibClient>(timeout_seconds);
}

}  // namespace sunledger
