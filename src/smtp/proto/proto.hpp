// smtp/proto: the SMTP grammar of RFC 5321 and its extensions, apart from all I/O.
//
// Pure: bytes in, commands / parsed arguments / message bytes out. Knows nothing of sockets, files or
// SQLite. Every length is bounded by a named limit below; an oversized or malformed input yields an
// error value (never an exception) and the receiver resynchronises at the next line end.
//
// Three receivers, matching the three states of a session's input:
//   CommandReader  command lines, CRLF-terminated (a bare LF also ends a command line; RFC 5321 2.3.8
//                  forbids it, but rejecting it would only hurt broken clients, not help anyone).
//   DataReader     the DATA body: dot-unstuffing, ends only at CRLF "." CRLF (RFC 5321 4.1.1.4);
//                  a bare CR or LF anywhere marks the message as refused (SMTP smuggling defence).
//   BdatReader     a BDAT chunk of exactly N octets (RFC 3030).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::smtp::proto {

// RFC 5321 4.5.3.1.4 sets 512 octets; extensions (AUTH initial responses, long parameters) need more.
inline constexpr std::size_t max_command_line = 2048;
// RFC 5321 4.5.3.1.1/2: local part 64, domain 255; a path with brackets and route fits in 256+.
inline constexpr std::size_t max_local_part = 64;
inline constexpr std::size_t max_domain = 255;
inline constexpr std::size_t max_path = 256;
// A line of the message body has no limit of its own, only the message's size: RFC 5321 4.5.3.1.6 (1000
// octets with CRLF) and RFC 5322 2.1.1 (998) bind senders, and real mail exceeds them; like Postfix,
// Tern accepts such lines rather than lose the mail, and stores them as they came.

// An SMTP reply: basic code, RFC 3463 enhanced code ("5.1.1"; empty for 220/221 greetings), text.
struct Reply {
  int code = 0;
  std::string enhanced;
  std::string text;
  // "250 2.1.0 text\r\n"; multi-line when text holds '\n'-separated lines ("250-a\r\n250 b\r\n").
  std::string format() const;
};

enum class Verb {
  ehlo, helo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown
};

struct Command {
  Verb verb = Verb::unknown;
  std::string verb_text;  // as the client sent it, for logs and "unknown command" replies
  std::string arg;        // everything after the verb and one space, without the line end
};

// A problem with one input: the reply to send. The session goes on after it.
struct ProtoError {
  Reply reply;
};

// The result of a feed(): how many bytes were consumed, and at most one event.
struct CommandEvent {
  enum Kind { need_more, command, error } kind = need_more;
  Command cmd;      // when kind == command
  ProtoError err;   // when kind == error (line too long: 500 5.5.6; NUL byte: 500 5.5.2)
};

class CommandReader {
 public:
  // Consumes bytes up to and including the first line end, or all of `in` when no line end is in it.
  // Returns how many bytes were consumed in `consumed`. After a too-long line the reader discards
  // until the next LF and then reports one error.
  CommandEvent feed(std::string_view in, std::size_t& consumed);
  void reset();

 private:
  std::string line_;
  bool overflow_ = false;
};

// Classifies a verb case-insensitively.
Verb parse_verb(std::string_view word);
// Splits a complete line (without CRLF) into a Command.
Command parse_command_line(std::string_view line);

// --- Addresses (RFC 5321 4.1.2, RFC 6531 for UTF-8) ---------------------------------------------

struct Mailbox {
  std::string local;   // local part, unquoted form kept as sent (quotes included if quoted)
  std::string domain;  // domain or address literal "[127.0.0.1]"; lower-cased for ASCII
  std::string str() const { return local + "@" + domain; }
};

// Parses "local@domain" (no angle brackets). With utf8 = false, non-ASCII octets are refused.
Result<Mailbox> parse_mailbox(std::string_view s, bool utf8);

enum class Body { unspecified, seven_bit, eight_bit_mime, binary_mime };

