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
#include <string>
#include <string_view>

#include "webhooks/edge_limits.h"

namespace sunledger {

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

  class Core;

 private:
  friend class Core;
  // httplib's accept loop calls this (through the task queue) for each new
  // socket: it is parked in the edge's epoll set, waiting for its bytes.
  bool process_and_close_socket(socket_t sock) override;
  bool run_request(httplib::Stream& stream, bool close_connection, bool& connection_closed);

  EdgeLimits limits_;
  std::atomic<Core*> core_{nullptr};
};

}  // namespace sunledger
