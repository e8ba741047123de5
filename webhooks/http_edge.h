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
//    request;
//  - a request whose body is not read before it is answered (chunked, over the
//    cap, refused before routing, a GET with a body, malformed) is answered
//    with "Connection: close" and the connection closed, so that body can
//    never be taken for a next request.
//
// Thread safety: construct and configure from one thread; listen() runs the
// gate and the workers until stop().
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>

namespace sunledger {

struct EdgeLimits {
  // Workers only ever run complete requests (the gate waits for slow
  // clients), so the pool is sized for handler work, not for connections.
  size_t worker_threads = 32;
  // Complete requests waiting for a worker; past this they are answered 503.
  size_t max_queued_requests = 512;
  // Connections held open at once (each costs a descriptor and at most
  // max_header_bytes + max_body_bytes of buffer); past this a new one is
  // answered 503 and closed.
  size_t max_connections = 2048;
  // Connections one client (an IPv4 address, or an IPv6 /64, what one
  // subscriber is given) may hold at once; past this its new one is answered
  // 503 and closed. Without it one client could hold every connection (each
  // re-opened as its deadline runs out) and shut every other client out.
  size_t max_connections_per_client = 256;
  // Loopback clients are not limited per client by default: a reverse proxy
  // on the same host speaks for everybody (limit per client there).
  bool limit_loopback_clients = false;
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  // From the connection's start (or, on a kept-alive connection, from the
  // request's first byte) to the end of its head.
  std::chrono::milliseconds header_deadline{10'000};
  // From the end of the head to the end of the body.
  std::chrono::milliseconds body_deadline{30'000};
  // A kept-alive (or new) connection may stay silent this long between requests.
  std::chrono::milliseconds idle_timeout{5'000};
  // Within a request, the longest silence between two reads.
  std::chrono::milliseconds read_stall{5'000};
  // An answer the client does not take at once is written by the gate: the
  // client must take some of it at least this often, and all of it within
  // answer_deadline (from the end of its rendering); past either the
  // connection is dropped (reset) with the rest unsent.
  std::chrono::milliseconds write_timeout{5'000};
  std::chrono::milliseconds answer_deadline{60'000};
  // Unsent answer bytes held in memory for one client (counted like
  // connections: an IPv4 address or an IPv6 /64, loopback only when
  // limit_loopback_clients) and for all connections together. A request run
  // while its client's share, or the total, is full is answered 503.
  size_t max_output_per_client = 8 * 1024 * 1024;
  size_t max_output_total = 128 * 1024 * 1024;
  // After a closing answer the rest of what the client sends is read and
  // dropped this long, so the close does not turn into a reset that could
  // destroy the answer before the client reads it.
  std::chrono::milliseconds linger{2'000};
  size_t keep_alive_max_count = 10'000;
  // Told of every answer the gate gives itself (400 malformed head, 408 too
  // slow, 431 head too large, 503 too many connections): those never reach
  // httplib's logger. Called from the gate or the accepting thread.
  std::function<void(int status)> on_gate_answer;
};

class EdgeServer final : public httplib::Server {
 public:
  explicit EdgeServer(EdgeLimits limits);
  ~EdgeServer() override;

  // True while this thread answers a request shed because every worker was
  // busy and the queue full: the pre-routing handler answers it 503.
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
