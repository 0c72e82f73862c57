#include "auth/authenticator.hpp"

#include "auth/password.hpp"
#include "auth/token.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"

namespace tern::auth {
namespace {

// A refused attempt still waits a little, so hammering a refused address stays slow.
constexpr std::chrono::seconds refused_pause{1};

net::awaitable<void> pause(std::chrono::seconds how_long) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, how_long);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace

net::awaitable<LoginResult> Authenticator::login(const Credentials& credentials, const LoginAttempt& attempt) {
  using Clock = LoginThrottle::Clock;
  const std::string peer(attempt.peer);
  const std::string user = credentials.authcid;
  if (throttle_.refused(peer, Clock::now())) {
    log::warn("{} {}: login as '{}' from {} refused: too many failed logins from this address", attempt.protocol,
              attempt.session, log_safe(user), peer);
    co_await pause(refused_pause);
    co_return LoginResult{LoginResult::Outcome::refused, {}};
  }
  if (auto wait = throttle_.account_delay(user, Clock::now()); wait.count() > 0) {
    log::info("{} {}: login as '{}' delayed {} s: recent failed logins for this account", attempt.protocol,
              attempt.session, log_safe(user), wait.count());
    co_await pause(wait);
  }
  // RFC 4616 2: no proxy authorization; the authorization identity must be empty or the user's own.
  if (!credentials.authzid.empty() && store::normalize_address(credentials.authzid) != store::normalize_address(user)) {
    log::warn("{} {}: {} login as '{}' from {} refused: authorization identity '{}' is not the user's own",
              attempt.protocol, attempt.session, attempt.mechanism, log_safe(user), peer,
              log_safe(credentials.authzid));
    co_return LoginResult{LoginResult::Outcome::not_authorized, {}};
  }

  struct Verdict {
    std::string address;   // empty: failed
    std::string error;     // the directory could not be read
    std::string disabled;  // the right password of a disabled user: its address
  };
  auto* dir = &directory_;
  auto verify = [dir, user, password = credentials.password]() -> Verdict {
    try {
      auto slot = dir->find_mailslot(user);
      // Archives receive mail but have no login (CONTRACT.md); they fail like a wrong password.
      if (!slot || slot->kind != store::SlotKind::mailbox) return {};
      if (!verify_password(password, slot->password_hash)) return {};
      // A disabled user (`tern user disable`) fails like a wrong password, so that the answer does
      // not tell a guesser that the password was right; the log says why.
      if (!slot->enabled) return {{}, {}, slot->address};
      return {slot->address, {}};
    } catch (const std::exception& e) {
      return {{}, e.what()};
    }
  };
  Verdict verdict = *co_await net::offload(pool_, std::move(verify));
  if (!verdict.error.empty()) {
    log::error("{} {}: {} login as '{}' from {}: the directory cannot be read: {}", attempt.protocol,
               attempt.session, attempt.mechanism, log_safe(user), peer, verdict.error);
    co_return LoginResult{LoginResult::Outcome::unavailable, {}};
  }
  if (!verdict.disabled.empty()) {
    log::warn("{} {}: {} login refused for {} from {}: the user is disabled", attempt.protocol, attempt.session,
              attempt.mechanism, verdict.disabled, peer);
    co_return LoginResult{LoginResult::Outcome::failed, {}};
  }
  if (verdict.address.empty()) {
    auto delay = throttle_.record_failure(peer, user, Clock::now());
    log::warn("{} {}: {} login failed for '{}' from {}", attempt.protocol, attempt.session, attempt.mechanism,
              log_safe(user), peer);
    co_await pause(delay);  // slow down password guessing: the answer waits longer the more this address failed
    co_return LoginResult{LoginResult::Outcome::failed, {}};
  }
  co_return LoginResult{LoginResult::Outcome::ok, std::move(verdict.address)};
}

net::awaitable<LoginResult> Authenticator::login_token(const std::string& token, const std::string& scope,
                                                      const LoginAttempt& attempt) {
  using Clock = LoginThrottle::Clock;
  const std::string peer(attempt.peer);
  if (throttle_.refused(peer, Clock::now())) {
    log::warn("{} {}: token login from {} refused: too many failed logins from this address", attempt.protocol,
              attempt.session, peer);
    co_await pause(refused_pause);
    co_return LoginResult{LoginResult::Outcome::refused, {}};
  }
  struct Verdict {
    std::string address;  // empty: failed
    std::int64_t id = 0;
    std::string error;
  };
  auto* dir = &directory_;
  auto verify = [dir, hash = api_token_hash(token), scope]() -> Verdict {
    try {
      auto t = dir->find_api_token(hash);
      if (!t || t->scope != scope) return {};
      auto slot = dir->find_mailslot(t->address);
      if (!slot || slot->kind != store::SlotKind::mailbox || !slot->enabled) return {};
      return {slot->address, t->id, {}};
    } catch (const std::exception& e) {
      return {{}, 0, e.what()};
    }
  };
  Verdict verdict = *co_await net::offload(pool_, std::move(verify));
  if (!verdict.error.empty()) {
    log::error("{} {}: token login from {}: the directory cannot be read: {}", attempt.protocol, attempt.session,
               peer, verdict.error);
    co_return LoginResult{LoginResult::Outcome::unavailable, {}};
  }
  if (verdict.address.empty()) {
    auto delay = throttle_.record_failure(peer, Clock::now());
    log::warn("{} {}: token login failed from {} (unknown or revoked token)", attempt.protocol, attempt.session, peer);
    co_await pause(delay);
    co_return LoginResult{LoginResult::Outcome::failed, {}};
  }
  co_return LoginResult{LoginResult::Outcome::ok, std::move(verdict.address), verdict.id};
}

}  // namespace tern::auth
