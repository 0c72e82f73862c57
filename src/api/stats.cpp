// api/stats: GET /api/v1/stats?range=hour|day|month, what the console's dashboard draws: the mail
// counters over time (stats/), and the state of now: the outbox's size, open connections per
// listener, the data directory's disk space, files in lost+found, the newest warnings and errors of
// the log (base/log_ring). Read-only; runs on the worker pool (SQLite, statvfs, a directory listing).
#include <sys/statvfs.h>

#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/api.hpp"
#include "base/log_ring.hpp"
#include "base/metrics.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

namespace {

constexpr std::size_t last_errors = 10;

// Files set aside in lost+found, not counting their ".why" notes.
std::size_t lost_found_count(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.ends_with(".why") && !name.ends_with(".why.tmp")) ++n;
  }
  return n;
}

json::object disk_of(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return {{"free", nullptr}, {"total", nullptr}};
  return {{"free", static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize},
          {"total", static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize}};
}

// The kind of a [listen] key: the implicit-TLS listeners count with their protocol's.
std::string_view kind_of(std::string_view listener) {
  if (listener == "submissions") return "submission";
  if (listener == "imaps") return "imap";
  if (listener == "pop3s") return "pop3";
  if (listener == "https") return "http";
  return listener;
}

// One key per listener kind configured in [listen] (smtp, submission, imap, pop3, http, ...), with the
// connections open on its listeners now.
json::object connections_of(const config::Config& cfg) {
  auto open = metrics::open_connections.values();
  json::object out;
  for (auto& [listener, endpoints] : cfg.listen) {
    if (endpoints.empty()) continue;
    auto it = open.find(listener);
    auto& n = out[kind_of(listener)];
    n = (n.is_int64() ? n.as_int64() : 0) + (it == open.end() ? 0 : it->second);
  }
  return out;
}

json::array errors_json() {
  log::Filter warnings;
  warnings.min_level = log::Level::warn;
  json::array out;
  for (auto& line : log::ring().newest(warnings, last_errors))
    out.push_back(json::object{{"time", line.time}, {"level", log::level_name(line.level)}, {"text", line.text}});
  return out;
}

}  // namespace

Response Api::stats_show(Call& c) {
  auto it = c.req.query.find("range");
  const stats::Range* range = stats::find_range(it == c.req.query.end() ? "hour" : it->second);
  if (!range) return error_of(Error{"range must be hour, day or month", Error::Kind::invalid});
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  stats::Series s;
  if (svc_.stats) {
    s = svc_.stats->read(*range, now);
  } else {
    s.step = range->step;
    s.end = stats::bucket_start(now, range->step) + range->step;
    for (auto& v : s.values) v.assign(range->buckets, 0);
  }
  json::object series;
  for (std::size_t i = 0; i < stats::series_names.size(); ++i)
    series[stats::series_names[i]] = json::value_from(s.values[i]);
  auto cfg = config();
  json::object out{{"range", range->name},
                   {"step", s.step},
                   {"end", s.end},
                   {"series", std::move(series)},
                   {"queue", json::object{{"messages", svc_.spool ? svc_.spool->queued() : 0}}},
                   {"connections", connections_of(*cfg)},
                   {"disk", disk_of(svc_.data_dir)},
                   {"lost_found", lost_found_count(svc_.data_dir / "mail" / "lost+found")},
                   {"last_errors", errors_json()}};
  return http::json_response(http::status::ok, out);
}

}  // namespace tern::api
