#include "webhooks/http_edge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sunledger {

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// The request head, as far as the gate needs it: where the request ends.
//
// The gate's reading of the framing must never be looser than httplib's: if
// the two disagreed on where a body ends, the difference could be smuggled in
// as a request. So the gate refuses (400) every head whose framing is not
// plain: a field name that is not a token (which also catches
// "Content-Length :"), control characters, folded lines, a Content-Length
// that is not plain digits, or more than one. httplib would, for instance,
// percent-decode "Content-Length: %34" into 4. A worker's stream also ends
// where the gate says the request ends, and a connection is kept only when
// httplib consumed exactly that (see Worker below).

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

struct Head {
  bool ok = false;
  // Methods whose body httplib reads before routing (detail::expect_content).
  bool body_method = false;
  std::optional<uint64_t> content_length;
  bool transfer_encoding = false;
  bool expect_continue = false;
};

// `head` is everything up to and including the blank line's CRLF CRLF.
Head parse_head(std::string_view head) {
  Head h;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // Request line: METHOD SP TARGET SP HTTP/1.x
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return h;
  std::string_view method = line.substr(0, sp1);
  for (unsigned char c : method)
    if (!is_tchar(c)) return h;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return h;
  for (unsigned char c : line.substr(sp1 + 1, sp2 - sp1 - 1))
    if (c <= 0x20 || c == 0x7f) return h;
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return h;
  h.body_method = method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";

  size_t pos = eol + 2;
  while (pos < head.size()) {
    eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return h;  // cannot happen: head ends with CRLF CRLF
    line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;  // the blank line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return h;
    std::string_view name = line.substr(0, colon);
    for (unsigned char c : name)
      if (!is_tchar(c)) return h;  // also a folded line (leading space) and "Name :"
    std::string_view raw = line.substr(colon + 1);
    for (unsigned char c : raw)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return h;  // a bare CR or LF, NUL, other controls
    std::string_view value = trim_ows(raw);
    if (iequals(name, "Content-Length")) {
      if (h.content_length || value.empty() || value.size() > 18) return h;
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return h;
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      h.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      h.transfer_encoding = true;
    } else if (iequals(name, "Expect")) {
      h.expect_continue = iequals(value, "100-continue");
    }
  }
  h.ok = true;
  return h;
}

std::string canned_answer(int status) {
  const char* reason = "Bad Request";
  std::string body;
  std::string extra;
  switch (status) {
    case 408:
      reason = "Request Timeout";
      body = R"j({"error":"请求超时 (request timed out)","code":"timeout"})j";
      break;
    case 431:
      reason = "Request Header Fields Too Large";
      body = R"j({"error":"请求头太大 (request header too large)","code":"too_large"})j";
      break;
    case 503:
      reason = "Service Unavailable";
      body = R"j({"error":"服务繁忙,请稍后再试 (server busy, retry shortly)","code":"unavailable"})j";
      extra = "Retry-After: 1\r\n";
      break;
    default:
      body = R"j({"error":"请求格式错误 (bad request)","code":"invalid_argument"})j";
      break;
  }
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Best effort, never blocks: the answer is small and the socket's send buffer
// empty when the gate answers.
void send_nonblocking(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
               : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  char text[64] = {};
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

// Who a connection counts against for max_connections_per_client: an IPv4
// address, or an IPv6 /64 (one subscriber gets a whole /64, so counting single
// addresses would limit nothing). Empty: not limited (loopback, by default).
std::string client_key(int fd, bool limit_loopback) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  auto v4 = [&](const unsigned char* b) -> std::string {
    if (b[0] == 127 && !limit_loopback) return "";
    return "4:" + std::string(reinterpret_cast<const char*>(b), 4);
  };
  if (addr.ss_family == AF_INET) return v4(reinterpret_cast<const unsigned char*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr));
  if (addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return v4(a.s6_addr + 12);
    if (IN6_IS_ADDR_LOOPBACK(&a) && !limit_loopback) return "";
    return "6:" + std::string(reinterpret_cast<const char*>(a.s6_addr), 8);
  }
  return "";
}

int to_ms(std::chrono::milliseconds d) { return static_cast<int>(std::max<int64_t>(0, d.count())); }

// ---------------------------------------------------------------------------
// One client connection. Owned by exactly one thread at a time: the gate while
// it waits for bytes (in the gate's table), a worker while its request is
// answered (in the job queue, then on the worker's stack).

