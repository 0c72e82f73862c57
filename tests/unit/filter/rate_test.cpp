// filter/policy: RateWindows, the fixed-window counts behind the per-user and inbound rate limits.
#include <gtest/gtest.h>

#include "filter/policy.hpp"

namespace tern::filter {
namespace {

using namespace std::chrono_literals;
using Clock = RateWindows::Clock;

TEST(RateWindows, CountsUpToTheLimitPerKeyThenRefusesUntilTheWindowEnds) {
  RateWindows w;
  const auto t0 = Clock::time_point{} + 100h;
  EXPECT_TRUE(w.take("192.0.2.1", 2, 1min, t0));
  EXPECT_TRUE(w.take("192.0.2.1", 2, 1min, t0 + 1s));
  EXPECT_FALSE(w.take("192.0.2.1", 2, 1min, t0 + 2s));
  EXPECT_FALSE(w.take("192.0.2.1", 2, 1min, t0 + 59s));  // refusals are not counted, nor do they extend it
  EXPECT_TRUE(w.take("192.0.2.2", 2, 1min, t0 + 2s));    // another key has its own count
  EXPECT_TRUE(w.take("192.0.2.1", 2, 1min, t0 + 60s));   // a new window
  EXPECT_TRUE(w.take("192.0.2.1", 2, 1min, t0 + 61s));
  EXPECT_FALSE(w.take("192.0.2.1", 2, 1min, t0 + 62s));
}

TEST(RateWindows, MemoryIsBoundedByEvictingTheOldestWindow) {
  RateWindows w(3);
  const auto t0 = Clock::time_point{} + 100h;
  EXPECT_TRUE(w.take("a", 1, 1h, t0));
  EXPECT_TRUE(w.take("b", 1, 1h, t0 + 1s));
  EXPECT_TRUE(w.take("c", 1, 1h, t0 + 2s));
  EXPECT_FALSE(w.take("a", 1, 1h, t0 + 3s));
  EXPECT_TRUE(w.take("d", 1, 1h, t0 + 4s));  // evicts "a", the oldest window
  EXPECT_EQ(w.size(), 3u);
  EXPECT_FALSE(w.take("b", 1, 1h, t0 + 5s));  // kept
  EXPECT_TRUE(w.take("a", 1, 1h, t0 + 6s));   // forgotten: counts again (and evicts "b")
  EXPECT_EQ(w.size(), 3u);
  EXPECT_TRUE(w.take("b", 1, 1h, t0 + 7s));
}

}  // namespace
}  // namespace tern::filter
