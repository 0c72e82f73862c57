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

#include <cstdint>

#include <fmt/format.h>

#include "base/result.hpp"
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
inline constexpr const char* removed = "Message {} was removed by another session";
inline constexpr const char* internal = "Internal error, please try again later (session {})";
}  // namespace text

// The one place that turns a store error about message `msg` into a response, by the error's kind
// (set where it happened): damaged on disk is permanent, removed meanwhile (by an IMAP session) says
// so, anything else is temporary.
inline std::string message_error(const Error& e, std::uint32_t msg, std::string_view session) {
  switch (e.kind) {
    case Error::Kind::invalid: return pop3::proto::err(RespCode::sys_perm, fmt::format(fmt::runtime(text::damaged), msg));
    case Error::Kind::not_found:
    case Error::Kind::expunged: return pop3::proto::err(fmt::format(fmt::runtime(text::removed), msg));
    default: return pop3::proto::err(RespCode::sys_temp, fmt::format(fmt::runtime(text::internal), session));
  }
}

using tern::log_safe;  // base/strings

}  // namespace tern::pop3d
