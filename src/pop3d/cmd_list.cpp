// LIST (RFC 1939 5):  "LIST" [SP msg] CRLF  ->  msg SP octets (one, or a multi-line listing)
// UIDL (RFC 1939 7):  "UIDL" [SP msg] CRLF  ->  msg SP unique-id
// Both answer from the snapshot taken at login; the sizes are the index's exact octet counts, which
// are what RETR sends before dot-stuffing (messages are stored with CRLF line ends). The unique-id is
// the message's file name, which the mailbox keeps across restarts and index rebuilds.
#include <fmt/format.h>

#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_list(const Command& cmd, bool uidl) {
  namespace proto = pop3::proto;
  if (cmd.has_msg) {
    auto* m = message_of(cmd);
    if (!m) return;
    send(proto::ok(uidl ? fmt::format("{} {}", cmd.msg, m->uidl) : fmt::format("{} {}", cmd.msg, m->size)));
    return;
  }
  std::string out = proto::ok(uidl ? std::string("Unique-ID listing follows")
                                   : fmt::format("{} messages ({} octets)", maildrop_count(), maildrop_octets()));
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    const auto& m = messages_[i];
    if (m.deleted) continue;
    if (uidl)
      fmt::format_to(std::back_inserter(out), "{} {}\r\n", i + 1, m.uidl);
    else
      fmt::format_to(std::back_inserter(out), "{} {}\r\n", i + 1, m.size);
  }
  out += ".\r\n";
  send(out);
}

}  // namespace tern::pop3d
