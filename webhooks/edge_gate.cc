// The gate thread of EdgeServer::Core (webhooks/edge_core.h): it reads every
// connection until a whole request is there, hands it to the workers, writes
// what a worker could not send at once, and cuts off whoever is too slow.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

void EdgeServer::Core::gate_loop() {
  epoll_event events[256];
  Clock::time_point last_expire = Clock::now();
  while (!stopping_.load()) {
    int n = ::epoll_wait(epoll_, events, 256, 50);
    Clock::time_point now = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_) {
        uint64_t v;
        ssize_t r = ::read(wake_, &v, sizeof v);
        (void)r;
        take_inbox(now);
      } else {
        on_event(events[i].data.fd, events[i].events, now);
      }
    }
    if (now - last_expire >= std::chrono::milliseconds(50)) {
      recount_unread(now);
      expire(now);
      last_expire = now;
    }
  }
}

void EdgeServer::Core::arm(Conn& c, bool add) {
  epoll_event ev{};
  uint32_t wanted = EPOLLIN;
  if (c.phase == Conn::Phase::kWrite || c.phase == Conn::Phase::kUnread) wanted = EPOLLOUT;
  // Waiting for the sweep: only errors and hang-ups (always reported).
  if (c.phase == Conn::Phase::kUnread && !c.wake_on_room) wanted = 0;
  ev.events = wanted | EPOLLONESHOT;
  ev.data.fd = c.fd;
  ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
}

// Keeps c in the gate, waiting for bytes (or, writing, for room).
void EdgeServer::Core::park(std::unique_ptr<Conn> c, bool add) {
  Conn& ref = *c;
  table_[ref.fd] = std::move(c);
  arm(ref, add);
}

void EdgeServer::Core::take_inbox(Clock::time_point now) {
  std::vector<std::pair<int, std::string>> fds;
  std::vector<Conn*> back;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    fds.swap(new_fds_);
    back.swap(returned_);
  }
  for (auto& [fd, client] : fds) {
    int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    // The kernel queues little unsent (see max_unread_answer_bytes): the
    // rest of a large answer waits with the gate, counted, and EPOLLOUT
    // says when most of the queue is sent.
    int lowat = static_cast<int>(std::min<size_t>(limits_.max_unread_answer_bytes, INT32_MAX));
    ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->client = std::move(client);
    c->opened = c->last_byte = now;
    c->idle_deadline = now + limits_.idle_timeout;
    address_of(fd, true, c->remote_ip, c->remote_port);
    address_of(fd, false, c->local_ip, c->local_port);
    park(std::move(c), true);
  }
  for (Conn* raw : back) {
    std::unique_ptr<Conn> c(raw);
    if (c->phase == Conn::Phase::kLinger) {
      c->linger_deadline = now + limits_.linger;
      park(std::move(c), false);
    } else if (c->phase == Conn::Phase::kWrite || c->phase == Conn::Phase::kUnread) {
      park(std::move(c), false);
    } else {
      resume(std::move(c), now);
    }
  }
}

// A kept-alive connection whose answer is out: it waits for its next
// request, or takes the one already buffered.
void EdgeServer::Core::resume(std::unique_ptr<Conn> c, Clock::time_point now) {
  c->last_byte = now;
  if (c->buffered() == 0) {
    c->phase = Conn::Phase::kIdle;
    c->idle_deadline = now + limits_.idle_timeout;
    return park(std::move(c), false);
  }
  // Part of a next request came with the last one (pipelining); its head
  // is timed from now. A whole one (left while the gate wrote the answer, or
  // while the client had too much of its answers unread) goes straight to
  // the workers, once the client has read most of them.
  if (c->head_len == 0) {
    c->phase = Conn::Phase::kHead;
    c->head_deadline = now + limits_.header_deadline;
  }
  decide(std::move(c), now);
}

void EdgeServer::Core::decide(std::unique_ptr<Conn> c, Clock::time_point now) {
  switch (advance(*c, limits_, now)) {
    case Parse::kReady:
      if (!answers_unread(*c)) return dispatch(std::move(c));
      await_reader(*c, now);
      return park(std::move(c), false);
    case Parse::kNeedMore: return park(std::move(c), false);
    case Parse::kBadRequest: return answer_and_linger(std::move(c), 400, now);
    case Parse::kHeadTooLarge: return answer_and_linger(std::move(c), 431, now);
  }
}

// The gate answers (400, 408, 431) and closes: the rest of what the client
// sends is read and dropped for `linger`, then the socket is closed.
void EdgeServer::Core::answer_and_linger(std::unique_ptr<Conn> c, int status, Clock::time_point now) {
  send_nonblocking(c->fd, canned_answer(status));
  if (limits_.on_gate_answer) limits_.on_gate_answer(status);
  ::shutdown(c->fd, SHUT_WR);
  c->phase = Conn::Phase::kLinger;
  c->linger_deadline = now + limits_.linger;
  c->buf.clear();
  c->buf.shrink_to_fit();
  c->pos = 0;
  park(std::move(c), false);
}