struct Conn {
  int fd = -1;
  // Received bytes; those before `pos` are consumed.
  std::string buf;
  size_t pos = 0;
  size_t scanned = 0;    // bytes after pos already searched for the end of the head
  size_t head_len = 0;   // the current request's head, once complete (0: not yet)
  size_t body_len = 0;   // its body, read before dispatch
  bool refuse = false;   // its body is not read: answer it and close
  // kWrite: an answer the client has not taken yet, written by the gate.
  enum class Phase { kIdle, kHead, kBody, kWrite, kLinger } phase = Phase::kIdle;
  // The answer being written (only ever one: the next request waits for it),
  // bytes before out_pos sent; `charged` of them count against the client's
  // and the server's output caps.
  std::string out;
  size_t out_pos = 0;
  size_t charged = 0;
  bool close_after_write = false;
  Clock::time_point write_deadline, last_progress;
  bool fresh = true;     // no request answered yet
  size_t served = 0;
  Clock::time_point opened, idle_deadline, head_deadline, body_deadline, last_byte, linger_deadline;
  std::string client;  // what it counts against per client (empty: not counted)
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;

  size_t buffered() const { return buf.size() - pos; }
  size_t unsent() const { return out.size() - out_pos; }
  void start_next_request() {
    head_len = body_len = scanned = 0;
    refuse = false;
    if (pos == buf.size()) {
      buf.clear();
      pos = 0;
      // An idle connection keeps no large buffer.
      if (buf.capacity() > 16 * 1024) buf.shrink_to_fit();
    } else if (pos > 0) {
      buf.erase(0, pos);
      pos = 0;
    }
  }
};

enum class Parse { kNeedMore, kReady, kBadRequest, kHeadTooLarge };

// Decides, from the bytes buffered so far, whether the current request can go
// to a worker. May send "100 Continue" (the client waits for it before the
// body; httplib is kept from sending its own, see setup_request).
Parse advance(Conn& c, const EdgeLimits& limits, Clock::time_point now) {
  if (c.head_len == 0) {
    std::string_view data(c.buf.data() + c.pos, c.buffered());
    size_t from = c.scanned >= 3 ? c.scanned - 3 : 0;
    size_t end = data.find("\r\n\r\n", from);
    if (end == std::string_view::npos) {
      c.scanned = data.size();
      return data.size() > limits.max_header_bytes ? Parse::kHeadTooLarge : Parse::kNeedMore;
    }
    size_t head_len = end + 4;
    if (head_len > limits.max_header_bytes) return Parse::kHeadTooLarge;
    Head h = parse_head(data.substr(0, head_len));
    if (!h.ok) return Parse::kBadRequest;
    c.head_len = head_len;
    uint64_t length = h.content_length.value_or(0);
    // Bodies the gate does not read: chunked (refused before routing), over
    // the cap (413), and any body on a method httplib never reads one for.
    if (h.transfer_encoding || length > limits.max_body_bytes || (length > 0 && !h.body_method)) {
      c.refuse = true;
      return Parse::kReady;
    }
    c.body_len = static_cast<size_t>(length);
    if (c.body_len > 0) {
      c.phase = Conn::Phase::kBody;
      c.body_deadline = now + limits.body_deadline;
      if (h.expect_continue && c.buffered() < c.head_len + c.body_len)
        send_nonblocking(c.fd, "HTTP/1.1 100 Continue\r\n\r\n");
    }
  }
  return c.buffered() >= c.head_len + c.body_len ? Parse::kReady : Parse::kNeedMore;
}

enum class Wrote { kAll, kSome, kFailed };

// Sends as much of c's answer as the socket takes now, never waiting; adds
// what it sent to `written`. Once all is sent the buffer is dropped.
Wrote write_some(Conn& c, size_t& written) {
  while (c.out_pos < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_pos += static_cast<size_t>(n);
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Wrote::kSome;
    return Wrote::kFailed;
  }
  c.out.clear();
  c.out_pos = 0;
  if (c.out.capacity() > 64 * 1024) c.out.shrink_to_fit();
  return Wrote::kAll;
}

// What a worker's httplib reads and writes. Reads come only from the
// connection's buffer, and end where the gate says the request ends: httplib
// can neither wait on the socket nor read into the next request.
class ConnStream final : public httplib::Stream {
 public:
  explicit ConnStream(Conn& c) : c_(c), limit_(c.refuse ? c.head_len : c.head_len + c.body_len) {}

