// The edge's own path for the hot route (issue #18): a plain
// "POST /webhooks/<bot>" answered without cpp-httplib's process_request,
// which was 86,000 of the 145,600 instructions of a signed query (its header
// map filled with tolower compares 27,300, the answer written through its
// format buffers 21,800, the body read 12,000). The request line and fields
// come from the edge's index of the head, the body from the buffer the gate
// already filled; the handlers run in httplib 0.11.4's order (pre-routing,
// the route, the error handler, Connection/Keep-Alive, Content-Type,
// Content-Length, the edge's post-routing rule, the head and body, the
// logger) and the answer is byte for byte httplib's
// (EdgeFast.EveryAnswerIsHttplibsAnswer compares the two paths).
//
// What the head alone cannot settle goes to httplib unchanged: another
// method or version, a path with '%' (httplib decodes it), more than one '?',
// a long request line, a body the gate refused, fields the index does not
// hold or whose value httplib may change (empty, '%'), a name with '_'
// (httplib sets REMOTE_ADDR and the like itself), and the fields that change
// what httplib does: Range, Expect, Accept-Encoding with br or gzip (it compresses),
// Content-Type multipart/form-data (it parses the parts).
#include <exception>

#include "webhooks/edge_core.h"
#include "webhooks/edge_framing.h"

