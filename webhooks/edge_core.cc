// EdgeServer::Core (webhooks/edge_core.h): its lifetime, accepting, parking
// and closing connections, and the accounting of what connections hold.
#include "webhooks/edge_core.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "webhooks/edge_framing.h"

namespace sunledger {

using namespace edge;

EdgeServer::Core::Core(EdgeServer& server, const EdgeLimits& limits)
    : server_(server),
      limits_(limits),
      slots_(std::max<size_t>(1, limits.worker_threads)),
      pollers_(std::min(slots_ + kIoThreads, std::max<size_t>(2, std::thread::hardware_concurrency()) + kIoThreads)),
      handler_since_(new std::atomic<int64_t>[slots_ + kIoThreads]),
      handler_last_(new std::atomic<int64_t>[slots_ + kIoThreads]) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wake_ < 0) throw std::runtime_error("edge: cannot create epoll/eventfd");
  // Level-triggered and never read: once written (at shutdown) it wakes every
  // loop thread, each of which then sees stopping_.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeKey;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  target_.store(pollers_);
  active_.store(slots_ + kIoThreads);  // the surplus stands by at once
  for (size_t i = 0; i < slots_ + kIoThreads; ++i) {
    handler_since_[i].store(0);
    handler_last_[i].store(0);
    loops_.emplace_back([this, i] { loop(i); });
  }
  sweeper_ = std::thread([this] { sweep_loop(); });
}

EdgeServer::Core::~Core() {
  if (!shut_down_) shutdown();
  Core* self = this;
  server_.core_.compare_exchange_strong(self, nullptr);
  ::close(epoll_);
  ::close(wake_);
}

// After httplib's accept loop ended (stop()): the loop threads finish what
// they hold (a request being run is answered, and so is every request queued
// for a slot, each with Connection: close), answers still being written get
// up to `linger` to go out, then every connection still open is closed.
void EdgeServer::Core::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard<std::mutex> lock(sweep_mu_);
    stopping_.store(true);
  }
  sweep_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(standby_mu_);  // no thread misses the notice
  }
  standby_cv_.notify_all();
  uint64_t one = 1;
  ssize_t r = ::write(wake_, &one, sizeof one);
  (void)r;
  for (auto& t : loops_) t.join();
  sweeper_.join();
  // Every thread has given back what it owned, and the queue is empty (a
  // thread runs it before it gives its slot back).
  std::vector<Conn*> left;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (auto& entry : table_) left.push_back(entry.second.get());
  }
  drain(left, Clock::now() + limits_.linger);
  for (Conn* c : left) close_conn(c);
}

void EdgeServer::Core::adopt(int fd) {
  auto refuse = [&] {
    send_nonblocking(fd, canned_answer(503));
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    if (limits_.on_gate_answer) limits_.on_gate_answer(503);
  };
  std::string client = client_key(fd, limits_.limit_loopback_clients);
  if (!client.empty()) {
    std::lock_guard<std::mutex> lock(clients_mu_);
    size_t& held = per_client_[client].connections;
    if (held >= limits_.max_connections_per_client) return refuse();
    ++held;
  }
  if (open_.fetch_add(1) >= limits_.max_connections) {
    open_.fetch_sub(1);
    release_client(client);
    return refuse();
  }
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  // The kernel queues little unsent (see max_unread_answer_bytes): the rest
  // of a large answer waits with us, counted, and EPOLLOUT says when most of
  // the queue is sent.
  int lowat = static_cast<int>(std::min<size_t>(limits_.max_unread_answer_bytes, INT32_MAX));
  ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  auto c = std::make_unique<Conn>();
  Clock::time_point now = Clock::now();
  c->fd = fd;
  c->gen = next_gen_.fetch_add(1);
  c->client = std::move(client);
  c->opened = c->last_byte = now;
  c->idle_deadline = now + limits_.idle_timeout;
  address_of(fd, true, c->remote_ip, c->remote_port);
  address_of(fd, false, c->local_ip, c->local_port);
  std::lock_guard<std::mutex> lock(table_mu_);
  Conn& ref = *c;
  table_[fd] = std::move(c);
  ref.parked = true;
  arm(ref, EPOLL_CTL_ADD);
}

EdgeServer::Core::Conn* EdgeServer::Core::claim(uint64_t key) {
  std::lock_guard<std::mutex> lock(table_mu_);
  auto it = table_.find(static_cast<int>(static_cast<uint32_t>(key)));
  if (it == table_.end()) return nullptr;
  Conn* c = it->second.get();
  if (c->key() != key || !c->parked) return nullptr;
  c->parked = false;
  return c;
}

void EdgeServer::Core::park(Conn* c) {
  std::lock_guard<std::mutex> lock(table_mu_);
  c->parked = true;
  arm(*c, EPOLL_CTL_MOD);
}

