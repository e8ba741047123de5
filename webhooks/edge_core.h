// The edge's machinery behind EdgeServer (webhooks/http_edge.h): the loop
// threads, the sweeper and the connection table. httplib's listen() creates
// it as its "task queue" and deletes it when listen() ends. Private to
// webhooks/.
//
// Its methods are defined by job: edge_core.cc (lifetime, accepting, the
// table, closing, output accounting), edge_gate.cc (what a loop thread does
// with a connection's bytes and room, and the sweeper's deadlines),
// edge_workers.cc (running requests: handler slots, the queue, shedding).
//
// The model (leader/follower on one epoll set): every connection is in the
// epoll set with EPOLLONESHOT, so an event hands it to exactly one of the loop
// threads waiting in epoll_wait. That thread reads the request, runs it,
// writes the answer and re-arms the connection: in the common case a request
// crosses no thread (before, the gate thread read it, a worker ran it, and the
// gate took it back: a condvar and an eventfd per request, and a third of the
// server's CPU in task switching and futex).
//
// Slow handlers (a durable write waits for fdatasync, 100-300 ms now and then
// on this disk) must not stall every reader, so running a request takes a
// handler slot: at most worker_threads requests run at once, and there are
// kIoThreads more loop threads than slots. A thread that reads a whole request
// while every slot is taken queues it (up to max_queued_requests) or sheds it
// (503) at once, and a thread that finishes a request runs what is queued
// before it gives its slot back; so the connections whose requests do not
// block keep being read, answered, queued or shed by the free threads, and
// the limits of the gate-and-workers model stay as they were.
//
// Not every thread waits in epoll, though: each event wakes a sleeping waiter,
// so with 34 of them every request woke a thread of its own, and on 2 cores
// under load the woken threads queued for the CPU (signed query p99 25.9 ms
// against 6.9 ms with four; bench/run-wrk.sh peer, 2026-12-01, load 7). Only
// pollers_ threads (the cores, at least two, plus kIoThreads) are active; the
// rest stand by on a condition variable. The sweeper looks every 2 ms for handlers running
// longer than kSlowHandler (a write waiting on fdatasync) and wakes one
// standby thread for each, so the active threads free for reading stay at
// pollers_ whatever blocks; a thread back from its slow handler stands by
// again when there are more active threads than that.
//
// Ownership: holds a reference to its EdgeServer, which outlives it; owns
// every connection it adopted. A Conn is either parked (in the table, armed in
// epoll, owned by nobody) or owned by exactly one thread: the loop thread
// epoll gave it to, the sweeper that claimed it, or the job queue. Thread
// safety: adopt() from httplib's accepting thread, shutdown() from the thread
// that ran listen(); everything else runs on its own threads, sharing only
// what the mutexes below guard and the atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "webhooks/edge_connection.h"
#include "webhooks/http_edge.h"

namespace sunledger {

namespace edge {
// The stream of the request this thread is answering (null between
// requests), for EdgeServer's post-routing handler; and whether that request
// is shed (answered 503 by the pre-routing handler).
extern thread_local ConnStream* tl_stream;
extern thread_local bool tl_shedding;
// Which loop thread this is (0 on other threads), for the handler timings.
extern thread_local size_t tl_loop_index;
}  // namespace edge

class EdgeServer::Core final : public httplib::TaskQueue {
 public:
  using Conn = edge::Conn;
  using Clock = edge::Clock;

  // Loop threads beyond the handler slots: they read, write, queue and shed
  // while every slot waits in a handler.
  static constexpr size_t kIoThreads = 2;
  // The eventfd's key in epoll: no connection's (a descriptor is never ~0u).
  static constexpr uint64_t kWakeKey = ~uint64_t{0};
  // A handler running this long is taken to be blocked (on fdatasync, most
  // likely): another thread is woken to read in its place.
  static constexpr std::chrono::milliseconds kSlowHandler{2};
  static constexpr std::chrono::milliseconds kBusyWindow{100};

  Core(EdgeServer& server, const EdgeLimits& limits);
  ~Core() override;

  // httplib's accept loop hands each new socket here; running it inline keeps
  // the accepting thread from ever waiting on a client.
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override;
  // From the accepting thread: a new socket, parked waiting for its first
  // bytes, or 503 and closed when there are too many connections (in all, or
  // of its client).
  void adopt(int fd);

