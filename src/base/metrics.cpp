#include "base/metrics.hpp"

#include <fmt/format.h>

namespace tern::metrics {

Counter messages_received{"tern_messages_received_total",
                          "Messages written into the outbox (SMTP, pending/, and Tern's own DSNs and forwards)"};
Counter messages_delivered{"tern_messages_delivered_total",
                           "Recipients delivered: stored in a local mailslot or accepted by the remote server"};
Counter messages_deferred{"tern_messages_deferred_total", "Delivery attempts that failed temporarily, per recipient"};
Counter messages_bounced{"tern_messages_bounced_total", "Recipients given up: permanent failure or expiry"};
Counter messages_rejected{"tern_messages_rejected_total", "Messages refused at the end of DATA or BDAT (4xx and 5xx)"};
Counter messages_junk{"tern_messages_junk_total", "Messages accepted as junk (filed into the recipients' Junk)"};
Counter messages_quarantined{"tern_messages_quarantined_total", "Messages held in the server's quarantine"};
LabelledCounter smtp_rejects{"tern_smtp_rejects_total", "SMTP commands refused (4xx and 5xx), per command", "command"};
LabelledCounter connections{"tern_connections_total", "Connections accepted, per listener", "listener"};
LabelledCounter connections_refused{"tern_connections_refused_total", "Connections refused over the limits, per listener",
                                    "listener"};
LabelledCounter http_requests{"tern_http_responses_total", "HTTP responses, per status class", "code"};
LabelledGauge open_connections{"tern_connections_open", "Connections open now, per listener", "listener"};
Histogram smtp_transaction_seconds{"tern_smtp_transaction_seconds",
                                   "Time from the end of an SMTP message (DATA or BDAT LAST) to the server's reply"};
Histogram delivery_attempt_seconds{"tern_delivery_attempt_seconds",
                                   "Time of one delivery attempt: a remote batch (DNS, connection, transaction) or a local delivery"};
Histogram http_request_seconds{"tern_http_request_seconds",
                               "Time from an HTTP request's arrival to its answer written (event streams not counted)"};

void Histogram::observe(std::chrono::steady_clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < bounds.size() && s > bounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()),
                    std::memory_order_relaxed);
}

namespace {

void head(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Label values are ours (listener names, status classes); escaped anyway as the format asks.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

template <typename T>
void labelled(std::string& out, const Labelled<T>& m, std::string_view type) {
  head(out, m.name(), m.help(), type);
  for (auto& [label, n] : m.values()) out += fmt::format("{}{{{}=\"{}\"}} {}\n", m.name(), m.label(), escape_label(label), n);
}

}  // namespace

std::string Histogram::render() const {
  std::string out;
  head(out, name_, help_, "histogram");
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    auto le = i < bounds.size() ? fmt::format("{}", bounds[i]) : std::string("+Inf");
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name_, le, total);
  }
  out += fmt::format("{}_sum {}\n", name_, static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count {}\n", name_, total);
  return out;
}

std::string render(const std::vector<Gauge>& gauges) {
  std::string out;
  for (const Counter* c : {&messages_received, &messages_delivered, &messages_deferred, &messages_bounced,
                           &messages_rejected, &messages_junk, &messages_quarantined}) {
    head(out, c->name(), c->help(), "counter");
    out += fmt::format("{} {}\n", c->name(), c->value());
  }
  for (const LabelledCounter* c : {&smtp_rejects, &connections, &connections_refused, &http_requests})
    labelled(out, *c, "counter");
  labelled(out, open_connections, "gauge");
  for (const Histogram* h : {&smtp_transaction_seconds, &delivery_attempt_seconds, &http_request_seconds})
    out += h->render();
  for (auto& g : gauges) {
    head(out, g.name, g.help, "gauge");
    out += fmt::format("{} {}\n", g.name, g.value);
  }
  return out;
}

}  // namespace tern::metrics
