// DELE (RFC 1939 5):  "DELE" SP msg CRLF  marks a message; nothing is removed before QUIT.
// RSET (RFC 1939 5):  "RSET" CRLF  unmarks every message.
#include <fmt/format.h>

#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_dele(const Command& cmd) {
  auto* m = message_of(cmd);
  if (!m) return;
  m->deleted = true;
  send(pop3::proto::ok(fmt::format("Message {} deleted", cmd.msg)));
}

void Session::cmd_rset() {
  for (auto& m : messages_) m.deleted = false;
  send(pop3::proto::ok(fmt::format("Maildrop has {} messages ({} octets)", maildrop_count(), maildrop_octets())));
}

}  // namespace tern::pop3d
