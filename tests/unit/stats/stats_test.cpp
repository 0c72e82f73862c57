// stats: buckets per resolution, counts not yet sampled, persistence across a reopen, pruning.
#include <gtest/gtest.h>

#include "../temp_dir.hpp"
#include "stats/stats.hpp"

namespace tern::stats {
namespace {

constexpr std::size_t received = 0, bounced = 3, quarantined = 6;
const Range& hour = ranges[0];
const Range& day = ranges[1];
const Range& month = ranges[2];

struct Fake {
  Counts now{};
  std::function<Counts()> fn() {
    return [this] { return now; };
  }
};

TEST(Stats, BucketStartAndRanges) {
  EXPECT_EQ(bucket_start(125, 60), 120);
  EXPECT_EQ(bucket_start(120, 60), 120);
  EXPECT_EQ(bucket_start(86400 * 3 + 5, 86400), 86400 * 3);
  EXPECT_EQ(find_range("day")->step, 900);
  EXPECT_EQ(find_range("month")->buckets, 30u);
  EXPECT_EQ(find_range("week"), nullptr);
}

TEST(Stats, SampledCountsLandInTheMinuteThatEnded) {
  testing::TempDir dir;
  Fake f;
  auto r = Recorder::open(dir / "stats.db", f.fn());
  ASSERT_TRUE(r) << r.error().message;
  const std::int64_t t0 = 1'700'000'040;  // a minute boundary (and a quarter hour's)
  f.now[received] = 3;
  ASSERT_TRUE((*r)->sample(t0));  // fired at the boundary: the minute [t0-60, t0)
  f.now[received] = 5;
  f.now[bounced] = 1;
  auto s = (*r)->read(hour, t0 + 10);
  EXPECT_EQ(s.step, 60);
  EXPECT_EQ(s.end, t0 + 60);
  ASSERT_EQ(s.values[received].size(), 60u);
  EXPECT_EQ(s.values[received][58], 3u);  // the minute before the current one
  EXPECT_EQ(s.values[received][59], 2u);  // not yet sampled: the current bucket
  EXPECT_EQ(s.values[bounced][59], 1u);
  EXPECT_EQ(s.values[quarantined][59], 0u);
  auto d = (*r)->read(day, t0 + 10);
  EXPECT_EQ(d.values[received].size(), 96u);
  EXPECT_EQ(d.values[received][94] + d.values[received][95], 5u);
  auto m = (*r)->read(month, t0 + 10);
  EXPECT_EQ(m.end, bucket_start(t0, 86400) + 86400);
  std::uint64_t sum = 0;
  for (auto v : m.values[received]) sum += v;
  EXPECT_EQ(sum, 5u);
}

TEST(Stats, SurviveAReopenAndOldBucketsArePruned) {
  testing::TempDir dir;
  const std::int64_t t0 = 1'700'000'040;
  {
    Fake f;
    auto r = Recorder::open(dir / "stats.db", f.fn());
    ASSERT_TRUE(r);
    f.now[received] = 7;
    ASSERT_TRUE((*r)->sample(t0));
  }
  Fake f;  // a new process: counters from zero again
  auto r = Recorder::open(dir / "stats.db", f.fn());
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->read(hour, t0).values[received][58], 7u);
  // Two hours later the minute is out of the hour's range (and pruned), still in the day's.
  f.now[received] = 1;
  ASSERT_TRUE((*r)->sample(t0 + 7200));
  auto h = (*r)->read(hour, t0 + 7200);
  std::uint64_t sum = 0;
  for (auto v : h.values[received]) sum += v;
  EXPECT_EQ(sum, 1u);
  auto d = (*r)->read(day, t0 + 7200);
  sum = 0;
  for (auto v : d.values[received]) sum += v;
  EXPECT_EQ(sum, 8u);
  // 40 days later only the month keeps... nothing of it either.
  ASSERT_TRUE((*r)->sample(t0 + 40 * 86400));
  auto m = (*r)->read(month, t0 + 40 * 86400);
  sum = 0;
  for (auto v : m.values[received]) sum += v;
  EXPECT_EQ(sum, 0u);
}

TEST(Stats, AnUnwritableFileIsAnError) {
  testing::TempDir dir;
  auto r = Recorder::open(dir / "missing" / "stats.db");
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace tern::stats
