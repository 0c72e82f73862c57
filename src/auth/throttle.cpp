#include "auth/throttle.hpp"

#include <algorithm>

#include "base/strings.hpp"

namespace tern::auth {

void LoginThrottle::FailureLog::prune(std::deque<Clock::time_point>& times, Clock::time_point now) {
  while (!times.empty() && now - times.front() >= window) times.pop_front();
}

// Drops keys whose failures have all aged out (at most once a minute), then, if the map is still over
// its bound, the keys whose newest failure is oldest.
void LoginThrottle::FailureLog::sweep(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(60) && failures_.size() <= max_entries) return;
  last_sweep_ = now;
  for (auto it = failures_.begin(); it != failures_.end();) {
    prune(it->second, now);
    it = it->second.empty() ? failures_.erase(it) : std::next(it);
  }
  while (failures_.size() > max_entries) {
    auto stalest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
      return a.second.back() < b.second.back();
    });
    failures_.erase(stalest);
  }
}

std::size_t LoginThrottle::FailureLog::count(const std::string& key, Clock::time_point now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return 0;
  }
  return it->second.size();
}

std::size_t LoginThrottle::FailureLog::add(const std::string& key, Clock::time_point now) {
  auto& times = failures_[key];
  prune(times, now);
  times.push_back(now);
  while (times.size() > keep_) times.pop_front();
  auto n = times.size();
  sweep(now);
  return n;
}

bool LoginThrottle::refused(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  return by_address_.count(address, now) > max_failures;
}

std::chrono::seconds LoginThrottle::account_delay(std::string_view account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto n = by_account_.count(to_lower(account), now);
  if (n < account_free_failures) return std::chrono::seconds(0);
  auto doublings = std::min<std::size_t>(n - account_free_failures, 5);
  return std::min(std::chrono::seconds(1L << doublings), account_max_delay);
}

std::chrono::seconds LoginThrottle::record_failure(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto n = static_cast<long>(by_address_.add(address, now));
  return std::chrono::seconds(std::clamp(n, 1L, 5L));
}

std::chrono::seconds LoginThrottle::record_failure(const std::string& address, std::string_view account,
                                                   Clock::time_point now) {
  if (!account.empty()) {
    std::lock_guard lock(mu_);
    by_account_.add(to_lower(account), now);
  }
  return record_failure(address, now);
}

std::size_t LoginThrottle::addresses() {
  std::lock_guard lock(mu_);
  return by_address_.size();
}

std::size_t LoginThrottle::accounts() {
  std::lock_guard lock(mu_);
  return by_account_.size();
}

}  // namespace tern::auth
