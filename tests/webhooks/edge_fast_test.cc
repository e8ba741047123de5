// The edge's own path for a plain POST /webhooks/<bot> and GET /healthz
// (webhooks/edge_fast.cc, issue #18): every answer is byte for byte what httplib's request handling
// gives for the same request (status line, fields and their order,
// Connection/Keep-Alive, Content-Length, body; httplib sends no Date), on a
// kept connection, pipelined, closing, and for every error the route and the
// guards give; what the path does not take still goes to httplib. Each row
// runs twice on one real server over a real ledger, the edge's path on and
// off, with its own message ids.
#include <httplib.h>

#include <atomic>
#include <functional>
#include <random>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "edge_fixture.h"
#include "webhooks/edge_framing.h"
#include "webhooks/http_edge.h"

namespace sunledger {
namespace {

using nlohmann::json;
using namespace sunledger::testing;

// How many whole answers `bytes` holds (heads and bodies by Content-Length).
size_t whole_answers(const std::string& bytes) {
  size_t n = 0, pos = 0;
  for (;;) {
    size_t end = bytes.find("\r\n\r\n", pos);
    if (end == std::string::npos) return n;
    std::string head = bytes.substr(pos, end + 4 - pos);
    size_t cl = head.find("Content-Length: ");
    size_t len = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    if (bytes.size() < end + 4 + len) return n;
    pos = end + 4 + len;
    ++n;
  }
}

// Reads until `want` whole answers have come (then waits 50 ms more, so a
// close that follows the last one is seen), the server closes, or 5 s pass.
Received read_answers(int fd, size_t want, bool head_only = false) {
  Received r;
  auto start = std::chrono::steady_clock::now();
  char buf[4096];
  while (seconds_since(start) < 5) {
    size_t have = head_only ? (r.bytes.find("\r\n\r\n") == std::string::npos ? 0 : 1) : whole_answers(r.bytes);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, have >= want ? 50 : 100) <= 0) {
      if (have >= want) break;
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
  }
  return r;
}

struct EdgeFast : GenericBotServer {
  EdgeFast() : GenericBotServer("edge-fast-secret-0123456") { extra_routes = add_routes; }

  static constexpr int kSlowMs = 600;
  // How many slow requests a handler took up: a test waits for its own to
  // hold the slot, not a fixed time (150 ms was too short on a loaded machine).
  static inline std::atomic<int> slow_taken{0};
  static void add_routes(httplib::Server& routes) {
    routes.Get("/test/slow", [](const httplib::Request&, httplib::Response& res) {
      ++slow_taken;
      std::this_thread::sleep_for(std::chrono::milliseconds(kSlowMs));
      res.set_content("slow\n", "text/plain");
    });
  }

  EdgeServer& edge() { return dynamic_cast<EdgeServer&>(s.server->routes()); }

  struct Signed {
    std::string path = "/webhooks/generic";
    std::string text = "账目 2022-11";
    std::string body;  // instead of the message's JSON
    std::string extra;  // fields, each ending CRLF
    bool bad_signature = false;
    bool close = false;
  };
  // A villager's signed message in the bound group.
  std::string request(const std::string& id, const Signed& o) {
    std::string body = o.body.empty() ? json{{"message_id", id}, {"chat_id", "g"}, {"chat_type", "group"},
                                             {"sender_id", "villager-" + id}, {"sender_name", "村民"}, {"text", o.text}}
                                            .dump()
                                      : o.body;
    std::string ts = std::to_string(t.clock.now_unix_seconds());
    std::string sig = base64_encode(std::string(as_view(hmac_sha256(secret_raw, id + "." + ts + "." + body))));
    if (o.bad_signature) sig[0] = sig[0] == 'A' ? 'B' : 'A';
    return "POST " + o.path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: " + id +
           "\r\nwebhook-timestamp: " + ts + "\r\nwebhook-signature: v1," + sig + "\r\n" + o.extra +
           (o.close ? "Connection: close\r\n" : "") + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
  }

