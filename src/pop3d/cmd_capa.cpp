// CAPA (RFC 2449 5):  "CAPA" CRLF  ->  +OK, one capability per line, "."
// Capabilities available in the AUTHORIZATION state are listed in both states (RFC 2449 5); USER and
// SASL only where a login is possible (TLS, or allow_plaintext), STLS only before TLS (RFC 2595 4).
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_capa() {
  std::string out = pop3::proto::ok("Capability list follows");
  out += "TOP\r\n";
  out += "UIDL\r\n";
  out += "RESP-CODES\r\n";
  out += "AUTH-RESP-CODE\r\n";  // RFC 3206 6
  out += "PIPELINING\r\n";
  out += "UTF8 USER\r\n";  // RFC 6856 2: UTF8 command; user names and passwords may be UTF-8
  if (login_allowed()) {
    out += "USER\r\n";
    out += "SASL" + auth::mechanism_list(" ") + "\r\n";
  }
  if (tls_offered() && state_ == State::authorization) out += "STLS\r\n";
  out += "IMPLEMENTATION Tern\r\n";
  out += ".\r\n";
  send(out);
}

}  // namespace tern::pop3d