  bool is_readable() const override { return consumed_ < limit_; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, limit_ - consumed_);
    std::memcpy(ptr, c_.buf.data() + c_.pos + consumed_, n);
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }
  // The answer is rendered into memory, never written to the socket from
  // here: a worker must not wait for a client that reads slowly (the gate
  // writes what the socket does not take at once).
  ssize_t write(const char* ptr, size_t size) override {
    c_.out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.remote_ip;
    port = c_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  size_t consumed() const { return consumed_; }
  // Read to the end that the gate found, and not refused before its body.
  bool request_consumed() const { return !c_.refuse && consumed_ == limit_; }
  void must_close() { must_close_ = true; }
  bool closing() const { return must_close_; }

 private:
  Conn& c_;
  size_t limit_;
  size_t consumed_ = 0;
  bool must_close_ = false;
};

thread_local ConnStream* tl_stream = nullptr;
thread_local bool tl_shedding = false;

// Before routing: RFC 9112 §6.3, a request with neither Content-Length nor
// Transfer-Encoding has an empty body. httplib 0.11.4 would instead read a
// POST's body until the client closes; saying Content-Length: 0 makes it read
// nothing. And httplib never answers "Expect: 100-continue" itself: the gate
// has already done so when it wants the body, and must not when it refuses it.
void setup_request(httplib::Request& req) {
  if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) req.set_header("Content-Length", "0");
  req.headers.erase("Expect");
}

}  // namespace

// ---------------------------------------------------------------------------
// The gate, the workers and the shedder: created by httplib's listen() as its
// "task queue", shut down and deleted when listen() ends.

