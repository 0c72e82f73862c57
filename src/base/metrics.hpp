// base/metrics: the process's counters, read by the HTTP service's /metrics (Prometheus text format,
// https://prometheus.io/docs/instrumenting/exposition_formats/). Counters are plain atomics, cheap
// enough to bump on every delivery or connection; what is a state rather than a count (the queue's
// size) is not kept here but asked of its owner when /metrics is read (a Gauge).
//
// Every metric name starts with tern_ (CONTRACT.md). Thread-safe.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
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

// A latency histogram in seconds (Prometheus histogram: cumulative _bucket{le=...}, _sum, _count).
// The bounds are fixed (5 ms to 60 s, then +Inf); observing is a few relaxed atomic additions.
class Histogram {
 public:
  static constexpr std::array<double, 13> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  constexpr Histogram(std::string_view name, std::string_view help) : name_(name), help_(help) {}
  void observe(std::chrono::steady_clock::duration d);
  std::string_view name() const { return name_; }
  std::string_view help() const { return help_; }
  // The exposition: HELP, TYPE, the cumulative buckets, _sum and _count.
  std::string render() const;

 private:
  std::string_view name_, help_;
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};  // per bucket, the last is +Inf
  std::atomic<std::uint64_t> sum_us_{0};                                // microseconds
};

// Observes the time from its making to stop() (or its end: a scope, a coroutine's frame) into a
// histogram, once; dismiss() observes nothing.
class Timer {
 public:
  explicit Timer(Histogram& h) : h_(&h), start_(std::chrono::steady_clock::now()) {}
  ~Timer() { stop(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void stop() {
    if (h_) h_->observe(std::chrono::steady_clock::now() - start_);
    h_ = nullptr;
  }
  void dismiss() { h_ = nullptr; }

 private:
  Histogram* h_;
  std::chrono::steady_clock::time_point start_;
};

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
extern Histogram smtp_transaction_seconds;   // from the end of DATA/BDAT to the reply
extern Histogram delivery_attempt_seconds;   // one delivery attempt (a remote batch, or a local delivery)
extern Histogram http_request_seconds;       // from a request's arrival to its answer written

// Every counter, then `gauges`, in the text exposition format (version 0.0.4).
std::string render(const std::vector<Gauge>& gauges = {});

}  // namespace tern::metrics
