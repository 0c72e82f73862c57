// STARTTLS (RFC 3207):  STARTTLS CRLF
#include "base/log.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {

net::awaitable<void> Session::cmd_starttls() {
  if (!tls_offered()) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", stream_.is_tls() ? "TLS already active" : "STARTTLS not available");
    co_return;
  }
  if (!in_.empty()) {
    // RFC 3207 5 / CVE-2011-0411: commands pipelined behind STARTTLS arrived in plaintext and must not
    // be executed inside the TLS session. Discard them.
    log::warn("smtp {}: discarded {} octets pipelined after STARTTLS", id_, in_.size());
    in_.clear();
  }
  reply(replies::start_tls);
  co_await flush();
  reader_.reset();
  stream_.set_timeout(cfg_.limits.command_timeout);
  co_await stream_.handshake_server(*svc_.tls);
  // RFC 3207 4.2: forget everything learned before TLS.
  helo_.clear();
  esmtp_ = false;
  user_.clear();
  tx_.reset();
  in_.clear();
  log::info("smtp {}: TLS established ({})", id_, stream_.tls_description());
}

}  // namespace tern::smtpd
