// auth/authenticator: the one place where a login is decided, for every protocol (SMTP AUTH, IMAP
// LOGIN/AUTHENTICATE, POP3 USER/PASS and AUTH; later HTTP and ManageSieve).
//
// A login attempt goes: throttle (an address with too many recent failures is refused before its
// credentials are looked at; an account under attack waits first), the authorization identity (empty
// or the user's own: Tern offers no proxy authorization, RFC 4616 2), the directory and the password
// hash (on the worker pool, never on the event loop), and on failure a delay that grows with the
// address's recent failures. The identity is normalised once, here, the way the directory stores it.
// Every attempt is logged here, as "<protocol> <session>: ...", once.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/thread_pool.hpp>

#include "auth/sasl.hpp"
#include "auth/throttle.hpp"
#include "net/net.hpp"
#include "store/directory.hpp"

namespace tern::auth {

// Who is asking, for the throttle and the log.
struct LoginAttempt {
  std::string_view protocol;   // "smtp", "imap", "pop3"
  std::string_view session;    // the session id
  std::string_view mechanism;  // "PLAIN", "LOGIN", "USER" ...
  std::string_view peer;       // the client's IP address
};

struct LoginResult {
  enum class Outcome {
    ok,              // `address` is the account, as the directory spells it
    failed,          // unknown user, archive, or wrong password (the same answer for each)
    refused,         // this address has failed too often lately: try later (a temporary failure)
    not_authorized,  // the authorization identity is someone else's
    unavailable,     // the directory could not be read: a temporary failure
  };
  Outcome outcome = Outcome::failed;
  std::string address;
  std::int64_t token_id = 0;  // login_token: the token's id in the directory
  bool ok() const { return outcome == Outcome::ok; }
};

class Authenticator {
 public:
  Authenticator(store::Directory& directory, boost::asio::thread_pool& pool) : directory_(directory), pool_(pool) {}

  // Decides a login; waits (on the caller's executor) where the throttle says so. The caller flushes
  // its output first: the client should see nothing until the answer. Both arguments are named
  // objects of the caller that outlive the call (GCC 12 mishandles temporaries in co_await expressions).
  net::awaitable<LoginResult> login(const Credentials& credentials, const LoginAttempt& attempt);

  // An API token (HTTP `Authorization: Bearer`, auth/token): a valid, unrevoked token of `scope`
  // whose owner is still a user. A wrong token counts as a failed login of the client address, with
  // the same delays and refusal as a wrong password (no account to charge: the token names none).
  net::awaitable<LoginResult> login_token(const std::string& token, const std::string& scope,
                                          const LoginAttempt& attempt);

  LoginThrottle& throttle() { return throttle_; }

 private:
  store::Directory& directory_;
  boost::asio::thread_pool& pool_;
  LoginThrottle throttle_;
};

}  // namespace tern::auth
