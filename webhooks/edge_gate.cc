// What a loop thread of EdgeServer::Core (webhooks/edge_core.h) does with a
// connection epoll gave it: reads it until a whole request is there (then
// runs it, edge_workers.cc), writes what an answer's first send did not take,
// drops what a closing connection still sends; and the sweeper, which cuts
// off whoever is too slow.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "webhooks/edge_core.h"
#include "webhooks/edge_framing.h"

namespace sunledger {

using namespace edge;

namespace {
// Where a loop thread reads into before the bytes join a connection's buffer.
thread_local char tl_scratch[16 * 1024];
}  // namespace

namespace edge {
thread_local size_t tl_loop_index = 0;
}  // namespace edge

// One event at a time: a thread that took several would make the others
// wait behind the first one's request, which may be a slow write.
void EdgeServer::Core::loop(size_t index) {
  tl_loop_index = index;
  while (!stopping_.load(std::memory_order_relaxed)) {
    stand_by_if_surplus();
    if (stopping_.load()) break;
    epoll_event ev;
    int n = ::epoll_wait(epoll_, &ev, 1, -1);
    if (n != 1 || ev.data.u64 == kWakeKey) continue;
    Conn* c = claim(ev.data.u64);
    if (c != nullptr) on_event(c, ev.events, Clock::now());
  }
}

void EdgeServer::Core::on_event(Conn* c, uint32_t events, Clock::time_point now) {
  switch (c->phase) {
    case Conn::Phase::kWrite: return on_writable(c, now);
    case Conn::Phase::kUnread: return on_room(c, events, now);
    case Conn::Phase::kLinger: return on_linger(c);
    case Conn::Phase::kFlush: return park(c);  // never armed: the sweeper watches it
    default: return on_readable(c, now);
  }
}

// A kept-alive connection whose answer is out: it waits for its next
// request, or takes the one already buffered.
void EdgeServer::Core::resume(Conn* c, Clock::time_point now, bool holding_slot) {
  c->last_byte = now;
  if (c->buffered() == 0 && c->peer_closed) return finish_closing(c, now, true);
  if (c->buffered() == 0) {
    c->phase = Conn::Phase::kIdle;
    c->idle_deadline = now + limits_.idle_timeout;
    return park(c);
  }
  // Part of a next request came with the last one (pipelining); its head
  // is timed from now. A whole one (left while its answer was written, or
  // while the client had too much of its answers unread) is run, once the
  // client has read most of them.
  if (c->head_len == 0) {
    c->phase = Conn::Phase::kHead;
    c->head_deadline = now + limits_.header_deadline;
  }
  decide(c, now, holding_slot);
}

// A thread that holds a handler slot (it just answered c's last request)
// queues c's next one behind the requests already waiting: a connection's
// pipelined requests hold one place in the queue at a time, and are shed like
// anyone else's when it is full. (Run in a row, 256 connections with requests
// to spare held every slot and kept the queue full of them.)
void EdgeServer::Core::decide(Conn* c, Clock::time_point now, bool holding_slot) {
  switch (advance(*c, limits_, now)) {
    case Parse::kReady:
      if (!answers_unread(*c)) return holding_slot ? requeue(c) : run_ready(c);
      await_reader(*c, now);
      return park(c);
    case Parse::kNeedMore:
      // A half-closed client's unfinished request never will be: what it
      // was answered before still goes out, then the connection closes.
      if (c->peer_closed) return finish_closing(c, now, true);
      return park(c);
    case Parse::kBadRequest: return answer_and_linger(c, 400, now);
    case Parse::kHeadTooLarge: return answer_and_linger(c, 431, now);
  }
}

// The edge answers (400, 408, 431) and closes: the rest of what the client
// sends is read and dropped for `linger`, then the socket is closed.
void EdgeServer::Core::answer_and_linger(Conn* c, int status, Clock::time_point now) {
  send_nonblocking(c->fd, canned_answer(status));
  if (limits_.on_gate_answer) limits_.on_gate_answer(status);
  ::shutdown(c->fd, SHUT_WR);
  c->phase = Conn::Phase::kLinger;
  c->linger_deadline = now + limits_.linger;
  c->buf.clear();
  c->buf.shrink_to_fit();
  c->pos = 0;
  park(c);
}

// Room in the socket for more of an answer its first send did not take.
void EdgeServer::Core::on_writable(Conn* c, Clock::time_point now) {
  size_t written = 0;
  Wrote w = write_some(*c, written);
  if (w == Wrote::kFailed) return close_conn(c);
  recount_output(*c);
  if (w == Wrote::kSome) {
    if (written > 0) c->last_progress = now;
    return park(c);
  }
  if (!c->close_after_write) return resume(c, now, false);
  finish_closing(c, now, false);
}

void EdgeServer::Core::finish_closing(Conn* c, Clock::time_point now, bool fresh_deadline) {
  ::shutdown(c->fd, SHUT_WR);
  if (recount_output(*c) == 0) return linger_or_close(c, now);
  c->phase = Conn::Phase::kFlush;
  if (fresh_deadline) {
    c->write_deadline = now + limits_.answer_deadline;
    c->last_progress = now;
  }
  park(c);
}

void EdgeServer::Core::linger_or_close(Conn* c, Clock::time_point now) {
  if (c->peer_closed) return close_conn(c);  // nothing more will come: a plain close
  c->phase = Conn::Phase::kLinger;
  c->linger_deadline = now + limits_.linger;
  park(c);
}

// The kernel has sent most of what it queued for a connection whose next
// request waits for its client to read (or the client is gone).
void EdgeServer::Core::on_room(Conn* c, uint32_t events, Clock::time_point now) {
  if (events & (EPOLLERR | EPOLLHUP)) return close_conn(c);
  size_t before = c->charged;
  if (recount_output(*c) <= limits_.max_unread_answer_bytes) return resume(c, now, false);
  if (c->charged < before) c->last_progress = now;
  c->wake_on_room = false;  // the rest is in flight: the sweeper looks again
  park(c);
}

// After a closing answer: what the client still sends is dropped.
void EdgeServer::Core::on_linger(Conn* c) {
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c->fd, tl_scratch, sizeof tl_scratch, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close_conn(c);  // the client closed (or failed): done
  }
  park(c);
}

