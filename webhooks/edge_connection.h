// One client connection of the edge (webhooks/http_edge.h), what the gate
// decides from its bytes, and the stream httplib reads the request from and
// renders the answer into. Private to webhooks/.
//
// Thread safety: a Conn (and the ConnStream over it) is used by one thread at
// a time, as its comment says; the functions keep no state of their own.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "webhooks/edge_framing.h"
#include "webhooks/edge_limits.h"

namespace sunledger::edge {

using Clock = std::chrono::steady_clock;

inline int to_ms(std::chrono::milliseconds d) { return static_cast<int>(std::max<int64_t>(0, d.count())); }

// Best effort, never blocks: the answer is small and the socket's send buffer
// empty when the gate answers.
void send_nonblocking(int fd, std::string_view data);

// Bytes the kernel holds in fd's send queue that the client has not
// acknowledged (SIOCOUTQ): sent or not, they are the server's memory.
size_t kernel_queued(int fd);

// The connection's peer (peer) or local address.
void address_of(int fd, bool peer, std::string& ip, int& port);

// Who a connection counts against for max_connections_per_client: an IPv4
// address, or an IPv6 /64 (one subscriber gets a whole /64, so counting single
// addresses would limit nothing). Empty: not limited (loopback, by default).
std::string client_key(int fd, bool limit_loopback);

// One client connection. Owned by exactly one thread at a time (see
// webhooks/edge_core.h): nobody while it is parked in the table waiting for
// epoll, then the loop thread epoll gave it to (or the sweeper), or the job
// queue while its request waits for a handler slot.

struct Conn {
  int fd = -1;
  // Told apart from an earlier connection on the same descriptor number, in
  // the key its epoll events carry: a stale event finds no connection.
  uint32_t gen = 0;
  bool parked = false;  // guarded by the table's mutex
  uint64_t key() const { return (uint64_t{gen} << 32) | static_cast<uint32_t>(fd); }
  // Received bytes; those before `pos` are consumed.
  std::string buf;
  size_t pos = 0;
  size_t scanned = 0;    // bytes after pos already searched for the end of the head
  size_t head_len = 0;   // the current request's head, once complete (0: not yet)
  size_t body_len = 0;   // its body, read before dispatch
  bool refuse = false;   // its body is not read: answer it and close
  // kWrite: an answer the client has not taken yet, written as it makes room.
  // kUnread: its answers are all with the kernel, but more than
  // max_unread_answer_bytes of them are unread; its next request waits.
  // kFlush: a closing answer is all with the kernel (our side shut for
  // writing) but still in its send queue: timed like kWrite, and the linger
  // starts only once the client has taken it all (a reset would destroy it).
  enum class Phase { kIdle, kHead, kBody, kWrite, kUnread, kFlush, kLinger } phase = Phase::kIdle;
  // The answer being written (only ever one: the next request waits for it),
  // bytes before out_pos sent.
  std::string out;
  size_t out_pos = 0;
  // What its answers held unread when last looked at (the unsent part of
  // `out` and the kernel's send queue), counted against the client's and the
  // server's output caps. It only shrinks between looks: it grows only when
  // its owner writes, and it looks again then.
  size_t charged = 0;
  // kUnread: woken when the kernel has sent most of its queue (EPOLLOUT, see
  // max_unread_answer_bytes); once only bytes in flight are left, the
  // sweeper looks again instead, as EPOLLOUT would fire at once, again and again.
  bool wake_on_room = true;
  bool close_after_write = false;
  // The client has half-closed (we read its end of stream): the requests
  // already buffered are answered, the last with Connection: close, and
  // nothing more is read.
  bool peer_closed = false;
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
// to be run. May send "100 Continue" (the client waits for it before the
// body; httplib is kept from sending its own, see setup_request).
Parse advance(Conn& c, const EdgeLimits& limits, Clock::time_point now);

enum class Wrote { kAll, kSome, kFailed };

// Sends as much of c's answer as the socket takes now, never waiting; adds
// what it sent to `written`. Once all is sent the buffer is dropped.
Wrote write_some(Conn& c, size_t& written);

// What httplib reads and writes for a request. Reads come only from the
// connection's buffer, and end where the gate says the request ends: httplib
// can neither wait on the socket nor read into the next request.
class ConnStream final : public httplib::Stream {
 public:
  explicit ConnStream(Conn& c) : c_(c), limit_(c.refuse ? c.head_len : c.head_len + c.body_len) {}

  bool is_readable() const override { return consumed_ < limit_; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    // httplib reads the head a byte at a time: no memcpy call for each.
    if (size == 1 && consumed_ < limit_) {
      *ptr = c_.buf[c_.pos + consumed_++];
      return 1;
    }
    size_t n = std::min(size, limit_ - consumed_);
    std::memcpy(ptr, c_.buf.data() + c_.pos + consumed_, n);
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }
  // The answer is rendered into memory, never written to the socket from
  // here: a thread running requests must not wait for a client that reads
  // slowly (what the socket does not take at once is written as the client
  // makes room).
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

  // The request's field `name` (any case) as httplib's
  // get_header_value gives it, when the head alone makes that certain: the
  // first such field, OWS trimmed. nullopt when httplib must say: the value
  // is empty (which httplib may drop) or holds '%' (httplib percent-decodes
  // header values), the head has more fields than are indexed, or the name is
  // one httplib sets itself (REMOTE_ADDR and the like). What the client sent:
  // a field our hooks set or erase later (Content-Length, Expect, Range) is
  // to be asked of httplib after they ran.
  std::optional<std::string_view> field(std::string_view name) {
    if (!indexed(name)) return std::nullopt;
    const FieldIndex::Field* f = find_field(head(), index_, name);
    if (f == nullptr) return std::string_view();
    std::string_view value = head().substr(f->value, f->value_len);
    if (value.empty() || value.find('%') != std::string_view::npos) return std::nullopt;
    return value;
  }
  // Whether the request has the field, as httplib's has_header says (same
  // terms as field()).
  std::optional<bool> has_field(std::string_view name) {
    if (!indexed(name)) return std::nullopt;
    bool named = false;
    for (size_t i = 0; i < index_.count; ++i) {
      if (!field_named(head(), index_.fields[i], name)) continue;
      if (index_.fields[i].value_len > 0) return true;
      named = true;  // only with an empty value so far: httplib may have dropped it
    }
    if (named) return std::nullopt;
    return false;
  }

  size_t consumed() const { return consumed_; }
  // Read to the end that the gate found, and not refused before its body.
  bool request_consumed() const { return !c_.refuse && consumed_ == limit_; }
  void must_close() { must_close_ = true; }
  bool closing() const { return must_close_; }

 private:
  std::string_view head() const { return std::string_view(c_.buf.data() + c_.pos, c_.head_len); }
  // Indexes the head on the first lookup; false when lookups of this name
  // must go to httplib.
  bool indexed(std::string_view name) {
    if (!tried_index_) {
      tried_index_ = true;
      index_fields(head(), index_);
    }
    return index_.complete && name.find('_') == std::string_view::npos;
  }

  Conn& c_;
  FieldIndex index_;
  bool tried_index_ = false;
  size_t limit_;
  size_t consumed_ = 0;
  bool must_close_ = false;
};

}  // namespace sunledger::edge
