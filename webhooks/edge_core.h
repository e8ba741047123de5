// The edge's machinery behind EdgeServer (webhooks/http_edge.h): one gate
// thread, the workers and a shedder. httplib's listen() creates it as its
// "task queue" and deletes it when listen() ends. Private to webhooks/.
//
// Its methods are defined by job: edge_core.cc (lifetime, accepting, closing,
// output accounting), edge_gate.cc (the gate thread), edge_workers.cc (the
// workers and the shedder).
//
// Ownership: holds a reference to its EdgeServer, which outlives it; owns
// every connection it adopted (a Conn is in exactly one place: the gate's
// table, the inbox, a job queue or a worker's hands). Thread safety: adopt()
// from httplib's accepting thread, shutdown() from the thread that ran
// listen(); everything else runs on its own threads, sharing only what the
// mutexes below guard and the atomics.
#pragma once

#include <atomic>
#include <condition_variable>
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
// The stream of the request this worker thread is answering (null between
// requests), for EdgeServer's post-routing handler; and whether that request
// is shed (answered 503 by the pre-routing handler).
extern thread_local ConnStream* tl_stream;
extern thread_local bool tl_shedding;
}  // namespace edge

class EdgeServer::Core final : public httplib::TaskQueue {
 public:
  using Conn = edge::Conn;
  using Clock = edge::Clock;

  Core(EdgeServer& server, const EdgeLimits& limits);
  ~Core() override;

  // httplib's accept loop hands each new socket here; running it inline keeps
  // the accepting thread from ever waiting on a client.
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override;
  // From the accepting thread: a new socket for the gate, or 503 and closed
  // when there are too many connections (in all, or of its client).
  void adopt(int fd);

 private:
  // --- edge_core.cc ---------------------------------------------------------
  void wake();
  void close_conn(Conn* c);
  void release_client(const std::string& client);
  // What a connection's answers hold unread (what the gate still has to
  // write, and the kernel's send queue) is counted against its client
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

  // --- edge_gate.cc: the gate thread ---------------------------------------
  void gate_loop();
  void arm(Conn& c, bool add);
  void park(std::unique_ptr<Conn> c, bool add);
  void take_inbox(Clock::time_point now);
  void resume(std::unique_ptr<Conn> c, Clock::time_point now);
  void decide(std::unique_ptr<Conn> c, Clock::time_point now);
  void answer_and_linger(std::unique_ptr<Conn> c, int status, Clock::time_point now);
  void on_event(int fd, uint32_t events, Clock::time_point now);
  void on_writable(std::unique_ptr<Conn> c, Clock::time_point now);
  void on_room(std::unique_ptr<Conn> c, uint32_t events, Clock::time_point now);
  void on_linger(std::unique_ptr<Conn> c);
  void on_readable(std::unique_ptr<Conn> c, Clock::time_point now);
  void recount_unread(Clock::time_point now);
  void expire(Clock::time_point now);

  // --- edge_workers.cc: the workers and the shedder ---------------------------
  void dispatch(std::unique_ptr<Conn> c);
  void give_back(Conn* c);
  void work(bool shedder);
  void serve(Conn* c, bool shed);
  bool answer_one(Conn& c, bool shed);
  bool finish_answer(Conn* c, bool keep);
  void take_pipelined(Conn* c);

  EdgeServer& server_;
  const EdgeLimits limits_;
  int epoll_ = -1, wake_ = -1;
  std::atomic<bool> stopping_{false};
  bool shut_down_ = false;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> output_total_{0};  // answer bytes held unread, all connections

  // Gate thread only.
  std::thread gate_;
  std::unordered_map<int, std::unique_ptr<Conn>> table_;
  char scratch_[16 * 1024];

  std::mutex inbox_mu_;
  std::vector<std::pair<int, std::string>> new_fds_;  // with their client keys
  std::vector<Conn*> returned_;

  // What each client (by client key) holds: connections, and answer bytes unread.
  struct ClientUse {
    size_t connections = 0;
    size_t output = 0;
  };
  std::mutex clients_mu_;
  std::unordered_map<std::string, ClientUse> per_client_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_, shed_cv_;
  std::deque<Conn*> jobs_, shed_;
  bool jobs_stop_ = false;
  std::vector<std::thread> workers_;
  std::thread shedder_;
};

}  // namespace sunledger
