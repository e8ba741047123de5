// A real `sunledger serve` child process and a loopback receiver for its
// pushes, shared by the crash and disk-full tests.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/crypto.h"

namespace sunledger::testing {

// `sunledger serve` as a child process; the port is read from its log line.
struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  std::string log_path;  // when set, everything the server logs is appended here
  std::shared_ptr<std::string> log = std::make_shared<std::string>();
  // When set, the child's descriptor limit (soft, hard), as a service manager gives it.
  rlim_t fd_soft = 0, fd_hard = 0;

  // More options for serve (e.g. --public-url), after the others.
  std::vector<std::string> extra_args;

  // config "": serve reads the data folder's bots.json, if any.
  void start(const std::string& data, const std::string& config) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      if (fd_soft > 0) {
        rlimit rl{fd_soft, fd_hard};
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      std::vector<std::string> args = {SUNLEDGER_BINARY, "--data", data, "serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"};
      if (!config.empty()) args.insert(args.end(), {"--config", config});
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(SUNLEDGER_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string log;
    char c;
    while (::read(fds[0], &c, 1) == 1) {
      log.push_back(c);
      auto at = log.find("on http://127.0.0.1:");
      if (at != std::string::npos && log.back() == ' ') {
        port = std::stoi(log.substr(at + 20));
        break;
      }
    }
    *this->log = log;
    // Keep draining the log so the child never blocks on a full pipe.
    drain = std::thread([fd = fds[0], sink = this->log] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) sink->append(buf, static_cast<size_t>(n));
      ::close(fd);
    });
    ASSERT_GT(port, 0) << log;
  }
  void kill_hard() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (drain.joinable()) drain.join();
  }
  int stop() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (drain.joinable()) drain.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // A test that failed an ASSERT with the server up: stopped, not left to
  // abort the whole test binary (a joinable drain thread) or run on. Started
  // and not yet stopped is exactly "drain joinable".
  ~ServerProcess() {
    if (drain.joinable() && pid > 0) stop();
  }
  std::thread drain;
};

// The receiving end of the generic bot's pushes.
struct Receiver {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> pushes;  // webhook-id, body

  Receiver() {
    server.Post("/push", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      pushes.emplace_back(req.get_header_value("webhook-id"), req.body);
      res.set_content("{}", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
};

// Posts a message to the generic webhook, signed as Standard Webhooks
// specifies (HMAC-SHA256 over "id.timestamp.body").
inline httplib::Result post_generic(int port, const std::string& secret_raw, const std::string& message_id,
                                    const std::string& raw_body) {
  std::string ts = std::to_string(std::time(nullptr));
  std::string sig = base64_encode(std::string(as_view(hmac_sha256(secret_raw, message_id + "." + ts + "." + raw_body))));
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(10, 0);
  return c.Post("/webhooks/generic",
                {{"webhook-id", message_id}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}}, raw_body,
                "application/json");
}

}  // namespace sunledger::testing
