#include "webhooks/http_client.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sunledger {
namespace {

using Clock = std::chrono::steady_clock;

// Holds a call to its deadline: cpp-httplib's timeouts count each read alone,
// so a target that trickles its answer (or its headers) a byte at a time is
// cut off here by shutting the client's socket down. Client::stop() takes the
// client's socket lock, so it never touches a socket the client already
// closed (and whose number the kernel may have handed to someone else).
class Watchdog {
 public:
  Watchdog(httplib::Client& cli, Clock::time_point deadline) : thread_([this, &cli, deadline] {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_until(lock, deadline, [this] { return done_; })) return;
    fired_ = true;
    // stop() before the client marked its request in flight does nothing:
    // repeat until the call returns.
    while (!done_) {
      lock.unlock();
      cli.stop();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return done_; });
    }
  }) {}
  ~Watchdog() { finish(); }
  // Returns whether the deadline cut the call off.
  bool finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

class HttplibClient final : public HttpClient {
 public:
  explicit HttplibClient(HttpClientOptions options) : options_(options) {}

  Result<HttpResult> send(const OutboundRequest& r) override {
    // Split "scheme://host[:port]" from the path and query.
    size_t scheme_end = r.url.find("://");
    if (scheme_end == std::string::npos) return invalid_argument("push URL without scheme");
    size_t path_start = r.url.find('/', scheme_end + 3);
    std::string origin = path_start == std::string::npos ? r.url : r.url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : r.url.substr(path_start);
    auto start = Clock::now();
    auto deadline = start + std::chrono::milliseconds(options_.deadline_ms);
    httplib::Client cli(origin);
    if (!cli.is_valid()) return invalid_argument("push URL is not valid");
    time_t sec = options_.deadline_ms / 1000, usec = (options_.deadline_ms % 1000) * 1000;
    cli.set_connection_timeout(sec, usec);
    cli.set_read_timeout(sec, usec);
    cli.set_write_timeout(sec, usec);
    cli.set_follow_location(false);  // the default, said out loud: a push goes where it was configured, nowhere else
    cli.set_keep_alive(false);

    httplib::Request req;
    req.method = r.method == "GET" ? "GET" : "POST";
    req.path = path;
    for (const auto& [k, v] : r.headers) req.headers.emplace(k, v);
    if (req.method == "POST") {
      req.headers.emplace("Content-Type", r.content_type);
      req.body = r.body;
    }
    std::string body;
    bool too_big = false;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (body.size() + n > options_.max_answer_bytes) {
        too_big = true;
        return false;
      }
      body.append(data, n);
      return Clock::now() < deadline;
    };
    req.progress = [&](uint64_t, uint64_t) { return Clock::now() < deadline; };

    Watchdog watchdog(cli, deadline);
    auto res = cli.send(req);
    bool cut_off = watchdog.finish() || Clock::now() >= deadline;
    if (too_big)
      return unavailable("push answer larger than " + std::to_string(options_.max_answer_bytes) + " bytes: abandoned");
    if (!res) {
      if (cut_off)
        return unavailable("push took longer than " + std::to_string(options_.deadline_ms) + " ms: abandoned");
      return unavailable("push failed: " + httplib::to_string(res.error()));
    }
    if (res->status >= 300 && res->status < 400)
      return unavailable("push answered HTTP " + std::to_string(res->status) + ": redirects are not followed");
    return HttpResult{res->status, std::move(body)};
  }

 private:
  HttpClientOptions options_;
};

}  // namespace

std::unique_ptr<HttpClient> make_http_client(HttpClientOptions options) {
  return std::make_unique<HttplibClient>(options);
}

std::unique_ptr<HttpClient> make_http_client(int timeout_seconds) {
  HttpClientOptions o;
  o.deadline_ms = timeout_seconds * 1000;
  return make_http_client(o);
}

}  // namespace sunledger
