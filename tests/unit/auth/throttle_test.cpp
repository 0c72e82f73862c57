// auth/throttle: failed logins per client address (delay, then refusal) and per account (a delay that
// doubles up to a cap, never a lock), on an injected clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/throttle.hpp"

namespace tern::auth {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

const Clock::time_point t0 = Clock::time_point{} + 24h;  // any fixed point: the clock is injected

// --- per client address ---------------------------------------------------------------------------

TEST(ThrottleAddress, AnswerDelayGrowsFromOneToFiveSeconds) {
  LoginThrottle t;
  std::vector<long> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(t.record_failure("192.0.2.1", "a@x.test", t0 + i * 1s).count());
  EXPECT_EQ(delays, (std::vector<long>{1, 2, 3, 4, 5, 5, 5}));
}

TEST(ThrottleAddress, MoreThanTenFailuresRefuseTheAddressWhateverTheAccount) {
  LoginThrottle t;
  // Ten different accounts: the address is what is counted.
  for (int i = 0; i < 10; ++i) t.record_failure("192.0.2.1", "user" + std::to_string(i) + "@x.test", t0 + i * 1s);
  EXPECT_FALSE(t.refused("192.0.2.1", t0 + 10s));  // ten is still allowed
  t.record_failure("192.0.2.1", "other@x.test", t0 + 10s);
  EXPECT_TRUE(t.refused("192.0.2.1", t0 + 11s));
  EXPECT_FALSE(t.refused("192.0.2.2", t0 + 11s));  // other addresses are not affected
  EXPECT_TRUE(t.refused("192.0.2.1", t0 + 299s));
  EXPECT_FALSE(t.refused("192.0.2.1", t0 + 301s));  // the first failure aged out: ten left
}

TEST(ThrottleAddress, OnlyFailuresWithinTheWindowCount) {
  LoginThrottle t;
  for (int i = 0; i < 20; ++i) t.record_failure("192.0.2.1", t0 + i * 60s);
  EXPECT_FALSE(t.refused("192.0.2.1", t0 + 19min));
  EXPECT_EQ(t.record_failure("192.0.2.1", t0 + 19min + 1s).count(), 5);  // five in the last five minutes
}

// --- per account ----------------------------------------------------------------------------------

TEST(ThrottleAccount, FirstFailuresCostNothingThenTheDelayDoublesUpToTheCap) {
  LoginThrottle t;
  std::vector<long> delays;
  for (int i = 0; i < 12; ++i) {
    delays.push_back(t.account_delay("alice@x.test", t0 + i * 1s).count());
    // each failure from a different address: no address is ever refused
    t.record_failure("198.51.100." + std::to_string(i), "alice@x.test", t0 + i * 1s);
  }
  EXPECT_EQ(delays, (std::vector<long>{0, 0, 0, 0, 0, 1, 2, 4, 8, 15, 15, 15}));
  for (int i = 0; i < 12; ++i) EXPECT_FALSE(t.refused("198.51.100." + std::to_string(i), t0 + 12s));
}

TEST(ThrottleAccount, NeverALockAndItCoolsDown) {
  LoginThrottle t;
  for (int i = 0; i < 1000; ++i) t.record_failure("203.0.113." + std::to_string(i % 250), "alice@x.test", t0 + i * 100ms);
  auto attack_end = t0 + 100s;
  EXPECT_EQ(t.account_delay("alice@x.test", attack_end), LoginThrottle::account_max_delay);  // slower, not locked
  EXPECT_EQ(t.account_delay("alice@x.test", attack_end + LoginThrottle::window), 0s);  // all aged out
  EXPECT_EQ(t.accounts(), 0u);  // and forgotten
}

TEST(ThrottleAccount, AccountsAreCaseInsensitiveAndIndependent) {
  LoginThrottle t;
  for (int i = 0; i < 6; ++i) t.record_failure("192.0.2.1", "Alice@X.test", t0);
  EXPECT_EQ(t.account_delay("alice@x.test", t0), 2s);
  EXPECT_EQ(t.account_delay("ALICE@x.TEST", t0), 2s);
  EXPECT_EQ(t.account_delay("bob@x.test", t0), 0s);
}

TEST(ThrottleAccount, AnAddressOnlyFailureCountsAgainstNoAccount) {
  LoginThrottle t;
  for (int i = 0; i < 8; ++i) t.record_failure("192.0.2.1", "", t0);
  EXPECT_EQ(t.accounts(), 0u);
  EXPECT_EQ(t.account_delay("", t0), 0s);
  EXPECT_EQ(t.addresses(), 1u);
}

// --- memory ---------------------------------------------------------------------------------------

TEST(ThrottleMemory, ForgetsAddressesAndAccountsThatCooledDown) {
  LoginThrottle t;
  for (int i = 0; i < 100; ++i) t.record_failure("192.0.2." + std::to_string(i), "u" + std::to_string(i), t0);
  EXPECT_EQ(t.addresses(), 100u);
  EXPECT_EQ(t.accounts(), 100u);
  t.record_failure("198.51.100.1", "v", t0 + 600s);  // the sweeps run: only the new ones are left
  EXPECT_EQ(t.addresses(), 1u);
  EXPECT_EQ(t.accounts(), 1u);
}

}  // namespace
}  // namespace tern::auth
