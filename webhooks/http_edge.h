// The connection gate in front of cpp-httplib.
//
// Debian's cpp-httplib 0.11.4 gives every connection a worker thread for as
// long as it stays open, and its timeouts are per read: a client sending one
// header byte every few seconds holds a worker for ever, and a few hundred of
// them starve everyone else. Its keep-alive loop also leaves a refused
// request's unread body on the connection, to be parsed as the next request.
//
// EdgeServer keeps httplib's parser, routing and handlers but owns the
// connections:
//  - one "gate" thread (epoll) reads every connection into its own buffer
//    until the whole request head (at most max_header_bytes) and, when it
//    declares a Content-Length within the body cap, the whole body have
//    arrived; the head must arrive within header_deadline and the body within
//    body_deadline in total, however the bytes trickle in;
//  - only then is the request handed to a worker, which parses it from the
//    buffer (it never reads the socket) and renders the answer into memory;
//    it sends what the socket takes at once and never waits for a client:
//    the rest goes back to the gate, which writes it as the client makes
//    room, within answer_deadline for the whole answer;
//  - a keep-alive connection then goes back to the gate (its next request
//    is read once its answer is out), and its worker to the next ready
//    request; a next request the client already sent whole (pipelining)
//    joins the back of the queue, one at a time, and only once at most
//    max_unread_answer_bytes of the answers before it are unread, counting
//    the kernel's send queue (SIOCOUTQ): a client that pipelines and never
//    reads gets a few answers rendered, not a send buffer's worth;
//  - what the kernel holds of the answers counts in the client's and the
//    server's output shares, like what the gate holds;
//  - a request whose body is not read before it is answered (chunked, over the
//    cap, refused before routing, a GET with a body, malformed) is answered
//    with "Connection: close" and the connection closed, so that body can
//    never be taken for a next request.
//
// The code is split by job: edge_framing (reading a request head),
// edge_connection (one connection and the stream a worker sees), edge_core
// (lifetime, connection and output accounting), edge_gate (the gate thread),
// edge_workers (the workers and the shedder); http_edge.cc holds the httplib
// hooks.
//
// Ownership: EdgeServer takes its limits by value and owns every connection
// it accepts (closed by stop() at the latest). Thread safety: construct and
// configure from one thread; listen() runs the gate and the workers until
// stop(), which may come from another thread.
#pragma once

#include <httplib.h>

#include <atomic>

#include "webhooks/edge_limits.h"

namespace sunledger {

class EdgeServer final : public httplib::Server {
 public:
  explicit EdgeServer(EdgeLimits limits);
  ~EdgeServer() override;

  // True while this thread answers a request shed (every worker busy and the
  // queue full, or the unsent answers of its client, or of all, at their
  // cap): the pre-routing handler answers it 503.
  static bool shedding();

  // The edge uses the post-routing handler itself (to close connections
  // whose request was not read to its end).
  Server& set_post_routing_handler(Handler) = delete;

  class Core;

 private:
  friend class Core;
  // httplib's accept loop calls this (through the task queue) for each new
  // socket: it goes to the gate, never to a worker.
  bool process_and_close_socket(socket_t sock) override;
  bool run_request(httplib::Stream& stream, bool close_connection, bool& connection_closed);

  EdgeLimits limits_;
  std::atomic<Core*> core_{nullptr};
};

}  // namespace sunledger
