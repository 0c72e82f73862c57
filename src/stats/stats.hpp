// stats: the mail counters over time, for the console's graphs (GET /api/v1/stats, docs/api.md).
//
// Once a minute the server calls Recorder::sample on its worker pool (never on the event loop): the
// increase of each counter of base/metrics since the last sample (received, delivered, deferred,
// bounced, rejected, junk, quarantined) is added to the bucket holding the minute that just ended,
// in each of three resolutions: 60 s buckets for the last hour, 900 s for the last day, 86400 s (UTC
// days) for the last month. Buckets begin at multiples of their step in Unix time.
//
// Storage: data_dir/stats.db, SQLite in WAL mode with synchronous=NORMAL: one row per resolution and
// bucket (docs/formats.md). Rows older than their resolution's range are deleted at each sample, so
// the file holds at most 60 + 96 + 30 rows (and a few more around the boundaries). Statistics are not
// mail: a crash may lose the counts since the last sample (at most a minute) and a power cut what
// SQLite had not yet synced; a clean stop samples once more. Reading adds the counts not yet sampled
// to the current bucket, so the graphs show a message the moment it is counted.
//
// Error contract: open() and sample() return errors (the server logs them and goes on without
// statistics); read() on a failing database returns the buckets it could not read as zeros.
// Thread-safe.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::store {
class Db;
}

namespace tern::stats {

inline constexpr std::array<std::string_view, 7> series_names{"received", "delivered", "deferred", "bounced",
                                                              "rejected", "junk",      "quarantined"};
using Counts = std::array<std::uint64_t, series_names.size()>;

struct Range {
  std::string_view name;
  std::int64_t step;     // seconds per bucket
  std::size_t buckets;   // how many make the range
};
inline constexpr std::array<Range, 3> ranges{{{"hour", 60, 60}, {"day", 900, 96}, {"month", 86400, 30}}};
const Range* find_range(std::string_view name);  // nullptr for an unknown name

// The start of the bucket of `step` seconds that holds Unix time `t`.
std::int64_t bucket_start(std::int64_t t, std::int64_t step);

struct Series {
  std::int64_t step = 0;
  std::int64_t end = 0;  // Unix time at which the last (current, partial) bucket ends
  // values[i][k]: counter series_names[i] in bucket k, oldest first; each holds range.buckets values
  std::array<std::vector<std::uint64_t>, series_names.size()> values;
};

// The counters of base/metrics now, in series_names order.
Counts current_counts();

class Recorder {
 public:
  // Opens (creating) the statistics database `file`; `counts` reads the counters (tests pass their own).
  static Result<std::unique_ptr<Recorder>> open(const std::filesystem::path& file,
                                                std::function<Counts()> counts = current_counts);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Adds what the counters gained since the last sample to the buckets holding `now - 1` (the timer
  // fires just after a minute's end), and prunes old rows.
  Status sample(std::int64_t now);
  // The buckets of `range` ending with the one that holds `now`, counts not yet sampled included.
  Series read(const Range& range, std::int64_t now);

 private:
  Recorder(std::unique_ptr<store::Db> db, std::function<Counts()> counts);
  std::mutex mu_;
  std::unique_ptr<store::Db> db_;
  std::function<Counts()> counts_;
  Counts last_{};  // the counters at the last sample
};

}  // namespace tern::stats
