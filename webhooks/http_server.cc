#include "webhooks/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bot/outbox.h"
#include "ledger/identity.h"
#include "webhooks/access_log.h"
#include "webhooks/http_edge.h"
#include "webhooks/internal.h"
#include "webhooks/metrics.h"

namespace sunledger {

using nlohmann::json;

namespace http {

int status_for(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kFailedPrecondition: return 409;
    case Code::kPermissionDenied: return 403;
    case Code::kUnavailable: return 503;
    case Code::kDataLoss:
    case Code::kInternal: return 500;
  }
  return 500;
}

// The stable code of an error answer that has none from a Status: one per
// HTTP status, so scripts never have to parse the (bilingual) message.
const char* code_for_http(int status) {
  switch (status) {
    case 400: return "invalid_argument";
    case 401: return "unauthenticated";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "timeout";
    case 409: return "conflict";
    case 411: return "length_required";
    case 413: return "too_large";
    case 431: return "too_large";
    case 415: return "unsupported_media_type";
    case 429: return "rate_limited";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "invalid_argument";
  }
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  std::string text;
  if (status >= 400 && body.is_object() && body.contains("error") && !body.contains("code")) {
    json with_code = body;
    with_code["code"] = code_for_http(status);
    text = with_code.dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  // An error may quote what was sent; an identity number in it goes back masked.
  if (status >= 400) text = redact_resident_ids(text);
  res.set_content(text, "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int http_status, const std::string& message) {
  send_json(res, http_status, {{"error", message}});
}

void send_error(httplib::Response& res, const Status& status) {
  send_json(res, status_for(status.code()), {{"error", status.message()}, {"code", code_name(status.code())}});
}

std::optional<uint64_t> parse_uint(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace http

std::string log_safe(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

Result<std::pair<std::string, int>> parse_listen_address(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return invalid_argument("listen address must be HOST:PORT, e.g. 127.0.0.1:8080");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  auto port = http::parse_uint(text.substr(colon + 1));
  if (!port || *port > 65535) return invalid_argument("the port must be a number from 0 to 65535");
  return std::make_pair(host, static_cast<int>(*port));
}

namespace {

// When the request on this thread passed routing; read by the logger.
thread_local std::chrono::steady_clock::time_point tl_request_start{};

// Low-cardinality label for metrics: never the raw path (ids and receipts
// would make one series each).
// Only configured bot ids become labels: a request refused before routing
// (413, 411) to /webhooks/<anything> would otherwise mint a series per path,
// and write whatever bytes it carried into the log.
std::string route_label(const httplib::Request& req, int status, const std::set<std::string>& bots) {
  const std::string& p = req.path;
  if (p.rfind("/webhooks/", 0) == 0) {
    size_t end = p.find('/', 10);
    std::string id = p.substr(10, end == std::string::npos ? std::string::npos : end - 10);
    if (status == 404 || !bots.count(id)) return "webhook_unknown";
    return "webhook:" + id;
  }
  if (p == "/healthz" || p == "/metrics" || p == "/v1/key" || p == "/v1/villages" || p == "/v1/outbox/dead" ||
      p == "/v1/outbox/held")
    return p;
  if (p.rfind("/v1/villages/", 0) == 0) {
    for (const char* tail : {"/checkpoint", "/entries", "/proof/inclusion", "/proof/consistency", "/projects",
                             "/publish"})
      if (p.size() > std::string(tail).size() && p.compare(p.size() - std::string(tail).size(), std::string::npos, tail) == 0)
        return std::string("/v1/villages/{id}") + tail;
    if (p.find("/months/") != std::string::npos) return "/v1/villages/{id}/months/{month}";
    return "/v1/villages/{id}/other";
  }
  if (p.rfind("/v1/complaints", 0) == 0) return "/v1/complaints";
  if (p == "/inspect" || p.rfind("/inspect/", 0) == 0) return "/inspect";
  return "other";
}

}  // namespace

namespace {

// What every request passes before and around its route: limits on what
// httplib would read, no exception text to the client, JSON error bodies.
void install_guards(httplib::Server& svr) {
  // Runs before the body is read: refuse what Debian's httplib 0.11.4 would
  // read without the size cap (chunked or compressed bodies). These answers
  // leave the body unread, so the edge closes the connection after them
  // (webhooks/http_edge.h). A request with neither Content-Length nor
  // Transfer-Encoding has an empty body (RFC 9112 §6.3; the edge says
  // Content-Length: 0 for it), so a bare "curl -X POST" reaches its route.
  svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    tl_request_start = std::chrono::steady_clock::now();
    // Range is ignored on every route: the plain body is always answered.
    // httplib 0.11.4 answers "Range: bytes=0-,0-,..." with one copy of the
    // body per range (2,000 ranges turned 29 KB into 59 MB, built in memory),
    // and it applies ranges to error bodies too. It parsed the header into
    // req.ranges before routing; clearing them here (the Request is httplib's
    // own non-const object, handed to us as const) makes every response the
    // plain one, status 200 rather than 206. Nothing we serve is large enough
    // to need ranges.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.ranges.clear();
    if (EdgeServer::has_header(req, "range")) mutable_req.headers.erase("Range");
    if (EdgeServer::shedding()) {
      res.set_header("Retry-After", "1");
      http::send_error(res, 503, "服务繁忙,请稍后再试 (server busy, retry shortly)");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (EdgeServer::has_header(req, "transfer-encoding")) {
      http::send_error(res, 411, "不接受分块传输,请提供 Content-Length (chunked bodies are not accepted)");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (EdgeServer::has_header(req, "content-encoding")) {
      http::send_error(res, 415, "不接受压缩的请求体 (compressed bodies are not accepted)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Without this an exception's what() would reach the client in a header.
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      // what() may quote the request (a JSON parser's "last read: ...").
      std::fprintf(stderr, "sunledger: handler exception: %s\n", log_safe(e.what()).c_str());
    } catch (...) {
      std::fprintf(stderr, "sunledger: handler exception\n");
    }
    http::send_error(res, 500, "服务器内部错误 (internal error)");
  });

  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      if (res.status == 404) http::send_error(res, 404, "没有这个地址 (not found)");
      else if (res.status == 413) http::send_error(res, 413, "请求体太大 (request body too large)");
      else if (res.status == 400) http::send_error(res, 400, "请求格式错误 (bad request)");
    }
  });
}

void install_logger(httplib::Server& svr, Metrics* metrics, bool log, const WebhookWiring& webhooks) {
  // One line per request: method, path without query (queries carry
  // signatures and echo strings), status, bytes, latency. Never bodies.
  std::set<std::string> bots;
  for (const auto& [id, adapter] : webhooks.adapters) bots.insert(id);
  svr.set_logger([metrics, log, bots](const httplib::Request& req, const httplib::Response& res) {
    double seconds = 0;
    if (tl_request_start != std::chrono::steady_clock::time_point{})
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tl_request_start).count();
    tl_request_start = {};
    std::string label = route_label(req, res.status, bots);
    metrics->observe_request(label, res.status, seconds);
    // The method is the client's too: access_log keeps printable ASCII only, and short.
    if (log) access_log::write(req.method, label, res.status, res.body.size(), seconds * 1000);
  });
}

// Health, metrics, the read API; with a bot, the write and complaints APIs
// and the webhooks.
void install_routes(httplib::Server& svr, Metrics* metrics, Ledger* ledger, Bot* bot, const WebhookWiring& webhooks) {
  svr.Get("/healthz", [ledger](const httplib::Request&, httplib::Response& res) {
    // A ledger that failed verification is not healthy, whatever else works.
    if (std::string failure = ledger->integrity_failure(); !failure.empty()) {
      res.status = 503;
      res.set_content("ledger failed verification: " + failure + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  svr.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http::register_read_api(svr, *ledger, bot);
  http::register_tiles_api(svr, *ledger);
  metrics->add_gauge("ledger_entries", "Entries in the village books (the complaints log is not counted: its growth would time a filing).", [ledger] {
    auto n = ledger->total_entries();
    return n.is_ok() ? static_cast<double>(*n) : -1.0;
  });
  metrics->add_gauge("storage_memory_bytes", "Memory SQLite holds: page caches and prepared statements.",
                          [] { return static_cast<double>(Ledger::storage_memory_bytes()); });
  if (bot != nullptr) {
    http::register_write_api(svr, *ledger, *bot);
    http::register_complaints_api(svr, *ledger, *bot, webhooks.on_outbox_write);
    http::register_webhooks(svr, *ledger, *bot, webhooks);
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(Ledger* l, EdgeLimits limits, bool log) : ledger(l), outbox(l), server(with_gate_log(std::move(limits), log)) {}
  // What the gate answers itself (malformed or oversized heads, clients too
  // slow, too many connections) never reaches httplib's logger: it is
  // counted and logged here, under one label.
  EdgeLimits with_gate_log(EdgeLimits limits, bool log) {
    limits.on_gate_answer = [this, log, also = std::move(limits.on_gate_answer)](int status) {
      metrics.observe_request("edge", status, 0);
      if (log) access_log::write("-", "edge", status, 0, 0);
      if (also) also(status);
    };
    return limits;
  }
  Ledger* ledger;
  Outbox outbox;
  HttpServerOptions options;
  Metrics metrics;  // before server: the gate's callback counts into it
  EdgeServer server;
  std::atomic<int> listen_fd{-1};
  PageHandler pages;
  std::string form_prefix;
  FormPageHandler form_pages;
};

HttpServer::HttpServer(Ledger* ledger, Bot* bot, HttpServerOptions options, WebhookWiring webhooks) {
  EdgeLimits limits = options;  // the edge's part of the options
  impl_ = std::make_unique<Impl>(ledger, std::move(limits), options.log_requests);
  Impl* impl = impl_.get();
  impl_->options = options;
  auto& svr = impl_->server;

  // Without TCP_NODELAY Nagle and delayed ACKs cost 40 ms a response.
  svr.set_tcp_nodelay(true);
  svr.set_socket_options([impl](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_fd.store(fd);
  });

  install_guards(svr);
  install_logger(svr, &impl->metrics, options.log_requests, webhooks);
  install_routes(svr, &impl->metrics, ledger, bot, webhooks);
}

HttpServer::~HttpServer() = default;

void HttpServer::serve_pages(PageHandler pages) { impl_->pages = std::move(pages); }
void HttpServer::serve_form_pages(std::string prefix, FormPageHandler pages) {
  impl_->form_prefix = std::move(prefix);
  impl_->form_pages = std::move(pages);
}

static void send_page(httplib::Response& res, PageAnswer& answer) {
  res.status = answer.status;
  for (const auto& [name, value] : answer.headers) res.set_header(name, value);
  res.set_header("Content-Type", answer.content_type);
  res.body = std::move(answer.body);  // set_content would copy a page
}

// Registered at listen(), before the catch-all GET of the public pages.
static void install_form_pages(httplib::Server& svr, const std::string& prefix, const FormPageHandler& pages) {
  std::string pattern;
  for (char c : prefix) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern += "(/.*)?";
  auto handler = [pages](const httplib::Request& req, httplib::Response& res) {
    FormRequest r{req.method == "HEAD" ? "GET" : req.method, req.path, {}, req.get_header_value("Cookie")};
    for (const auto& [k, v] : req.params) r.params.emplace(k, v);
    auto answer = pages(r);
    if (!answer) {
      res.status = 404;  // the error handler writes the JSON body
      return;
    }
    send_page(res, *answer);
  };
  svr.Get(pattern, handler);
  svr.Post(pattern, handler);
}

// Registered last, at listen(), when every route group has registered its own: httplib
// tries handlers in order, so this one sees only what no route claimed.
static void install_pages(httplib::Server& svr, const PageHandler& pages) {
  svr.Get(".*", [pages](const httplib::Request& req, httplib::Response& res) {
    auto answer = pages(req.path);
    if (!answer) {
      res.status = 404;  // the error handler writes the JSON body
      return;
    }
    send_page(res, *answer);
  });
}

Result<int> HttpServer::bind() {
  int port = impl_->options.port;
  if (port == 0) {
    port = impl_->server.bind_to_any_port(impl_->options.host);
    if (port <= 0) return unavailable("cannot bind " + impl_->options.host);
  } else if (!impl_->server.bind_to_port(impl_->options.host, port)) {
    return unavailable("cannot bind " + impl_->options.host + ":" + std::to_string(port) + " (in use?)");
  }
  // httplib hard-codes a backlog of 5: under reconnect storms the kernel drops
  // SYNs and clients stall for a second. Listen again with a real backlog.
  int fd = impl_->listen_fd.load();
  if (fd >= 0) ::listen(fd, 1024);
  return port;
}

bool HttpServer::listen() {
  if (impl_->form_pages) install_form_pages(impl_->server, impl_->form_prefix, impl_->form_pages);
  if (impl_->pages) install_pages(impl_->server, impl_->pages);
  return impl_->server.listen_after_bind();
}
void HttpServer::stop() { impl_->server.stop(); }
bool HttpServer::is_running() const { return impl_->server.is_running(); }
httplib::Server& HttpServer::routes() { return impl_->server; }
Metrics& HttpServer::metrics() { return impl_->metrics; }

}  // namespace sunledger
