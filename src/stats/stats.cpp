#include "stats/stats.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "store/db.hpp"

namespace tern::stats {
namespace {

// Column names are series_names; the table is documented in docs/formats.md.
constexpr std::string_view schema =
    "CREATE TABLE IF NOT EXISTS buckets ("
    "step INTEGER NOT NULL, start INTEGER NOT NULL, received INTEGER NOT NULL DEFAULT 0, "
    "delivered INTEGER NOT NULL DEFAULT 0, deferred INTEGER NOT NULL DEFAULT 0, bounced INTEGER NOT NULL DEFAULT 0, "
    "rejected INTEGER NOT NULL DEFAULT 0, junk INTEGER NOT NULL DEFAULT 0, quarantined INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (step, start)) WITHOUT ROWID";

constexpr std::string_view upsert =
    "INSERT INTO buckets (step, start, received, delivered, deferred, bounced, rejected, junk, quarantined) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (step, start) DO UPDATE SET "
    "received = received + excluded.received, delivered = delivered + excluded.delivered, "
    "deferred = deferred + excluded.deferred, bounced = bounced + excluded.bounced, "
    "rejected = rejected + excluded.rejected, junk = junk + excluded.junk, "
    "quarantined = quarantined + excluded.quarantined";

constexpr std::string_view select_range =
    "SELECT start, received, delivered, deferred, bounced, rejected, junk, quarantined FROM buckets "
    "WHERE step = ?1 AND start >= ?2 AND start < ?3";

// The first bucket start of `range` when the current bucket starts at `current`.
std::int64_t first_start(const Range& range, std::int64_t current) {
  return current - static_cast<std::int64_t>(range.buckets - 1) * range.step;
}

}  // namespace

const Range* find_range(std::string_view name) {
  for (auto& r : ranges)
    if (r.name == name) return &r;
  return nullptr;
}

std::int64_t bucket_start(std::int64_t t, std::int64_t step) {
  auto rem = t % step;
  if (rem < 0) rem += step;
  return t - rem;
}

Counts current_counts() {
  using namespace metrics;
  return {messages_received.value(), messages_delivered.value(), messages_deferred.value(), messages_bounced.value(),
          messages_rejected.value(), messages_junk.value(),      messages_quarantined.value()};
}

Recorder::Recorder(std::unique_ptr<store::Db> db, std::function<Counts()> counts)
    : db_(std::move(db)), counts_(std::move(counts)), last_(counts_()) {}

Recorder::~Recorder() = default;

Result<std::unique_ptr<Recorder>> Recorder::open(const std::filesystem::path& file, std::function<Counts()> counts) {
  try {
    auto db = std::make_unique<store::Db>(file, false);
    db->exec(schema);
    return std::unique_ptr<Recorder>(new Recorder(std::move(db), std::move(counts)));
  } catch (const std::exception& e) {
    return store::failure(fmt::format("{}: cannot open the statistics", file.string()), e);
  }
}

Status Recorder::sample(std::int64_t now) {
  std::lock_guard lock(mu_);
  auto counts = counts_();
  Counts delta{};
  bool any = false;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    // A counter never goes down in a process; if one did, its new value is the increase.
    delta[i] = counts[i] >= last_[i] ? counts[i] - last_[i] : counts[i];
    any = any || delta[i] != 0;
  }
  try {
    store::Tx tx(*db_);
    for (auto& range : ranges) {
      if (any) {
        store::Stmt st(db_->raw(), upsert);
        st.bind(1, range.step).bind(2, bucket_start(now - 1, range.step));
        for (std::size_t i = 0; i < delta.size(); ++i) st.bind(static_cast<int>(i) + 3, static_cast<std::int64_t>(delta[i]));
        st.step();
      }
      store::Stmt prune(db_->raw(), "DELETE FROM buckets WHERE step = ?1 AND start < ?2");
      prune.bind(1, range.step).bind(2, first_start(range, bucket_start(now, range.step)));
      prune.step();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return store::failure("statistics: cannot write the last minute's counts", e);
  }
  last_ = counts;
  return ok_status();
}

Series Recorder::read(const Range& range, std::int64_t now) {
  Series s;
  s.step = range.step;
  auto current = bucket_start(now, range.step);
  s.end = current + range.step;
  auto first = first_start(range, current);
  for (auto& v : s.values) v.assign(range.buckets, 0);
  std::lock_guard lock(mu_);
  try {
    store::Stmt st(db_->raw(), select_range);
    st.bind(1, range.step).bind(2, first).bind(3, s.end);
    while (st.step()) {
      auto k = static_cast<std::size_t>((st.col_int(0) - first) / range.step);
      for (std::size_t i = 0; i < s.values.size(); ++i)
        s.values[i][k] += static_cast<std::uint64_t>(st.col_int(static_cast<int>(i) + 1));
    }
  } catch (const std::exception& e) {
    // The graphs show zeros for what could not be read.
    log::warn("statistics: cannot read {}: {}", db_->file().string(), e.what());
  }
  auto counts = counts_();
  for (std::size_t i = 0; i < counts.size(); ++i)
    s.values[i].back() += counts[i] >= last_[i] ? counts[i] - last_[i] : counts[i];
  return s;
}

}  // namespace tern::stats
