// The HTTP edge: a tuned cpp-httplib server hosting the read API, health and
// metrics, and (see routes added by other headers) the chat webhooks.
//
// Ownership: HttpServer borrows the ledger, the bot and the adapters of its
// WebhookWiring, which must outlive it; it owns its EdgeServer and Metrics.
// Thread safety: bind()/listen() from one controlling thread, stop() from any
// thread; routes() only before listen(); metrics() from any thread; handlers
// run on the edge's loop threads (webhooks/edge_core.h), several at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bot/bot.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "webhooks/edge_limits.h"

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
  // How the log's hints spell a CLI command for this deployment (app sets
  // "sunledger --data 'DIR'"), so an administrator can paste it as it is.
  std::string cli = "sunledger";
};

// An answer to a GET outside the server's own routes: the public web's pages,
// which app/ wires in. The server knows nothing of them but this.
struct PageAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
// Called on the edge's threads, several at once; nullopt: no such page (the server's
// JSON 404 answers).
using PageHandler = std::function<std::optional<PageAnswer>(const std::string& path)>;

// A request to pages that take forms and cookies (the inspector's dashboard,
// which app/ wires in): what such a page may read of it, nothing more.
struct FormRequest {
  std::string method;  // "GET" (a HEAD too) or "POST"
  std::string path;
  // The query's fields, and a POST's form fields
  // (application/x-www-form-urlencoded), as cpp-httplib decoded them.
  std::multimap<std::string, std::string> params;
  std::string cookie;  // the Cookie header ("" when absent)
};
// Called on the edge's threads, several at once; nullopt: no such page.
using FormPageHandler = std::function<std::optional<PageAnswer>(const FormRequest& request)>;

// The edge's limits (webhooks/edge_limits.h: handler slots, connections, sizes,
// deadlines, output caps), described once there, and where to listen.
// on_gate_answer, when set, is told after the server counts and logs.
struct HttpServerOptions : EdgeLimits {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port (tests)
  bool log_requests = true;
};

// Client bytes for a log line: control characters (a newline that would
// forge a log line, escape sequences for the terminal) become \xNN.
std::string log_safe(std::string_view text);

// Parses "127.0.0.1:8080" (or ":8080", or "[::1]:8080").
Result<std::pair<std::string, int>> parse_listen_address(const std::string& text);

class HttpServer {
 public:
  // The bot may be null for a read-only server. Borrowed, as the ledger.
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

  // GETs (and HEADs) that no route claims go to `pages`; set before listen()
  // (after bind(), a caller knows the port its pages may name).
  void serve_pages(PageHandler pages);
  // GETs and POSTs of `prefix` and the paths under it ("/inspect",
  // "/inspect/...") go to `pages`; set before listen().
  void serve_form_pages(std::string prefix, FormPageHandler pages);

  // For route groups in this module (webhooks, write API) to register on.
  httplib::Server& routes();
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sunledger
