// What the edge tests (edge_test.cc, limits_test.cc) share: raw loopback
// sockets, reading an answer to its close, and a real server over a real
// ledger with one village and one generic bot.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/crypto.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"

namespace sunledger::testing {

// What this process writes to stderr while `run` runs (the server's log
// lines among it), through a file: a test of the log reads what was written.
inline std::string capture_stderr(const std::function<void()>& run) {
  std::string path = ::testing::TempDir() + "edge_stderr.txt";
  std::fflush(stderr);
  int saved = ::dup(2);
  int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (saved < 0 || out < 0) {
    ADD_FAILURE() << "cannot capture stderr";
    run();
    return "";
  }
  ::dup2(out, 2);
  run();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(out);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}


// Joins a helper thread however the test ends (a failed ASSERT returns early).
struct Joined {
  std::thread& thread;
  std::function<void()> before = [] {};
  ~Joined() {
    before();
    if (thread.joinable()) thread.join();
  }
};

inline double seconds_since(std::chrono::steady_clock::time_point t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); }

// Binds fd to `source` (when given) and connects it to the server on
// loopback; closes it and returns -1 on failure.
inline int bind_and_connect(int fd, int port, const char* source) {
  if (source != nullptr) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int connect_loopback(int port) { return bind_and_connect(::socket(AF_INET, SOCK_STREAM, 0), port, nullptr); }

// A loopback connection from another source address (the whole of 127/8 is
// this host): another client, as far as the edge can tell.
inline int connect_from(int port, const char* source) {
  return bind_and_connect(::socket(AF_INET, SOCK_STREAM, 0), port, source);
}

// A client with a tiny receive window, as over a slow mobile link: the
// server can send it only a few KB before it reads. From `source` when given.
inline int connect_slow_reader(int port, const char* source = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096, mss = 536;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
  return bind_and_connect(fd, port, source);
}

inline bool send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The status line ("HTTP/1.1 200") of the answer waiting on `fd`, peeked
// without reading it (the client stays a reader that never reads); "" when
// none came within 3 s.
inline std::string peek_status(int fd) {
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[12];
  if (::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_WAITALL) != 12) return "";
  return std::string(buf, 12);
}

struct Received {
  std::string bytes;
  bool closed = false;  // the server closed (EOF or reset) before the time ran out
  double seconds = 0;   // until the close, or until the time ran out
};

// Everything the server sends until it closes, or until `limit` seconds.
inline Received read_until_close(int fd, double limit) {
  Received r;
  auto start = std::chrono::steady_clock::now();
  char buf[4096];
  for (;;) {
    double left = limit - seconds_since(start);
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    r.closed = true;
    break;
  }
  r.seconds = seconds_since(start);
  return r;
}

// The HTTP/1.1 answers in `bytes`, in order: status and headers of each (the
// body is skipped by its Content-Length).
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
};
inline std::vector<Answer> split_answers(const std::string& bytes) {
  std::vector<Answer> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find("\r\n\r\n", pos);
    if (end == std::string::npos || bytes.compare(pos, 9, "HTTP/1.1 ") != 0) {
      out.push_back({-1, bytes.substr(pos), ""});  // not an answer: shows up in the failure
      break;
    }
    Answer a;
    a.head = bytes.substr(pos, end + 4 - pos);
    a.status = std::atoi(a.head.c_str() + 9);
    size_t cl = a.head.find("Content-Length: ");
    size_t len = cl == std::string::npos ? 0 : std::strtoul(a.head.c_str() + cl + 16, nullptr, 10);
    a.body = bytes.substr(end + 4, len);
    pos = end + 4 + len;
    if (a.status == 100) continue;
    out.push_back(std::move(a));
  }
  return out;
}


// A real server (127.0.0.1, port 0) over a real ledger, with the village
// shuangjiang, its group "g" bound to a generic bot whose webhook secret is
// `secret_raw`, and an official's API token.
struct GenericBotServer : ::testing::Test {
  TestLedger t;
  std::unique_ptr<Bot> bot;
  std::vector<BotConfig> configs;
  std::unique_ptr<PlatformAdapter> adapter;
  RunningServer s;
  std::string token;
  const std::string secret_raw;
  // Routes the test adds, registered at every start.
  std::function<void(httplib::Server&)> extra_routes;

  explicit GenericBotServer(std::string secret) : secret_raw(std::move(secret)) {}

  // The first call sets the bot and its village up; a later one restarts
  // the server with other options.
  void start(HttpServerOptions o = {}) {
    if (bot) {
      s.stop();
      s.start(t.ledger.get(), bot.get(), o, wiring(), extra_routes);
      return;
    }
    BotOptions bo;
    bo.identity_salt = "0123456789abcdef0123456789abcdef";
    bot = std::make_unique<Bot>(t.ledger.get(), bo);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", "generic", "g").is_ok());
    token = *bot->create_token({Role::kOfficial, "shuangjiang", "", "station"});
    configs = *load_bots_config(nlohmann::json{{"bots",
                                                {{{"id", "generic"},
                                                  {"platform", "generic"},
                                                  {"secret", "whsec_" + base64_encode(secret_raw)}}}}}
                                    .dump());
    adapter = make_adapter(configs[0]);
    s.start(t.ledger.get(), bot.get(), o, wiring(), extra_routes);
  }

  WebhookWiring wiring() const {
    WebhookWiring w;
    w.adapters["generic"] = adapter.get();
    return w;
  }

  // A normal client asks for /healthz `n` times during an attack, on a new
  // connection each time, at start + first + i * step; each must be answered
  // 200 within 1 s. Returns how long each took.
  std::vector<double> normal_client_during(std::chrono::steady_clock::time_point start, int first_ms, int step_ms, int n) {
    std::vector<double> latencies;
    for (int i = 0; i < n; ++i) {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(first_ms + step_ms * i));
      auto started = std::chrono::steady_clock::now();
      auto c = s.client();
      c.set_read_timeout(5, 0);
      auto r = c.Get("/healthz");
      double took = seconds_since(started);
      EXPECT_TRUE(r) << "request " << i << " during the attack failed after " << took << " s";
      if (r) {
        EXPECT_EQ(r->status, 200);
      }
      latencies.push_back(took);
      EXPECT_LT(took, 1.0) << "request " << i << " during the attack took " << took << " s";
    }
    return latencies;
  }

  // Sends `request` on a new connection and reads until the server closes.
  Received exchange(const std::string& request, double limit = 5) {
    int fd = connect_loopback(s.port);
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(send_all(fd, request));
    Received r = read_until_close(fd, limit);
    ::close(fd);
    return r;
  }
};

}  // namespace sunledger::testing
