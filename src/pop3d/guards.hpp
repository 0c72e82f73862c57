// pop3d/guards: what POP3 sessions share across the process, apart from sockets so it can be tested
// alone:
//   MaildropLocks  one session per maildrop at a time (RFC 1939 8: the server locks the maildrop for
//                  the duration of the session); a second login gets -ERR [IN-USE] (RFC 2449 8.1.2).
//   LoginThrottle  failed logins counted per client address: each failure is answered after a delay
//                  that grows with the address's recent failures (1 s up to 5 s), and an address with
//                  more than max_failures failures within `window` is refused until they age out.
// Both are thread-safe (sessions run on several threads) and bounded in memory.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace tern::pop3d {

class MaildropLocks {
 public:
  // Held while a session is in the TRANSACTION or UPDATE state; releases on destruction.
  class Hold {
   public:
    Hold() = default;
    Hold(MaildropLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Hold(Hold&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
    Hold& operator=(Hold&& o) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    MaildropLocks* owner_ = nullptr;
    std::string key_;
  };

  // An empty Hold when another session holds the maildrop. `address` is compared as given: pass the
  // directory's normalised address.
  Hold try_lock(const std::string& address);
  bool locked(const std::string& address);

 private:
  std::mutex mu_;
  std::set<std::string> held_;
};

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

}  // namespace tern::pop3d
