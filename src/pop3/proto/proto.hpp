// pop3/proto: the POP3 grammar (RFC 1939, 2449, 2595, 5034, 6856), apart from all I/O.
//
// Pure: bytes in, commands out; message bytes in, multi-line response bodies out. Knows nothing of
// sockets, files or SQLite. Every length is bounded by a named limit below; an oversized or malformed
// line yields an error value (never an exception) and the reader resynchronises at the next line end.
//
// Two parts:
//   Reader             command lines (RFC 2449 4: at most 255 octets with the CRLF), and SASL response
//                      lines after an AUTH challenge (RFC 5034 4; up to max_auth_line). A bare LF also
//                      ends a line: rejecting it would only hurt broken clients.
//   MultilineEncoder   the body of a RETR/TOP response (RFC 1939 3): CRLF line ends, lines that begin
//                      with "." stuffed, ended by ".\r\n"; top_of() cuts a message for TOP.
// Response texts are fixed strings chosen by the server; ok()/err() strip any CR, LF or NUL, so a
// response line can never carry a line end that a client chose.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::pop3::proto {

// RFC 2449 4: a command line is at most 255 octets, the CRLF included.
inline constexpr std::size_t max_command_line = 255;
// AUTH lines (the command with its initial response, and each SASL response) may be longer: PLAIN
// credentials in base64 grow by a third. RFC 5034 4 leaves the limit to the server.
inline constexpr std::size_t max_auth_line = 2048;
// RFC 1939 7: a unique-id is 1 to 70 octets in the range 0x21 to 0x7E.
inline constexpr std::size_t max_unique_id = 70;

enum class Verb {
  user, pass, apop, auth, stls, capa, utf8, quit,  // AUTHORIZATION state
  stat, list, uidl, retr, top, dele, noop, rset,   // TRANSACTION state
  unknown
};

// The keyword of a verb ("USER"), for logs and responses.
std::string_view verb_name(Verb v);

struct Command {
  Verb verb = Verb::unknown;
  std::string verb_text;  // as the client sent it (at most a line), for logs
  // The arguments, split at runs of spaces. PASS keeps its argument whole in `arg`: RFC 1939 7 lets a
  // password hold spaces.
  std::vector<std::string> args;
  std::string arg;  // everything after the keyword and one space, without the line end
  // LIST, UIDL (when given), RETR, DELE, TOP: the message number. Digits only; a number too large
  // for any maildrop saturates at max_number (the session answers "no such message").
  bool has_msg = false;
  std::uint64_t msg = 0;
  std::uint64_t lines = 0;  // TOP: the body lines wanted (saturates too)
  // AUTH: the mechanism (upper-cased) and the initial response when one was sent ("=" means empty,
  // RFC 5034 4, and is passed on as "=").
  std::string mechanism;
  bool has_initial_response = false;
  std::string initial_response;
};

inline constexpr std::uint64_t max_number = 0xffffffffffull;

enum class ErrorKind {
  line_too_long,   // over max_command_line (or max_auth_line for AUTH and SASL responses)
  nul_octet,       // a NUL octet in a line
  unknown_command, // not a POP3 keyword (or an empty line)
  bad_arguments,   // a known keyword with the wrong number or form of arguments
};

struct ProtoError {
  ErrorKind kind = ErrorKind::unknown_command;
  std::string text;  // a fixed sentence for the -ERR response
};

struct Event {
  enum Kind { need_more, command, sasl_response, error } kind = need_more;
  Command cmd;       // kind == command
  std::string line;  // kind == sasl_response: the line without its line end
  ProtoError err;    // kind == error
};

class Reader {
 public:
  // Consumes bytes up to and including the first line end, or all of `in` when none is in it, and
  // says how many in `consumed`. After a too-long line it discards until the next LF and then reports
  // one error. At most one event per call.
  Event feed(std::string_view in, std::size_t& consumed);
  // The next line is a SASL response (RFC 5034 4), returned whole as sasl_response, up to
  // max_auth_line. Applies to one line; then the reader reads commands again.
  void expect_sasl_response() { sasl_ = true; }
  void reset();

 private:
  std::string line_;
  bool overflow_ = false;
  bool sasl_ = false;
};

// Classifies a keyword case-insensitively.
Verb parse_verb(std::string_view word);
// Parses a complete line (without its line end) into a command or an error (unknown_command,
// bad_arguments). Does not apply line-length limits (the Reader does).
struct ParseResult {
  bool ok = false;
  Command cmd;
  ProtoError err;
};
ParseResult parse_command_line(std::string_view line);

// --- Responses ------------------------------------------------------------------------------------

// RFC 2449 8 / RFC 3206 / RFC 6856 response codes, sent in brackets after "-ERR".
enum class RespCode { none, in_use, login_delay, sys_temp, sys_perm, auth, utf8 };
std::string_view resp_code_name(RespCode c);  // "IN-USE", "SYS/TEMP", ...

std::string ok(std::string_view text);                 // "+OK text\r\n" ("+OK\r\n" for no text)
std::string err(RespCode code, std::string_view text); // "-ERR [SYS/TEMP] text\r\n"
std::string err(std::string_view text);                // "-ERR text\r\n"
// RFC 5034 4: a server challenge, "+ " base64 CRLF ("+ \r\n" for an empty challenge).
std::string continuation(std::string_view base64);

// --- Multi-line response bodies -------------------------------------------------------------------

// Encodes a message as the body of a multi-line response (RFC 1939 3), in pieces of any size:
// every line end leaves as CRLF (a bare LF gains its CR; a bare CR is sent as it is), a line that
// begins with "." gets one more, and finish() ends the response with ".\r\n" (after a CRLF when the
// message does not end with one). The output does not depend on how the message is cut.
class MultilineEncoder {
 public:
  void append(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  bool line_start_ = true;
  bool after_cr_ = false;
};

// The whole response body for `message` (encoder in one call), ".\r\n" included.
std::string encode_multiline(std::string_view message);

// Octets of `message` as RETR sends it before dot-stuffing: every line end counted as CRLF. For a
// message stored with CRLF line ends (as Tern stores them) this is its size.
std::uint64_t wire_size(std::string_view message);

// RFC 1939 7 TOP: the header section, the blank line that ends it, and the first `lines` lines of the
// body, as a prefix of `message`. A message without a blank line is all header. A last body line
// without a line end counts as a line.
std::string_view top_of(std::string_view message, std::uint64_t lines);

// RFC 1939 7 UIDL: `name` when it is a valid unique-id (1..70 octets, 0x21..0x7E), else a stable
// id derived from it ("x" and a hash), so a stored name can never break the grammar.
std::string unique_id(std::string_view name);

}  // namespace tern::pop3::proto
