#include "webhooks/metrics.h"

#include <cstdio>

namespace sunledger {

namespace {
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  auto& h = latency_[route];
  for (size_t i = 0; i < std::size(kBuckets); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.total;
  h.sum += seconds;
}

void Metrics::add_counter(const std::string& name, uint64_t delta) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_[name] += delta;
}

void Metrics::add_gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(name, help, std::move(read));
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP sunledger_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE sunledger_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "sunledger_http_requests_total{route=\"" + escape_label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP sunledger_http_request_duration_seconds Time from routing to response.\n";
  out += "# TYPE sunledger_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::string r = escape_label(route);
    for (size_t i = 0; i < std::size(kBuckets); ++i)
      out += "sunledger_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" + number(kBuckets[i]) + "\"} " +
             std::to_string(h.counts[i]) + "\n";
    out += "sunledger_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " + std::to_string(h.total) + "\n";
    out += "sunledger_http_request_duration_seconds_sum{route=\"" + r + "\"} " + number(h.sum) + "\n";
    out += "sunledger_http_request_duration_seconds_count{route=\"" + r + "\"} " + std::to_string(h.total) + "\n";
  }
  for (const auto& [name, n] : counters_) {
    out += "# TYPE sunledger_" + name + " counter\n";
    out += "sunledger_" + name + " " + std::to_string(n) + "\n";
  }
  for (const auto& [name, help, read] : gauges_) {
    out += "# HELP sunledger_" + name + " " + help + "\n# TYPE sunledger_" + name + " gauge\n";
    out += "sunledger_" + name + " " + number(read()) + "\n";
  }
  return out;
}

}  // namespace sunledger
