#include "witness/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>

namespace sunledger::witness {

struct WitnessServer::Impl {
  Witness* witness;
  httplib::Server server;
  std::atomic<int> listen_fd{-1};
};

WitnessServer::WitnessServer(Witness* witness) : impl_(std::make_unique<Impl>()) {
  impl_->witness = witness;
  auto& s = impl_->server;
  // Larger bodies are refused before they are read (413).
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_max_count(1000);
  // Small answers on keep-alive connections: without NODELAY each waits for
  // the client's delayed ACK (~40 ms).
  s.set_tcp_nodelay(true);
  s.set_socket_options([impl = impl_.get()](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_fd.store(fd);
  });
  // Requests wait for a shared commit: enough workers that many logs (a
  // county's villages) can be in one batch.
  s.new_task_queue = [] { return new httplib::ThreadPool(64); };
  // Before the body is read: Debian's httplib 0.11.4 reads chunked and
  // compressed bodies without the size cap above (an endless chunked POST
  // grew the process until the OOM killer came), and answers Range with a
  // copy of the body per range. The connection is closed after a refusal so
  // the unread body is never parsed as a next request.
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    auto& r = const_cast<httplib::Request&>(req);  // httplib's own object; ranges parsed before routing
    r.ranges.clear();
    r.headers.erase("Range");
    if (req.has_header("Transfer-Encoding") || req.has_header("Content-Encoding")) {
      res.status = req.has_header("Transfer-Encoding") ? 411 : 415;
      res.set_header("Connection", "close");
      res.set_content(req.has_header("Transfer-Encoding") ? "chunked bodies are not accepted; send Content-Length\n"
                                                          : "compressed bodies are not accepted\n",
                      "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.Post("/add-checkpoint", [w = witness](const httplib::Request& req, httplib::Response& res) {
    Answer a = w->add_checkpoint(req.body);
    res.status = a.status;
    res.set_content(a.body, a.content_type);
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(std::to_string(res.status) + "\n", "text/plain; charset=utf-8");
  });
}

WitnessServer::~WitnessServer() = default;

Result<int> WitnessServer::bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return unavailable("cannot listen on " + host + ":" + std::to_string(port));
  // httplib hard-codes a backlog of 5: a county's villages submitting at once
  // would overflow it and see their connections reset. Listen again with a real one.
  if (int fd = impl_->listen_fd.load(); fd >= 0) ::listen(fd, 1024);
  return bound;
}

bool WitnessServer::listen() { return impl_->server.listen_after_bind(); }

void WitnessServer::stop() { impl_->server.stop(); }

}  // namespace sunledger::witness
