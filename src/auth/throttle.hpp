// auth/throttle: failed logins counted per client address, shared by IMAP and POP3 (and SMTP AUTH
// later): each failure is answered after a delay that grows with the address's recent failures (1 s up
// to 5 s), and an address with more than max_failures failures within `window` is refused until they
// age out. Thread-safe (sessions run on several threads) and bounded in memory.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace tern::auth {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t max_failures = 10;
  static constexpr std::chrono::seconds window{300};
  static constexpr std::size_t max_addresses = 100000;  // beyond this, the stalest entries go first

  // True when `address` had more than max_failures failed logins within the window: refuse to check
  // its credentials at all until it cools down.
  bool refused(const std::string& address, Clock::time_point now);
  // Records a failed login; returns how long to wait before answering it: the number of the
  // address's failures within the window, in seconds, at least 1 and at most 5.
  std::chrono::seconds record_failure(const std::string& address, Clock::time_point now);
  std::size_t addresses();  // for tests

 private:
  void prune(std::deque<Clock::time_point>& times, Clock::time_point now);
  void sweep(Clock::time_point now);

  std::mutex mu_;
  std::map<std::string, std::deque<Clock::time_point>> failures_;
  Clock::time_point last_sweep_{};
};

}  // namespace tern::auth
