// smtp/client/protocol: the client side's pure pieces, apart from all I/O (tested alone):
//   ReplyParser         server replies (RFC 5321 4.2), bounded, fed any split of the byte stream
//   parse_ehlo          the extensions an EHLO reply offers
//   mail_command, rcpt_command   MAIL/RCPT lines with SIZE, BODY, SMTPUTF8 and DSN parameters
//   dot_stuff           the DATA payload (RFC 5321 4.5.2 transparency, CRLF "." CRLF at the end)
//   downgrade_8bit      8-bit content for a server without 8BITMIME (RFC 6152 3), as quoted-printable
//
// Error contract: no exceptions; a malformed reply is an error event (the connection must then be
// closed: there is no way to resynchronise with a server that speaks nonsense).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client/client.hpp"

namespace tern::smtp::client {

// A reply line may be long (RFC 5321 4.5.3.1.5 says 512 octets, servers send more); beyond this the
// server is broken or hostile. So is a reply of more lines than any EHLO needs.
inline constexpr std::size_t max_reply_line = 4096;  // octets, including CRLF
inline constexpr std::size_t max_reply_lines = 100;

struct ParsedReply {
  int code = 0;
  std::vector<std::string> lines;  // the text of each line, after "250-" / "250 " (may be empty)
  // code, RFC 3463 enhanced code (when the first line starts with one of the code's class), and the
  // lines joined with " " (an enhanced code repeated at the start of later lines is dropped).
  ServerReply to_server_reply() const;
};

class ReplyParser {
 public:
  struct Event {
    enum Kind { need_more, complete, failed } kind = need_more;
    ParsedReply reply;  // kind == complete
    std::string error;  // kind == failed: what was wrong
  };
  // Consumes bytes up to and including the end of one complete reply, or all of `in` when it holds
  // no complete reply; `consumed` says how many. A line ends at LF (CRLF or a bare LF). After an
  // error the parser stays in error.
  Event feed(std::string_view in, std::size_t& consumed);

 private:
  std::string line_;
  ParsedReply partial_;
  bool failed_ = false;
};

struct Extensions {
  bool pipelining = false, eight_bit_mime = false, smtputf8 = false, dsn = false, chunking = false;
  bool starttls = false;
  std::optional<std::uint64_t> size;  // SIZE offered; 0 = no fixed limit (RFC 1870 4)
  std::vector<std::string> auth;      // mechanisms, upper-case
};
// The extensions of an EHLO reply (its first line is the server's name; one keyword per later line).
Extensions parse_ehlo(const ParsedReply& reply);

// "MAIL FROM:<a@b> SIZE=n BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=xtext\r\n": each parameter only when
// the server offers its extension (SIZE: info.size_limit set; DSN: RET and ENVID when set).
std::string mail_command(const Envelope& env, const SessionInfo& info, std::uint64_t size, bool body_8bitmime);
// "RCPT TO:<a@b> NOTIFY=... ORCPT=rfc822;xtext\r\n" (RFC 3461 4.1, 4.2; DSN parameters when offered).
std::string rcpt_command(const Recipient& r, const SessionInfo& info);

// Any octet with the high bit set.
bool has_eight_bit(std::string_view s);

// The DATA payload: `message` with every line that starts with "." given one more "." (RFC 5321
// 4.5.2), every line end as CRLF (a bare CR or LF becomes CRLF, so no server can read a different
// end of data than ours), a CRLF at the end if missing, then ".\r\n".
std::string dot_stuff(std::string_view message);

// Quoted-printable (RFC 2045 6.7) of a body with CRLF (or LF) line ends: hard line breaks kept,
// encoded lines at most 76 characters (soft breaks "=" CRLF), white space before a line end encoded.
std::string quoted_printable_encode(std::string_view body);

// 8-bit content for a server that does not offer 8BITMIME. Converts only what it can convert without
// understanding MIME structure: a single-part message (no multipart/* or message/* Content-Type)
// whose header is 7-bit and whose Content-Transfer-Encoding is absent, 7bit or 8bit. Its body is
// re-encoded as quoted-printable, the Content-Transfer-Encoding field replaced by
// "Content-Transfer-Encoding: quoted-printable" and "MIME-Version: 1.0" added when absent.
// Anything else: nullopt and `why` says what stood in the way (the caller fails the recipients
// with 554 5.6.3). Note: this breaks DKIM signatures over the body, as any downgrade does.
std::optional<std::string> downgrade_8bit(std::string_view message, std::string& why);


}  // namespace tern::smtp::client
