#include "webhooks/adapters/json_text.h"

#include "webhooks/adapters/common.h"

namespace sunledger::adapters {

namespace {

// The length of the valid UTF-8 sequence at text[i] (a lead byte >= 0x80), or
// 0. The same sequences nlohmann's decoder accepts: no overlong forms, no
// surrogates, nothing above U+10FFFF.
size_t utf8_sequence(std::string_view text, size_t i) {
  auto at = [&](size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  auto cont = [](unsigned c) { return c >= 0x80 && c <= 0xBF; };
  unsigned b = at(0);
  if (b >= 0xC2 && b <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    unsigned lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) ? 3 : 0;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    unsigned lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

}  // namespace

bool append_json_string(std::string& out, std::string_view text) {
  const size_t was = out.size();
  out.reserve(was + text.size() + 2);
  out += '"';
  size_t run = 0;  // start of the bytes copied as they are
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t n = utf8_sequence(text, i);
      if (n == 0) {
        out.resize(was);
        return false;
      }
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static const char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
    }
    run = ++i;
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
  return true;
}

std::string reply_body(std::string_view text) {
  if (text.empty()) return R"({"reply":null})";
  std::string out = R"({"reply":)";
  if (!append_json_string(out, text)) return dump(json{{"reply", std::string(text)}});
  out += '}';
  return out;
}

}  // namespace sunledger::adapters
