// The HTTP edge: a tuned cpp-httplib server hosting the read API, health and
// metrics, and (see routes added by other headers) the chat webhooks.
//
// Thread safety: start()/listen()/stop() from one controlling thread;
// handlers run on the worker pool.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "bot/bot.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace httplib {
class Server;
}

namespace sunledger {

class Metrics;
class PlatformAdapter;

// The chat bots served at /webhooks/{id}, and who to tell when a webhook
// queued something in the outbox.
struct WebhookWiring {
  std::map<std::string, PlatformAdapter*> adapters;
  std::function<void()> on_outbox_write;
  // Delivers a reply that must never be stored (an anonymous receipt on a
  // platform that replies through an API); null: such replies are dropped.
  std::function<void(PlatformAdapter*, const Push&)> send_ephemeral;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port (tests)
  // With keep-alive each open connection holds a worker, so the pool is sized
  // to the connections we expect; beyond max_queued waiting connections the
  // server answers 503 instead of queueing without bound.
  size_t worker_threads = 128;
  size_t max_queued_connections = 512;
  size_t max_body_bytes = 64 * 1024;
  int read_timeout_seconds = 5;
  int write_timeout_seconds = 5;
  int keep_alive_timeout_seconds = 5;
  size_t keep_alive_max_count = 10'000;
  bool log_requests = true;
};

// Parses "127.0.0.1:8080" (or ":8080", or "[::1]:8080").
Result<std::pair<std::string, int>> parse_listen_address(const std::string& text);

class HttpServer {
 public:
  // The bot may be null for a read-only server.
  HttpServer(Ledger* ledger, Bot* bot, HttpServerOptions options, WebhookWiring webhooks = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the bound port.
  Result<int> bind();
  // Serves until stop(); returns false if the server failed.
  bool listen();
  // Stops accepting, lets in-flight requests finish, and returns.
  void stop();
  bool is_running() const;

  // For route groups in this module (webhooks, write API) to register on.
  httplib::Server& routes();
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sunledger
