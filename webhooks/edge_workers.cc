// Running requests in EdgeServer::Core (webhooks/edge_core.h): on the loop
// thread that read them, within the handler slots, else queued or shed. Each
// runs through httplib, which renders the answer into memory; the thread sends
// what the socket takes at once and never waits for a client.
#include <sys/socket.h>

#include <algorithm>

#include "webhooks/edge_core.h"
#include "webhooks/edge_framing.h"

namespace sunledger {

namespace edge {
thread_local ConnStream* tl_stream = nullptr;
thread_local bool tl_shedding = false;
}  // namespace edge

using namespace edge;

// c's request is whole: it runs here when a handler slot is free; otherwise
// it waits in the queue for the next slot, or, with the queue full, is
// answered 503 at once. The thread then runs the queue's requests until none
// is left, and only then gives its slot back (the queue is never left with
// every slot free).
void EdgeServer::Core::run_ready(Conn* c) {
  {
    std::unique_lock<std::mutex> lock(jobs_mu_);
    if (busy_ >= slots_) {
      if (jobs_.size() < limits_.max_queued_requests) {
        jobs_.push_back(c);
        return;
      }
      lock.unlock();
      return serve(c, true);
    }
    ++busy_;
  }
  serve_timed(c);
  for (;;) {
    Conn* next;
    {
      std::lock_guard<std::mutex> lock(jobs_mu_);
      if (jobs_.empty()) {
        --busy_;
        return;
      }
      next = jobs_.front();
      jobs_.pop_front();
    }
    serve_timed(next);
  }
}

// serve(), timed for the sweeper's watch_handlers.
void EdgeServer::Core::serve_timed(Conn* c) {
  std::atomic<int64_t>& since = handler_since_[tl_loop_index];
  int64_t started = std::max<int64_t>(1, Clock::now().time_since_epoch().count());
  since.store(started, std::memory_order_relaxed);
  // seq_cst, against the sweeper's store of watch_idle_ then scan (sweep_loop).
  handler_last_[tl_loop_index].store(started);
  if (watch_idle_.load() && watch_idle_.exchange(false)) {
    std::lock_guard<std::mutex> lock(sweep_mu_);  // the sweeper is waiting, or about to
    sweep_cv_.notify_one();
  }
  serve(c, false);
  since.store(0, std::memory_order_relaxed);
}

void EdgeServer::Core::stand_by_if_surplus() {
  if (active_.load() <= target_.load()) return;
  std::unique_lock<std::mutex> lock(standby_mu_);
  if (active_.load() <= target_.load()) return;
  active_.fetch_sub(1);
  standby_cv_.wait(lock, [this] { return stopping_.load() || active_.load() < target_.load(); });
  active_.fetch_add(1);
}

bool EdgeServer::Core::watch_handlers(Clock::time_point now) {
  const int64_t slow_since = (now - kSlowHandler).time_since_epoch().count();
  const int64_t busy_since = (now - kBusyWindow).time_since_epoch().count();
  size_t slow = 0;
  bool busy = false;
  for (size_t i = 0; i < slots_ + kIoThreads; ++i) {
    int64_t since = handler_since_[i].load(std::memory_order_relaxed);
    if (since != 0 && since <= slow_since) ++slow;
    busy = busy || since != 0 || handler_last_[i].load() >= busy_since;
  }
  size_t want = pollers_ + slow;
  if (want == target_.load()) return busy;
  bool more;
  {
    std::lock_guard<std::mutex> lock(standby_mu_);
    more = want > target_.load();
    target_.store(want);
  }
  if (more) standby_cv_.notify_all();
  return busy;
}

// From a thread holding a slot: c's next request goes behind those waiting
// (the thread's own loop in run_ready takes it), or is shed when they fill
// the queue.
void EdgeServer::Core::requeue(Conn* c) {
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    if (jobs_.size() < limits_.max_queued_requests) {
      jobs_.push_back(c);
      return;
    }
  }
  serve(c, true);
}

// Answers c's ready request; then the connection waits for its next request
// (or room to write the rest of the answer, or lingers before the close), or
// the next one, already whole, is queued.
void EdgeServer::Core::serve(Conn* c, bool shed) {
  bool keep = answer_one(*c, shed);
  if (!finish_answer(c, keep)) return;
  resume(c, Clock::now(), true);
}

// Runs c's ready request through httplib, which renders the answer into
// c.out; returns whether the connection may be kept for a next request.
bool EdgeServer::Core::answer_one(Conn& c, bool shed) {
  // A client whose unread answers fill its share (or everyone's fill the
  // server's) gets 503 until it reads them.
  bool shedding = shed || output_full(c.client);
  ConnStream stream(c);
  // A half-closed client's last buffered request is its last: answered
  // with Connection: close.
  bool last_of_closed = c.peer_closed && c.buffered() <= c.head_len + c.body_len;
  bool close = c.refuse || shedding || stopping_.load() || last_of_closed || c.served + 1 >= limits_.keep_alive_max_count;
  bool closed_by_client = false;
  tl_stream = &stream;
  tl_shedding = shedding;
  bool ok = server_.run_request(stream, close, closed_by_client);
  tl_stream = nullptr;
  tl_shedding = false;
  ++c.served;
  c.fresh = false;
  // The connection is kept only when httplib read exactly the request the
  // edge delimited: anything else left unread could be taken for a
  // request. (The post-routing handler has then said Connection: close.)
  bool keep = ok && !close && !closed_by_client && !stream.closing() && stream.request_consumed();
  if (keep) {
    c.pos += stream.consumed();
    c.start_next_request();
    c.phase = Conn::Phase::kIdle;
  } else {
    c.buf.clear();
    c.buf.shrink_to_fit();
    c.pos = 0;
  }
  return keep;
}

// Sends what the socket takes of the answer. True when all of it went and
// the connection is kept (the caller goes on); otherwise c is parked (with
// the rest of the answer, written as the client makes room, or to linger
// before the close) or closed (the client is gone).
bool EdgeServer::Core::finish_answer(Conn* c, bool keep) {
  size_t written = 0;
  Wrote w = write_some(*c, written);
  if (w == Wrote::kFailed) {
    close_conn(c);
    return false;
  }
  recount_output(*c);
  Clock::time_point now = Clock::now();
  if (w == Wrote::kSome) {
    // The client reads slower than the answer was made: the rest goes out
    // as it makes room, and this thread is free for the next request.
    c->phase = Conn::Phase::kWrite;
    c->close_after_write = !keep;
    c->write_deadline = now + limits_.answer_deadline;
    c->last_progress = now;
    park(c);
    return false;
  }
  if (!keep) {
    finish_closing(c, now, true);
    return false;
  }
  return true;
}

}  // namespace sunledger
