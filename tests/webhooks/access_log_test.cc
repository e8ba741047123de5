// The access log's line (webhooks/access_log.h), formatted by hand, is the
// line fprintf("%s %s %s %d %zu %.1fms\n") made before, for random methods
// (control bytes and all), labels, statuses, sizes, latencies and times, on
// several threads at once (each caches its timestamp per second).
#include "webhooks/access_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/clock.h"

namespace sunledger {
namespace {

std::string reference(int64_t t, const std::string& method_in, const std::string& label, int status, size_t bytes,
                      double ms) {
  std::string method;
  for (char c : method_in.substr(0, 16)) method.push_back(c > 32 && c < 127 ? c : '?');
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%s %s %s %d %zu %.1fms\n", utc_timestamp(t).c_str(), method.c_str(),
                        label.c_str(), status, bytes, ms);
  return std::string(buf, static_cast<size_t>(n));
}

void compare_many(unsigned seed, int count, int* mismatches) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> labels = {"webhook:generic", "/healthz", "/v1/villages/{id}/months/{month}", "edge",
                                           "other", "webhook_unknown"};
  const std::vector<int> statuses = {200, 201, 400, 401, 404, 408, 413, 431, 503, -1, 0, 99999};
  for (int i = 0; i < count; ++i) {
    int64_t t = 1'600'000'000 + static_cast<int64_t>(rng() % 400'000'000);
    if (i % 3 != 0) t = 1'764'600'000 + (i / 7);  // runs of one second: the cache's path
    std::string method;
    size_t len = rng() % 24;
    for (size_t k = 0; k < len; ++k) method.push_back(static_cast<char>(rng() % 256));
    if (i % 2 == 0) method = i % 4 == 0 ? "POST" : "GET";
    const std::string& label = labels[rng() % labels.size()];
    int status = statuses[rng() % statuses.size()];
    size_t bytes = i % 5 == 0 ? static_cast<size_t>(rng()) : static_cast<size_t>(rng() % 100'000);
    double ms = std::uniform_real_distribution<double>(0, i % 2 == 0 ? 5 : 200'000)(rng);
    if (i % 11 == 0) ms = static_cast<double>(rng() % 1000) / 10;  // on a tenth
    char out[access_log::kMaxLine];
    size_t n = access_log::format(out, t, method, label, status, bytes, ms);
    std::string want = reference(t, method, label, status, bytes, ms);
    if (std::string(out, n) != want) {
      ++*mismatches;
      ADD_FAILURE() << "got  " << std::string(out, n) << "want " << want;
      if (*mismatches > 5) return;
    }
  }
}

TEST(AccessLog, SameLineAsPrintfOnEveryThread) {
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < 4; ++k) threads.emplace_back(compare_many, 1000 + k, 50'000, &mismatches[k]);
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// A label too long for the line is cut, and the line still ends whole.
TEST(AccessLog, ALongLabelIsCutAndTheLineEndsWhole) {
  char out[access_log::kMaxLine];
  std::string label(1000, 'x');
  size_t n = access_log::format(out, 1'764'600'000, std::string(100, '\n'), label, 200, 18446744073709551615u, 1e30);
  ASSERT_LE(n, access_log::kMaxLine);
  std::string line(out, n);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), n - 1) << line;
  EXPECT_NE(line.find(" ???????????????? xxxx"), std::string::npos) << line;
  EXPECT_NE(line.find(" 200 18446744073709551615 "), std::string::npos) << line;
}

}  // namespace
}  // namespace sunledger
