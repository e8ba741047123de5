// The HTTP edge (webhooks/http_edge.h) against a pipelined flood: clients that
// send many pipelined requests for a large answer and read nothing must not
// make the server render answers without end, nor delay anyone else. Raw
// sockets over loopback, a real server on port 0.
#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "edge_fixture.h"

namespace sunledger {
namespace {

using namespace sunledger::testing;
using Clock = std::chrono::steady_clock;

struct EdgeFlood : GenericBotServer {
  EdgeFlood() : GenericBotServer("edge-secret-0123456789") { extra_routes = add_big_route; }

  // GET /test/big answers 64 KiB (an entries page of a few hundred lines) and
  // counts how often it is rendered: what the flood costs the server.
  static constexpr const char* kBig = "/test/big";
  static constexpr size_t kBigSize = 64 * 1024;
  static std::atomic<int>& rendered() {
    static std::atomic<int> n{0};
    return n;
  }
  // GET /test/medium answers 32 KiB: under max_unread_answer_bytes, so the
  // kernel queues all of it and the gate holds none.
  static constexpr const char* kMedium = "/test/medium";
  static constexpr size_t kMediumSize = 32 * 1024;
  static void add_big_route(httplib::Server& routes) {
    routes.Get(kBig, [](const httplib::Request&, httplib::Response& res) {
      static const std::string body(kBigSize, 'x');
      rendered().fetch_add(1);
      res.set_content(body, "text/plain");
    });
    routes.Get(kMedium, [](const httplib::Request&, httplib::Response& res) {
      static const std::string body(kMediumSize, 'm');
      res.set_content(body, "text/plain");
    });
  }
};

// Sends what the socket takes of `data` now, never waiting.
size_t send_what_goes(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Waits up to `limit` seconds until the server has closed (reset) every one
// of `fds`; returns how many it closed.
int wait_until_closed(const std::vector<int>& fds, double limit) {
  auto start = Clock::now();
  int closed = 0;
  while (seconds_since(start) < limit) {
    std::vector<pollfd> p;
    for (int fd : fds) p.push_back({fd, 0, 0});
    ::poll(p.data(), p.size(), 0);
    closed = 0;
    for (auto& e : p)
      if (e.revents & (POLLHUP | POLLERR)) ++closed;
    if (closed == static_cast<int>(fds.size())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return closed;
}

// 256 connections (the cap of one client) each send 1,500 pipelined GETs of a
// 64 KiB answer and read nothing. Before, the bytes the kernel held in each
// socket's send buffer (megabytes on loopback) counted against no share, and
// a connection's next pipelined request ran as soon as the socket took the
// answer before it: the server rendered answers until every send buffer was
// full (about 100,000 entries pages in a review, a normal client waiting up
// to 2.5 s). Now the kernel's queue counts in the shares and a connection's
// next request waits until little of its answers is left queued, so each
// renders a few answers, then the write timeout closes it; a normal client is
// answered at once throughout.
TEST_F(EdgeFlood, PipelinedRequestsNobodyReadsRenderFewAnswers) {
  HttpServerOptions o;
  o.write_timeout = std::chrono::seconds(2);  // the attack's connections close sooner
  start(o);
  rendered() = 0;
  constexpr int kConns = 256;
  constexpr int kPipelined = 1500;
  const std::string request = "GET " + std::string(kBig) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string burst;
  for (int i = 0; i < kPipelined; ++i) burst += request;
  std::vector<int> fds;
  std::thread none;
  Joined closer{none, [&] {
                  for (int fd : fds) ::close(fd);
                }};
  size_t sent = 0;
  for (int i = 0; i < kConns; ++i) {
    int fd = connect_loopback(s.port);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
    sent += send_what_goes(fd, burst);
  }
  const auto attack_start = Clock::now();
  std::printf("%d connections sent %zu pipelined requests\n", kConns, sent / request.size());

  std::vector<double> latencies = normal_client_during(attack_start, 200, 400, 8);
  const int during = rendered().load();
  // Every connection is cut off by the write timeout (2 s without progress).
  const int closed = wait_until_closed(fds, 8);
  const int after = rendered().load();
  std::string lat;
  for (double l : latencies) lat += std::to_string(l) + " ";
  std::printf("normal client during the flood: %s(s)\n", lat.c_str());
  std::printf("answers rendered: %d during the flood, %d once its %d of %d connections were closed (%.1f s)\n", during,
              after, closed, kConns, seconds_since(attack_start));
  EXPECT_EQ(closed, kConns);
  // The attack was real: every connection had answers rendered for it.
  EXPECT_GE(during, kConns);
  // A few answers per connection: its next request waits while more than
  // edge_limits.h's pipeline_queued_bytes of its answers are unread. (Before,
  // each connection had answers rendered until its send buffer was full:
  // about 60 of these 64 KiB pages.)
  EXPECT_LE(after, kConns * 8) << "answers rendered for clients that read none";
}

// What the kernel holds of a client's answers counts in its share. One client
// asks for a 32 KiB answer on each of 24 connections with a 4 KB receive
// window and reads none: each answer waits whole in its socket's send queue,
// none with the gate. When only what the gate held counted, all 24 were
// answered under a 256 KiB share (and any number would have been); now about
// eight fill it and the rest are answered 503. The control run has no limit
// per client.
TEST_F(EdgeFlood, KernelQueuedAnswersCountInTheClientsShare) {
  for (bool limited : {false, true}) {
    SCOPED_TRACE(limited ? "limited per client" : "no limit per client");
    HttpServerOptions o;
    o.limit_loopback_clients = limited;
    o.max_output_per_client = 256 * 1024;
    start(o);  // the second time, a restart with these options
    std::vector<int> fds;
    std::thread none;
    Joined closer{none, [&] {
                    for (int fd : fds) ::close(fd);
                  }};
    int ok = 0, refused = 0;
    for (int i = 0; i < 24; ++i) {
      int fd = connect_slow_reader(s.port, "127.0.0.1");
      ASSERT_GE(fd, 0);
      fds.push_back(fd);
      ASSERT_TRUE(send_all(fd, "GET " + std::string(kMedium) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      std::string status = peek_status(fd);
      ASSERT_FALSE(status.empty()) << "connection " << i << " not answered";
      if (status == "HTTP/1.1 200") ++ok;
      if (status == "HTTP/1.1 503") ++refused;
    }
    std::printf("%s: %d answered, %d refused 503\n", limited ? "limited" : "control", ok, refused);
    if (limited) {
      EXPECT_GE(ok, 4);
      EXPECT_LE(ok, 14);
      EXPECT_EQ(ok + refused, 24);
    } else {
      EXPECT_EQ(ok, 24);
    }
  }
}

}  // namespace
}  // namespace sunledger