// Under table_mu_. One-shot: the event hands the connection to one thread,
// and nothing more comes for it until it is parked again.
void EdgeServer::Core::arm(Conn& c, int op) {
  epoll_event ev{};
  uint32_t wanted = EPOLLIN;
  if (c.phase == Conn::Phase::kWrite || c.phase == Conn::Phase::kUnread) wanted = EPOLLOUT;
  // Waiting for the sweeper: only errors and hang-ups (always reported).
  if (c.phase == Conn::Phase::kUnread && !c.wake_on_room) wanted = 0;
  // Shut for writing, waiting for the kernel's queue to empty: nothing epoll
  // says would help (and a client that half-closed too would raise EPOLLHUP
  // again and again); the sweeper looks every 50 ms. It is not in the set
  // now: the one-shot event that handed it over disabled it.
  if (c.phase == Conn::Phase::kFlush) return;
  ev.events = wanted | EPOLLONESHOT;
  ev.data.u64 = c.key();
  ::epoll_ctl(epoll_, op, c.fd, &ev);
}

// Output the client never read (it stopped reading, or left) is dropped
// with a reset: a plain close() leaves it to the kernel, which keeps it, up
// to a whole send buffer (megabytes on loopback), in an orphaned socket for
// minutes, outside every limit of ours.
// c is owned by the caller (never parked): it leaves the table before its
// descriptor is closed, as the number may be reused by the next accept.
void EdgeServer::Core::close_conn(Conn* c) {
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    auto it = table_.find(c->fd);
    if (it != table_.end() && it->second.get() == c) {
      it->second.release();  // deleted below
      table_.erase(it);
    }
  }
  if (c->unsent() > 0 || kernel_queued(c->fd) > 0) {
    linger drop{1, 0};
    ::setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &drop, sizeof drop);
  }
  ::close(c->fd);
  settle_output(*c, 0);
  release_client(c->client);
  delete c;
  open_.fetch_sub(1);
}

void EdgeServer::Core::release_client(const std::string& client) {
  if (client.empty()) return;
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = per_client_.find(client);
  if (it != per_client_.end() && --it->second.connections == 0) per_client_.erase(it);
}

void EdgeServer::Core::settle_output(Conn& c, size_t held) {
  if (held == c.charged) return;
  bool more = held > c.charged;
  size_t n = more ? held - c.charged : c.charged - held;
  c.charged = held;
  if (more) {
    output_total_.fetch_add(n);
  } else {
    output_total_.fetch_sub(n);
  }
  if (c.client.empty()) return;
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = per_client_.find(c.client);  // there while c is open: c is one of its connections
  if (it == per_client_.end()) return;
  size_t& output = it->second.output;
  output = more ? output + n : output - std::min(n, output);
}

size_t EdgeServer::Core::recount_output(Conn& c) {
  settle_output(c, c.unsent() + kernel_queued(c.fd));
  return c.charged;
}

bool EdgeServer::Core::answers_unread(Conn& c) {
  // The charge only shrinks between counts (see Conn::charged): under the
  // limit, no need to ask the kernel.
  const size_t limit = limits_.max_unread_answer_bytes;
  return c.charged > limit && recount_output(c) > limit;
}

// c's next request waits until its client reads its answers, within the
// same deadlines as an answer written as the client makes room: some progress every
// write_timeout, and all of it within answer_deadline.
void EdgeServer::Core::await_reader(Conn& c, Clock::time_point now) {
  c.phase = Conn::Phase::kUnread;
  c.wake_on_room = true;
  c.write_deadline = now + limits_.answer_deadline;
  c.last_progress = now;
}

bool EdgeServer::Core::output_full(const std::string& client) {
  if (output_total_.load() >= limits_.max_output_total) return true;
  if (client.empty()) return false;
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = per_client_.find(client);
  return it != per_client_.end() && it->second.output >= limits_.max_output_per_client;
}

// At shutdown: the answers still unsent get until `deadline` to go out, and
// to be taken from the kernel's queue by their clients (close_conn resets a
// connection whose queue still holds some, destroying it). The queue's
// shrinking raises no event: it is looked at every 10 ms.
void EdgeServer::Core::drain(const std::vector<Conn*>& conns, Clock::time_point deadline) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Conn*> owners;
    bool queued = false;
    for (Conn* c : conns) {
      if (c->phase == Conn::Phase::kWrite && c->unsent() > 0) {
        fds.push_back({c->fd, POLLOUT, 0});
        owners.push_back(c);
      } else if (c->charged > 0 && recount_output(*c) > 0) {
        queued = true;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if ((fds.empty() && !queued) || left.count() <= 0) return;
    if (queued) left = std::min(left, std::chrono::milliseconds(10));
    if (::poll(fds.data(), fds.size(), to_ms(left)) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      size_t written = 0;
      Wrote w = write_some(*owners[i], written);
      recount_output(*owners[i]);
      if (w == Wrote::kSome) continue;
      if (w == Wrote::kAll) ::shutdown(owners[i]->fd, SHUT_WR);  // the client sees the end once it has read all
      owners[i]->phase = Conn::Phase::kLinger;  // done (or failed)
    }
  }
}

}  // namespace sunledger
