// The workers and the shedder of EdgeServer::Core (webhooks/edge_core.h): each
// runs complete requests through httplib, renders the answer into memory and
// never waits for a client.
#include <sys/socket.h>

#include "webhooks/edge_core.h"
#include "webhooks/edge_framing.h"

namespace sunledger {

namespace edge {
thread_local ConnStream* tl_stream = nullptr;
thread_local bool tl_shedding = false;
}  // namespace edge

using namespace edge;

void EdgeServer::Core::dispatch(std::unique_ptr<Conn> c) {
  bool shed;
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    shed = jobs_.size() >= limits_.max_queued_requests;
    (shed ? shed_ : jobs_).push_back(c.release());
  }
  (shed ? shed_cv_ : jobs_cv_).notify_one();
}

// Back to the gate (after a worker): waiting for the next request, for
// room to write the rest of its answer, or lingering before the close.
void EdgeServer::Core::give_back(Conn* c) {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    returned_.push_back(c);
  }
  wake();
}

void EdgeServer::Core::work(bool shedder) {
  auto& queue = shedder ? shed_ : jobs_;
  auto& cv = shedder ? shed_cv_ : jobs_cv_;
  for (;;) {
    Conn* c;
    {
      std::unique_lock<std::mutex> lock(jobs_mu_);
      cv.wait(lock, [&] { return !queue.empty() || jobs_stop_; });
      if (queue.empty()) return;  // stopping, and nothing left to answer
      c = queue.front();
      queue.pop_front();
    }
    serve(c, shedder);
  }
}

// Answers c's ready request, then gives the connection back to the gate or,
// when the client already sent its next request whole (pipelining), queues
// that one behind every request already waiting: a connection's pipelined
// requests hold one place in the queue at a time, and are shed like anyone
// else's when it is full. (Run in a row on one worker, 256 connections with
// requests to spare held every worker and kept the queue full of them.)
void EdgeServer::Core::serve(Conn* c, bool shed) {
  bool keep = answer_one(*c, shed);
  if (!finish_answer(c, keep)) return;
  if (c->buffered() == 0) return give_back(c);
  take_pipelined(c);
}

// Runs c's ready request through httplib, which renders the answer into
// c.out; returns whether the connection may be kept for a next request.
bool EdgeServer::Core::answer_one(Conn& c, bool shed) {
  // A client whose unread answers fill its share (or everyone's fill the
  // server's) gets 503 until it reads them.
  bool shedding = shed || output_full(c.client);
  ConnStream stream(c);
  bool close = c.refuse || shedding || stopping_.load() || c.served + 1 >= limits_.keep_alive_max_count;
  bool closed_by_client = false;
  tl_stream = &stream;
  tl_shedding = shedding;
  bool ok = server_.run_request(stream, close, closed_by_client);
  tl_stream = nullptr;
  tl_shedding = false;
  ++c.served;
  c.fresh = false;
  // The connection is kept only when httplib read exactly the request the
  // gate delimited: anything else left unread could be taken for a
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
// the connection is kept (the caller goes on); otherwise c is handed to the
// gate (with the rest of the answer, or to linger before the close) or
// closed (the client is gone).
bool EdgeServer::Core::finish_answer(Conn* c, bool keep) {
  size_t written = 0;
  Wrote w = write_some(*c, written);
  if (w == Wrote::kFailed) {
    close_conn(c);
    return false;
  }
  recount_output(*c);
  if (w == Wrote::kSome) {
    // The client reads slower than the answer was made: the gate writes
    // the rest, and this worker is free for the next request.
    Clock::time_point now = Clock::now();
    c->phase = Conn::Phase::kWrite;
    c->close_after_write = !keep;
    c->write_deadline = now + limits_.answer_deadline;
    c->last_progress = now;
    give_back(c);
    return false;
  }
  if (!keep) {
    ::shutdown(c->fd, SHUT_WR);
    c->phase = Conn::Phase::kLinger;
    give_back(c);
    return false;
  }
  return true;
}

// Pipelined bytes: another whole request goes to the queue, unless more
// than max_unread_answer_bytes of the answers before it are unread (it then
// waits in the gate for the client to read them); anything less than a whole
// request waits in the gate, and a bad head is answered here and the
// connection closed.
void EdgeServer::Core::take_pipelined(Conn* c) {
  Clock::time_point now = Clock::now();
  c->phase = Conn::Phase::kHead;
  Parse next = advance(*c, limits_, now);
  if (next == Parse::kReady) {
    if (!answers_unread(*c)) return dispatch(std::unique_ptr<Conn>(c));
    await_reader(*c, now);
  } else if (next != Parse::kNeedMore) {
    int status = next == Parse::kHeadTooLarge ? 431 : 400;
    send_nonblocking(c->fd, canned_answer(status));
    if (limits_.on_gate_answer) limits_.on_gate_answer(status);
    ::shutdown(c->fd, SHUT_WR);
    c->phase = Conn::Phase::kLinger;
    c->buf.clear();
    c->pos = 0;
  }
  give_back(c);
}

}  // namespace sunledger
