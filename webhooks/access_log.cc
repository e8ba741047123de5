#include "webhooks/access_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <string>

#include "ledger/clock.h"

namespace sunledger::access_log {

namespace {

// Appends v in decimal at p; returns the end.
char* put_uint(char* p, uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

size_t format(char* out, int64_t unix_seconds, std::string_view method, std::string_view label, int status,
              size_t bytes, double milliseconds) {
  // The timestamp changes once a second: formatted once per thread and second.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[24];
  thread_local size_t cached_len = 0;
  if (unix_seconds != cached_second) {
    std::string t = utc_timestamp(unix_seconds);
    cached_len = std::min(t.size(), sizeof cached);
    std::memcpy(cached, t.data(), cached_len);
    cached_second = unix_seconds;
  }
  char* p = out;
  p = put(p, std::string_view(cached, cached_len));
  *p++ = ' ';
  for (char c : method.substr(0, 16)) *p++ = c > 32 && c < 127 ? c : '?';
  *p++ = ' ';
  // Room for the rest: " " + a status + " " + 20 digits + " " + 20 digits + ".9ms\n".
  const size_t tail = 13 + 20 + 1 + 20 + 5;
  size_t room = kMaxLine - static_cast<size_t>(p - out) - tail;
  p = put(p, label.substr(0, room));
  *p++ = ' ';
  if (status < 0) *p++ = '-';  // httplib's "no status yet" is -1
  p = put_uint(p, static_cast<uint64_t>(status < 0 ? -static_cast<int64_t>(status) : status));
  *p++ = ' ';
  p = put_uint(p, bytes);
  *p++ = ' ';
  // One decimal, rounded to nearest, as "%.1f" prints it.
  double tenths = std::nearbyint(std::max(0.0, milliseconds) * 10);
  uint64_t t = tenths < 1e18 ? static_cast<uint64_t>(tenths) : uint64_t{999'999'999'999'999'999};
  p = put_uint(p, t / 10);
  *p++ = '.';
  *p++ = static_cast<char>('0' + t % 10);
  p = put(p, "ms\n");
  return static_cast<size_t>(p - out);
}

void write(std::string_view method, std::string_view label, int status, size_t bytes, double milliseconds) {
  char line[kMaxLine];
  size_t n = format(line, static_cast<int64_t>(std::time(nullptr)), method, label, status, bytes, milliseconds);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(STDERR_FILENO, line + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere to log to: the request is not failed for it
    done += static_cast<size_t>(w);
  }
}

}  // namespace sunledger::access_log
