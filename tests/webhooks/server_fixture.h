// A real HttpServer on 127.0.0.1 (port 0) over a real ledger, and a client.
#pragma once

#include <httplib.h>

#include <functional>
#include <thread>

#include "test_support.h"
#include "webhooks/http_server.h"

namespace sunledger::testing {

struct RunningServer {
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  int port = 0;
  // Whether the server writes its access log to stderr (off: tests' output
  // stays readable; a test of the log turns it on).
  bool log_requests = false;

  // extra_routes: routes a test adds (registered before the server listens).
  // configure: anything else to set before it binds (the page seam).
  void start(Ledger* ledger, Bot* bot = nullptr, HttpServerOptions options = {}, WebhookWiring wiring = {},
             const std::function<void(httplib::Server&)>& extra_routes = {},
             const std::function<void(HttpServer&)>& configure = {}) {
    options.port = 0;
    options.log_requests = log_requests;
    server = std::make_unique<HttpServer>(ledger, bot, options, wiring);
    if (extra_routes) extra_routes(server->routes());
    if (configure) configure(*server);
    auto p = server->bind();
    if (!p.is_ok()) throw std::runtime_error(p.status().to_string());
    port = *p;
    thread = std::thread([this] { server->listen(); });
    // stop() before the server runs can hang: wait until it is up.
    while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void stop() {
    if (!server) return;
    server->stop();
    thread.join();
    server.reset();
  }
  ~RunningServer() { stop(); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5, 0);
    // Generous: a first rendering of thousands of lines under ASan on a
    // loaded 2-core machine took over 10 s; a hang still fails the test.
    c.set_read_timeout(60, 0);
    c.set_write_timeout(10, 0);
    return c;
  }
};

}  // namespace sunledger::testing
