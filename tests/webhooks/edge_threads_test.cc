// The edge's threading (webhooks/edge_core.h): the loop thread that reads a
// request runs it, within handler slots. A request that blocks (as a durable
// write waits for fdatasync) does not hold back the reads of other
// connections while slots are free; a connection served by several threads
// in turn keeps its requests in order; slow requests holding the threads
// that wait in epoll wake standby threads in their place; stop() with
// requests running and queued answers or closes each. Raw sockets over loopback, a real server.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "edge_fixture.h"

namespace sunledger {
namespace {

using nlohmann::json;
using namespace sunledger::testing;
using Clock = std::chrono::steady_clock;

struct EdgeThreads : GenericBotServer {
  EdgeThreads() : GenericBotServer("edge-secret-0123456789") { extra_routes = add_routes; }

  // GET /test/slow holds its thread 800 ms, as a durable write does when the
  // disk's fdatasync is slow (100-300 ms now and then on this machine; more
  // here, so the test's timing has room on a loaded machine).
  static constexpr int kSlowMs = 800;
  // GET /test/echo?n=N answers N, and notes which thread ran it (not for
  // n=x, the other connections' load).
  static std::mutex& seen_mu() {
    static std::mutex m;
    return m;
  }
  static std::set<std::thread::id>& seen() {
    static std::set<std::thread::id> s;
    return s;
  }
  static void add_routes(httplib::Server& routes) {
    routes.Get("/test/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kSlowMs));
      res.set_content("slow\n", "text/plain");
    });
    routes.Get("/test/echo", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("n") != "x") {
        std::lock_guard<std::mutex> lock(seen_mu());
        seen().insert(std::this_thread::get_id());
      }
      res.set_content(req.get_param_value("n"), "text/plain");
    });
  }

  // A villager's signed `账目 2022-11` in the bound group, through the real
  // webhook (signature, timestamp, binding, the bot's answer).
  std::string signed_query(const std::string& id) {
    const std::string body = json{{"message_id", id}, {"chat_id", "g"}, {"chat_type", "group"},
                                  {"sender_id", "villager-" + id}, {"sender_name", "村民"}, {"text", "账目 2022-11"}}
                                 .dump();
    std::string ts = std::to_string(t.clock.now_unix_seconds());
    std::string sig = base64_encode(std::string(as_view(hmac_sha256(secret_raw, id + "." + ts + "." + body))));
    return "POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: " + id +
           "\r\nwebhook-timestamp: " + ts + "\r\nwebhook-signature: v1," + sig +
           "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
};

// Three requests hold their threads (slow writes) while four handler slots
// exist: signed queries and /healthz on other connections are answered at
// once throughout. The control: once slow requests fill every slot, a read
// waits for one to finish (so the first half measured what free slots give,
// not an accident of timing).
TEST_F(EdgeThreads, ASlowRequestDoesNotHoldBackReadsOnOtherConnections) {
  HttpServerOptions o;
  o.worker_threads = 4;
  start(o);
  const std::string slow = "GET /test/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (int slow_count : {3, 4}) {
    SCOPED_TRACE(std::to_string(slow_count) + " slow requests, 4 slots");
    std::vector<std::thread> slowpokes;
    std::vector<Received> slow_answers(static_cast<size_t>(slow_count));
    for (int i = 0; i < slow_count; ++i)
      slowpokes.emplace_back([&, i] { slow_answers[static_cast<size_t>(i)] = exchange(slow); });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // they are running
    std::vector<double> took;
    int answered = 0;
    for (int i = 0; i < 4; ++i) {
      Received q = exchange(i % 2 == 0 ? signed_query("m" + std::to_string(slow_count) + "-" + std::to_string(i))
                                          : "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      auto answers = split_answers(q.bytes);
      if (answers.size() == 1 && answers[0].status == 200) ++answered;
      if (i % 2 == 0 && answers.size() == 1) {
        EXPECT_TRUE(json::parse(answers[0].body, nullptr, false)["reply"].is_string()) << answers[0].body;
      }
      took.push_back(q.seconds);
    }
    for (auto& t : slowpokes) t.join();
    for (const Received& r : slow_answers) EXPECT_EQ(r.bytes.rfind("HTTP/1.1 200 ", 0), 0u) << r.bytes;
    EXPECT_EQ(answered, 4);
    std::printf("%d slow requests in 4 slots: reads took", slow_count);
    for (double t : took) std::printf(" %.3f", t);
    std::printf(" s\n");
    if (slow_count == 3) {
      for (double t : took) EXPECT_LT(t, 0.3) << "a read waited behind the slow requests";
    } else {
      // The first read waits for a slot: about the rest of the slow requests' 800 ms.
      EXPECT_GT(took[0], 0.4) << "the control: with every slot held the read should have waited";
    }
  }
}

