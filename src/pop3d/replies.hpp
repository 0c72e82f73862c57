// pop3d/replies: the fixed texts several commands share, the response codes by name, and the one
// place that turns client-chosen text into something safe for a log line.
//
// POP3 has no numeric codes; RFC 2449 8 / RFC 3206 bracketed codes say why a command failed:
//   [IN-USE]    the maildrop is locked by another session
//   [AUTH]      a problem with the credentials, or authentication refused by policy (no TLS)
//   [SYS/TEMP]  a temporary problem on the server side: try later
//   [SYS/PERM]  a permanent problem on the server side
#pragma once
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "pop3/proto/proto.hpp"

namespace tern::pop3d {

using pop3::proto::RespCode;

namespace text {
inline constexpr const char* plaintext_refused = "Plaintext authentication disallowed without TLS; use STLS";
inline constexpr const char* login_failed = "Invalid user name or password";
inline constexpr const char* throttled = "Too many failed logins from your address; try again later";
inline constexpr const char* auth_unavailable = "Temporary authentication failure; try again later";
inline constexpr const char* in_use = "Mailbox is locked by another POP3 session";
inline constexpr const char* no_such_message = "No such message";
inline constexpr const char* damaged = "Message {} is damaged on the server; the administrator can run tern check";
inline constexpr const char* cancelled = "Authentication cancelled";
}  // namespace text

using tern::log_safe;  // base/strings

}  // namespace tern::pop3d
