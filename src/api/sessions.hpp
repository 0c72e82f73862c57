// api/sessions: the browser console's logins (issue 15). POST /api/v1/session with an administrator's
// address and password makes a session: a random 256-bit id sent as the cookie `tern_session`
// (HttpOnly, Secure, SameSite=Strict, Path=/) and a CSRF token, another 256 random bits, that the page
// keeps and sends back as X-CSRF-Token on every request that changes something. Both live only here,
// in memory: a restart logs everyone out. A login always makes a new id (no fixation); a logout, or
// the end of `lifetime`, forgets it.
#pragma once
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tern::api {

inline constexpr std::string_view session_cookie = "tern_session";

class Sessions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours lifetime{8};

  struct Session {
    std::string id;
    std::string csrf;
    std::string address;
    Clock::time_point expires;
  };

  Session create(const std::string& address);
  // The live session with this id (an expired one is forgotten).
  std::optional<Session> find(const std::string& id);
  void end(const std::string& id);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Session> by_id_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent (RFC 6265 5.4).
std::string_view cookie_value(std::string_view header, std::string_view name);
// Equal without an early exit (a CSRF token compared against what a client sent).
bool same_secret(std::string_view a, std::string_view b);

}  // namespace tern::api
