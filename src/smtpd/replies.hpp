// smtpd/replies: the reply codes of RFC 5321 4.2.3 by name (smtp/proto/codes), and the one place that
// maps an internal failure to what the client sees.
#pragma once
#include <string_view>

#include <fmt/format.h>

#include "base/result.hpp"
#include "smtp/proto/codes.hpp"
#include "smtp/proto/proto.hpp"

namespace tern::smtpd {
namespace code = smtp::code;

// The fixed replies, whole (code, enhanced status code of RFC 3463, text), by name. Replies that carry
// an address or a count are built where they are sent.
namespace replies {
inline const smtp::proto::Reply already_authenticated{code::bad_sequence, "5.5.1", "Already authenticated"};
inline const smtp::proto::Reply auth_cancelled{code::param_syntax, "5.7.0", "Authentication cancelled"};
inline const smtp::proto::Reply auth_failed{code::auth_failed, "5.7.8", "Authentication credentials invalid"};
inline const smtp::proto::Reply auth_in_transaction{code::bad_sequence, "5.5.1", "AUTH not allowed during a mail transaction"};
inline const smtp::proto::Reply auth_ok{code::auth_ok, "2.7.0", "Authentication successful"};
inline const smtp::proto::Reply auth_required{code::auth_required, "5.7.0", "Authentication required"};
inline const smtp::proto::Reply bare_line_end{code::transaction_failed, "5.6.0", "Message refused: bare CR or LF in the data (CRLF line ends are required)"};
inline const smtp::proto::Reply bye{code::closing, "2.0.0", "Bye"};
inline const smtp::proto::Reply cannot_vrfy{code::cannot_vrfy, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"};
inline const smtp::proto::Reply ehlo_first{code::bad_sequence, "5.5.1", "Send EHLO first"};
inline const smtp::proto::Reply encryption_required{code::encryption_required, "5.7.11", "Encryption required for requested authentication mechanism"};
inline const smtp::proto::Reply helo_first{code::bad_sequence, "5.5.1", "Send EHLO or HELO first"};
inline const smtp::proto::Reply help{code::help, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"};
inline const smtp::proto::Reply lookup_failed{code::local_error, "4.3.0", "Temporary lookup failure, try again later"};
inline const smtp::proto::Reply need_mail{code::bad_sequence, "5.5.1", "Need MAIL command"};
inline const smtp::proto::Reply nested_mail{code::bad_sequence, "5.5.1", "Nested MAIL command"};
inline const smtp::proto::Reply no_binarymime{code::param_not_implemented, "5.5.4", "BODY=BINARYMIME is not supported"};
inline const smtp::proto::Reply no_expn{code::not_implemented, "5.5.1", "EXPN is not available"};
inline const smtp::proto::Reply ok{code::ok, "2.0.0", "Ok"};
inline const smtp::proto::Reply params_need_ehlo{code::params_not_recognized, "5.5.4", "Parameters need EHLO"};
inline const smtp::proto::Reply recipient_ok{code::ok, "2.1.5", "Ok"};
inline const smtp::proto::Reply sender_ok{code::ok, "2.1.0", "Ok"};
inline const smtp::proto::Reply start_data{code::start_input, "", "End data with <CR><LF>.<CR><LF>"};
inline const smtp::proto::Reply start_tls{code::ready, "2.0.0", "Ready to start TLS"};
inline const smtp::proto::Reply too_big{code::exceeded_storage, "5.3.4", "Message size exceeds fixed maximum message size"};
inline const smtp::proto::Reply too_many_errors{code::unavailable, "4.7.0", "Too many errors; closing the connection"};
inline const smtp::proto::Reply too_many_recipients{code::insufficient_storage, "4.5.3", "Too many recipients"};
inline const smtp::proto::Reply unknown_mechanism{code::param_not_implemented, "5.5.4", "Unrecognized authentication type"};
inline const smtp::proto::Reply unrecognized{code::syntax_error, "5.5.2", "Command unrecognized"};
// RFC 4954 6: 454 4.7.0 is a temporary authentication failure (Postfix and Dovecot answer a throttled
// client the same way).
inline const smtp::proto::Reply throttled{code::temp_auth_failure, "4.7.0", "Too many failed authentication attempts, try later"};
inline const smtp::proto::Reply auth_unavailable{code::temp_auth_failure, "4.7.0", "Temporary authentication failure"};
}  // namespace replies

// The one place that turns an internal error (queueing a message, a lookup) into a reply, by the
// error's kind (set where it happened): no space is 452 4.3.1 (RFC 3463 "mail system full"), anything
// else 451 4.3.0; both temporary, so the client keeps the message and tries again.
inline smtp::proto::Reply error_reply(const Error& e, std::string_view session) {
  switch (e.kind) {
    case Error::Kind::no_space:
    case Error::Kind::over_quota:
      return {code::insufficient_storage, "4.3.1", fmt::format("Insufficient system storage (session {})", session)};
    default: return {code::local_error, "4.3.0", fmt::format("Local error in processing (session {})", session)};
  }
}

}  // namespace tern::smtpd
