// USER / PASS (RFC 1939 7):  "USER" SP name CRLF, then "PASS" SP string CRLF (the string may hold
// spaces). Plaintext passwords: only over TLS unless [auth] allow_plaintext (RFC 2595 4 and 2.4).
// USER answers +OK for every name, so it cannot be used to learn which mailboxes exist.
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_user(const Command& cmd) {
  if (!login_allowed()) {
    protocol_error();
    send(pop3::proto::err(RespCode::auth, text::plaintext_refused));
    return;
  }
  user_arg_ = cmd.arg;
  send(pop3::proto::ok("Send PASS"));
}

net::awaitable<void> Session::cmd_pass(const Command& cmd) {
  if (user_arg_.empty()) {
    protocol_error();
    send(pop3::proto::err("Send USER first"));
    co_return;
  }
  auth::Credentials credentials{"", std::move(user_arg_), cmd.arg};
  user_arg_.clear();
  const std::string mechanism = "USER";
  co_await login(credentials, mechanism);
}

}  // namespace tern::pop3d
