// smtp/proto/replies: the server's fixed replies, whole (code, RFC 3463 enhanced status code, text), by
// name, for smtpd and its policy stages (filter). Replies that carry an address or a count are built
// where they are sent.
#pragma once
#include "smtp/proto/codes.hpp"
#include "smtp/proto/proto.hpp"

namespace tern::smtp::replies {

inline const proto::Reply already_authenticated{code::bad_sequence, "5.5.1", "Already authenticated"};
inline const proto::Reply auth_cancelled{code::param_syntax, "5.7.0", "Authentication cancelled"};
inline const proto::Reply auth_failed{code::auth_failed, "5.7.8", "Authentication credentials invalid"};
inline const proto::Reply auth_in_transaction{code::bad_sequence, "5.5.1", "AUTH not allowed during a mail transaction"};
inline const proto::Reply auth_ok{code::auth_ok, "2.7.0", "Authentication successful"};
inline const proto::Reply auth_required{code::auth_required, "5.7.0", "Authentication required"};
inline const proto::Reply auth_unavailable{code::temp_auth_failure, "4.7.0", "Temporary authentication failure"};
inline const proto::Reply bare_line_end{code::transaction_failed, "5.6.0", "Message refused: bare CR or LF in the data (CRLF line ends are required)"};
inline const proto::Reply bye{code::closing, "2.0.0", "Bye"};
inline const proto::Reply cannot_vrfy{code::cannot_vrfy, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"};
inline const proto::Reply ehlo_first{code::bad_sequence, "5.5.1", "Send EHLO first"};
inline const proto::Reply encryption_required{code::encryption_required, "5.7.11", "Encryption required for requested authentication mechanism"};
inline const proto::Reply helo_first{code::bad_sequence, "5.5.1", "Send EHLO or HELO first"};
inline const proto::Reply help{code::help, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"};
inline const proto::Reply lookup_failed{code::local_error, "4.3.0", "Temporary lookup failure, try again later"};
inline const proto::Reply need_mail{code::bad_sequence, "5.5.1", "Need MAIL command"};
inline const proto::Reply nested_mail{code::bad_sequence, "5.5.1", "Nested MAIL command"};
inline const proto::Reply no_binarymime{code::param_not_implemented, "5.5.4", "BODY=BINARYMIME is not supported"};
inline const proto::Reply no_expn{code::not_implemented, "5.5.1", "EXPN is not available"};
inline const proto::Reply null_sender_refused{code::bad_mailbox_name, "5.7.1", "The null sender is not allowed for authenticated users"};
inline const proto::Reply ok{code::ok, "2.0.0", "Ok"};
inline const proto::Reply params_need_ehlo{code::params_not_recognized, "5.5.4", "Parameters need EHLO"};
inline const proto::Reply recipient_ok{code::ok, "2.1.5", "Ok"};
inline const proto::Reply sender_ok{code::ok, "2.1.0", "Ok"};
inline const proto::Reply start_data{code::start_input, "", "End data with <CR><LF>.<CR><LF>"};
inline const proto::Reply start_tls{code::ready, "2.0.0", "Ready to start TLS"};
// RFC 4954 6: 454 4.7.0 is a temporary authentication failure (Postfix and Dovecot answer a throttled
// client the same way).
inline const proto::Reply throttled{code::temp_auth_failure, "4.7.0", "Too many failed authentication attempts, try later"};
inline const proto::Reply too_big{code::exceeded_storage, "5.3.4", "Message size exceeds fixed maximum message size"};
inline const proto::Reply too_many_errors{code::unavailable, "4.7.0", "Too many errors; closing the connection"};
inline const proto::Reply too_many_hops{code::transaction_failed, "5.4.6", "Too many hops (mail loop?)"};
inline const proto::Reply too_many_recipients{code::insufficient_storage, "4.5.3", "Too many recipients"};
inline const proto::Reply unknown_mechanism{code::param_not_implemented, "5.5.4", "Unrecognized authentication type"};
inline const proto::Reply unrecognized{code::syntax_error, "5.5.2", "Command unrecognized"};

}  // namespace tern::smtp::replies
