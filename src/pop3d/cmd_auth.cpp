// AUTH (RFC 5034 4):  "AUTH" SP sasl-mech [SP initial-response] CRLF
// Mechanisms PLAIN (RFC 4616) and LOGIN; only over TLS unless [auth] allow_plaintext. "AUTH" alone
// lists the mechanisms (the older RFC 1734 form some clients still send). A client response of "*"
// cancels; "=" as the initial response means an empty one. Failures carry [AUTH] (RFC 3206 6).
//
// login() is shared with PASS: throttle check, credentials (off the event loop), the maildrop lock,
// the snapshot, and the TRANSACTION state.
#include <fmt/format.h>

#include "auth/password.hpp"
#include "auth/sasl.hpp"
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
    send(proto::ok("Mechanisms follow") + "PLAIN\r\nLOGIN\r\n.\r\n");
    co_return;
  }
  if (!login_allowed()) {
    protocol_error();
    send(proto::err(RespCode::auth, text::plaintext_refused));
    co_return;
  }
  std::string initial = cmd.initial_response == "=" ? std::string() : cmd.initial_response;
  std::string authcid, password;
  if (cmd.mechanism == "PLAIN") {
    std::string response;
    if (cmd.has_initial_response) {
      response = initial;
    } else {
      send(proto::continuation(""));
      auto r = co_await read_sasl_response();
      if (r.kind != SaslResponse::line) {
        send(proto::err(r.kind == SaslResponse::cancelled ? text::cancelled : "Malformed response"));
        co_return;
      }
      response = std::move(r.text);
    }
    auto creds = auth::decode_plain(response);
    if (!creds) {
      protocol_error();
      send(proto::err("Malformed PLAIN response"));
      co_return;
    }
    // RFC 4616 2: Tern supports no proxy authorization; the authzid must be empty or the user's own.
    if (!creds->authzid.empty() && store::normalize_address(creds->authzid) != store::normalize_address(creds->authcid)) {
      protocol_error();
      send(proto::err(RespCode::auth, "Authorization identity must be empty or your own"));
      co_return;
    }
    authcid = std::move(creds->authcid);
    password = std::move(creds->password);
  } else if (cmd.mechanism == "LOGIN") {
    std::string user_line;
    if (cmd.has_initial_response) {
      user_line = initial;
    } else {
      send(proto::continuation(auth::base64_encode("Username:")));
      auto r = co_await read_sasl_response();
      if (r.kind != SaslResponse::line) {
        send(proto::err(r.kind == SaslResponse::cancelled ? text::cancelled : "Malformed response"));
        co_return;
      }
      user_line = std::move(r.text);
    }
    send(proto::continuation(auth::base64_encode("Password:")));
    auto r = co_await read_sasl_response();
    if (r.kind != SaslResponse::line) {
      send(proto::err(r.kind == SaslResponse::cancelled ? text::cancelled : "Malformed response"));
      co_return;
    }
    auto u = auth::base64_decode(user_line);
    auto p = auth::base64_decode(r.text);
    if (!u || !p) {
      protocol_error();
      send(proto::err("Malformed LOGIN response"));
      co_return;
    }
    authcid = std::move(*u);
    password = std::move(*p);
  } else {
    protocol_error();
    send(proto::err("Unrecognized authentication mechanism"));
    co_return;
  }
  co_await login(std::move(authcid), std::move(password), cmd.mechanism);
}

net::awaitable<void> Session::login(std::string user, std::string password, std::string mechanism) {
  auto& throttle = svc_.shared->throttle;
  const std::string& peer = stream_.peer_address();
  user_arg_.clear();
  if (throttle.refused(peer, LoginThrottle::Clock::now())) {
    log::warn("pop3 {}: login as '{}' from {} refused: too many failed logins from this address", id_,
              log_safe(user), peer);
    co_await pause(std::chrono::seconds(1));
    send(proto::err(RespCode::sys_temp, text::throttled));
    co_return;
  }
  if (auto wait = throttle.account_delay(user, LoginThrottle::Clock::now()); wait.count() > 0) {
    log::info("pop3 {}: login as '{}' delayed {} s: recent failed logins for this account", id_, log_safe(user),
              wait.count());
    co_await pause(wait);
  }

  auto* dir = svc_.directory;
  auto verify = [dir, user, password]() -> std::string {
    auto slot = dir->find_mailslot(user);
    // Archives receive mail but have no login (CONTRACT.md); they fail like a wrong password.
    if (!slot || slot->kind != store::SlotKind::mailbox) return {};
    if (!auth::verify_password(password, slot->password_hash)) return {};
    return slot->address;
  };
  std::string address = *co_await net::offload(*svc_.pool, std::move(verify));
  if (address.empty()) {
    auto delay = throttle.record_failure(peer, user, LoginThrottle::Clock::now());
    protocol_error();
    log::warn("pop3 {}: {} login failed for '{}' from {}", id_, mechanism, log_safe(user), peer);
    // Slow down password guessing: the answer waits longer the more this address has failed.
    co_await pause(delay);
    send(proto::err(RespCode::auth, text::login_failed));
    co_return;
  }

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