// With the default 32 slots only a few threads wait in epoll (the cores plus
// two); eight slow requests at once hold more than those, and the sweeper
// wakes standby threads in their place within milliseconds: reads on other
// connections are still answered at once.
TEST_F(EdgeThreads, SlowRequestsBeyondTheActiveThreadsWakeStandbyThreads) {
  start();
  const std::string slow = "GET /test/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::vector<std::thread> slowpokes;
  std::vector<Received> slow_answers(8);
  for (size_t i = 0; i < slow_answers.size(); ++i)
    slowpokes.emplace_back([&, i] { slow_answers[i] = exchange(slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // they are running
  std::vector<double> took;
  for (int i = 0; i < 6; ++i) {
    Received q = exchange(i % 2 == 0 ? signed_query("standby-" + std::to_string(i))
                                     : "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto answers = split_answers(q.bytes);
    ASSERT_EQ(answers.size(), 1u) << q.bytes;
    EXPECT_EQ(answers[0].status, 200) << q.bytes;
    EXPECT_LT(q.seconds, 0.3) << "read " << i << " waited behind the slow requests";
    took.push_back(q.seconds);
  }
  for (auto& t : slowpokes) t.join();
  for (const Received& r : slow_answers) EXPECT_EQ(r.bytes.rfind("HTTP/1.1 200 ", 0), 0u) << r.bytes;
  std::printf("8 slow requests, 32 slots: reads took");
  for (double t : took) std::printf(" %.3f", t);
  std::printf(" s\n");
}

// One connection sends 300 requests, one at a time and in pipelined bursts of
// five, while four other connections keep the threads busy: epoll hands the
// connection to whichever thread is free, so several threads serve it in
// turn, and its answers still come back in the order asked.
TEST_F(EdgeThreads, AConnectionServedByManyThreadsKeepsItsRequestsInOrder) {
  HttpServerOptions o;
  o.worker_threads = 8;
  start(o);
  {
    std::lock_guard<std::mutex> lock(seen_mu());
    seen().clear();
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> load;
  auto stop_load = [&] {
    done = true;
    for (auto& t : load)
      if (t.joinable()) t.join();
  };
  std::thread none;
  Joined joined{none, stop_load};
  for (int k = 0; k < 4; ++k)
    load.emplace_back([&] {
      auto c = s.client();
      while (!done.load()) c.Get("/test/echo?n=x");
    });
  int fd = connect_loopback(s.port);
  ASSERT_GE(fd, 0);
  std::vector<int> order;
  std::string pending;
  int next = 0;
  auto take = [&](size_t want) {
    char buf[4096];
    while (true) {
      auto answers = split_answers(pending);
      size_t complete = 0;
      for (const auto& a : answers)
        if (a.status > 0 && a.body.size() == std::strtoul(a.head.c_str() + a.head.find("Content-Length: ") + 16, nullptr, 10)) ++complete;
      if (complete >= want) {
        for (const auto& a : answers) order.push_back(std::atoi(a.body.c_str()));
        pending.clear();
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 3000) <= 0) return false;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      pending.append(buf, static_cast<size_t>(n));
    }
  };
  while (next < 300) {
    size_t burst = next % 10 == 0 ? 5 : 1;
    std::string requests;
    for (size_t b = 0; b < burst; ++b)
      requests += "GET /test/echo?n=" + std::to_string(next++) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(send_all(fd, requests));
    ASSERT_TRUE(take(burst)) << "no answer after request " << next;
  }
  ::close(fd);
  stop_load();
  std::vector<int> expected(300);
  for (int i = 0; i < 300; ++i) expected[static_cast<size_t>(i)] = i;
  EXPECT_EQ(order, expected);
  size_t threads;
  {
    std::lock_guard<std::mutex> lock(seen_mu());
    threads = seen().size();
  }
  std::printf("the connection's requests were served by %zu threads\n", threads);
  EXPECT_GE(threads, 2u) << "one thread served everything: the test did not test hand-overs";
}

// stop() while two requests run (two slots) and four wait in the queue, on
// kept-alive connections: the running ones are answered, the queued ones are
// answered (Connection: close, or 503 shed when the queue was full), and every
// connection is closed; stop() returns once the running ones are done.
TEST_F(EdgeThreads, StopWithRequestsInFlightAnswersOrClosesEach) {
  HttpServerOptions o;
  o.worker_threads = 2;
  o.max_queued_requests = 4;
  start(o);
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) {
    int fd = connect_loopback(s.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    fds.push_back(fd);
  }
  // An idle connection and a half-sent request, too.
  int idle = connect_loopback(s.port);
  int half = connect_loopback(s.port);
  ASSERT_GE(idle, 0);
  ASSERT_GE(half, 0);
  ASSERT_TRUE(send_all(half, "GET /healthz HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto started = Clock::now();
  std::thread stopper([&] { s.stop(); });
  Joined joined{stopper};
  int ok = 0, shed = 0;
  for (int fd : fds) {
    Received r = read_until_close(fd, 5);
    EXPECT_TRUE(r.closed) << "a connection stayed open after stop()";
    auto answers = split_answers(r.bytes);
    ASSERT_EQ(answers.size(), 1u) << r.bytes;
    if (answers[0].status == 200) ++ok;
    if (answers[0].status == 503) ++shed;
    EXPECT_EQ(answers[0].status == 200 ? answers[0].body : "slow\n", "slow\n");
    ::close(fd);
  }
  stopper.join();
  double took = seconds_since(started);
  // Two run (800 ms), then the four queued (two at a time: 1.6 s more).
  EXPECT_LT(took, 4.0);
  std::printf("stop() took %.2f s: %d answered, %d shed\n", took, ok, shed);
  EXPECT_EQ(ok, 6);
  EXPECT_EQ(shed, 2);
  for (int fd : {idle, half}) {
    Received r = read_until_close(fd, 2);
    EXPECT_TRUE(r.closed);
    EXPECT_TRUE(r.bytes.empty()) << r.bytes;
    ::close(fd);
  }
}

}  // namespace
}  // namespace sunledger
