#include "webhooks/edge_framing.h"


namespace sunledger::edge {

// The request head, as far as the gate needs it: where the request ends.
//
// The gate's reading of the framing must never be looser than httplib's: if
// the two disagreed on where a body ends, the difference could be smuggled in
// as a request. So the gate refuses (400) every head whose framing is not
// plain: a field name that is not a token (which also catches
// "Content-Length :"), control characters, folded lines, a Content-Length
// that is not plain digits, or more than one. httplib would, for instance,
// percent-decode "Content-Length: %34" into 4. httplib's stream also ends
// where the gate says the request ends, and a connection is kept only when
// httplib consumed exactly that (webhooks/edge_workers.cc).

namespace {

// The token characters (RFC 9110 §5.6.2) as a table: looked up for every
// byte of every field name (a strchr per byte was 1% of a request).
struct TcharTable {
  bool is[256] = {};
  constexpr TcharTable() {
    for (int c = '0'; c <= '9'; ++c) is[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) is[c] = is[c - 'a' + 'A'] = true;
    for (const char* p = "!#$%&'*+-.^_`|~"; *p != 0; ++p) is[static_cast<unsigned char>(*p)] = true;
  }
};
constexpr TcharTable kTchar;

bool is_tchar(unsigned char c) { return kTchar.is[c]; }

// tolower in the C locale (the server never sets another), inlined.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

Head parse_head(std::string_view head) {
  Head h;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // Request line: METHOD SP TARGET SP HTTP/1.x
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return h;
  std::string_view method = line.substr(0, sp1);
  for (unsigned char c : method)
    if (!is_tchar(c)) return h;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return h;
  for (unsigned char c : line.substr(sp1 + 1, sp2 - sp1 - 1))
    if (c <= 0x20 || c == 0x7f) return h;
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return h;
  h.body_method = method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";

  size_t pos = eol + 2;
  while (pos < head.size()) {
    eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return h;  // cannot happen: head ends with CRLF CRLF
    line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;  // the blank line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return h;
    std::string_view name = line.substr(0, colon);
    for (unsigned char c : name)
      if (!is_tchar(c)) return h;  // also a folded line (leading space) and "Name :"
    std::string_view raw = line.substr(colon + 1);
    for (unsigned char c : raw)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return h;  // a bare CR or LF, NUL, other controls
    std::string_view value = trim_ows(raw);
    if (iequals(name, "Content-Length")) {
      if (h.content_length || value.empty() || value.size() > 18) return h;
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return h;
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      h.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      h.transfer_encoding = true;
    } else if (iequals(name, "Expect")) {
      h.expect_continue = iequals(value, "100-continue");
    }
  }
  h.ok = true;
  return h;
}

void index_fields(std::string_view head, FieldIndex& index) {
  index.count = 0;
  index.complete = false;
  size_t pos = head.find("\r\n");
  if (pos == std::string_view::npos) return;
  pos += 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos || eol == pos) break;  // the blank line
    std::string_view line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;  // not a head parse_head accepted
    if (index.count == FieldIndex::kMax) return;  // incomplete: lookups ask httplib
    std::string_view raw = line.substr(colon + 1), value = trim_ows(raw);
    FieldIndex::Field& f = index.fields[index.count++];
    f.name = static_cast<uint32_t>(pos);
    f.name_len = static_cast<uint32_t>(colon);
    f.value = static_cast<uint32_t>(pos + colon + 1 + (value.data() - raw.data()));
    f.value_len = static_cast<uint32_t>(value.size());
    pos = eol + 2;
  }
  index.complete = true;
}

bool field_named(std::string_view head, const FieldIndex::Field& f, std::string_view name) {
  if (f.name_len != name.size()) return false;
  for (size_t k = 0; k < f.name_len; ++k)
    if (ascii_lower(head[f.name + k]) != ascii_lower(name[k])) return false;
  return true;
}

const FieldIndex::Field* find_field(std::string_view head, const FieldIndex& index, std::string_view name) {
  for (size_t i = 0; i < index.count; ++i)
    if (field_named(head, index.fields[i], name)) return &index.fields[i];
  return nullptr;
}

std::string canned_answer(int status) {
  const char* reason = "Bad Request";
  std::string body;
  std::string extra;
  switch (status) {
    case 408:
      reason = "Request Timeout";
      body = R"j({"error":"请求超时 (request timed out)","code":"timeout"})j";
      break;
    case 431:
      reason = "Request Header Fields Too Large";
      body = R"j({"error":"请求头太大 (request header too large)","code":"too_large"})j";
      break;
    case 503:
      reason = "Service Unavailable";
      body = R"j({"error":"服务繁忙,请稍后再试 (server busy, retry shortly)","code":"unavailable"})j";
      extra = "Retry-After: 1\r\n";
      break;
    default:
      body = R"j({"error":"请求格式错误 (bad request)","code":"invalid_argument"})j";
      break;
  }
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace sunledger::edge