namespace sunledger {

namespace {

using edge::FieldIndex;

// The fields that make httplib do more than the edge's path does: a range,
// an expectation, and an Accept-Encoding httplib would compress for (it
// looks for "br" and "gzip" in it; "identity", which Python's http.client
// sends, changes nothing).
bool changes_handling(std::string_view head, const FieldIndex::Field& f) {
  if (edge::field_named(head, f, "accept-encoding")) {
    std::string_view value = head.substr(f.value, f.value_len);
    return value.find("br") != std::string_view::npos || value.find("gzip") != std::string_view::npos;
  }
  return edge::field_named(head, f, "range") || edge::field_named(head, f, "expect");
}

bool starts_with_folded(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

void EdgeServer::set_fast_post(std::string prefix, FastHandler handler) {
  fast_prefix_ = std::move(prefix);
  fast_handler_ = std::move(handler);
}

httplib::Server& EdgeServer::set_pre_routing_handler(HandlerWithResponse handler) {
  fast_pre_routing_ = handler;
  return httplib::Server::set_pre_routing_handler(std::move(handler));
}

httplib::Server& EdgeServer::set_error_handler(Handler handler) {
  fast_error_ = handler;
  return httplib::Server::set_error_handler(std::move(handler));
}

httplib::Server& EdgeServer::set_exception_handler(ExceptionHandler handler) {
  fast_exception_ = handler;
  return httplib::Server::set_exception_handler(std::move(handler));
}

httplib::Server& EdgeServer::set_logger(httplib::Logger logger) {
  fast_logger_ = logger;
  return httplib::Server::set_logger(std::move(logger));
}

std::optional<bool> EdgeServer::serve_fast(edge::ConnStream& stream, bool close_connection, bool& connection_closed) {
  // Without an exception handler httplib would put what() in a header: not
  // done here.
  if (!fast_handler_ || !fast_exception_ || !fast_on_.load(std::memory_order_relaxed) || stream.conn().refuse)
    return std::nullopt;
  const std::string_view head = stream.head();
  // The request line, which the gate checked: METHOD SP TARGET SP VERSION.
  size_t eol = head.find("\r\n");
  // httplib reads the line into 2,048 bytes and answers 414 past 8,192.
  if (eol == std::string_view::npos || eol > 2000) return std::nullopt;
  std::string_view line = head.substr(0, eol);
  if (line.substr(0, 5) != "POST " || line.substr(line.size() - 9) != " HTTP/1.1") return std::nullopt;
  std::string_view target = line.substr(5, line.size() - 14);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos && target.find('?', q + 1) != std::string_view::npos) return std::nullopt;
  if (path.size() <= fast_prefix_.size() || path.compare(0, fast_prefix_.size(), fast_prefix_) != 0 ||
      path.find('%') != std::string_view::npos)
    return std::nullopt;
  std::string_view tail = path.substr(fast_prefix_.size());
  if (tail.find('/') != std::string_view::npos) return std::nullopt;

  const FieldIndex* fields = stream.fields();
  if (fields == nullptr) return std::nullopt;
  bool close_asked = false;
  bool connection_seen = false;
  for (size_t i = 0; i < fields->count; ++i) {
    const FieldIndex::Field& f = fields->fields[i];
    std::string_view name = head.substr(f.name, f.name_len), value = head.substr(f.value, f.value_len);
    if (value.empty() || value.find('%') != std::string_view::npos || name.find('_') != std::string_view::npos ||
        changes_handling(head, f))
      return std::nullopt;
    if (edge::field_named(head, f, "content-type") && starts_with_folded(value, "multipart/form-data"))
      return std::nullopt;
    if (!connection_seen && edge::field_named(head, f, "connection")) {
      connection_seen = true;  // httplib looks at the first one only
      close_asked = value == "close";
    }
  }

  // What process_request would have made of it.
  fast_answers_.fetch_add(1, std::memory_order_relaxed);
  if (close_asked) connection_closed = true;
  httplib::Request req;
  req.method = "POST";
  req.version = "HTTP/1.1";
  req.target.assign(target);
  req.path.assign(path);
  const edge::Conn& c = stream.conn();
  req.remote_addr = c.remote_ip;
  req.remote_port = c.remote_port;
  req.local_addr = c.local_ip;
  req.local_port = c.local_port;
  httplib::Response res;
  res.version = "HTTP/1.1";

  // Routing: the pre-routing handler runs before the body is read (and
  // when it answers, the body stays unread and the connection is closed, as
  // after httplib), then the body is read and the route runs.
  stream.take_head();
  try {
    bool handled = fast_pre_routing_ && fast_pre_routing_(req, res) == HandlerResponse::Handled;
    if (!handled) {
      req.body.assign(stream.body());
      stream.take_all();
      fast_handler_(tail, req, res);
    }
  } catch (...) {
    fast_exception_(req, res, std::current_exception());
  }
  if (res.status == -1) res.status = 200;

  // write_response_core, as httplib 0.11.4 writes an answer with content.
  if (res.status >= 400 && fast_error_) fast_error_(req, res);
  if (!res.body.empty()) res.set_header("Content-Length", std::to_string(res.body.size()));
  bool closing = close_connection || close_asked;
  if (closing) {
    res.set_header("Connection", "close");
  } else {
    res.set_header("Keep-Alive", "timeout=" + std::to_string(keep_alive_timeout_sec_) +
                                     ", max=" + std::to_string(keep_alive_max_count_));
  }
  if (!res.has_header("Content-Type") && !res.body.empty()) res.set_header("Content-Type", "text/plain");
  if (!res.has_header("Content-Length") && res.body.empty()) res.set_header("Content-Length", "0");
  // The edge's post-routing rule (http_edge.cc).
  if (!stream.request_consumed() || res.get_header_value("Connection") == "close") {
    stream.must_close();
    res.headers.erase("Keep-Alive");
    res.headers.erase("Connection");
    res.set_header("Connection", "close");
  }

  std::string& out = stream.answer();
  out.append("HTTP/1.1 ");
  out.append(std::to_string(res.status));
  out.push_back(' ');
  out.append(edge::status_reason(res.status));
  out.append("\r\n");
  for (const auto& field : res.headers) {
    // httplib writes them with "%s": a value stops at a NUL.
    out.append(field.first.c_str());
    out.append(": ");
    out.append(field.second.c_str());
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(res.body);
  if (fast_logger_) fast_logger_(req, res);
  return true;
}

}  // namespace sunledger