  // One exchange on a new connection: each step sends its bytes and reads
  // that many answers. Returns everything received, and whether the server
  // closed.
  struct Step {
    std::string bytes;
    size_t answers = 1;
  };
  Received run(const std::vector<Step>& steps, bool head_only = false) {
    int fd = connect_loopback(s.port);
    EXPECT_GE(fd, 0);
    Received all;
    for (const Step& step : steps) {
      EXPECT_TRUE(send_all(fd, step.bytes));
      Received r = read_answers(fd, step.answers, head_only);
      all.bytes += r.bytes;
      all.closed = r.closed;
      if (r.closed) break;
    }
    ::close(fd);
    return all;
  }
};

TEST(EdgeFastReasons, StatusReasonsAreHttplibs) {
  httplib::Server plain;
  plain.set_tcp_nodelay(true);
  plain.Get("/s", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.get_param_value("n"));
    res.set_content("x", "text/plain");
  });
  int port = plain.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread th([&plain] { plain.listen_after_bind(); });
  Joined joined{th, [&plain] { plain.stop(); }};
  while (!plain.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  for (int status = 200; status < 600; ++status) {  // 1xx are not final answers to a client
    auto r = c.Get(("/s?n=" + std::to_string(status)).c_str());
    ASSERT_TRUE(r) << status;
    ASSERT_EQ(r->status, status);
    EXPECT_EQ(r->reason, edge::status_reason(status)) << status;
  }
}

