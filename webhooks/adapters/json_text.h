// JSON on the hot path without nlohmann's DOM (issue #18): the reply's text
// written straight into its body (every signed query is answered with
// {"reply":"<the statement>"}, and building a json to dump it cost a copy of
// the text, a map node and the serializer's per-byte UTF-8 state machine),
// and a message body that is one flat object of strings read in one pass
// (the DOM of its six fields was an eighth of a request's instructions).
// Each takes only the plain case and leaves every other input to nlohmann,
// which answers it as before. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace sunledger::adapters {

// Appends `text` as a JSON string, quotes included, byte for byte what
// nlohmann's dump() (ensure_ascii off) writes for it. False, with `out` left
// as it was, when `text` is not valid UTF-8: what dump() makes of such bytes
// (error_handler_t::replace) is left to dump().
bool append_json_string(std::string& out, std::string_view text);

// {"reply":"<text>"}, or {"reply":null} when text is empty: what
// dump(json{{"reply", ...}}) wrote, without building the json.
std::string reply_body(std::string_view text);

// The length of the valid UTF-8 sequence that starts at text[i] (a byte
// >= 0x80), or 0: the sequences nlohmann accepts (no overlong forms, no
// surrogates, nothing above U+10FFFF). Inline: it runs for every character
// of a Chinese reply.
inline size_t utf8_sequence(std::string_view text, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + i;
  const size_t left = text.size() - i;
  const unsigned b = p[0];
  auto cont = [](unsigned c) { return (c & 0xC0) == 0x80; };
  if (b >= 0xE0 && b <= 0xEF) {  // first: Chinese
    if (left < 3 || !cont(p[2])) return 0;
    unsigned lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    return p[1] >= lo && p[1] <= hi ? 3 : 0;
  }
  if (b >= 0xC2 && b <= 0xDF) return left >= 2 && cont(p[1]) ? 2 : 0;
  if (b >= 0xF0 && b <= 0xF4) {
    if (left < 4 || !cont(p[2]) || !cont(p[3])) return 0;
    unsigned lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    return p[1] >= lo && p[1] <= hi ? 4 : 0;
  }
  return 0;
}

// A JSON object whose values are all strings, its keys as written.
struct FlatObject {
  struct Field {
    std::string_view key;  // into the body read
    std::string value;     // escapes decoded
  };
  static constexpr size_t kMax = 16;
  Field fields[kMax];
  size_t count = 0;
  // The value of `key`, or nullptr.
  const std::string* find(std::string_view key) const;
  std::string* find(std::string_view key) { return const_cast<std::string*>(std::as_const(*this).find(key)); }
};

// Reads `body` when it is exactly one JSON object of at most kMax fields,
// each value a string, whitespace around the tokens, no key twice, keys
// without escapes, values whose escapes are the short ones (no \u), no
// control character, valid UTF-8, nothing after the object. Then
// parse_json_strict(body) gives an object with these fields and values, and
// nothing else. False for any other body (it may be valid JSON still: ask
// parse_json_strict).
bool read_flat_object(std::string_view body, FlatObject& out);

}  // namespace sunledger::adapters