 private:
  // --- edge_core.cc ---------------------------------------------------------
  // The connection an epoll event (its key) is for, now owned by the caller;
  // null when it is gone or another thread owns it (a stale event).
  Conn* claim(uint64_t key);
  // Gives c back to the table, armed for what its phase waits for.
  void park(Conn* c);
  void arm(Conn& c, int op);
  void close_conn(Conn* c);
  void release_client(const std::string& client);
  // What a connection's answers hold unread (what is still to write, and the
  // kernel's send queue) is counted against its client
  // (max_output_per_client) and the server (max_output_total). A request run
  // while either is full is shed (503): the memory clients that do not read
  // can hold is bounded, and one client's slow reads fill only its own share.
  // settle_output sets c's charge to `held`; recount_output looks again.
  void settle_output(Conn& c, size_t held);
  size_t recount_output(Conn& c);
  bool output_full(const std::string& client);
  // Whether more than max_unread_answer_bytes of c's answers are unread: its
  // next request then waits (await_reader) until the client reads them.
  bool answers_unread(Conn& c);
  void await_reader(Conn& c, Clock::time_point now);
  void drain(const std::vector<Conn*>& conns, Clock::time_point deadline);

  // --- edge_gate.cc: a loop thread's I/O, and the sweeper --------------------
  void loop(size_t index);
  void on_event(Conn* c, uint32_t events, Clock::time_point now);
  void resume(Conn* c, Clock::time_point now, bool holding_slot);
  void decide(Conn* c, Clock::time_point now, bool holding_slot);
  void answer_and_linger(Conn* c, int status, Clock::time_point now);
  // The last byte of a closing answer is with the kernel: our side is shut
  // for writing, and c waits (kFlush) until the client has taken the kernel's
  // queue, then lingers or, if the client has closed too, is closed.
  // `fresh_deadline`: the answer went out at once, its write deadlines start now.
  void finish_closing(Conn* c, Clock::time_point now, bool fresh_deadline);
  void linger_or_close(Conn* c, Clock::time_point now);
  void on_writable(Conn* c, Clock::time_point now);
  void on_room(Conn* c, uint32_t events, Clock::time_point now);
  void on_linger(Conn* c);
  void on_readable(Conn* c, Clock::time_point now);
  void sweep_loop();
  void recount_unread(Clock::time_point now);
  void expire(Clock::time_point now);

  // --- edge_workers.cc: running requests -------------------------------------
  void run_ready(Conn* c);
  void requeue(Conn* c);
  void serve(Conn* c, bool shed);
  bool answer_one(Conn& c, bool shed);
  bool finish_answer(Conn* c, bool keep);
  void serve_timed(Conn* c);
  // Between events, a loop thread beyond the target waits on standby_cv_.
  void stand_by_if_surplus();
  // The sweeper, every tick: the target is pollers_ plus one thread for
  // each handler running longer than kSlowHandler. Returns whether a handler
  // is running or started within kBusyWindow.
  bool watch_handlers(Clock::time_point now);

  EdgeServer& server_;
  const EdgeLimits limits_;
  const size_t slots_;
  int epoll_ = -1, wake_ = -1;
  std::atomic<bool> stopping_{false};
  bool shut_down_ = false;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> output_total_{0};  // answer bytes held unread, all connections
  std::atomic<uint32_t> next_gen_{1};

  // Every open connection, by descriptor; Conn::parked says whether it waits
  // in epoll (nobody owns it) or a thread has it. Arming in epoll happens
  // under this mutex, so a descriptor is never re-armed after its close.
  std::mutex table_mu_;
  std::unordered_map<int, std::unique_ptr<Conn>> table_;

  // What each client (by client key) holds: connections, and answer bytes unread.
  struct ClientUse {
    size_t connections = 0;
    size_t output = 0;
  };
  std::mutex clients_mu_;
  std::unordered_map<std::string, ClientUse> per_client_;

  // Handler slots in use, and whole requests waiting for one. Non-empty only
  // while every slot is taken: a thread with a slot runs them before it
  // gives the slot back.
  std::mutex jobs_mu_;
  size_t busy_ = 0;
  std::deque<Conn*> jobs_;

  // Loop threads active (not standing by), and how many should be.
  const size_t pollers_;
  std::atomic<size_t> active_{0}, target_{0};
  std::mutex standby_mu_;
  std::condition_variable standby_cv_;
  // Per loop thread: when its running handler began (steady clock ticks),
  // 0 when it runs none.
  std::unique_ptr<std::atomic<int64_t>[]> handler_since_;
  // Per loop thread: when its last handler began.
  std::unique_ptr<std::atomic<int64_t>[]> handler_last_;
  // No handler started for kBusyWindow: the sweeper ticks every 50 ms
  // instead of 2 (an idle server is not woken 500 times a second, 1.4% of a
  // core here), and the next handler to start wakes it.
  std::atomic<bool> watch_idle_{false};

  std::vector<std::thread> loops_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  std::thread sweeper_;
};

}  // namespace sunledger
