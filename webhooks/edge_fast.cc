// The edge's own path for the hot route (issue #18): a plain
// "POST /webhooks/<bot>" (and "GET /healthz") answered without cpp-httplib's process_request,
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
// method or version, a path with '%' (httplib decodes it), more than one '?', a '#',
// a long request line, a body the gate refused, fields the index does not
// hold or whose value httplib may change (empty, '%'), a name with '_'
// (httplib sets REMOTE_ADDR and the like itself), and the fields that change
// what httplib does: Range, Expect, Accept-Encoding with br or gzip (it compresses),
// Content-Type multipart/form-data (it parses the parts).
#include <algorithm>
#include <exception>
#include <vector>

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

// An answer's field, viewing strings that outlive it.
struct Field {
  std::string_view name, value;
};

// httplib's Headers compare names with tolower byte by byte (the C locale,
// which the server keeps: only A-Z change, bytes compared as char).
char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ci_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    char x = fold(a[i]), y = fold(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

bool named(std::string_view a, std::string_view b) { return !ci_less(a, b) && !ci_less(b, a); }

// Where std::multimap::emplace puts it: after every field whose name is not
// greater.
void insert_field(std::vector<Field>& fields, Field f) {
  auto at = std::find_if(fields.begin(), fields.end(), [&f](const Field& g) { return ci_less(f.name, g.name); });
  fields.insert(at, f);
}

// get_header_value: the first field of that name, or "".
std::string_view first_value(const std::vector<Field>& fields, std::string_view name) {
  for (const Field& f : fields)
    if (named(f.name, name)) return f.value;
  return {};
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

void EdgeServer::set_fast_get(std::string path, Handler handler) {
  fast_get_path_ = std::move(path);
  fast_get_ = std::move(handler);
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
  if (!fast_exception_ || !fast_on_.load(std::memory_order_relaxed) || stream.conn().refuse) return std::nullopt;
  const std::string_view head = stream.head();
  // The request line, which the gate checked: METHOD SP TARGET SP VERSION.
  size_t eol = head.find("\r\n");
  // httplib reads the line into 2,048 bytes and answers 414 past 8,192.
  if (eol == std::string_view::npos || eol > 2000) return std::nullopt;
  std::string_view line = head.substr(0, eol);
  const bool post = line.substr(0, 5) == "POST ";
  const size_t method_len = post ? 5 : line.substr(0, 4) == "GET " ? 4 : 0;
  if (method_len == 0 || line.size() < method_len + 10 || line.substr(line.size() - 9) != " HTTP/1.1")
    return std::nullopt;
  std::string_view target = line.substr(method_len, line.size() - method_len - 9);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos && target.find('?', q + 1) != std::string_view::npos) return std::nullopt;
  if (path.find('%') != std::string_view::npos) return std::nullopt;
  // httplib drops a fragment ("/webhooks/generic#x" is bot generic's hook);
  // the edge's path would take "generic#x" for the bot (review R18).
  if (target.find('#') != std::string_view::npos) return std::nullopt;
  std::string_view tail;
  if (post) {
    if (!fast_handler_ || path.size() <= fast_prefix_.size() || path.compare(0, fast_prefix_.size(), fast_prefix_) != 0)
      return std::nullopt;
    tail = path.substr(fast_prefix_.size());
    if (tail.find('/') != std::string_view::npos) return std::nullopt;
  } else if (!fast_get_ || path != fast_get_path_) {
    return std::nullopt;
  }

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
  req.method = post ? "POST" : "GET";
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
      req.body.assign(stream.body());  // a GET has none: the gate refuses one with a body
      stream.take_all();
      if (post) fast_handler_(tail, req, res);
      else fast_get_(req, res);
    }
  } catch (...) {
    fast_exception_(req, res, std::current_exception());
  }
  if (res.status == -1) res.status = 200;

  // write_response_core, as httplib 0.11.4 writes an answer with content:
  // the fields it adds, in its order, without its map (a has_header or
  // set_header is a walk with tolower per byte: 5,000 instructions here).
  if (res.status >= 400 && fast_error_) fast_error_(req, res);
  thread_local std::vector<Field> answer_fields;
  answer_fields.clear();
  bool has_type = false, has_length = false;
  for (const auto& f : res.headers) {
    answer_fields.push_back({f.first, f.second});
    has_type = has_type || named(f.first, "Content-Type");
    has_length = has_length || named(f.first, "Content-Length");
  }
  const std::string length = std::to_string(res.body.size());
  if (!res.body.empty()) {
    insert_field(answer_fields, {"Content-Length", length});
    has_length = true;
  }
  const std::string keep_alive =
      "timeout=" + std::to_string(keep_alive_timeout_sec_) + ", max=" + std::to_string(keep_alive_max_count_);
  if (close_connection || close_asked) insert_field(answer_fields, {"Connection", "close"});
  else insert_field(answer_fields, {"Keep-Alive", keep_alive});
  if (!has_type && !res.body.empty()) insert_field(answer_fields, {"Content-Type", "text/plain"});
  if (!has_length && res.body.empty()) insert_field(answer_fields, {"Content-Length", "0"});
  // The edge's post-routing rule (http_edge.cc).
  if (!stream.request_consumed() || first_value(answer_fields, "Connection") == "close") {
    stream.must_close();
    answer_fields.erase(std::remove_if(answer_fields.begin(), answer_fields.end(),
                                [](const Field& f) { return named(f.name, "Keep-Alive") || named(f.name, "Connection"); }),
                        answer_fields.end());
    insert_field(answer_fields, {"Connection", "close"});
  }

  std::string& out = stream.answer();
  out.append("HTTP/1.1 ");
  out.append(std::to_string(res.status));
  out.push_back(' ');
  out.append(edge::status_reason(res.status));
  out.append("\r\n");
  for (const Field& f : answer_fields) {
    // httplib writes them with "%s": a name or value stops at a NUL.
    out.append(f.name.substr(0, f.name.find('\0')));
    out.append(": ");
    out.append(f.value.substr(0, f.value.find('\0')));
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(res.body);
  if (fast_logger_) fast_logger_(req, res);
  return true;
}

}  // namespace sunledger
