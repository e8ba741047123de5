#include "webhooks/edge_connection.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>

#include "webhooks/edge_framing.h"

namespace sunledger::edge {

void send_nonblocking(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

size_t kernel_queued(int fd) {
  int queued = 0;
  if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
  return static_cast<size_t>(queued);
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

}  // namespace sunledger::edge
