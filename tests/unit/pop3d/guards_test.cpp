// The maildrop lock set of pop3d, and the failed-login throttle (auth/throttle) as POP3 uses it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "auth/throttle.hpp"
#include "pop3d/guards.hpp"

namespace tern::pop3d {
namespace {

using namespace std::chrono_literals;
using auth::LoginThrottle;

TEST(MaildropLocks, OneHolderPerAddress) {
  MaildropLocks locks;
  auto a = locks.try_lock("bob@tern.test");
  ASSERT_TRUE(a);
  EXPECT_FALSE(locks.try_lock("bob@tern.test"));
  auto other = locks.try_lock("alice@tern.test");
  EXPECT_TRUE(other);
  a.release();
  EXPECT_FALSE(locks.locked("bob@tern.test"));
  EXPECT_TRUE(locks.try_lock("bob@tern.test"));  // the temporary releases at once
  EXPECT_FALSE(locks.locked("bob@tern.test"));
}

TEST(MaildropLocks, MovedHoldReleasesOnce) {
  MaildropLocks locks;
  MaildropLocks::Hold outer;
  {
    auto h = locks.try_lock("bob@tern.test");
    outer = std::move(h);
  }
  EXPECT_TRUE(locks.locked("bob@tern.test"));
  outer = MaildropLocks::Hold();
  EXPECT_FALSE(locks.locked("bob@tern.test"));
}

TEST(MaildropLocks, ConcurrentLoginsGetOneWinner) {
  MaildropLocks locks;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  std::vector<MaildropLocks::Hold> holds(16);
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      holds[i] = locks.try_lock("bob@tern.test");
      if (holds[i]) ++winners;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST(LoginThrottle, DelayGrowsFromOneToFiveSeconds) {
  LoginThrottle t;
  auto now = LoginThrottle::Clock::now();
  std::vector<long> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(t.record_failure("192.0.2.1", now + std::chrono::seconds(i)).count());
  EXPECT_EQ(delays, (std::vector<long>{1, 2, 3, 4, 5, 5, 5}));
}

TEST(LoginThrottle, MoreThanTenFailuresRefuseTheAddressUntilTheyAgeOut) {
  LoginThrottle t;
  auto now = LoginThrottle::Clock::now();
  for (int i = 0; i < 10; ++i) t.record_failure("192.0.2.1", now + std::chrono::seconds(i));
  EXPECT_FALSE(t.refused("192.0.2.1", now + 10s));  // ten is still allowed
  t.record_failure("192.0.2.1", now + 10s);
  EXPECT_TRUE(t.refused("192.0.2.1", now + 11s));
  EXPECT_FALSE(t.refused("192.0.2.2", now + 11s));  // other addresses are not affected
  EXPECT_TRUE(t.refused("192.0.2.1", now + 299s));
  EXPECT_FALSE(t.refused("192.0.2.1", now + 301s));  // the first failure aged out: ten left
  EXPECT_FALSE(t.refused("192.0.2.1", now + 400s));
}

TEST(LoginThrottle, OldFailuresDoNotCount) {
  LoginThrottle t;
  auto now = LoginThrottle::Clock::now();
  for (int i = 0; i < 20; ++i) t.record_failure("192.0.2.1", now + std::chrono::seconds(i * 60));
  // Only failures within the last five minutes count: five of them.
  EXPECT_FALSE(t.refused("192.0.2.1", now + std::chrono::seconds(19 * 60)));
  EXPECT_EQ(t.record_failure("192.0.2.1", now + std::chrono::seconds(19 * 60 + 1)).count(), 5);
}

TEST(LoginThrottle, ForgetsAddressesThatCooledDown) {
  LoginThrottle t;
  auto now = LoginThrottle::Clock::now();
  for (int i = 0; i < 100; ++i) t.record_failure("192.0.2." + std::to_string(i), now);
  EXPECT_EQ(t.addresses(), 100u);
  t.record_failure("198.51.100.1", now + 600s);  // the sweep runs: only the new one is left
  EXPECT_EQ(t.addresses(), 1u);
}

}  // namespace
}  // namespace tern::pop3d
