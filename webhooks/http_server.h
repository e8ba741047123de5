// The HTTP edge: a tuned cpp-httplib server hosting the read API, health and
// metrics, and (see routes added by other headers) the chat webhooks.
//
// Thread safety: start()/listen()/stop() from one controlling thread;
// handlers run on the worker pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

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
  // Connections are held by one gate thread until a whole request has
  // arrived (webhooks/http_edge.h); workers only run complete requests, so
  // their number is sized for handler work, not for open connections.
  size_t worker_threads = 32;
  // Complete requests waiting for a worker; beyond this they are answered 503.
  size_t max_queued_requests = 512;
  // Open connections; beyond this a new one is answered 503 and closed.
  size_t max_connections = 2048;
  // Connections one client (IPv4 address, IPv6 /64) may hold; loopback
  // clients (a reverse proxy on this host) only when limit_loopback_clients.
  size_t max_connections_per_client = 256;
  bool limit_loopback_clients = false;
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  // The request head must arrive within header_deadline (from the
  // connection's start, or a kept-alive connection's first byte of the
  // request), its body within body_deadline after that, in total however the
  // bytes trickle in; past either the answer is 408 and the connection closed.
  std::chrono::milliseconds header_deadline{10'000};
  std::chrono::milliseconds body_deadline{30'000};
  // The longest silence within a request (408 and closed).
  int read_timeout_seconds = 5;
  // An answer being written must make progress within this, and be written
  // whole within answer_deadline; past either the connection is dropped.
  int write_timeout_seconds = 5;
  std::chrono::milliseconds answer_deadline{60'000};
  // Unsent answer bytes held for one client, and for all; a request run
  // while either is full is answered 503 (webhooks/http_edge.h).
  size_t max_output_per_client = 8 * 1024 * 1024;
  size_t max_output_total = 128 * 1024 * 1024;
  // How long a connection may wait for its next request.
  int keep_alive_timeout_seconds = 5;
  size_t keep_alive_max_count = 10'000;
  bool log_requests = true;
};

// Client bytes for a log line: control characters (a newline that would
// forge a log line, escape sequences for the terminal) become \xNN.
std::string log_safe(std::string_view text);

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
