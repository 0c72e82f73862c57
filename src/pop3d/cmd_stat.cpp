// STAT (RFC 1939 5):  "STAT" CRLF  ->  "+OK" SP count SP octets; messages marked deleted not counted.
#include <fmt/format.h>

#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

void Session::cmd_stat() { send(pop3::proto::ok(fmt::format("{} {}", maildrop_count(), maildrop_octets()))); }

}  // namespace tern::pop3d
