// AUTH (RFC 5034 4):  "AUTH" SP sasl-mech [SP initial-response] CRLF
// Mechanisms PLAIN (RFC 4616) and LOGIN; only over TLS unless [auth] allow_plaintext. "AUTH" alone
// lists the mechanisms (the older RFC 1734 form some clients still send). A client response of "*"
// cancels; "=" as the initial response means an empty one. Failures carry [AUTH] (RFC 3206 6).
//
// login() is shared with PASS: the decision (auth::Authenticator: throttle, authorization identity,
// password off the event loop), then the maildrop lock, the snapshot, and the TRANSACTION state.
#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "base/log.hpp"
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

namespace proto = pop3::proto;

net::awaitable<Session::SaslResponse> Session::read_sasl_response() {
  reader_.expect_sasl_response();
  stream_.set_timeout(cfg_.limits.command_timeout);  // for the whole response line
  for (;;) {
    std::size_t consumed = 0;
    auto ev = reader_.feed(in_, consumed);
    in_.erase(0, consumed);
    if (ev.kind == proto::Event::sasl_response) {
      if (ev.line == "*") co_return SaslResponse{SaslResponse::cancelled, {}};
      co_return SaslResponse{SaslResponse::line, std::move(ev.line)};
    }
    if (ev.kind == proto::Event::error) {
      protocol_error();
      co_return SaslResponse{SaslResponse::malformed, {}};
    }
    if (!co_await fill()) throw boost::system::system_error(boost::asio::error::eof);
  }
}

net::awaitable<void> Session::cmd_auth(const Command& cmd) {
  if (cmd.mechanism.empty()) {
    send(proto::ok("Mechanisms follow") + auth::mechanism_list("", "\r\n") + ".\r\n");
    co_return;
  }
  if (!login_allowed()) {
    protocol_error();
    send(proto::err(RespCode::auth, text::plaintext_refused));
    co_return;
  }
  auto sasl = auth::SaslServer::start(cmd.mechanism);
  if (!sasl) {
    protocol_error();
    send(proto::err("Unrecognized authentication mechanism"));
    co_return;
  }
  std::optional<std::string> initial;
  if (cmd.has_initial_response) initial = cmd.initial_response;
  auto step = sasl->begin(initial);
  while (step.kind == auth::SaslServer::Step::more) {
    send(proto::continuation(step.challenge));
    auto r = co_await read_sasl_response();
    if (r.kind == SaslResponse::malformed) {
      send(proto::err("Malformed response"));
      co_return;
    }
    step = sasl->next(r.kind == SaslResponse::cancelled ? "*" : r.text);
  }
  if (step.kind == auth::SaslServer::Step::fail) {
    if (step.failure == auth::SaslServer::Failure::cancelled) {
      send(proto::err(text::cancelled));
    } else {
      protocol_error();
      send(proto::err(fmt::format("Malformed {} response", sasl->name())));
    }
    co_return;
  }
  std::string mechanism(sasl->name());
  co_await login(step.credentials, mechanism);
}

net::awaitable<void> Session::login(const auth::Credentials& credentials, const std::string& mechanism) {
  user_arg_.clear();
  co_await flush();
  auth::LoginAttempt attempt{"pop3", id_, mechanism, stream_.peer_address()};
  auto result = co_await svc_.authenticator->login(credentials, attempt);
  switch (result.outcome) {
    case auth::LoginResult::Outcome::ok: break;
    case auth::LoginResult::Outcome::refused: send(proto::err(RespCode::sys_temp, text::throttled)); co_return;
    case auth::LoginResult::Outcome::unavailable: send(proto::err(RespCode::sys_temp, text::auth_unavailable)); co_return;
    case auth::LoginResult::Outcome::failed:
      protocol_error();
      send(proto::err(RespCode::auth, text::login_failed));
      co_return;
    case auth::LoginResult::Outcome::not_authorized:
      protocol_error();
      send(proto::err(RespCode::auth, "Authorization identity must be empty or your own"));
      co_return;
  }
  const std::string& address = result.address;
  const std::string& peer = stream_.peer_address();

  auto hold = svc_.shared->locks.try_lock(address);
  if (!hold) {
    log::info("pop3 {}: {} login refused: the maildrop is in use by another session", id_, address);
    send(proto::err(RespCode::in_use, text::in_use));
    co_return;
  }
  // The snapshot: the index only, never the message files (a large maildrop opens at once).
  auto* ms = svc_.mailstore;
  auto snapshot = [ms, address] { return ms->list(address, maildrop_folder); };
  auto listed = *co_await net::offload(*svc_.pool, std::move(snapshot));
  if (!listed) {
    internal_error(fmt::format("cannot open the maildrop of {}: {}", address, listed.error().message));
    co_return;
  }
  messages_.clear();
  messages_.reserve(listed->size());
  std::uint64_t octets = 0;
  for (auto& e : *listed) {
    messages_.push_back(Message{e.uid, e.size, proto::unique_id(e.file), false});
    octets += e.size;
  }
  lock_ = std::move(hold);
  user_ = address;
  state_ = State::transaction;
  log::info("pop3 {}: login {} ({}{}{}) from {}: {} messages, {} octets", id_, user_, mechanism,
            stream_.is_tls() ? ", TLS" : "", utf8_ ? ", UTF8" : "", peer, messages_.size(), octets);
  send(proto::ok(fmt::format("Logged in: {} messages ({} octets)", messages_.size(), octets)));
}

}  // namespace tern::pop3d