void EdgeServer::Core::on_event(int fd, uint32_t events, Clock::time_point now) {
  auto it = table_.find(fd);
  if (it == table_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  table_.erase(it);
  switch (c->phase) {
    case Conn::Phase::kWrite: return on_writable(std::move(c), now);
    case Conn::Phase::kUnread: return on_room(std::move(c), events, now);
    case Conn::Phase::kLinger: return on_linger(std::move(c));
    default: return on_readable(std::move(c), now);
  }
}

// Room in the socket for more of an answer a worker could not send at once.
void EdgeServer::Core::on_writable(std::unique_ptr<Conn> c, Clock::time_point now) {
  size_t written = 0;
  Wrote w = write_some(*c, written);
  if (w == Wrote::kFailed) return close_conn(c.release());
  recount_output(*c);
  if (w == Wrote::kSome) {
    if (written > 0) c->last_progress = now;
    return park(std::move(c), false);
  }
  if (!c->close_after_write) return resume(std::move(c), now);
  ::shutdown(c->fd, SHUT_WR);
  c->phase = Conn::Phase::kLinger;
  c->linger_deadline = now + limits_.linger;
  park(std::move(c), false);
}

// The kernel has sent most of what it queued for a connection whose next
// request waits for its client to read (or the client is gone).
void EdgeServer::Core::on_room(std::unique_ptr<Conn> c, uint32_t events, Clock::time_point now) {
  if (events & (EPOLLERR | EPOLLHUP)) return close_conn(c.release());
  size_t before = c->charged;
  if (recount_output(*c) <= limits_.max_unread_answer_bytes) return resume(std::move(c), now);
  if (c->charged < before) c->last_progress = now;
  c->wake_on_room = false;  // the rest is in flight: the sweep looks again
  park(std::move(c), false);
}

// After a closing answer: what the client still sends is dropped.
void EdgeServer::Core::on_linger(std::unique_ptr<Conn> c) {
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c->fd, scratch_, sizeof scratch_, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close_conn(c.release());  // the client closed (or failed): done
  }
  park(std::move(c), false);
}

void EdgeServer::Core::on_readable(std::unique_ptr<Conn> c, Clock::time_point now) {
  // Reads what is there, up to what the current request may still need.
  const size_t cap = limits_.max_header_bytes + limits_.max_body_bytes;
  bool got = false;
  for (;;) {
    size_t room = cap > c->buffered() ? cap - c->buffered() : 0;
    if (room == 0) break;
    ssize_t n = ::recv(c->fd, scratch_, std::min(room, sizeof scratch_), 0);
    if (n > 0) {
      c->buf.append(scratch_, static_cast<size_t>(n));
      got = true;
      if (static_cast<size_t>(n) < std::min(room, sizeof scratch_)) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // Closed (or failed) before a whole request arrived: nothing to answer.
    return close_conn(c.release());
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
  decide(std::move(c), now);
}

// Every 50 ms: the kernel's queue shrinks as clients read, which epoll does
// not always say; each connection holding unread answers is counted again,
// and one whose next request waited for its client goes on once the client
// has read most of them.
void EdgeServer::Core::recount_unread(Clock::time_point now) {
  std::vector<int> ready;
  for (auto& entry : table_) {
    Conn& c = *entry.second;
    if (c.charged == 0) continue;
    size_t before = c.charged;
    if (recount_output(c) < before) c.last_progress = now;
    if (c.phase == Conn::Phase::kUnread && c.charged <= limits_.max_unread_answer_bytes) ready.push_back(entry.first);
  }
  for (int fd : ready) {
    auto it = table_.find(fd);
    std::unique_ptr<Conn> c = std::move(it->second);
    table_.erase(it);
    resume(std::move(c), now);
  }
}

// Every 50 ms: connections past a deadline.
void EdgeServer::Core::expire(Clock::time_point now) {
  std::vector<int> drop, slow;
  for (auto& [fd, c] : table_) {
    switch (c->phase) {
      case Conn::Phase::kIdle:
        if (now >= c->idle_deadline) drop.push_back(fd);
        break;
      case Conn::Phase::kHead:
        if (now >= c->head_deadline || now - c->last_byte >= limits_.read_stall) slow.push_back(fd);
        break;
      case Conn::Phase::kBody:
        if (now >= c->body_deadline || now - c->last_byte >= limits_.read_stall) slow.push_back(fd);
        break;
      case Conn::Phase::kWrite:
      case Conn::Phase::kUnread:
        // A reader too slow for the whole answer's deadline, or stalled:
        // dropped (with a reset, the rest of the answer unsent).
        if (now >= c->write_deadline || now - c->last_progress >= limits_.write_timeout) drop.push_back(fd);
        break;
      case Conn::Phase::kLinger:
        if (now >= c->linger_deadline) drop.push_back(fd);
        break;
    }
  }
  for (int fd : drop) {
    auto it = table_.find(fd);
    if (it->second->phase == Conn::Phase::kIdle) ::shutdown(fd, SHUT_RDWR);
    close_conn(it->second.release());
    table_.erase(it);
  }
  for (int fd : slow) {
    auto it = table_.find(fd);
    std::unique_ptr<Conn> c = std::move(it->second);
    table_.erase(it);
    answer_and_linger(std::move(c), 408, now);
  }
}

}  // namespace sunledger
