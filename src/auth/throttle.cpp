#include "auth/throttle.hpp"

#include <algorithm>

namespace tern::auth {

void LoginThrottle::prune(std::deque<Clock::time_point>& times, Clock::time_point now) {
  while (!times.empty() && now - times.front() >= window) times.pop_front();
}

// Drops addresses whose failures have all aged out (at most once a minute), then, if the map is still
// over its bound, the addresses whose newest failure is oldest.
void LoginThrottle::sweep(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(60) && failures_.size() <= max_addresses) return;
  last_sweep_ = now;
  for (auto it = failures_.begin(); it != failures_.end();) {
    prune(it->second, now);
    it = it->second.empty() ? failures_.erase(it) : std::next(it);
  }
  while (failures_.size() > max_addresses) {
    auto stalest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
      return a.second.back() < b.second.back();
    });
    failures_.erase(stalest);
  }
}

bool LoginThrottle::refused(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return false;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return false;
  }
  return it->second.size() > max_failures;
}

std::chrono::seconds LoginThrottle::record_failure(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto& times = failures_[address];
  prune(times, now);
  times.push_back(now);
  // Only "more than max_failures" matters: keep the newest max_failures + 1.
  while (times.size() > max_failures + 1) times.pop_front();
  auto n = static_cast<long>(times.size());
  sweep(now);
  return std::chrono::seconds(std::clamp(n, 1L, 5L));
}

std::size_t LoginThrottle::addresses() {
  std::lock_guard lock(mu_);
  return failures_.size();
}

}  // namespace tern::auth
