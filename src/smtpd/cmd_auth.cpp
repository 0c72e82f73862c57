// AUTH (RFC 4954):  "AUTH" SP sasl-mech [SP initial-response] CRLF
// Mechanisms PLAIN (RFC 4616) and LOGIN; only over TLS unless [auth] allow_plaintext. Failed logins are
// throttled per client address and per account, together with IMAP and POP3 (auth/throttle).
#include <fmt/format.h>

#include "auth/password.hpp"
#include "auth/sasl.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {
namespace {

// RFC 4954 6: 454 4.7.0 is a temporary authentication failure (Postfix and Dovecot answer a throttled
// client the same way).
const smtp::proto::Reply throttled{code::temp_auth_failure, "4.7.0", "Too many failed authentication attempts, try later"};
// A refused attempt still waits a little, so hammering a refused address stays slow.
constexpr std::chrono::seconds throttled_pause{1};

}  // namespace

net::awaitable<std::optional<std::string>> Session::read_sasl_line() {
  co_await flush();
  stream_.set_timeout(cfg_.limits.command_timeout);  // for the whole line
  for (;;) {
    std::size_t consumed = 0;
    auto ev = reader_.feed(in_, consumed);
    in_.erase(0, consumed);
    if (ev.kind == smtp::proto::CommandEvent::command) {
      // The reader split the line at its first space; a SASL response has none, but rebuild it anyway.
      std::string line = ev.cmd.verb_text;
      if (!ev.cmd.arg.empty()) line += " " + ev.cmd.arg;
      co_return line;
    }
    if (ev.kind == smtp::proto::CommandEvent::error) co_return std::nullopt;
    if (!co_await fill()) throw boost::system::system_error(boost::asio::error::eof);
  }
}

net::awaitable<void> Session::cmd_auth(const std::string& arg) {
  if (!user_.empty()) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", "Already authenticated");
    co_return;
  }
  if (!stream_.is_tls() && !cfg_.allow_plaintext) {
    protocol_error();
    reply(code::encryption_required, "5.7.11", "Encryption required for requested authentication mechanism");
    co_return;
  }
  if (!esmtp_) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", "Send EHLO first");
    co_return;
  }
  if (tx_) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", "AUTH not allowed during a mail transaction");
    co_return;
  }
  auto sp = arg.find(' ');
  auto mech = to_upper_ascii(arg.substr(0, sp));
  std::optional<std::string> initial;
  if (sp != std::string::npos) initial = std::string(trim(arg.substr(sp + 1)));

  auto cancelled = [&](const std::optional<std::string>& line) { return !line || *line == "*"; };
  std::string authcid, password;
  if (mech == "PLAIN") {
    std::optional<std::string> resp = initial;
    if (!resp) {
      reply(code::auth_continue, "", "");
      resp = co_await read_sasl_line();
    }
    if (cancelled(resp)) {
      reply(code::param_syntax, "5.7.0", "Authentication cancelled");
      co_return;
    }
    auto creds = auth::decode_plain(*resp == "=" ? "" : *resp);
    if (!creds) {
      protocol_error();
      reply(code::param_syntax, "5.5.2", "Malformed PLAIN response");
      co_return;
    }
    if (!creds->authzid.empty() && !iequals(creds->authzid, creds->authcid)) {
      reply(code::auth_failed, "5.7.8", "Authentication credentials invalid");
      co_return;
    }
    authcid = creds->authcid;
    password = creds->password;
  } else if (mech == "LOGIN") {
    std::optional<std::string> user_line = initial;
    if (!user_line) {
      reply(code::auth_continue, "", auth::base64_encode("Username:"));
      user_line = co_await read_sasl_line();
    }
    if (cancelled(user_line)) {
      reply(code::param_syntax, "5.7.0", "Authentication cancelled");
      co_return;
    }
    auto u = auth::base64_decode(*user_line);
    reply(code::auth_continue, "", auth::base64_encode("Password:"));
    auto pass_line = co_await read_sasl_line();
    if (cancelled(pass_line)) {
      reply(code::param_syntax, "5.7.0", "Authentication cancelled");
      co_return;
    }
    auto p = auth::base64_decode(*pass_line);
    if (!u || !p) {
      protocol_error();
      reply(code::param_syntax, "5.5.2", "Malformed LOGIN response");
      co_return;
    }
    authcid = *u;
    password = *p;
  } else {
    protocol_error();
    reply(code::param_not_implemented, "5.5.4", "Unrecognized authentication type");
    co_return;
  }

  co_await login(mech, authcid, password);
}

// The password check, behind the throttle that IMAP and POP3 share (auth/throttle): an address with too
// many recent failures is refused with a temporary error (as Postfix/Dovecot: 454 4.7.0) before its
// credentials are looked at; an account under attack is checked only after a delay; each failure is
// answered late and counts against both the address and the account, on every protocol.
net::awaitable<void> Session::login(const std::string& mech, const std::string& authcid, const std::string& password) {
  auto& throttle = *svc_.throttle;
  const std::string& peer = stream_.peer_address();
  if (throttle.refused(peer, auth::LoginThrottle::Clock::now())) {
    log::warn("smtp {}: AUTH {} as '{}' from {} refused: too many failed logins from this address", id_, mech,
              log_safe(authcid), peer);
    co_await pause(throttled_pause);
    reply(throttled);
    co_return;
  }
  if (auto wait = throttle.account_delay(authcid, auth::LoginThrottle::Clock::now()); wait.count() > 0) {
    log::info("smtp {}: AUTH as '{}' delayed {} s: recent failed logins for this account", id_, log_safe(authcid),
              wait.count());
    co_await pause(wait);
  }
  auto* dir = svc_.directory;
  auto job = [dir, authcid, password] {
    auto slot = dir->find_mailslot(authcid);
    return slot && slot->kind == store::SlotKind::mailbox && auth::verify_password(password, slot->password_hash);
  };
  bool ok = *co_await net::offload(*svc_.pool, std::move(job));
  if (!ok) {
    auto delay = throttle.record_failure(peer, authcid, auth::LoginThrottle::Clock::now());
    protocol_error();
    log::warn("smtp {}: AUTH {} failed for '{}' from {}", id_, mech, log_safe(authcid), peer);
    co_await pause(delay);  // slow down password guessing: the answer waits longer the more this address failed
    reply(code::auth_failed, "5.7.8", "Authentication credentials invalid");
    co_return;
  }
  user_ = store::normalize_address(authcid);
  log::info("smtp {}: authenticated as {} ({})", id_, user_, mech);
  reply(code::auth_ok, "2.7.0", "Authentication successful");
}

net::awaitable<void> Session::pause(std::chrono::seconds how_long) {
  co_await flush();
  boost::asio::steady_timer timer(stream_.socket().get_executor(), how_long);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace tern::smtpd
