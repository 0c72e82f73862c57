// libFuzzer target for pop3/proto.
//
// The input is used twice. First as the client side of a POP3 session: replayed through the Reader
// (after an AUTH without initial response, the next line is read as a SASL response, as the session
// does) three times: all at once, one byte at a time, and in pieces of sizes drawn from a generator
// seeded by the input; the three transcripts must be equal. Then as a message: the multi-line encoder
// must give the same output however the message is cut, the output must decode (unstuff) back to the
// message with CRLF line ends, contain its terminator only at the end, and match wire_size(); TOP
// cuts must be growing prefixes; responses and unique ids must keep their grammar. Any violation
// aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pop3/proto/proto.hpp"

namespace {

using namespace tern::pop3::proto;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// Piece sizes: 0 = everything at once, 1 = byte by byte, otherwise xorshift-drawn sizes 1..64.
class Splitter {
 public:
  Splitter(int mode, std::uint64_t seed) : mode_(mode), state_(seed | 1) {}
  std::size_t next(std::size_t left) {
    if (mode_ == 0) return left;
    if (mode_ == 1) return 1;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return std::min<std::size_t>(left, 1 + state_ % 64);
  }

 private:
  int mode_;
  std::uint64_t state_;
};

bool has_line_end(std::string_view s) { return s.find('\r') != s.npos || s.find('\n') != s.npos; }

void check_response(const std::string& r) {
  check(r.size() >= 5 && r.ends_with("\r\n"), "response ends with CRLF");
  check(!has_line_end(std::string_view(r).substr(0, r.size() - 2)), "response is one line");
  check(r.find('\0') == std::string::npos, "response has no NUL");
}

std::string run_session(std::string_view input, Splitter split) {
  std::string transcript;
  Reader reader;
  std::string buffer;
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t n = split.next(input.size() - pos);
    buffer.append(input.substr(pos, n));
    pos += n;
    while (!buffer.empty()) {
      std::size_t c = 0;
      Event ev = reader.feed(buffer, c);
      check(c > 0 && c <= buffer.size(), "consumed within input, and progress");
      buffer.erase(0, c);
      if (ev.kind == Event::need_more) {
        check(buffer.empty(), "need_more takes everything");
        break;
      }
      if (ev.kind == Event::error) {
        check_response(err(ev.err.text));
        transcript += "error " + std::to_string(static_cast<int>(ev.err.kind)) + "\n";
        continue;
      }
      if (ev.kind == Event::sasl_response) {
        check(ev.line.size() + 2 <= max_auth_line, "SASL response within its limit");
        check(ev.line.find('\n') == std::string::npos, "SASL response is one line");
        transcript += "sasl [" + ev.line + "]\n";
        continue;
      }
      const Command& cmd = ev.cmd;
      check(cmd.verb != Verb::unknown, "a command has a known verb");
      check(cmd.verb_text.size() + 1 + cmd.arg.size() + 2 <= (cmd.verb == Verb::auth ? max_auth_line : max_command_line) + 1,
            "command within the line limit");
      check(cmd.arg.find('\n') == std::string::npos && cmd.arg.find('\0') == std::string::npos,
            "argument is one line without NUL");
      check(cmd.msg <= max_number && cmd.lines <= max_number, "numbers saturate");
      for (auto& a : cmd.args) check(!a.empty() && a.find(' ') == std::string::npos, "arguments are words");
      transcript += "cmd " + std::string(verb_name(cmd.verb)) + " [" + cmd.arg + "] " + std::to_string(cmd.msg) +
                    " " + std::to_string(cmd.lines) + " " + cmd.mechanism + "\n";
      // The session answers AUTH without an initial response with a challenge and reads one line.
      if (cmd.verb == Verb::auth && !cmd.mechanism.empty() && !cmd.has_initial_response) reader.expect_sasl_response();
    }
  }
  return transcript;
}

// Undoes the multi-line encoding: drops the terminator and one leading dot per line.
std::string decode(std::string_view body) {
  check(body.ends_with(".\r\n"), "body ends with the terminator");
  body.remove_suffix(3);
  std::string out;
  bool line_start = true;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (line_start && c == '.') {
      check(i + 1 < body.size() && body[i + 1] == '.', "a line starting with a dot is stuffed");
      ++i;
      c = body[i];
    }
    out += c;
    line_start = c == '\n';
  }
  check(line_start, "body lines end before the terminator");
  return out;
}

// The message with every line end as CRLF and a final CRLF: what the encoder should carry.
std::string crlf_form(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) out += '\r';
    out += m[i];
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += out.ends_with('\r') ? "\n" : "\r\n";
  return out;
}

void check_encoder(std::string_view message, std::uint64_t seed) {
  std::string whole = encode_multiline(message);
  for (int mode : {1, 2}) {
    Splitter split(mode, seed);
    MultilineEncoder enc;
    std::string out;
    for (std::size_t pos = 0; pos < message.size();) {
      std::size_t n = split.next(message.size() - pos);
      enc.append(message.substr(pos, n), out);
      pos += n;
    }
    enc.finish(out);
    check(out == whole, "encoding does not depend on the pieces");
  }
  check(whole.find("\r\n.\r\n") == whole.size() - 5 || whole == ".\r\n", "terminator only at the end");
  std::string decoded = decode(whole);
  check(decoded == crlf_form(message), "decoding gives the message back with CRLF line ends");
  if (message.empty() || message.back() == '\n') check(wire_size(message) == decoded.size(), "wire_size is the decoded size");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  std::uint64_t h = fnv1a(input);

  std::string whole = run_session(input, Splitter(0, h));
  check(run_session(input, Splitter(1, h)) == whole, "byte by byte gives the same transcript");
  check(run_session(input, Splitter(2, h)) == whole, "random pieces give the same transcript");

  // The first line on its own, without the reader's limits.
  auto parsed = parse_command_line(input.substr(0, std::min(input.find('\n'), input.size())));
  if (!parsed.ok) check_response(err(parsed.err.text));

  check_encoder(input, h);
  std::string_view prev;
  for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{5}, std::uint64_t{1000}, max_number}) {
    std::string_view top = top_of(input, n);
    check(input.substr(0, top.size()) == top, "TOP is a prefix");
    check(top.size() >= prev.size(), "TOP grows with n");
    prev = top;
  }

  check_response(ok(input.substr(0, 300)));
  check_response(err(RespCode::sys_temp, input.substr(0, 300)));
  std::string uid = unique_id(input.substr(0, 100));
  check(!uid.empty() && uid.size() <= max_unique_id, "unique id length");
  for (char c : uid) check(c >= 0x21 && c <= 0x7e, "unique id octets");
  return 0;
}
