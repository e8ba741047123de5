// Counters and histograms rendered in the Prometheus text format.
// Ownership: a gauge's read function is kept (and called at each render)
// for as long as the Metrics lives, so what it captures must outlive it.
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sunledger {

class Metrics {
 public:
  void observe_request(const std::string& route, int status, double seconds);
  void add_counter(const std::string& name, uint64_t delta = 1);
  // A value read when /metrics is scraped (outbox depth, ...).
  void add_gauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string render() const;

 private:
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  struct Histogram {
    uint64_t counts[std::size(kBuckets)] = {};
    uint64_t total = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, uint64_t> counters_;
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
};

}  // namespace sunledger
