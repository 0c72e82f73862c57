// STLS (RFC 2595 4):  "STLS" CRLF, AUTHORIZATION state only; on the pop3 listener, before TLS.
#include "base/log.hpp"
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

net::awaitable<void> Session::cmd_stls() {
  if (!tls_offered()) {
    protocol_error();
    send(pop3::proto::err(stream_.is_tls() ? "TLS already active" : "STLS not available"));
    co_return;
  }
  if (!in_.empty()) {
    // Input pipelined behind STLS arrived in plaintext and must not be obeyed inside the TLS session
    // (the CVE-2011-0411 class of STARTTLS injection). Discard it.
    log::warn("pop3 {}: discarded {} octets pipelined after STLS", id_, in_.size());
    in_.clear();
  }
  send(pop3::proto::ok("Begin TLS negotiation"));
  co_await flush();
  reader_.reset();
  stream_.set_timeout(cfg_.limits.command_timeout);
  co_await stream_.handshake_server(*svc_.tls);
  // RFC 2595 4: the client discards what it learned before TLS; so does the server.
  user_arg_.clear();
  utf8_ = false;
  in_.clear();
  log::info("pop3 {}: TLS established ({})", id_, stream_.tls_description());
}

}  // namespace tern::pop3d
