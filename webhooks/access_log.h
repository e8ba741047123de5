// The access log's line, one per request: "TIME METHOD LABEL STATUS BYTES
// MSms", e.g. "2026-12-01T14:20:10Z POST webhook:generic 200 454 0.3ms".
// Formatted by hand into a buffer and written with one write(2): no stdio
// lock, format parsing or locale per request (fprintf was 6% of the server's
// CPU under load), and a line is never held in a buffer a crash or exit could
// lose. Private to webhooks/.
//
// Thread safety: any thread; the timestamp is cached per thread and second.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sunledger::access_log {

// The longest line: 20 timestamp + 16 method + a label + numbers.
constexpr size_t kMaxLine = 256;

// Writes the line into out (kMaxLine bytes) and returns its length, the
// newline included. method is the client's: anything but printable ASCII
// becomes '?', and only its first 16 bytes are kept; label is cut to fit.
size_t format(char* out, int64_t unix_seconds, std::string_view method, std::string_view label, int status,
              size_t bytes, double milliseconds);

// Formats the line as above and writes it to standard error in one write.
void write(std::string_view method, std::string_view label, int status, size_t bytes, double milliseconds);

}  // namespace sunledger::access_log