class EdgeServer::Core final : public httplib::TaskQueue {
 public:
  Core(EdgeServer& server, const EdgeLimits& limits) : server_(server), limits_(limits) {
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

  ~Core() override {
    if (!shut_down_) shutdown();
    Core* self = this;
    server_.core_.compare_exchange_strong(self, nullptr);
    ::close(epoll_);
    ::close(wake_);
  }

  // httplib's accept loop hands each new socket here; running it inline keeps
  // the accepting thread from ever waiting on a client.
  void enqueue(std::function<void()> fn) override { fn(); }

  // After httplib's accept loop ended (stop()): the gate stops, the requests
  // already read are answered, answers still being written get up to
  // `linger` to go out, then every connection still open is closed.
  void shutdown() override {
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

  // From the accepting thread.
  void adopt(int fd) {
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

 private:
  void wake() {
    uint64_t one = 1;
    ssize_t r = ::write(wake_, &one, sizeof one);
    (void)r;
  }

  // Output the client never read (it stopped reading, or left) is dropped
  // with a reset: a plain close() leaves it to the kernel, which keeps it, up
  // to a whole send buffer (megabytes on loopback), in an orphaned socket for
  // minutes, outside every limit of ours.
  void close_conn(Conn* c) {
    int unsent = 0;
    if (c->unsent() > 0 || (::ioctl(c->fd, SIOCOUTQ, &unsent) == 0 && unsent > 0)) {
      linger drop{1, 0};
      ::setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &drop, sizeof drop);
    }
    ::close(c->fd);
    release_output(*c, c->charged);
    release_client(c->client);
    delete c;
    open_.fetch_sub(1);
  }

  void release_client(const std::string& client) {
    if (client.empty()) return;
    std::lock_guard<std::mutex> lock(clients_mu_);
    auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second.connections == 0) per_client_.erase(it);
  }

  // --- answers waiting for slow readers ----------------------------------------
  //
  // An answer the socket does not take at once waits in memory, counted
  // against its client (max_output_per_client) and the server
  // (max_output_total). A request run while either is full is shed (503):
  // the memory slow readers can hold is bounded, and one client's slow reads
  // fill only its own share.

  void charge_output(Conn& c, size_t n) {
    c.charged += n;
    output_total_.fetch_add(n);
    if (c.client.empty()) return;
    std::lock_guard<std::mutex> lock(clients_mu_);
    per_client_[c.client].output += n;
  }

  void release_output(Conn& c, size_t n) {
    n = std::min(n, c.charged);
    if (n == 0) return;
    c.charged -= n;
    output_total_.fetch_sub(n);
    if (c.client.empty()) return;
    std::lock_guard<std::mutex> lock(clients_mu_);
    auto it = per_client_.find(c.client);
    if (it != per_client_.end()) it->second.output -= std::min(n, it->second.output);
  }

  bool output_full(const std::string& client) {
    if (output_total_.load() >= limits_.max_output_total) return true;
    if (client.empty()) return false;
    std::lock_guard<std::mutex> lock(clients_mu_);
    auto it = per_client_.find(client);
    return it != per_client_.end() && it->second.output >= limits_.max_output_per_client;
  }

  // At shutdown: the answers still unsent get until `deadline` to go out.
  void drain(const std::vector<Conn*>& conns, Clock::time_point deadline) {
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
        release_output(*owners[i], written);
        if (w != Wrote::kSome) owners[i]->phase = Conn::Phase::kLinger;  // done (or failed)
      }
    }
  }

  // --- the gate thread ------------------------------------------------------

  void arm(Conn& c, bool add) {
    epoll_event ev{};
    ev.events = (c.phase == Conn::Phase::kWrite ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Keeps c in the gate, waiting for bytes (or, writing, for room).
  void park(std::unique_ptr<Conn> c, bool add) {
    Conn& ref = *c;
    table_[ref.fd] = std::move(c);
    arm(ref, add);
  }

  void take_inbox(Clock::time_point now) {
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
      } else if (c->phase == Conn::Phase::kWrite) {
        park(std::move(c), false);
      } else {
        resume(std::move(c), now);
      }
    }
  }

  // A kept-alive connection whose answer is out: it waits for its next
  // request, or takes the one already buffered.
  void resume(std::unique_ptr<Conn> c, Clock::time_point now) {
    c->last_byte = now;
    if (c->buffered() == 0) {
      c->phase = Conn::Phase::kIdle;
      c->idle_deadline = now + limits_.idle_timeout;
      return park(std::move(c), false);
    }
    // Part of a next request came with the last one (pipelining); its head
    // is timed from now. A whole one (a worker stops after 16 in a row, or
    // left it while the gate wrote the answer) goes straight to the workers.
    if (c->head_len == 0) {
      c->phase = Conn::Phase::kHead;
      c->head_deadline = now + limits_.header_deadline;
    }
    decide(std::move(c), now);
  }

  void decide(std::unique_ptr<Conn> c, Clock::time_point now) {
    switch (advance(*c, limits_, now)) {
      case Parse::kReady: return dispatch(std::move(c));
      case Parse::kNeedMore: return park(std::move(c), false);
      case Parse::kBadRequest: return answer_and_linger(std::move(c), 400, now);
      case Parse::kHeadTooLarge: return answer_and_linger(std::move(c), 431, now);
    }
  }

  // The gate answers (400, 408, 431) and closes: the rest of what the client
  // sends is read and dropped for `linger`, then the socket is closed.
  void answer_and_linger(std::unique_ptr<Conn> c, int status, Clock::time_point now) {
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

  void on_event(int fd, Clock::time_point now) {
    auto it = table_.find(fd);
    if (it == table_.end()) return;
    std::unique_ptr<Conn> c = std::move(it->second);
    table_.erase(it);
    switch (c->phase) {
      case Conn::Phase::kWrite: return on_writable(std::move(c), now);
      case Conn::Phase::kLinger: return on_linger(std::move(c));
      default: return on_readable(std::move(c), now);
    }
  }

  // Room in the socket for more of an answer a worker could not send at once.
  void on_writable(std::unique_ptr<Conn> c, Clock::time_point now) {
    size_t written = 0;
    Wrote w = write_some(*c, written);
    release_output(*c, written);
    if (w == Wrote::kFailed) return close_conn(c.release());
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

  // After a closing answer: what the client still sends is dropped.
  void on_linger(std::unique_ptr<Conn> c) {
    for (int i = 0; i < 16; ++i) {
      ssize_t n = ::recv(c->fd, scratch_, sizeof scratch_, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return close_conn(c.release());  // the client closed (or failed): done
    }
    park(std::move(c), false);
  }

  void on_readable(std::unique_ptr<Conn> c, Clock::time_point now) {
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

  // Every 50 ms: connections past a deadline.
  void expire(Clock::time_point now) {
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

  void gate_loop() {
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
          on_event(events[i].data.fd, now);
        }
      }
      if (now - last_expire >= std::chrono::milliseconds(50)) {
        expire(now);
        last_expire = now;
      }
    }
  }

  // --- workers ----------------------------------------------------------------

  void dispatch(std::unique_ptr<Conn> c) {
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
  void give_back(Conn* c) {
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      returned_.push_back(c);
    }
    wake();
  }

  void work(bool shedder) {
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

  // Answers c's ready request, and any further complete ones the client sent
  // with it (pipelining), then gives the connection back to the gate.
  // 65 lines: one request's round trip (run, write or hand over, keep or
  // close, next pipelined request) reads best in one piece.
  void serve(Conn* c, bool shed) {
    for (int round = 0;; ++round) {
      // A client whose unread answers fill its share (or everyone's fill the
      // server's) gets 503 until it reads them.
      bool shedding = shed || output_full(c->client);
      ConnStream stream(*c);
      bool close = c->refuse || shedding || stopping_.load() || c->served + 1 >= limits_.keep_alive_max_count;
      bool closed_by_client = false;
      tl_stream = &stream;
      tl_shedding = shedding;
      bool ok = server_.run_request(stream, close, closed_by_client);
      tl_stream = nullptr;
      tl_shedding = false;
      ++c->served;
      c->fresh = false;
      // The connection is kept only when httplib read exactly the request the
      // gate delimited: anything else left unread could be taken for a
      // request. (The post-routing handler has then said Connection: close.)
      bool keep = ok && !close && !closed_by_client && !stream.closing() && stream.request_consumed();
      if (keep) {
        c->pos += stream.consumed();
        c->start_next_request();
        c->phase = Conn::Phase::kIdle;
      } else {
        c->buf.clear();
        c->buf.shrink_to_fit();
        c->pos = 0;
      }
      size_t written = 0;
      Wrote w = write_some(*c, written);
      if (w == Wrote::kFailed) return close_conn(c);  // the client is gone
      if (w == Wrote::kSome) {
        // The client reads slower than the answer was made: the gate writes
        // the rest, and this worker is free for the next request.
        Clock::time_point now = Clock::now();
        c->phase = Conn::Phase::kWrite;
        c->close_after_write = !keep;
        c->write_deadline = now + limits_.answer_deadline;
        c->last_progress = now;
        charge_output(*c, c->unsent());
        return give_back(c);
      }
      if (!keep) {
        ::shutdown(c->fd, SHUT_WR);
        c->phase = Conn::Phase::kLinger;
        return give_back(c);
      }
      if (c->buffered() == 0 || round >= 16) return give_back(c);
      // Pipelined bytes: another whole request is answered here at once;
      // anything less waits in the gate (which then also answers a bad head).
      c->phase = Conn::Phase::kHead;
      Parse next = advance(*c, limits_, Clock::now());
      if (next == Parse::kReady) continue;
      if (next == Parse::kNeedMore) return give_back(c);
      int status = next == Parse::kHeadTooLarge ? 431 : 400;
      send_nonblocking(c->fd, canned_answer(status));
      if (limits_.on_gate_answer) limits_.on_gate_answer(status);
      ::shutdown(c->fd, SHUT_WR);
      c->phase = Conn::Phase::kLinger;
      c->buf.clear();
      c->pos = 0;
      return give_back(c);
    }
  }

  EdgeServer& server_;
  const EdgeLimits limits_;
  int epoll_ = -1, wake_ = -1;
  std::atomic<bool> stopping_{false};
  bool shut_down_ = false;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> output_total_{0};  // unsent answer bytes held, all connections

  // Gate thread only.
  std::thread gate_;
  std::unordered_map<int, std::unique_ptr<Conn>> table_;
  char scratch_[16 * 1024];

  std::mutex inbox_mu_;
  std::vector<std::pair<int, std::string>> new_fds_;  // with their client keys
  std::vector<Conn*> returned_;

  // What each client (by client key) holds: connections, and unsent answer bytes.
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

// ---------------------------------------------------------------------------

EdgeServer::EdgeServer(EdgeLimits limits) : limits_(std::move(limits)) {
  new_task_queue = [this] {
    auto* core = new Core(*this, limits_);
    core_.store(core);
    return core;
  };
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(limits_.keep_alive_max_count);
  set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(limits_.idle_timeout.count() / 1000)));
  // Runs after httplib chose Connection/Keep-Alive for the answer, just
  // before it is written: an answer to a request that was not read to its
  // end (refused before routing, malformed, a GET with a body) says
  // Connection: close, and the worker then closes.
  httplib::Server::set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    ConnStream* s = tl_stream;
    if (s == nullptr) return;
    bool close = !s->request_consumed() || res.get_header_value("Connection") == "close" ||
                 (req.version == "HTTP/1.0" && req.get_header_value("Connection") != "Keep-Alive");
    if (!close) return;
    s->must_close();
    res.headers.erase("Keep-Alive");
    res.headers.erase("Connection");
    res.set_header("Connection", "close");
  });
}

EdgeServer::~EdgeServer() = default;

bool EdgeServer::shedding() { return tl_shedding; }

bool EdgeServer::process_and_close_socket(socket_t sock) {
  Core* core = core_.load();
  if (core == nullptr) {
    ::close(sock);
    return false;
  }
  core->adopt(sock);
  return true;
}

bool EdgeServer::run_request(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
  return process_request(stream, close_connection, connection_closed, setup_request);
}

}  // namespace sunledger
