// The connection gate in front of cpp-httplib.
//
// Debian's cpp-httplib 0.11.4 gives every connection a worker thread for as
// long as it stays open, and its timeouts are per read: a client sending one
// header byte every few seconds holds a worker for ever, and a few hundred of
// them starve everyone else. Its keep-alive loop also leaves a refused
// request's unread body on the connection, to be parsed as the next request.
//
// EdgeServer keeps httplib's parser, routing and handlers but owns the
// connections (the threading model is described in webhooks/edge_core.h):
//  - every connection waits in one epoll set, holding no thread; the thread
//    epoll wakes for it reads it into the connection's own buffer until the
//    whole request head (at most max_header_bytes) and, when it declares a
//    Content-Length within the body cap, the whole body have arrived; the head
//    must arrive within header_deadline and the body within body_deadline in
//    total, however the bytes trickle in (a sweeper thread enforces these);
//  - only then is the request run, by that same thread when a handler slot
//    is free (else it is queued for one, or shed with 503): httplib parses it
//    from the buffer (it never reads the socket) and renders the answer into
//    memory; the thread sends what the socket takes at once and never waits
//    for a client: the rest is written as the client makes room, within
//    answer_deadline for the whole answer;
//  - a keep-alive connection then waits in epoll for its next request; a
//    next request the client already sent whole (pipelining) joins the back
//    of the queue, one at a time, and only once at most
//    max_unread_answer_bytes of the answers before it are unread, counting
//    the kernel's send queue (SIOCOUTQ): a client that pipelines and never
//    reads gets a few answers rendered, not a send buffer's worth;
//  - what the kernel holds of the answers counts in the client's and the
//    server's output shares, like what the edge holds;
//  - a request whose body is not read before it is answered (chunked, over the
//    cap, refused before routing, a GET with a body, malformed) is answered
//    with "Connection: close" and the connection closed, so that body can
//    never be taken for a next request.
//
// The code is split by job: edge_framing (reading a request head),
// edge_connection (one connection and the stream httplib sees), edge_core
// (lifetime, the connection table, connection and output accounting),
// edge_gate (a loop thread's reads and writes, the sweeper's deadlines),
// edge_workers (running requests: slots, queue, shedding); http_edge.cc holds
// the httplib hooks.
//
// Ownership: EdgeServer takes its limits by value and owns every connection
// it accepts (closed by stop() at the latest). Thread safety: construct and
// configure from one thread; listen() runs the loop threads until stop(),
// which may come from another thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "webhooks/edge_limits.h"

namespace sunledger {

namespace edge {
class ConnStream;
}

class EdgeServer final : public httplib::Server {
 public:
  explicit EdgeServer(EdgeLimits limits);
  ~EdgeServer() override;

  // True while this thread answers a request shed (every handler slot busy
  // and the queue full, or the unsent answers of its client, or of all, at their
  // cap): the pre-routing handler answers it 503.
  static bool shedding();

  // The request's header `name` (any case) as
  // req.get_header_value gives it, and whether it has one as req.has_header
  // says: while the edge runs the request, read from its index of the head
  // (no std::map, no tolower: issue #18), else (or when the head alone cannot
  // tell) from httplib's map. A header the hooks set or erase (Content-Length,
  // Expect, Range) only before they do: this is what the client sent.
  static std::string header_value(const httplib::Request& req, std::string_view name);
  static bool has_header(const httplib::Request& req, std::string_view name);

  // The edge uses the post-routing handler itself (to close connections
  // whose request was not read to its end).
  Server& set_post_routing_handler(Handler) = delete;

  // The edge's own path (webhooks/edge_fast.cc, issue #18): a plain
  // "POST <prefix><tail>" (tail non-empty, no '/') is answered without
  // httplib's request handling (its header map, its reading and writing),
  // the answer byte for byte what httplib would give: the handlers below
  // run as httplib runs them, then `handler` with the tail, which must be
  // what the route "<prefix>([^/]+)" that httplib would pick does with
  // matches[1], and may read of the request only its method, target, path,
  // body, addresses, and headers through header_value/has_header. Whatever
  // the head alone cannot settle goes to httplib unchanged. One prefix.
  using FastHandler = std::function<void(std::string_view tail, const httplib::Request&, httplib::Response&)>;
  void set_fast_post(std::string prefix, FastHandler handler);
  // And a plain "GET <path>" (the query, if any, left unread by `handler`),
  // which must be the first GET route httplib would match for that path.
  void set_fast_get(std::string path, Handler handler);
  // On by default; tests turn it off to compare both paths' answers.
  void set_fast_path(bool on) { fast_on_.store(on); }
  // Requests answered by the edge's own path so far.
  size_t fast_answers() const { return fast_answers_.load(); }

  // httplib would add default headers to every answer; the edge's own path
  // does not, so none may be set.
  Server& set_default_headers(httplib::Headers) = delete;

  // Kept by the edge too, for its own path; the same handlers httplib runs.
  // Set them on the EdgeServer (a call through httplib::Server& would reach
  // httplib alone).
  Server& set_pre_routing_handler(HandlerWithResponse handler);
  Server& set_error_handler(Handler handler);
  Server& set_exception_handler(ExceptionHandler handler);
  Server& set_logger(httplib::Logger logger);

  class Core;

 private:
  friend class Core;
  // httplib's accept loop calls this (through the task queue) for each new
  // socket: it is parked in the edge's epoll set, waiting for its bytes.
  bool process_and_close_socket(socket_t sock) override;
  bool run_request(httplib::Stream& stream, bool close_connection, bool& connection_closed);
  // The request on `stream` answered by the edge's own path: whether the
  // connection may be kept (as process_request returns); nullopt when it is
  // not one the path takes (nothing read or written then).
  std::optional<bool> serve_fast(edge::ConnStream& stream, bool close_connection, bool& connection_closed);

  EdgeLimits limits_;
  std::string fast_prefix_;
  FastHandler fast_handler_;
  std::string fast_get_path_;
  Handler fast_get_;
  std::atomic<bool> fast_on_{true};
  std::atomic<size_t> fast_answers_{0};
  HandlerWithResponse fast_pre_routing_;
  Handler fast_error_;
  ExceptionHandler fast_exception_;
  httplib::Logger fast_logger_;
  std::atomic<Core*> core_{nullptr};
};

}  // namespace sunledger
