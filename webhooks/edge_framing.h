// How the gate (webhooks/http_edge.h) reads a request head: only as far as
// it must to know where the request ends, and never more loosely than
// httplib. Private to webhooks/. Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sunledger::edge {

struct Head {
  bool ok = false;
  // Methods whose body httplib reads before routing (detail::expect_content).
  bool body_method = false;
  std::optional<uint64_t> content_length;
  bool transfer_encoding = false;
  bool expect_continue = false;
};

// `head` is everything up to and including the blank line's CRLF CRLF; ok is
// false when its framing is not plain (see edge_framing.cc).
Head parse_head(std::string_view head);

// The fields of a request head in order, as offsets into the head (which
// stays in the connection's buffer while the request runs; offsets survive
// the buffer moving): what the hot path looks up without httplib's map,
// whose case-insensitive compare calls tolower twice per byte (issue #18).
struct FieldIndex {
  struct Field {
    uint32_t name = 0, name_len = 0, value = 0, value_len = 0;  // the value with OWS trimmed
  };
  static constexpr size_t kMax = 32;
  Field fields[kMax];
  size_t count = 0;
  bool complete = false;  // false: not indexed yet, or more than kMax fields
};

// Indexes a head parse_head accepted (ok).
void index_fields(std::string_view head, FieldIndex& index);

// Whether field f of head is named `name`, compared ASCII case-insensitively
// as httplib's map compares (tolower, in the C locale the server keeps).
bool field_named(std::string_view head, const FieldIndex::Field& f, std::string_view name);

// The first field named `name`, or nullptr.
const FieldIndex::Field* find_field(std::string_view head, const FieldIndex& index, std::string_view name);

// The gate's own answers (400, 408, 431, 503): JSON with a stable code, and
// "Connection: close".
std::string canned_answer(int status);

}  // namespace sunledger::edge
