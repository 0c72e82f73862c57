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
    reply(replies::already_authenticated);
    co_return;
  }
  if (!stream_.is_tls() && !cfg_.allow_plaintext) {
    protocol_error();
    reply(replies::encryption_required);
    co_return;
  }
  if (!esmtp_) {
    protocol_error();
    reply(replies::ehlo_first);
    co_return;
  }
  if (tx_) {
    protocol_error();
    reply(replies::auth_in_transaction);
    co_return;
  }
  auto sp = arg.find(' ');
  auto sasl = auth::SaslServer::start(arg.substr(0, sp));
  if (!sasl) {
    protocol_error();
    reply(replies::unknown_mechanism);
    co_return;
  }
  std::optional<std::string> initial;
  if (sp != std::string::npos) initial = std::string(trim(arg.substr(sp + 1)));
  auto step = sasl->begin(initial);
  while (step.kind == auth::SaslServer::Step::more) {
    // RFC 4954 8: continue-req = "334" SP [base64] CRLF, the space even before an empty challenge
    // (PLAIN's first), which a reply line would drop and strict clients refuse as a short reply.
    out_ += fmt::format("{} {}\r\n", code::auth_continue, step.challenge);
    auto line = co_await read_sasl_line();
    step = sasl->next(line ? *line : "*");  // an unreadable line cancels
  }
  if (step.kind == auth::SaslServer::Step::fail) {
    if (step.failure == auth::SaslServer::Failure::cancelled) {
      reply(replies::auth_cancelled);
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
      reply(replies::auth_ok);
      break;
    case auth::LoginResult::Outcome::refused: reply(replies::throttled); break;
    case auth::LoginResult::Outcome::unavailable: reply(replies::auth_unavailable); break;
    case auth::LoginResult::Outcome::failed:
      protocol_error();
      reply(replies::auth_failed);
      break;
    case auth::LoginResult::Outcome::not_authorized:
      reply(replies::auth_failed);
      break;
  }
}

}  // namespace tern::smtpd
