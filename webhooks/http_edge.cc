// EdgeServer's hooks into httplib; the machinery is EdgeServer::Core
// (webhooks/edge_core.h).
#include "webhooks/http_edge.h"

#include <unistd.h>

#include "webhooks/edge_core.h"

namespace sunledger {

namespace {

// Before routing: RFC 9112 §6.3, a request with neither Content-Length nor
// Transfer-Encoding has an empty body. httplib 0.11.4 would instead read a
// POST's body until the client closes; saying Content-Length: 0 makes it read
// nothing. And httplib never answers "Expect: 100-continue" itself: the gate
// has already done so when it wants the body, and must not when it refuses it.
void setup_request(httplib::Request& req) {
  if (!EdgeServer::has_header(req, "content-length") && !EdgeServer::has_header(req, "transfer-encoding"))
    req.set_header("Content-Length", "0");
  if (EdgeServer::has_header(req, "expect")) req.headers.erase("Expect");
}

}  // namespace

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
  // Connection: close, and the edge then closes.
  httplib::Server::set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    edge::ConnStream* s = edge::tl_stream;
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

bool EdgeServer::shedding() { return edge::tl_shedding; }

std::string EdgeServer::header_value(const httplib::Request& req, std::string_view name) {
  if (edge::tl_stream != nullptr)
    if (auto v = edge::tl_stream->field(name)) return std::string(*v);
  return req.get_header_value(std::string(name));
}

bool EdgeServer::has_header(const httplib::Request& req, std::string_view name) {
  if (edge::tl_stream != nullptr)
    if (auto v = edge::tl_stream->has_field(name)) return *v;
  return req.has_header(std::string(name));
}

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
