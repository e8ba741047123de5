// The HTTP edge (webhooks/http_edge.h): slow clients are cut off by total
// deadlines without delaying anyone else, a request answered before its body
// was read closes its connection, a body-less POST is an empty body, and
// pipelined requests are answered in order. Raw sockets over loopback.
#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "edge_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;
using namespace sunledger::testing;
using Clock = std::chrono::steady_clock;

struct Edge : GenericBotServer {
  Edge() : GenericBotServer("edge-secret-0123456789") { extra_routes = add_large_route; }

  // GET /test/large answers 2 MiB at once: a large answer (the largest
  // entries page is 750 KB) without the CPU of rendering it hundreds of
  // times, which is not what these tests are about.
  static constexpr const char* kLarge = "/test/large";
  static constexpr size_t kLargeSize = 2 * 1024 * 1024;
  static void add_large_route(httplib::Server& routes) {
    routes.Get(kLarge, [](const httplib::Request&, httplib::Response& res) {
      static const std::string body(kLargeSize, 'x');
      res.set_content(body, "text/plain");
    });
  }
};

// 300 connections each send one byte of a request head every 2 s. With a
// worker per connection (and per-read timeouts) they held every worker and
// a normal client waited until they stopped; at the gate they wait alone, are
// answered 408 and closed when their 10 s for the head run out, and a normal
// client is answered at once throughout. Default deadlines.
TEST_F(Edge, SlowHeadsNeverDelayANormalClient) {
  start();
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nAccept: */*\r\n\r\n";
  constexpr int kSlow = 300;
  struct Slow {
    int fd = -1;
    Clock::time_point started;
    size_t sent = 0;
    std::string got;
    double closed_after = -1;
  };
  std::vector<Slow> slow(kSlow);
  for (auto& c : slow) {
    c.fd = connect_loopback(s.port);
    ASSERT_GE(c.fd, 0);
    c.started = Clock::now();
    ASSERT_TRUE(send_all(c.fd, head.substr(0, 1)));
    c.sent = 1;
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL, 0) | O_NONBLOCK);
  }
  const auto attack_start = Clock::now();
  std::atomic<bool> done{false};
  std::thread attacker;
  Joined joined{attacker, [&] { done = true; }};
  attacker = std::thread([&] {
    auto next_round = attack_start + std::chrono::seconds(2);
    while (!done.load() && seconds_since(attack_start) < 14) {
      // Notice closes as they happen.
      std::vector<pollfd> fds;
      std::vector<Slow*> owners;
      for (auto& c : slow)
        if (c.closed_after < 0) {
          fds.push_back({c.fd, POLLIN, 0});
          owners.push_back(&c);
        }
      if (fds.empty()) break;
      ::poll(fds.data(), fds.size(), 20);
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Slow& c = *owners[i];
        char buf[1024];
        ssize_t n;
        while ((n = ::recv(c.fd, buf, sizeof buf, 0)) > 0) c.got.append(buf, static_cast<size_t>(n));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) c.closed_after = seconds_since(c.started);
      }
      if (Clock::now() >= next_round) {
        for (auto& c : slow)
          if (c.closed_after < 0 && c.sent < head.size() - 2) {
            ::send(c.fd, head.data() + c.sent, 1, MSG_NOSIGNAL);
            ++c.sent;
          }
        next_round += std::chrono::seconds(2);
      }
    }
  });

  // A normal client, on a new connection each time, during the attack.
  std::vector<double> latencies = normal_client_during(attack_start, 800, 1600, 5);
  attacker.join();
  int answered_408 = 0;
  for (auto& c : slow) {
    EXPECT_GE(c.closed_after, 0) << "a slow connection was still open 14 s after the attack began";
    if (c.closed_after >= 0) {
      EXPECT_LT(c.closed_after, 11.0) << "closed " << c.closed_after << " s after its start";
      EXPECT_GT(c.closed_after, 9.0) << "closed before its head deadline";
    }
    if (c.got.rfind("HTTP/1.1 408 ", 0) == 0 && c.got.find("Connection: close") != std::string::npos) ++answered_408;
    ::close(c.fd);
  }
  EXPECT_EQ(answered_408, kSlow);
  std::string lat;
  for (double l : latencies) lat += std::to_string(l) + " ";
  std::printf("normal client during the attack: %s(s)\n", lat.c_str());
  // Counted once each, under one label.
  auto m = s.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("route=\"edge\",status=\"408\"} 300"), std::string::npos) << m->body;
}

// A body trickled one byte every 200 ms is cut off when its total time runs
// out, although no single read waits long; the same for a head.
TEST_F(Edge, TrickledBodyAndHeadAreCutOffAtTheirTotalDeadline) {
  HttpServerOptions o;
  o.header_deadline = std::chrono::milliseconds(1500);
  o.body_deadline = std::chrono::milliseconds(2000);
  start(o);
  auto trickle = [&](const std::string& first, const std::string& rest) {
    int fd = connect_loopback(s.port);
    EXPECT_GE(fd, 0);
    auto started = Clock::now();
    EXPECT_TRUE(send_all(fd, first));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    Received r;
    for (size_t i = 0; i < rest.size() && seconds_since(started) < 8; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) break;  // answered (or closed)
      ::send(fd, rest.data() + i, 1, MSG_NOSIGNAL);
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) & ~O_NONBLOCK);
    r = read_until_close(fd, 8 - seconds_since(started));
    r.seconds = seconds_since(started);
    ::close(fd);
    return r;
  };
  const std::string body = json{{"message_id", "m1"}, {"chat_id", "g"}, {"chat_type", "group"}, {"sender_id", "u"},
                                {"sender_name", "u"}, {"text", std::string(200, 'x')}}.dump();
  Received b = trickle("POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n",
                       body);
  EXPECT_TRUE(b.closed);
  EXPECT_EQ(b.bytes.rfind("HTTP/1.1 408 ", 0), 0u) << b.bytes;
  EXPECT_GT(b.seconds, 1.8);
  EXPECT_LT(b.seconds, 3.0);

  Received h = trickle("G", "ET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a-long-header-to-trickle\r\n\r\n");
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.bytes.rfind("HTTP/1.1 408 ", 0), 0u) << h.bytes;
  EXPECT_GT(h.seconds, 1.3);
  EXPECT_LT(h.seconds, 2.5);
  // Normal requests are untouched by the short deadlines.
  auto ok = s.client().Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// A request answered before its body was read: whatever followed it is never
// parsed as a request. Here each "body" is itself a valid request; the server
// answers the refusal with Connection: close, closes, and never answers the
// smuggled one (before, 411/413/415 kept the connection and the body was read
// as the next request).
TEST_F(Edge, ARequestRefusedBeforeItsBodyClosesTheConnection) {
  start();
  const std::string smuggled = "GET /v1/key HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string n = std::to_string(smuggled.size());
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"chunked", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled, 411},
      {"chunked with a length", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: " + n +
                                    "\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled, 411},
      {"over the cap", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + smuggled, 413},
      {"over the cap, expecting 100", "POST /webhooks/nobody HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 70000\r\n\r\n" + smuggled, 413},
      {"compressed", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: " + n +
                         "\r\n\r\n" + smuggled, 415},
      {"a GET with a body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + n + "\r\n\r\n" + smuggled, 200},
      {"a percent-encoded length", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: %33%33\r\n\r\n" + smuggled, 400},
      {"a space before the colon", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length : " + n + "\r\n\r\n" + smuggled, 400},
      {"two lengths", "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " + n +
                          "\r\n\r\n" + smuggled, 400},
      {"a bare LF in the head", "POST /webhooks/generic HTTP/1.1\r\nHost: x\nContent-Length: 0\r\n\r\n" + smuggled, 400},
      {"a head over 8 KiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n" + smuggled, 431},
  };
  // Sent in one write, and with the smuggled request in a second write
  // 100 ms later (cpp-httplib 0.11.4 dropped bytes read ahead with a request,
  // so a smuggled request got through only when it came in a later packet).
  for (const auto& [c, split] : [&] {
         std::vector<std::pair<Case, bool>> all;
         for (const auto& c : cases) {
           all.push_back({c, false});
           all.push_back({c, true});
         }
         return all;
       }()) {
    Received r;
    if (!split) {
      r = exchange(c.request);
    } else {
      int fd = connect_loopback(s.port);
      ASSERT_GE(fd, 0);
      size_t cut = c.request.size() - smuggled.size();
      ASSERT_TRUE(send_all(fd, c.request.substr(0, cut)));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      send_all(fd, c.request.substr(cut));  // the server may have closed already
      r = read_until_close(fd, 5);
      ::close(fd);
    }
    SCOPED_TRACE(split ? "smuggled request in a second write" : "in one write");
    EXPECT_TRUE(r.closed) << c.name << ": the connection stayed open";
    EXPECT_LT(r.seconds, 3.0) << c.name;
    auto answers = split_answers(r.bytes);
    ASSERT_EQ(answers.size(), 1u) << c.name << ": " << r.bytes;
    EXPECT_EQ(answers[0].status, c.status) << c.name << ": " << r.bytes;
    EXPECT_NE(answers[0].head.find("Connection: close\r\n"), std::string::npos) << c.name << ": " << answers[0].head;
    EXPECT_EQ(answers[0].head.find("Keep-Alive"), std::string::npos) << c.name << ": " << answers[0].head;
    EXPECT_EQ(answers[0].head.find("100 Continue"), std::string::npos) << c.name;
  }
  // A request whose body was read keeps its connection: the unknown bot's
  // 404 comes after its body, and the next request is a real one.
  Received kept = exchange(std::string("POST /webhooks/nobody HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}") +
                           "GET /v1/key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto answers = split_answers(kept.bytes);
  ASSERT_EQ(answers.size(), 2u) << kept.bytes;
  EXPECT_EQ(answers[0].status, 404);
  EXPECT_EQ(answers[1].status, 200);
}

// "100 Continue" is sent by the gate when it wants the body, once.
TEST_F(Edge, ExpectContinueGetsOneContinueThenTheAnswer) {
  start();
  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "POST /webhooks/nobody HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n"));
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  ssize_t got = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(got, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(got)), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(send_all(fd, "{}"));
  Received r = read_until_close(fd, 3);
  ::close(fd);
  auto answers = split_answers(r.bytes);
  ASSERT_EQ(answers.size(), 1u) << r.bytes;
  EXPECT_EQ(answers[0].status, 404);
}

// RFC 9112 §6.3: a POST with neither Content-Length nor Transfer-Encoding
// has an empty body. `curl -X POST .../publish` reaches the route (it was 411).
TEST_F(Edge, PostWithoutLengthHasAnEmptyBody) {
  start();
  auto c = s.client();
  auto e = c.Post("/v1/villages/shuangjiang/entries", {{"Authorization", "Bearer " + token}},
                  R"([{"date":"2022-11-20","type":"expense","category":"工程款","item":"道路","amount":142400,"project":"","fund":"专项资金"}])",
                  "application/json");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->status, 200) << e->body;

  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "POST /v1/villages/shuangjiang/months/2022-11/publish HTTP/1.1\r\nHost: x\r\n"
                           "Authorization: Bearer " + token + "\r\n\r\n"
                           "POST /v1/villages/shuangjiang/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           token + "\r\nConnection: close\r\n\r\n"));
  Received r = read_until_close(fd, 5);
  ::close(fd);
  auto answers = split_answers(r.bytes);
  ASSERT_EQ(answers.size(), 2u) << r.bytes;
  EXPECT_EQ(answers[0].status, 200) << answers[0].body;
  EXPECT_EQ(json::parse(answers[0].body, nullptr, false)["month"], "2022-11") << answers[0].body;
  // A route that needs a body gives its usual answer to an empty one.
  EXPECT_EQ(answers[1].status, 400) << answers[1].body;
  EXPECT_TRUE(r.closed);
}

// Requests sent back to back on one connection are answered in order, also
// when the bytes arrive split across a request's head.
TEST_F(Edge, PipelinedRequestsAreAnsweredInOrder) {
  start();
  const std::string requests =
      "GET /v1/villages/nowhere/checkpoint HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /v1/villages/shuangjiang/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
      "GET /v1/villages HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /webhooks/nobody HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\":"
      "GET /v1/key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::vector<int> expected = {404, 200, 401, 200, 404, 200};
  for (size_t split : {requests.size(), size_t{70}, size_t{150}, requests.size() - 10}) {
    int fd = connect_loopback(s.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, requests.substr(0, split)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (split < requests.size()) {
      ASSERT_TRUE(send_all(fd, requests.substr(split)));
    }
    Received r = read_until_close(fd, 5);
    ::close(fd);
    EXPECT_TRUE(r.closed) << "split at " << split;
    auto answers = split_answers(r.bytes);
    std::vector<int> statuses;
    for (auto& a : answers) statuses.push_back(a.status);
    EXPECT_EQ(statuses, expected) << "split at " << split << ":\n" << r.bytes;
  }
  // Keep-alive between requests sent one at a time (as wrk does).
  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got;
    char buf[1024];
    while (got.find("ok\n") == std::string::npos) {
      ssize_t k = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(k, 0) << "closed after " << i << " requests";
      got.append(buf, static_cast<size_t>(k));
    }
    EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
    EXPECT_NE(got.find("Keep-Alive: timeout=5"), std::string::npos) << got;
  }
  ::close(fd);
}

// Idle kept-alive connections hold no worker; only complete requests beyond
// the workers and the queue are shed, with 503 and Connection: close.
TEST_F(Edge, IdleConnectionsHoldNoWorkerAndBusyWorkersShed) {
  HttpServerOptions o;
  o.worker_threads = 2;
  o.max_queued_requests = 2;
  o.port = 0;
  o.log_requests = false;
  bot = std::make_unique<Bot>(t.ledger.get(), BotOptions{});
  ASSERT_TRUE(bot->initialize().is_ok());
  HttpServer server(t.ledger.get(), bot.get(), o);
  server.routes().Get("/test/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content("slow\n", "text/plain");
  });
  auto port = server.bind();
  ASSERT_TRUE(port.is_ok());
  std::thread listener([&] { server.listen(); });
  Joined joined{listener, [&] {
                  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                  server.stop();
                }};
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // 40 kept-alive connections, each answered once, then idle.
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    int fd = connect_loopback(*port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    idle.push_back(fd);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 200 ", 0), 0u);
  }
  // With a worker per connection these 40 would hold both workers; here the
  // next client is answered at once.
  httplib::Client c("127.0.0.1", *port);
  c.set_read_timeout(2, 0);
  auto started = Clock::now();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(seconds_since(started), 0.5);

  // Ten slow requests at once: two run, two wait, the rest are shed at once.
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) {
    int fd = connect_loopback(*port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /test/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    fds.push_back(fd);
  }
  int ok = 0, shed = 0;
  for (int fd : fds) {
    Received got = read_until_close(fd, 4);
    auto answers = split_answers(got.bytes);
    ASSERT_EQ(answers.size(), 1u) << got.bytes;
    if (answers[0].status == 200) ++ok;
    if (answers[0].status == 503) {
      ++shed;
      EXPECT_NE(answers[0].head.find("Connection: close"), std::string::npos);
      EXPECT_NE(answers[0].head.find("Retry-After: 1"), std::string::npos);
      EXPECT_TRUE(got.closed);
    }
    ::close(fd);
  }
  EXPECT_GE(ok, 2);
  EXPECT_GT(shed, 0);
  EXPECT_EQ(ok + shed, 10);
  for (int fd : idle) ::close(fd);
  auto after = c.Get("/healthz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// Server-side sockets on `port` that we closed but the kernel still holds
// (FIN-WAIT-1) with unsent bytes, and those bytes, from /proc/net/tcp.
std::pair<int, uint64_t> orphaned_output(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int sockets = 0;
  uint64_t bytes = 0;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state, queues;
    f >> slot >> local >> remote >> state >> queues;
    if (local.size() < 5 || local.compare(local.size() - 5, 5, suffix) != 0 || state != "04") continue;
    uint64_t tx = std::stoull(queues.substr(0, queues.find(':')), nullptr, 16);
    if (tx == 0) continue;
    ++sockets;
    bytes += tx;
  }
  return {sockets, bytes};
}

// A client that sends pipelined requests and never reads: once its answers
// cannot be written the connection is dropped, and what it never read must go
// with it. A plain close() left it to the kernel: each orphaned socket kept
// up to a whole send buffer (2.8 MB on loopback) for minutes, counted against
// no limit of ours, so a few hundred such clients took gigabytes of the
// host's TCP memory.
TEST_F(Edge, AnswersAClientNeverReadsDoNotOutliveItsConnection) {
  HttpServerOptions o;
  o.write_timeout = std::chrono::seconds(1);
  start(o);
  std::vector<TransactionLine> lines;
  for (int i = 0; i < 300; ++i)
    lines.push_back(testing::txn("2022-11-02", false, "办公费", "打印纸第" + std::to_string(i) + "包", 100 + i));
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", lines, testing::official()).is_ok());
  std::string request;
  for (int i = 0; i < 40; ++i) request += "GET /v1/villages/shuangjiang/entries HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(s.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_TRUE(send_all(fd, request));
    fds.push_back(fd);  // never read
  }
  // Answered until the socket buffers fill, then dropped after the 1 s write timeout.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  std::pair<int, uint64_t> left = orphaned_output(s.port);
  EXPECT_EQ(left.first, 0) << left.second << " bytes of answers left in the kernel for clients that never read";
  for (int fd : fds) ::close(fd);
  // The server still answers.
  auto ok = s.client().Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// One client asks for large answers (2 MiB) on 40 connections with a 4 KB
// receive window and a 536-byte MSS (a slow mobile link), four pipelined
// requests each (more than the kernel's send buffer takes), and reads 64 KB
// from each every 2 s. When a worker wrote the answer itself (each write
// needing progress only every 5 s, no deadline for the whole) they held all
// 32 workers: the last 8 readers and a normal client waited 5 to 9 s, and
// more as the attack re-opened its connections. Now a worker renders the
// answer, sends what the socket takes and hands the rest to the gate, so the
// workers stay free and the normal client is answered at once throughout.
TEST_F(Edge, SlowReadersNeverDelayANormalClient) {
  start();
  constexpr int kReaders = 40;
  const std::string request = "GET " + std::string(kLarge) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<int> fds;
  std::vector<size_t> got(kReaders, 0);
  std::vector<std::string> first(kReaders);
  for (int i = 0; i < kReaders; ++i) {
    int fd = connect_slow_reader(s.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, request + request + request + request));
    timeval tv{0, 300'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    fds.push_back(fd);
  }
  // Each reader takes 64 KB (or what comes in 0.3 s) every 2 s.
  const auto attack_start = Clock::now();
  std::atomic<bool> done{false};
  std::atomic<int> begun{0};
  std::vector<std::thread> readers;
  auto stop_readers = [&] {
    done = true;
    for (auto& r : readers)
      if (r.joinable()) r.join();
  };
  std::thread none;
  Joined joined{none, [&] {
                  stop_readers();
                  for (int fd : fds) ::close(fd);
                }};
  const size_t chunk = 64 * 1024;
  for (int i = 0; i < kReaders; ++i)
    readers.emplace_back([&, i] {
      std::vector<char> buf(chunk);
      while (!done.load()) {
        ssize_t n = ::recv(fds[i], buf.data(), chunk, MSG_WAITALL);
        if (n > 0) {
          bool was_begun = first[i].size() == 12;
          if (first[i].size() < 12) first[i].append(buf.data(), std::min<size_t>(12 - first[i].size(), static_cast<size_t>(n)));
          if (!was_begun && first[i].size() == 12) ++begun;
          got[i] += static_cast<size_t>(n);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          return;  // closed
        } else {
          continue;  // nothing yet: keep waiting for the answer to begin
        }
        for (int k = 0; k < 40 && !done.load(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  // Every answer has begun within 2 s (when workers wrote, only 32 did).
  while (begun.load() < kReaders && seconds_since(attack_start) < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::printf("%d of %d slow answers begun after %.2f s\n", begun.load(), kReaders, seconds_since(attack_start));
  const auto measure_start = Clock::now();

  std::vector<double> latencies = normal_client_during(measure_start, 200, 1000, 6);
  stop_readers();
  // The attack was real: every reader was being answered, slowly.
  int answered = 0;
  for (int i = 0; i < kReaders; ++i)
    if (first[i] == "HTTP/1.1 200" && got[i] < kLargeSize) ++answered;
  EXPECT_EQ(answered, kReaders);
  std::string lat;
  for (double l : latencies) lat += std::to_string(l) + " ";
  std::printf("normal client during the slow-reader attack: %s(s)\n", lat.c_str());
}

// Reads a slow reader's connection 1 KB every 100 ms (always making progress)
// until the server closes it or `limit` seconds pass.
Received read_slowly(int fd, double limit) {
  Received r;
  auto start = Clock::now();
  char buf[1024];
  while (seconds_since(start) < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  r.seconds = seconds_since(start);
  return r;
}

// A reader that keeps taking a little (so no single write stalls) is still
// cut off when the whole answer's deadline runs out, and a reader that keeps
// up gets the whole page.
TEST_F(Edge, ASlowReaderIsCutOffAtItsAnswerDeadline) {
  HttpServerOptions o;
  o.answer_deadline = std::chrono::milliseconds(2000);
  start(o);
  auto whole = s.client().Get(kLarge);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body.size(), kLargeSize);

  int fd = connect_slow_reader(s.port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET " + std::string(kLarge) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  Received r = read_slowly(fd, 8);
  ::close(fd);
  EXPECT_TRUE(r.closed) << "still open after " << r.seconds << " s, " << r.bytes.size() << " bytes read";
  EXPECT_EQ(r.bytes.rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_LT(r.bytes.size(), kLargeSize);
  // Cut at 2 s, seen once the client has read what its kernel still held.
  EXPECT_GT(r.seconds, 1.5);
  EXPECT_LT(r.seconds, 5.0);
  std::printf("slow reader cut off after %.2f s, %zu of %zu bytes read\n", r.seconds, r.bytes.size(), kLargeSize);
}

// One client's unread answers fill only its own share of memory: past
// max_output_per_client its further requests are answered 503 (at once,
// closing), while another client is answered as usual. Each connection
// opens once the one before has been answered, so the share is known full
// before the next request runs. The control run has no limit per client.
TEST_F(Edge, OneClientsUnreadAnswersFillOnlyItsShare) {
  for (bool limited : {false, true}) {
    SCOPED_TRACE(limited ? "limited per client" : "no limit per client");
    HttpServerOptions o;
    o.limit_loopback_clients = limited;
    o.max_output_per_client = 2 * 1024 * 1024;
    start(o);  // the second time, a restart with these options
    std::vector<int> fds;
    int ok = 0, refused = 0;
    for (int i = 0; i < 12; ++i) {
      int fd = connect_slow_reader(s.port, "127.0.0.1");
      ASSERT_GE(fd, 0);
      fds.push_back(fd);
      ASSERT_TRUE(send_all(fd, "GET " + std::string(kLarge) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      std::string status = peek_status(fd);
      ASSERT_FALSE(status.empty()) << "connection " << i << " not answered";
      if (status == "HTTP/1.1 200") ++ok;
      if (status == "HTTP/1.1 503") ++refused;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the gate takes its unsent answer
    }
    std::printf("%s: %d answered, %d refused 503\n", limited ? "limited" : "control", ok, refused);
    if (limited) {
      EXPECT_GE(ok, 1);
      EXPECT_GE(refused, 8) << ok << " answered";
    } else {
      EXPECT_EQ(ok, 12);
    }
    int other = connect_from(s.port, "127.0.0.2");
    ASSERT_GE(other, 0) << "bind to 127.0.0.2";
    auto started = Clock::now();
    ASSERT_TRUE(send_all(other, "GET " + std::string(kLarge) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    Received r = read_until_close(other, 5);
    ::close(other);
    auto answers = split_answers(r.bytes);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].status, 200);
    EXPECT_EQ(answers[0].body.size(), kLargeSize);
    EXPECT_LT(seconds_since(started), 1.0);
    for (int fd : fds) ::close(fd);
  }
}

// Past max_connections a new connection is answered 503 and closed at once.
TEST_F(Edge, ConnectionsPastTheLimitAreAnswered503) {
  HttpServerOptions o;
  o.max_connections = 5;
  start(o);
  std::vector<int> held;
  for (int i = 0; i < 5; ++i) held.push_back(connect_loopback(s.port));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  Received r = read_until_close(fd, 3);
  ::close(fd);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.bytes.rfind("HTTP/1.1 503 ", 0), 0u) << r.bytes;
  for (int h : held) ::close(h);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto ok = s.client().Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// One client opens connections as fast as they are closed (each sends a
// byte now and then, within every deadline, or is re-opened when cut off):
// without a limit per client it held every one of them, and every other
// client was answered 503 at once for as long as it went on. Each client
// now holds at most max_connections_per_client; the rest are 503 for it
// alone, and another client is answered as usual.
TEST_F(Edge, OneClientCannotHoldEveryConnection) {
  for (bool limited : {false, true}) {
    SCOPED_TRACE(limited ? "limited per client" : "one limit for all (as before)");
    HttpServerOptions o;
    o.max_connections = 40;
    o.max_connections_per_client = limited ? 10 : 1000;
    o.limit_loopback_clients = true;
    start(o);  // the second time, a restart with these options
    std::vector<int> held;
    for (int i = 0; i < 60; ++i) {
      int fd = connect_from(s.port, "127.0.0.1");
      ASSERT_GE(fd, 0);
      send_all(fd, "G");
      held.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    int refused = 0;
    for (int fd : held) {
      pollfd p{fd, POLLIN, 0};
      char buf[64];
      if (::poll(&p, 1, 0) == 1 && ::recv(fd, buf, sizeof buf, MSG_PEEK) > 0 && std::string(buf, 12) == "HTTP/1.1 503") ++refused;
    }
    EXPECT_EQ(refused, limited ? 50 : 20);
    int other = connect_from(s.port, "127.0.0.2");
    ASSERT_GE(other, 0) << "bind to 127.0.0.2";
    auto started = Clock::now();
    send_all(other, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    Received r = read_until_close(other, 3);
    ::close(other);
    if (limited) {
      EXPECT_EQ(r.bytes.rfind("HTTP/1.1 200 ", 0), 0u) << r.bytes;
      EXPECT_LT(seconds_since(started), 1.0);
    } else {
      EXPECT_EQ(r.bytes.rfind("HTTP/1.1 503 ", 0), 0u) << "the control: one client shuts everyone out\n" << r.bytes;
    }
    for (int fd : held) ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// stop() closes every connection the gate holds, idle or half-sent, and returns.
TEST_F(Edge, StopClosesEveryConnection) {
  start();
  std::vector<int> fds;
  for (int i = 0; i < 30; ++i) {
    int fd = connect_loopback(s.port);
    ASSERT_GE(fd, 0);
    if (i % 3 == 1) send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // then idle
    if (i % 3 == 2) send_all(fd, "POST /webhooks/generic HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");  // half-sent
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto started = Clock::now();
  s.stop();
  EXPECT_LT(seconds_since(started), 2.0);
  for (int fd : fds) {
    Received r = read_until_close(fd, 2);
    EXPECT_TRUE(r.closed);
    ::close(fd);
  }
}

// What a client sent reaches the log only with its control characters
// escaped: a duplicate JSON key holding a newline cannot forge a log line.
TEST_F(Edge, ClientBytesInTheLogAreEscaped) {
  EXPECT_EQ(log_safe("a\nb\r\x1b[31mc\x7f"), "a\\x0ab\\x0d\\x1b[31mc\\x7f");
  EXPECT_EQ(log_safe("账目 ok"), "账目 ok");
  start();
  const std::string body = R"({"x\u000aFORGED GET /v1/key 200":1,"x\u000aFORGED GET /v1/key 200":2})";
  std::string id = "m-escape", ts = std::to_string(t.clock.now_unix_seconds());
  std::string sig = base64_encode(std::string(as_view(hmac_sha256(secret_raw, id + "." + ts + "." + body))));

  int status = 0;
  const std::string log = capture_stderr([&] {
    auto r = s.client().Post("/webhooks/generic",
                             {{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}}, body,
                             "application/json");
    status = r ? r->status : -1;
  });
  EXPECT_EQ(status, 400);
  EXPECT_NE(log.find("rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("x\\x0aFORGED"), std::string::npos) << log;
  EXPECT_EQ(log.find("\nFORGED"), std::string::npos) << log;
}

}  // namespace
}  // namespace sunledger
