// The limits of the HTTP edge (webhooks/http_edge.h), in a header of their
// own: HttpServerOptions (webhooks/http_server.h) extends them, so each limit
// is described once, and neither needs cpp-httplib to say so.
//
// A plain value: copy it freely; the edge keeps its own copy.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

namespace sunledger {

struct EdgeLimits {
  // Handler slots: requests run at once, each on the thread that read it
  // (webhooks/edge_core.h). Only complete requests run (slow clients wait
  // parked, holding no thread), so this is sized for handler work, not for
  // connections: enough that requests waiting on fdatasync (a durable write,
  // 100-300 ms now and then on a slow disk) leave slots for the others.
  size_t worker_threads = 32;
  // Complete requests waiting for a slot; past this they are answered 503.
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
  // An answer the client does not take at once is written as it makes room:
  // the client must take some of it at least this often, and all of it within
  // answer_deadline (from the end of its rendering); past either the
  // connection is dropped (reset) with the rest unsent.
  std::chrono::milliseconds write_timeout{5'000};
  std::chrono::milliseconds answer_deadline{60'000};
  // Answer bytes not yet taken by the client, held for one client (counted
  // like connections: an IPv4 address or an IPv6 /64, loopback only when
  // limit_loopback_clients) and for all connections together: what the edge
  // still has to write, and what the kernel holds in the socket's send queue
  // unacknowledged (SIOCOUTQ), which is the server's memory just as much (up
  // to a send buffer, megabytes on loopback). A request run while its
  // client's share, or the total, is full is answered 503.
  size_t max_output_per_client = 8 * 1024 * 1024;
  size_t max_output_total = 128 * 1024 * 1024;
  // A connection's next request (pipelined, or sent before the last answer
  // was read) runs only once at most this many bytes of its answers are left
  // unread, in the edge and in the kernel; the kernel, too, queues at most
  // this many unsent bytes per socket (TCP_NOTSENT_LOWAT), and wakes the edge
  // once it has sent most of them. Without it a client that pipelines and
  // never reads had answers rendered until each send buffer was full (some
  // 100,000 entries pages for 256 connections). 64 KiB holds a dozen
  // ordinary answers (a /healthz, a JSON page of a few KB), so a pipelining
  // client that reads is not held up; and max_connections connections at
  // this much each fill no more than max_output_total.
  size_t max_unread_answer_bytes = 64 * 1024;
  // After a closing answer the rest of what the client sends is read and
  // dropped this long, so the close does not turn into a reset that could
  // destroy the answer before the client reads it.
  std::chrono::milliseconds linger{2'000};
  size_t keep_alive_max_count = 10'000;
  // Told of every answer the gate gives itself (400 malformed head, 408 too
  // slow, 431 head too large, 503 too many connections): those never reach
  // httplib's logger. Called from any loop thread, the sweeper or the
  // accepting thread, several at once.
  std::function<void(int status)> on_gate_answer;
};

}  // namespace sunledger