TEST_F(EdgeFast, EveryAnswerIsHttplibsAnswer) {
  HttpServerOptions o;
  o.keep_alive_max_count = 3;  // the third request on a connection is answered with a close
  start(o);
  struct Row {
    std::string name;
    std::function<std::vector<Step>(const std::string& tag)> steps;
    bool fast;  // the edge's path answers it (else httplib does, both times)
    bool head_only = false;
  };
  auto one = [](std::string bytes) { return std::vector<Step>{{std::move(bytes), 1}}; };
  std::vector<Row> rows = {
      {"kept connection", [&](const std::string& t) { return one(request(t + "a", {})); }, true},
      {"Connection: close", [&](const std::string& t) { Signed o; o.close = true; return one(request(t + "a", o)); }, true},
      {"two in turn, a third closes (keep-alive max 3)",
       [&](const std::string& t) {
         return std::vector<Step>{{request(t + "a", {}), 1}, {request(t + "b", {}), 1}, {request(t + "c", {}), 1}};
       },
       true},
      {"pipelined", [&](const std::string& t) { return std::vector<Step>{{request(t + "a", {}) + request(t + "b", {}), 2}}; }, true},
      {"conditional fields",
       [&](const std::string& t) {
         Signed o;
         o.extra = "If-None-Match: \"abc\"\r\nIf-Modified-Since: Tue, 01 Dec 2026 00:00:00 GMT\r\nCache-Control: no-cache\r\n";
         return one(request(t + "a", o));
       },
       true},
      {"a query string", [&](const std::string& t) { Signed o; o.path += "?x=1&y=a+b"; return one(request(t + "a", o)); }, true},
      {"another command", [&](const std::string& t) { Signed o; o.text = "帮助"; return one(request(t + "a", o)); }, true},
      {"400 body not JSON", [&](const std::string& t) { Signed o; o.body = "{"; return one(request(t + "a", o)); }, true},
      {"401 bad signature", [&](const std::string& t) { Signed o; o.bad_signature = true; return one(request(t + "a", o)); }, true},
      {"401 no signature, no body",
       [&](const std::string&) { return one("POST /webhooks/generic HTTP/1.1\r\nHost: x\r\n\r\n"); }, true},
      {"404 no such bot", [&](const std::string& t) { Signed o; o.path = "/webhooks/nobody"; return one(request(t + "a", o)); }, true},
      {"415 compressed body (the guard answers, the body stays unread, closed)",
       [&](const std::string& t) { Signed o; o.extra = "Content-Encoding: gzip\r\n"; return one(request(t + "a", o)); }, true},
      {"Accept-Encoding: identity (as Python's http.client sends)",
       [&](const std::string& t) { Signed o; o.extra = "Accept-Encoding: identity\r\n"; return one(request(t + "a", o)); }, true},
      {"a field twice, names in any case",
       [&](const std::string& t) { Signed o; o.extra = "X-A: 1\r\nx-a: 2\r\nCONNECTION: keep-alive\r\n"; return one(request(t + "a", o)); },
       true},
      {"Connection: Close (httplib closes on \"close\" exactly)",
       [&](const std::string& t) { Signed o; o.extra = "Connection: Close\r\n"; return one(request(t + "a", o)); }, true},
      {"pipelined, the edge's path then httplib then the edge's path",
       [&](const std::string& t) {
         Signed range;
         range.extra = "Range: bytes=0-3\r\n";
         return std::vector<Step>{{request(t + "a", {}) + request(t + "b", range) + request(t + "c", {}), 3}};
       },
       true},
      {"GET /healthz", [&](const std::string&) { return one("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); }, true},
      {"GET /healthz?probe=1, closing",
       [&](const std::string&) { return one("GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); }, true},
      {"GET /healthz pipelined with a signed query",
       [&](const std::string& t) {
         return std::vector<Step>{{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + request(t + "a", {}), 2}};
       },
       true},
      // What the edge's path leaves to httplib.
      {"HEAD /healthz", [&](const std::string&) { return one("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); }, false, true},
      {"GET /healthz with a body (refused by the gate)",
       [&](const std::string&) { return one("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"); }, false},
      {"GET /healthzx", [&](const std::string&) { return one("GET /healthzx HTTP/1.1\r\nHost: x\r\n\r\n"); }, false},
      {"GET /healthz, Accept-Encoding: gzip",
       [&](const std::string&) { return one("GET /healthz HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"); }, false},
      {"404 path with a slash", [&](const std::string& t) { Signed o; o.path = "/webhooks/a/b"; return one(request(t + "a", o)); }, false},
      {"404 PUT", [&](const std::string&) { return one("PUT /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); }, false},
      {"HEAD", [&](const std::string&) { return one("HEAD /webhooks/generic HTTP/1.1\r\nHost: x\r\n\r\n"); }, false, true},
      {"411 chunked",
       [&](const std::string&) {
         return one("POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
       },
       false},
      {"413 body over the cap",
       [&](const std::string&) { return one("POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"); }, false},
      {"Accept-Encoding (httplib may compress)",
       [&](const std::string& t) { Signed o; o.extra = "Accept-Encoding: gzip, br\r\n"; return one(request(t + "a", o)); }, false},
      {"Range", [&](const std::string& t) { Signed o; o.extra = "Range: bytes=0-3\r\n"; return one(request(t + "a", o)); }, false},
      {"an empty field", [&](const std::string& t) { Signed o; o.extra = "X-Empty:\r\n"; return one(request(t + "a", o)); }, false},
      {"a field with %", [&](const std::string& t) { Signed o; o.extra = "X-P: a%20b\r\n"; return one(request(t + "a", o)); }, false},
      {"a path with %", [&](const std::string& t) { Signed o; o.path = "/webhooks/gener%69c"; return one(request(t + "a", o)); }, false},
      {"HTTP/1.0",
       [&](const std::string& t) {
         std::string r = request(t + "a", {});
         r.replace(r.find("HTTP/1.1"), 8, "HTTP/1.0");
         return one(r);
       },
       false},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    edge().set_fast_path(false);
    size_t before = edge().fast_answers();
    Received slow = run(row.steps("h" + std::to_string(i) + "-"), row.head_only);
    EXPECT_EQ(edge().fast_answers(), before) << row.name;
    edge().set_fast_path(true);
    Received fast = run(row.steps("f" + std::to_string(i) + "-"), row.head_only);
    if (row.fast) {
      EXPECT_GT(edge().fast_answers(), before) << row.name << ": the edge's path did not answer it";
    } else {
      EXPECT_EQ(edge().fast_answers(), before) << row.name << ": the edge's path answered it";
    }
    EXPECT_FALSE(slow.bytes.empty()) << row.name;
    EXPECT_EQ(fast.bytes, slow.bytes) << row.name;
    EXPECT_EQ(fast.closed, slow.closed) << row.name;
  }
}

// The fields an answer's handler sets, in any case and order, among those
// httplib adds (Content-Length, Keep-Alive or Connection, Content-Type) and
// the edge's close: a route of the test's own, served by both paths, sets
// them from the seed in its path.
void random_answer(const std::string& seed, httplib::Response& res) {
  std::mt19937 rng(static_cast<uint32_t>(std::stoul(seed)));
  static const char* names[] = {"X-A", "x-a", "Content-Type", "content-type", "Connection", "Keep-Alive", "keep-alive",
                                "A", "Z-Last", "Retry-After", "Cache-Control", "ETag", "x-\xe4\xb8\xad", "Set-Cookie"};
  static const char* values[] = {"1", "close", "keep-alive", "text/html", "a b", "", "timeout=1", "v\xe4\xb8\xad"};
  static const int statuses[] = {200, 201, 204, 400, 401, 404, 409, 413, 418, 500, 503, 599};
  res.status = statuses[rng() % 12];
  size_t n = rng() % 6;
  for (size_t i = 0; i < n; ++i) res.set_header(names[rng() % 14], values[rng() % 8]);
  if (rng() % 3 != 0) res.body = std::string(rng() % 40, 'b');
}

TEST_F(EdgeFast, RandomAnswerFieldsAreWrittenAsHttplibWritesThem) {
  extra_routes = [](httplib::Server& routes) {
    routes.Post(R"(/test/fast/([^/]+))", [](const httplib::Request& req, httplib::Response& res) { random_answer(req.matches[1], res); });
    dynamic_cast<EdgeServer&>(routes).set_fast_post(
        "/test/fast/", [](std::string_view tail, const httplib::Request&, httplib::Response& res) { random_answer(std::string(tail), res); });
  };
  start();
  for (int i = 0; i < 300; ++i) {
    std::string request = "POST /test/fast/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n";
    // The third asks for the close, which ends the exchange at once.
    std::vector<Step> steps = {{request + "\r\nhi" + request + "\r\nhi" + request + "Connection: close\r\n\r\nhi", 3}};
    edge().set_fast_path(false);
    size_t before = edge().fast_answers();
    Received slow = run(steps);
    edge().set_fast_path(true);
    Received fast = run(steps);
    ASSERT_GT(edge().fast_answers(), before);
    ASSERT_EQ(fast.bytes, slow.bytes) << i;
    ASSERT_EQ(fast.closed, slow.closed) << i;
  }
}

// Every handler slot busy and no room in the queue: the guard sheds the
// signed query (503, Retry-After) on both paths alike.
TEST_F(EdgeFast, AShedRequestIsAnsweredAsHttplibAnswersIt) {
  HttpServerOptions o;
  o.worker_threads = 1;
  o.max_queued_requests = 0;
  start(o);
  for (bool fast : {false, true}) {
    edge().set_fast_path(fast);
    size_t before = edge().fast_answers();
    int slow = connect_loopback(s.port);
    ASSERT_GE(slow, 0);
    int taken = slow_taken.load();
    ASSERT_TRUE(send_all(slow, "GET /test/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    for (int i = 0; i < 500 && slow_taken.load() == taken; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GT(slow_taken.load(), taken) << "the slow request never reached its handler";
    Received shed = run({{request(std::string(fast ? "f" : "h") + "-shed", {}), 1}});
    Received held = read_until_close(slow, 5);
    ::close(slow);
    EXPECT_NE(held.bytes.find("slow\n"), std::string::npos);
    auto answers = split_answers(shed.bytes);
    ASSERT_EQ(answers.size(), 1u) << shed.bytes;
    EXPECT_EQ(answers[0].status, 503);
    EXPECT_NE(answers[0].head.find("Retry-After: 1\r\n"), std::string::npos);
    EXPECT_EQ(edge().fast_answers() > before, fast);
    static std::string first;
    if (!fast) first = shed.bytes;
    else EXPECT_EQ(shed.bytes, first);
  }
}

// Review R18 (session 13): heads and targets an attacker shapes so that the
// edge's path and httplib might read them differently. Each row runs on both
// paths; the answers must be the same bytes and the status the one named (the
// signature is checked on the value both paths take: the first field of its
// name, in any case, OWS trimmed), and only plain targets take the edge's path.
TEST_F(EdgeFast, HostileHeadsAndTargetsAreReadAlikeOnBothPaths) {
  start({});
  // The signed request with `edit` applied to its head.
  auto shaped = [this](const std::string& id, const Signed& o, const std::function<void(std::string&)>& edit) {
    std::string r = request(id, o);
    edit(r);
    return r;
  };
  auto before_line = [](std::string& r, const std::string& name, const std::string& line) {
    r.insert(r.find("\r\n" + name) + 2, line);
  };
  const std::string forged = "webhook-signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n";
  struct Row {
    std::string name;
    std::function<std::string(const std::string& id)> bytes;
    int status;
    bool fast;
  };
  std::vector<Row> rows = {
      {"a forged signature after the good one",
       [&](const std::string& id) { Signed o; o.extra = forged; return request(id, o); }, 200, true},
      {"a forged signature before the good one",
       [&](const std::string& id) {
         return shaped(id, {}, [&](std::string& r) { before_line(r, "webhook-signature:", forged); });
       },
       401, true},
      {"a second webhook-id before the signed one",
       [&](const std::string& id) {
         return shaped(id, {}, [&](std::string& r) { before_line(r, "webhook-id:", "webhook-id: other\r\n"); });
       },
       401, true},
      {"the signature's name in capitals, its value with trailing space and tab",
       [&](const std::string& id) {
         return shaped(id, {}, [](std::string& r) {
           size_t at = r.find("webhook-signature:");
           r.replace(at, 18, "WEBHOOK-Signature:");
           r.insert(r.find("\r\n", at), " \t");
         });
       },
       200, true},
      {"an empty query", [&](const std::string& id) { Signed o; o.path += "?"; return request(id, o); }, 200, true},
      {"two queries", [&](const std::string& id) { Signed o; o.path += "?a?b"; return request(id, o); }, 400, false},
      {"//webhooks/generic", [&](const std::string& id) { Signed o; o.path = "/" + o.path; return request(id, o); }, 404, false},
      {"a dot-dot segment", [&](const std::string& id) { Signed o; o.path += "/../generic"; return request(id, o); }, 404, false},
      {"a bot id of dots", [&](const std::string& id) { Signed o; o.path = "/webhooks/.."; return request(id, o); }, 404, true},
      // httplib drops the fragment: the edge's path leaves it to httplib.
      {"a fragment", [&](const std::string& id) { Signed o; o.path += "#x"; return request(id, o); }, 200, false},
      {"a bot id with bytes that are not ASCII",
       [&](const std::string& id) { Signed o; o.path += "\xff\xfe"; return request(id, o); }, 404, true},
      {"absolute form",
       [&](const std::string& id) { Signed o; o.path = "http://x" + o.path; return request(id, o); }, 404, false},
      {"HTTP/1.0 keep-alive",
       [&](const std::string& id) {
         return shaped(id, {}, [](std::string& r) {
           r.replace(r.find("HTTP/1.1"), 8, "HTTP/1.0");
           r.insert(r.find("\r\n") + 2, "Connection: Keep-Alive\r\n");
         });
       },
       200, false},
      // What the gate refuses (400) before either path sees it.
      {"a folded line", [&](const std::string& id) { Signed o; o.extra = "X-A: 1\r\n 2\r\n"; return request(id, o); }, 400, false},
      {"a space before the colon",
       [&](const std::string& id) { Signed o; o.extra = "webhook-id : other\r\n"; return request(id, o); }, 400, false},
      {"a NUL in a value",
       [&](const std::string& id) { Signed o; o.extra = std::string("X-A: a\0b\r\n", 10); return request(id, o); }, 400, false},
      {"a length with a plus",
       [&](const std::string& id) {
         return shaped(id, {}, [](std::string& r) { r.insert(r.find("Content-Length: ") + 16, "+"); });
       },
       400, false},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    edge().set_fast_path(false);
    size_t before = edge().fast_answers();
    Received slow = run({{row.bytes("rh" + std::to_string(i)), 1}});
    edge().set_fast_path(true);
    Received fast = run({{row.bytes("rf" + std::to_string(i)), 1}});
    EXPECT_EQ(edge().fast_answers() > before, row.fast) << row.name;
    auto answers = split_answers(fast.bytes);
    ASSERT_EQ(answers.size(), 1u) << row.name << ": " << fast.bytes;
    EXPECT_EQ(answers[0].status, row.status) << row.name << ": " << fast.bytes;
    EXPECT_EQ(fast.bytes, slow.bytes) << row.name;
    EXPECT_EQ(fast.closed, slow.closed) << row.name;
  }
}

// Review R18: the edge's path logs as httplib's did: one line per request,
// the bot's label and never the query, a header, the signature or the body.
TEST_F(EdgeFast, TheAccessLogOnTheEdgesPathHoldsOneLinePerRequestAndNoSecret) {
  s.log_requests = true;
  start({});
  Signed query;
  query.path += "?msg_signature=QUERYSECRET&echostr=ECHOSECRET";
  query.text = "账目 2022-11 BODYSECRET";
  Signed forged;
  forged.bad_signature = true;
  forged.extra = "X-Token: HEADERSECRET\r\n";
  Signed unknown;
  unknown.path = "/webhooks/NOSUCHBOT";
  const std::string requests = request("log-a", query) + request("log-b", forged) + request("log-c", unknown);
  const std::string signature = requests.substr(requests.find("v1,") + 3, 44);

  size_t before = edge().fast_answers();
  Received r;
  const std::string log = capture_stderr([&] { r = run({{requests, 3}}); });
  size_t answered = edge().fast_answers() - before;

  EXPECT_EQ(answered, 3u);
  auto answers = split_answers(r.bytes);
  ASSERT_EQ(answers.size(), 3u) << r.bytes;
  EXPECT_EQ(answers[0].status, 200);
  EXPECT_EQ(answers[1].status, 401);
  EXPECT_EQ(answers[2].status, 404);
  // Access lines end in "ms": exactly one per request, in order.
  std::vector<std::string> lines;
  for (size_t pos = 0, end; (end = log.find('\n', pos)) != std::string::npos; pos = end + 1) {
    std::string line = log.substr(pos, end - pos);
    if (line.size() > 2 && line.compare(line.size() - 2, 2, "ms") == 0) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 3u) << log;
  EXPECT_NE(lines[0].find(" POST webhook:generic 200 "), std::string::npos) << log;
  EXPECT_NE(lines[1].find(" POST webhook:generic 401 "), std::string::npos) << log;
  EXPECT_NE(lines[2].find(" POST webhook_unknown 404 "), std::string::npos) << log;
  for (const std::string& secret : {std::string("QUERYSECRET"), std::string("ECHOSECRET"), std::string("BODYSECRET"),
                                    std::string("HEADERSECRET"), std::string("NOSUCHBOT"), std::string("villager-log"),
                                    signature, secret_raw, std::string("账目")})
    EXPECT_EQ(log.find(secret), std::string::npos) << "the log holds " << secret << ":\n" << log;
}

}  // namespace
}  // namespace sunledger
