// EdgeServer::Core (webhooks/edge_core.h): its lifetime, accepting and
// closing connections, and the accounting of what connections hold.
#include "webhooks/edge_core.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "webhooks/edge_framing.h"

namespace sunledger {

using namespace edge;

EdgeServer::Core::Core(EdgeServer& server, const EdgeLimits& limits) : server_(server), limits_(limits) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wake_ < 0) throw std::runtime_error("edge: cannot create epoll/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  gate_ = std::thread([this] { gate_loop(); });
  for (size_t i = 0; i < std::max<size_t>(1, limits_.worker_threads); ++i)
    workers_.emplace_back([this] { work(false); });
  shedder_ = std::thread([this] { work(true); });
}

EdgeServer::Core::~Core() {
  if (!shut_down_) shutdown();
  Core* self = this;
  server_.core_.compare_exchange_strong(self, nullptr);
  ::close(epoll_);
  ::close(wake_);
}

// After httplib's accept loop ended (stop()): the gate stops, the requests
// already read are answered, answers still being written get up to
// `linger` to go out, then every connection still open is closed.
void EdgeServer::Core::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_.store(true);
  wake();
  gate_.join();
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_stop_ = true;
  }
  jobs_cv_.notify_all();
  shed_cv_.notify_all();
  for (auto& t : workers_) t.join();
  shedder_.join();
  std::vector<Conn*> left;
  for (auto& [fd, c] : table_) left.push_back(c.release());
  table_.clear();
  std::lock_guard<std::mutex> lock(inbox_mu_);
  for (const auto& [fd, client] : new_fds_) {
    ::close(fd);
    open_.fetch_sub(1);
    release_client(client);
  }
  new_fds_.clear();
  left.insert(left.end(), returned_.begin(), returned_.end());
  returned_.clear();
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
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    new_fds_.emplace_back(fd, std::move(client));
  }
  wake();
}

void EdgeServer::Core::wake() {
  uint64_t one = 1;
  ssize_t r = ::write(wake_, &one, sizeof one);
  (void)r;
}

// Output the client never read (it stopped reading, or left) is dropped
// with a reset: a plain close() leaves it to the kernel, which keeps it, up
// to a whole send buffer (megabytes on loopback), in an orphaned socket for
// minutes, outside every limit of ours.
void EdgeServer::Core::close_conn(Conn* c) {
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
// same deadlines as an answer the gate writes: some progress every
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

// At shutdown: the answers still unsent get until `deadline` to go out.
void EdgeServer::Core::drain(const std::vector<Conn*>& conns, Clock::time_point deadline) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Conn*> owners;
    for (Conn* c : conns)
      if (c->phase == Conn::Phase::kWrite && c->unsent() > 0) {
        fds.push_back({c->fd, POLLOUT, 0});
        owners.push_back(c);
      }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (fds.empty() || left.count() <= 0) return;
    if (::poll(fds.data(), fds.size(), to_ms(left)) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      size_t written = 0;
      Wrote w = write_some(*owners[i], written);
      recount_output(*owners[i]);
      if (w != Wrote::kSome) owners[i]->phase = Conn::Phase::kLinger;  // done (or failed)
    }
  }
}

}  // namespace sunledger