struct MailFrom {
  std::optional<Mailbox> sender;  // nullopt: the null reverse-path "<>"
  std::optional<std::uint64_t> size;
  Body body = Body::unspecified;
  bool smtputf8 = false;
  std::string ret;    // "FULL" | "HDRS" | "" (RFC 3461 4.3)
  std::string envid;  // xtext-decoded (RFC 3461 4.4)
  std::string auth;   // AUTH= parameter (RFC 4954 5), xtext-decoded, "<>" allowed
};

struct RcptTo {
  Mailbox recipient;       // "<postmaster>" without domain is returned with domain empty
  std::string notify;      // "NEVER" or a comma list of SUCCESS,FAILURE,DELAY, upper-cased; "" if absent
  std::string orcpt;       // "rfc822;addr", xtext-decoded; "" if absent
};

// The argument of MAIL (everything after "MAIL "), e.g. "FROM:<a@b> SIZE=10 BODY=8BITMIME".
// Errors: 501 5.5.4 syntax, 501 5.1.7 bad sender address, 555 5.5.4 unknown parameter,
// 553 5.6.7 non-ASCII address without SMTPUTF8.
struct MailFromResult { std::optional<MailFrom> value; ProtoError err; };
MailFromResult parse_mail(std::string_view arg);
struct RcptToResult { std::optional<RcptTo> value; ProtoError err; };
// Errors: 501 5.5.4 syntax, 501 5.1.3 bad recipient address, 555 5.5.4 unknown parameter,
// 553 5.6.7 non-ASCII address without SMTPUTF8. utf8: whether MAIL had SMTPUTF8.
RcptToResult parse_rcpt(std::string_view arg, bool utf8);

struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};
// "1000" or "1000 LAST". Errors: 501 5.5.4.
struct BdatResult { std::optional<BdatArgs> value; ProtoError err; };
BdatResult parse_bdat(std::string_view arg);

// RFC 3461 4: xtext decoding ("+2B" -> "+"); nullopt on malformed input.
std::optional<std::string> xtext_decode(std::string_view s);
std::string xtext_encode(std::string_view s);

// --- Message bodies -------------------------------------------------------------------------------

// Reads a DATA body. Output (`message()`) is the unstuffed message with CRLF line ends, without the
// final ".\r\n". Feed until done() or the reader reports its verdict.
class DataReader {
 public:
  explicit DataReader(std::uint64_t max_size) : max_size_(max_size) {}
  // Consumes bytes of the body; returns the number consumed. Stops right after the terminating
  // CRLF.CRLF, so anything after it (pipelined commands) is left for the CommandReader.
  std::size_t feed(std::string_view in);
  bool done() const { return done_; }
  // Valid when done(): true when the message exceeded max_size (it was read off, but not kept).
  bool too_big() const { return too_big_; }
  // Valid when done(): true when a bare CR or bare LF was seen (the message must be refused).
  bool bare_line_end() const { return bare_; }
  // Any 8-bit octet seen (for BODY=7BIT checks and logging).
  bool eight_bit() const { return eight_bit_; }
  const std::string& message() const { return out_; }
  std::string take_message() { return std::move(out_); }
  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t max_size_;
  std::string out_;
  std::uint64_t size_ = 0;  // unstuffed size, counted even after too_big
  // State machine: at_line_start, after CR, in a leading dot, etc. (implementation-defined)
  int state_ = 0;
  bool done_ = false;
  bool too_big_ = false;
  bool bare_ = false;
  bool eight_bit_ = false;
};

// Reads one BDAT chunk of a known size and appends it to a message buffer.
class BdatReader {
 public:
  BdatReader(std::uint64_t chunk_size, std::string& message, std::uint64_t max_size)
      : left_(chunk_size), message_(message), max_size_(max_size) {}
  std::size_t feed(std::string_view in);  // consumes at most the octets left in this chunk
  bool done() const { return left_ == 0; }
  bool too_big() const { return too_big_; }

 private:
  std::uint64_t left_;
  std::string& message_;
  std::uint64_t max_size_;
  bool too_big_ = false;
};

// True when a message (CRLF form) holds a bare CR or a bare LF.
bool has_bare_line_end(std::string_view message);

}  // namespace tern::smtp::proto
