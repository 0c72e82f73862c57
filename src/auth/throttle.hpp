// auth/throttle: failed logins, counted per client address and per account. One instance serves every
// daemon that checks passwords (SMTP AUTH, IMAP, POP3), so failures on one protocol count on all.
//
// Per client address (one host guessing): each failure is answered after a delay that grows with the
// address's recent failures (1 s up to 5 s), and an address with more than max_failures failures within
// `window` is refused until they age out, whatever account it names next and on every protocol (the
// address is the attacker; a refused attempt never reaches the password check).
//
// Per account (many hosts guessing one password): once an account has account_free_failures failures
// within `window`, every later attempt for it, right or wrong and from any address, waits before its
// credentials are checked: 1 s, doubling with each further failure, at most account_max_delay. Never a
// hard lock: while an account is under attack its owner still gets in, only slower (the doubling and
// the 15 s cap are Dovecot's auth penalty, applied to the account instead of the address).
//
// Thread-safe (sessions run on several threads) and bounded in memory: each table keeps at most
// max_entries keys and, per key, only as many failures as can still change the answer.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace tern::auth {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t max_failures = 10;  // per address within the window; more: refused
  static constexpr std::chrono::seconds window{300};
  static constexpr std::size_t max_entries = 100000;  // per table; beyond this, the stalest go first
  static constexpr std::size_t account_free_failures = 5;  // an owner's typos cost nothing
  static constexpr std::chrono::seconds account_max_delay{15};

  // True when `address` had more than max_failures failed logins within the window: refuse to check
  // its credentials at all until it cools down.
  bool refused(const std::string& address, Clock::time_point now);
  // How long an attempt to log in as `account` waits before its credentials are checked (zero unless
  // the account has had more than account_free_failures recent failures). Case-insensitive.
  std::chrono::seconds account_delay(std::string_view account, Clock::time_point now);
  // Records a failed login from `address`; returns how long to wait before answering it: the number of
  // the address's failures within the window, in seconds, at least 1 and at most 5.
  std::chrono::seconds record_failure(const std::string& address, Clock::time_point now);
  // The same, and the failure also counts against `account` ("" counts against no account).
  std::chrono::seconds record_failure(const std::string& address, std::string_view account, Clock::time_point now);

  std::size_t addresses();  // for tests
  std::size_t accounts();

 private:
  // Recent failure times per key (an address or an account), newest last.
  class FailureLog {
   public:
    explicit FailureLog(std::size_t keep) : keep_(keep) {}
    std::size_t count(const std::string& key, Clock::time_point now);  // failures within the window
    std::size_t add(const std::string& key, Clock::time_point now);    // returns count() after it
    std::size_t size() const { return failures_.size(); }

   private:
    static void prune(std::deque<Clock::time_point>& times, Clock::time_point now);
    void sweep(Clock::time_point now);

    std::size_t keep_;  // only the newest keep_ failures of a key can change an answer
    std::map<std::string, std::deque<Clock::time_point>> failures_;
    Clock::time_point last_sweep_{};
  };

  std::mutex mu_;
  FailureLog by_address_{max_failures + 1};
  FailureLog by_account_{account_free_failures + 5};  // 2^5 s is past the cap
};

}  // namespace tern::auth
