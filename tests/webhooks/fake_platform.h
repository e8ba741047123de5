// A fake chat platform for the webhook tests: a real HTTP server on loopback
// that records every request Sunledger sends (pushes, token requests) and
// answers as the platforms' APIs do, so that a test can read exactly what
// would have reached a group or a person.
//
// Thread safety: the server thread records under mu; recorded() copies.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sunledger::testing {

struct RecordedPush {
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;
  std::string body;
};

struct FakePlatform {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<RecordedPush> pushes;
  // The next n requests fail with 500 (a platform outage).
  std::atomic<int> fail_next{0};
  // Called on the server thread for every request, before it is answered
  // (set before the first request; review tests take a database lock here).
  std::function<void()> on_request;

  FakePlatform() {
    server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu);
        auto q = req.target.find('?');
        RecordedPush p{req.path, q == std::string::npos ? "" : req.target.substr(q + 1), {}, req.body};
        for (const auto& [k, v] : req.headers) p.headers[k] = v;
        pushes.push_back(std::move(p));
      }
      if (on_request) on_request();
      if (fail_next > 0) {
        --fail_next;
        res.status = 500;
        return;
      }
      res.set_content(answer(req.path).dump(), "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakePlatform() {
    server.stop();
    thread.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string url(const std::string& path) const { return base() + path; }
  std::vector<RecordedPush> recorded() {
    std::lock_guard<std::mutex> lock(mu);
    return pushes;
  }

 private:
  // What each platform's API answers on success (docs/platforms.md).
  static nlohmann::json answer(const std::string& path) {
    if (path == "/open-apis/auth/v3/tenant_access_token/internal")
      return {{"code", 0}, {"tenant_access_token", "feishu-token"}, {"expire", 7200}};
    if (path == "/open-apis/im/v1/messages") return {{"code", 0}, {"data", {{"message_id", "om_x"}}}};
    if (path == "/v1.0/oauth2/accessToken") return {{"accessToken", "ding-token"}, {"expireIn", 7200}};
    if (path == "/v1.0/robot/oToMessages/batchSend") return {{"processQueryKey", "pq"}};
    return {{"errcode", 0}, {"ok", true}};
  }
};

}  // namespace sunledger::testing
