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

// The gate's own answers (400, 408, 431, 503): JSON with a stable code, and
// "Connection: close".
std::string canned_answer(int status);

}  // namespace sunledger::edge
