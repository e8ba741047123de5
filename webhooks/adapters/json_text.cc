#include "webhooks/adapters/json_text.h"

#include "webhooks/adapters/common.h"

namespace sunledger::adapters {

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

const std::string* FlatObject::find(std::string_view key) const {
  for (size_t i = 0; i < count; ++i)
    if (fields[i].key == key) return &fields[i].value;
  return nullptr;
}

namespace {

// A cursor over the body; every step false when the body is not the plain case.
struct FlatReader {
  std::string_view s;
  size_t i = 0;

  void skip_ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool take(char c) {
    skip_ws();
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  }
  // A string after its opening quote; `raw` when no escape is taken (a key).
  bool string(std::string* value, std::string_view* raw) {
    size_t start = i, run = i;
    while (i < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"') {
        if (raw != nullptr) *raw = s.substr(start, i - start);
        if (value != nullptr) value->append(s.data() + run, i - run);
        ++i;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
        continue;
      }
      if (c != '\\') {
        ++i;
        continue;
      }
      if (value == nullptr || i + 1 >= s.size()) return false;
      value->append(s.data() + run, i - run);
      switch (s[i + 1]) {
        case '"': *value += '"'; break;
        case '\\': *value += '\\'; break;
        case '/': *value += '/'; break;
        case 'b': *value += '\b'; break;
        case 'f': *value += '\f'; break;
        case 'n': *value += '\n'; break;
        case 'r': *value += '\r'; break;
        case 't': *value += '\t'; break;
        default: return false;  // \u and anything else: the strict parser
      }
      i += 2;
      run = i;
    }
    return false;
  }
};

}  // namespace

bool read_flat_object(std::string_view body, FlatObject& out) {
  out.count = 0;
  FlatReader r{body};
  if (!r.take('{')) return false;
  r.skip_ws();
  if (r.i < body.size() && body[r.i] == '}') {
    ++r.i;
  } else {
    for (;;) {
      if (out.count == FlatObject::kMax || !r.take('"')) return false;
      FlatObject::Field& f = out.fields[out.count];
      f.value.clear();
      if (!r.string(nullptr, &f.key) || out.find(f.key) != nullptr) return false;
      if (!r.take(':') || !r.take('"') || !r.string(&f.value, nullptr)) return false;
      ++out.count;
      if (r.take(',')) continue;
      if (r.take('}')) break;
      return false;
    }
  }
  r.skip_ws();
  return r.i == body.size();
}

}  // namespace sunledger::adapters
