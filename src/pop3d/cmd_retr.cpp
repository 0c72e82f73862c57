// RETR (RFC 1939 5):  "RETR" SP msg CRLF  ->  +OK, the message (multi-line, dot-stuffed), "."
// TOP  (RFC 1939 7):  "TOP" SP msg SP n CRLF  ->  +OK, the header, the blank line, n body lines, "."
// The file is read off the event loop; the response is encoded and written in pieces, so a large
// message costs one copy of itself plus a piece, not two copies.
#include <fmt/format.h>

#include "base/log.hpp"
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

net::awaitable<void> Session::cmd_retr(const Command& cmd, bool top) {
  namespace proto = pop3::proto;
  auto* m = message_of(cmd);
  if (!m) co_return;
  auto* ms = svc_.mailstore;
  auto read = [ms, address = user_, uid = m->uid] { return ms->read(address, maildrop_folder, uid); };
  auto content = *co_await net::offload(*svc_.pool, std::move(read));
  if (!content) {
    // Damaged on disk (the file no longer matches the size LIST announced): an error, never other bytes.
    log::error("pop3 {}: {}: cannot read message {} (uid {}): {}", id_, user_, cmd.msg, m->uid,
               content.error().message);
    send(message_error(content.error(), cmd.msg, id_));
    co_return;
  }
  std::string_view body = *content;
  if (top) {
    body = proto::top_of(body, cmd.lines);
    send(proto::ok("Top of message follows"));
  } else {
    if (auto wire = proto::wire_size(body); wire != m->size)
      log::warn("pop3 {}: {}: message uid {} is {} octets on disk but {} in the index", id_, user_, m->uid,
                wire, m->size);
    send(proto::ok(fmt::format("{} octets", m->size)));
  }
  constexpr std::size_t piece = 64 * 1024;
  proto::MultilineEncoder encoder;
  for (std::size_t off = 0; off < body.size(); off += piece) {
    encoder.append(body.substr(off, piece), out_);
    if (out_.size() >= piece) co_await flush();
  }
  encoder.finish(out_);
}

}  // namespace tern::pop3d
