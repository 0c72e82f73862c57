// UTF8 (RFC 6856 2):  "UTF8" CRLF, AUTHORIZATION state only. Enables UTF-8 mode: user names and
// passwords may be UTF-8 (Tern accepts them either way). Messages are sent as stored in both modes.
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_utf8() {
  utf8_ = true;
  send(pop3::proto::ok("UTF8 enabled"));
}

}  // namespace tern::pop3d