void EdgeServer::Core::on_readable(Conn* c, Clock::time_point now) {
  // Reads what is there, up to what the current request may still need.
  const size_t cap = limits_.max_header_bytes + limits_.max_body_bytes;
  bool got = false, eof = false;
  for (;;) {
    size_t room = cap > c->buffered() ? cap - c->buffered() : 0;
    if (room == 0) break;
    ssize_t n = ::recv(c->fd, tl_scratch, std::min(room, sizeof tl_scratch), 0);
    if (n > 0) {
      c->buf.append(tl_scratch, static_cast<size_t>(n));
      got = true;
      if (static_cast<size_t>(n) < std::min(room, sizeof tl_scratch)) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return close_conn(c);  // failed (reset): nothing to answer, nobody to read
    eof = true;  // half-closed: what it sent is still answered
    break;
  }
  if (got) {
    c->last_byte = now;
    if (c->phase == Conn::Phase::kIdle) {
      c->phase = Conn::Phase::kHead;
      // A new connection's head is timed from its start; a kept-alive one's
      // from its first byte (the idle time before it has its own limit).
      c->head_deadline = (c->fresh ? c->opened : now) + limits_.header_deadline;
    }
  }
  if (eof) {
    c->peer_closed = true;
    // Answers it has not read yet still go out before the close.
    if (c->buffered() == 0) return finish_closing(c, now, true);
  }
  decide(c, now, false);
}

// On a thread of its own that never runs a request (a slow one would delay
// every deadline): every 2 ms it looks for slow handlers (every 50 ms while
// none has started for kBusyWindow), every 50 ms for deadlines and unread
// answers.
void EdgeServer::Core::sweep_loop() {
  std::unique_lock<std::mutex> lock(sweep_mu_);
  Clock::time_point last_sweep = Clock::now();
  while (!stopping_.load()) {
    sweep_cv_.wait_for(lock, std::chrono::milliseconds(watch_idle_.load() ? 50 : 2));
    if (stopping_.load()) break;
    lock.unlock();
    Clock::time_point now = Clock::now();
    // Set before the scan, cleared if it finds a handler: one that starts
    // after the store sees it and wakes the sweeper; one that started before
    // is seen by the scan (both sides seq_cst). Stored after the scan, a
    // handler starting in between would leave the sweeper asleep for 50 ms.
    watch_idle_.store(true);
    if (watch_handlers(now)) watch_idle_.store(false);
    if (now - last_sweep >= std::chrono::milliseconds(50)) {
      recount_unread(now);
      expire(now);
      last_sweep = now;
    }
    lock.lock();
  }
}

// The kernel's queue shrinks as clients read, which epoll does not always
// say: each parked connection holding unread answers is counted again, and
// one whose next request waited for its client is armed for room once the
// client has read most of them (EPOLLOUT then fires at once, and a loop
// thread runs the request: the sweeper runs none).
void EdgeServer::Core::recount_unread(Clock::time_point now) {
  std::vector<Conn*> held;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (auto& entry : table_) {
      Conn* c = entry.second.get();
      if (!c->parked || c->charged == 0) continue;
      c->parked = false;
      held.push_back(c);
    }
  }
  for (Conn* c : held) {
    size_t before = c->charged;
    if (recount_output(*c) < before) c->last_progress = now;
    if (c->phase == Conn::Phase::kUnread && c->charged <= limits_.max_unread_answer_bytes) c->wake_on_room = true;
    // A closing answer all taken by the client: the linger starts now.
    if (c->phase == Conn::Phase::kFlush && c->charged == 0) {
      linger_or_close(c, now);
      continue;
    }
    park(c);
  }
}

// Every 50 ms: parked connections past a deadline.
void EdgeServer::Core::expire(Clock::time_point now) {
  std::vector<Conn*> drop, slow;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (auto& entry : table_) {
      Conn* c = entry.second.get();
      if (!c->parked) continue;
      bool late = false, too_slow = false;
      switch (c->phase) {
        case Conn::Phase::kIdle: late = now >= c->idle_deadline; break;
        case Conn::Phase::kHead:
          too_slow = now >= c->head_deadline || now - c->last_byte >= limits_.read_stall;
          break;
        case Conn::Phase::kBody:
          too_slow = now >= c->body_deadline || now - c->last_byte >= limits_.read_stall;
          break;
        case Conn::Phase::kWrite:
        case Conn::Phase::kUnread:
        case Conn::Phase::kFlush:
          // A reader too slow for the whole answer's deadline, or stalled:
          // dropped (with a reset, the rest of the answer unsent).
          late = now >= c->write_deadline || now - c->last_progress >= limits_.write_timeout;
          break;
        case Conn::Phase::kLinger: late = now >= c->linger_deadline; break;
      }
      if (!late && !too_slow) continue;
      c->parked = false;
      (late ? drop : slow).push_back(c);
    }
  }
  for (Conn* c : drop) {
    if (c->phase == Conn::Phase::kIdle) ::shutdown(c->fd, SHUT_RDWR);
    close_conn(c);
  }
  for (Conn* c : slow) answer_and_linger(c, 408, now);
}

}  // namespace sunledger
