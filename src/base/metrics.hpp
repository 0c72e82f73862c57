// base/metrics: the process's counters, read by the HTTP service's /metrics (Prometheus text format,
// https://prometheus.io/docs/instrumenting/exposition_formats/). Counters are plain atomics, cheap
// enough to bump on every delivery or connection; what is a state rather than a count (the queue's
// size) is not kept here but asked of its owner when /metrics is read (a Gauge).
//
// Every metric name starts with tern_ (CONTRACT.md). Thread-safe.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tern::metrics {

class Counter {
 public:
  constexpr Counter(std::string_view name, std::string_view help) : name_(name), help_(help) {}
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }
  std::string_view name() const { return name_; }
  std::string_view help() const { return help_; }

 private:
  std::string_view name_, help_;
  std::atomic<std::uint64_t> value_{0};
};

// A value with one label (connections{listener="smtp"}); a label value is made at its first use.
// A counter (only goes up) or a gauge (open connections: up and down), by T.
template <typename T>
class Labelled {
 public:
  Labelled(std::string_view name, std::string_view help, std::string_view label)
      : name_(name), help_(help), label_(label) {}
  void add(std::string_view value, T n = 1) {
    std::lock_guard lock(mu_);
    auto it = values_.find(value);
    if (it == values_.end()) it = values_.emplace(std::string(value), 0).first;
    it->second += n;
  }
  std::map<std::string, T> values() const {
    std::lock_guard lock(mu_);
    return {values_.begin(), values_.end()};
  }
  std::string_view name() const { return name_; }
  std::string_view help() const { return help_; }
  std::string_view label() const { return label_; }

 private:
  std::string_view name_, help_, label_;
  mutable std::mutex mu_;
  std::map<std::string, T, std::less<>> values_;
};
using LabelledCounter = Labelled<std::uint64_t>;
using LabelledGauge = Labelled<std::int64_t>;

// A value read at the moment /metrics is served.
struct Gauge {
  std::string name, help;
  double value = 0;
};

// The counters of the process (metrics.cpp lists them in render()).
extern Counter messages_received;   // messages written into the outbox (SMTP, pending/, DSNs, forwards)
extern Counter messages_delivered;  // recipients delivered: stored locally or accepted by the remote host
extern Counter messages_deferred;   // delivery attempts that failed temporarily (one per recipient)
extern Counter messages_bounced;    // recipients given up: permanent failure or expiry
extern Counter messages_rejected;     // whole messages refused at the end of DATA/BDAT (4xx and 5xx)
extern Counter messages_junk;         // messages accepted as junk (filed into Junk)
extern Counter messages_quarantined;  // messages held in the server's quarantine
extern LabelledCounter smtp_rejects;  // refused SMTP commands, per command (MAIL, RCPT, DATA, ...)
extern LabelledCounter connections;          // accepted, per listener
extern LabelledCounter connections_refused;  // over the connection limits, per listener
extern LabelledCounter http_requests;        // HTTP responses, per status class ("2xx" ...)
extern LabelledGauge open_connections;       // connections open now, per listener

// Every counter, then `gauges`, in the text exposition format (version 0.0.4).
std::string render(const std::vector<Gauge>& gauges = {});

}  // namespace tern::metrics
