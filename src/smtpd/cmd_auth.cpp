// AUTH (RFC 4954):  "AUTH" SP sasl-mech [SP initial-response] CRLF
// Mechanisms PLAIN (RFC 4616) and LOGIN; only over TLS unless [auth] allow_plaintext. The exchange is
// auth::SaslServer's, the decision auth::Authenticator's (throttle, authorization identity, password),
// shared with IMAP and POP3; this file only frames the lines and chooses the replies.
#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {
namespace {

// RFC 4954 6: 454 4.7.0 is a temporary authentication failure (Postfix and Dovecot answer a throttled
// client the same way).
const smtp::proto::Reply throttled{code::temp_auth_failure, "4.7.0", "Too many failed authentication attempts, try later"};
const smtp::proto::Reply auth_unavailable{code::temp_auth_failure, "4.7.0", "Temporary authentication failure"};

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
  auto sasl = auth::SaslServer::start(arg.substr(0, sp));
  if (!sasl) {
    protocol_error();
    reply(code::param_not_implemented, "5.5.4", "Unrecognized authentication type");
    co_return;
  }
  std::optional<std::string> initial;
  if (sp != std::string::npos) initial = std::string(trim(arg.substr(sp + 1)));
  auto step = sasl->begin(initial);
  while (step.kind == auth::SaslServer::Step::more) {
    reply(code::auth_continue, "", step.challenge);
    auto line = co_await read_sasl_line();
    step = sasl->next(line ? *line : "*");  // an unreadable line cancels
  }
  if (step.kind == auth::SaslServer::Step::fail) {
    if (step.failure == auth::SaslServer::Failure::cancelled) {
      reply(code::param_syntax, "5.7.0", "Authentication cancelled");
    } else {
      protocol_error();
      reply(code::param_syntax, "5.5.2", fmt::format("Malformed {} response", sasl->name()));
    }
    co_return;
  }

  co_await flush();
  auth::LoginAttempt attempt{"smtp", id_, sasl->name(), stream_.peer_address()};
  auto result = co_await svc_.authenticator->login(step.credentials, attempt);
  switch (result.outcome) {
    case auth::LoginResult::Outcome::ok:
      user_ = std::move(result.address);
      log::info("smtp {}: authenticated as {} ({})", id_, user_, sasl->name());
      reply(code::auth_ok, "2.7.0", "Authentication successful");
      break;
    case auth::LoginResult::Outcome::refused: reply(throttled); break;
    case auth::LoginResult::Outcome::unavailable: reply(auth_unavailable); break;
    case auth::LoginResult::Outcome::failed:
      protocol_error();
      reply(code::auth_failed, "5.7.8", "Authentication credentials invalid");
      break;
    case auth::LoginResult::Outcome::not_authorized:
      reply(code::auth_failed, "5.7.8", "Authentication credentials invalid");
      break;
  }
}

}  // namespace tern::smtpd
