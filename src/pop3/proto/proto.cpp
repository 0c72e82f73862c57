// pop3/proto: command lines, responses and multi-line bodies (RFC 1939, 2449, 5034, 6856).
//
// Error contract: every function takes any byte sequence and returns a value or an error; none throws
// except std::bad_alloc. Error texts are fixed strings: client bytes are never echoed into a response.
#include "pop3/proto/proto.hpp"

#include <array>
#include <utility>

namespace tern::pop3::proto {
namespace {

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  return true;
}

// Arguments are separated by single spaces (RFC 1939 3); runs of spaces are taken as one, and
// trailing spaces are ignored, which costs nothing and helps sloppy clients.
std::vector<std::string> split_args(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A message number or line count: decimal digits only (no sign), saturating at max_number.
bool parse_number(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > max_number) v = max_number;
  }
  out = v;
  return true;
}

ProtoError error(ErrorKind kind, const char* text) { return ProtoError{kind, text}; }

ParseResult bad_args(Command cmd, const char* text) {
  return ParseResult{false, std::move(cmd), error(ErrorKind::bad_arguments, text)};
}

// What each keyword takes: the number of plain arguments and which of them are numbers.
struct Shape {
  Verb verb;
  std::size_t min_args, max_args;
  bool numeric;  // every argument is a number
};

constexpr std::array<std::pair<Verb, const char*>, 16> verb_names{{
    {Verb::user, "USER"}, {Verb::pass, "PASS"}, {Verb::apop, "APOP"}, {Verb::auth, "AUTH"},
    {Verb::stls, "STLS"}, {Verb::capa, "CAPA"}, {Verb::utf8, "UTF8"}, {Verb::quit, "QUIT"},
    {Verb::stat, "STAT"}, {Verb::list, "LIST"}, {Verb::uidl, "UIDL"}, {Verb::retr, "RETR"},
    {Verb::top, "TOP"},   {Verb::dele, "DELE"}, {Verb::noop, "NOOP"}, {Verb::rset, "RSET"},
}};

constexpr std::array<Shape, 15> shapes{{
    {Verb::user, 1, 1, false}, {Verb::apop, 2, 2, false}, {Verb::auth, 0, 2, false},
    {Verb::stls, 0, 0, false}, {Verb::capa, 0, 0, false}, {Verb::utf8, 0, 0, false},
    {Verb::quit, 0, 0, false}, {Verb::stat, 0, 0, false}, {Verb::list, 0, 1, true},
    {Verb::uidl, 0, 1, true},  {Verb::retr, 1, 1, true},  {Verb::top, 2, 2, true},
    {Verb::dele, 1, 1, true},  {Verb::noop, 0, 0, false}, {Verb::rset, 0, 0, false},
}};

// Strips CR, LF and NUL from a response text (they would end or corrupt the line).
std::string clean(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    if (c != '\r' && c != '\n' && c != '\0') out += c;
  return out;
}

}  // namespace

std::string_view verb_name(Verb v) {
  for (auto& [verb, name] : verb_names)
    if (verb == v) return name;
  return "?";
}

Verb parse_verb(std::string_view word) {
  for (auto& [verb, name] : verb_names)
    if (iequals(word, name)) return verb;
  return Verb::unknown;
}

ParseResult parse_command_line(std::string_view line) {
  Command cmd;
  std::size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  cmd.verb_text = std::string(word);
  cmd.verb = parse_verb(word);
  if (sp != std::string_view::npos) cmd.arg = std::string(line.substr(sp + 1));
  if (cmd.verb == Verb::unknown)
    return ParseResult{false, std::move(cmd),
                       error(ErrorKind::unknown_command, line.empty() ? "Empty command line" : "Unknown command")};

  if (cmd.verb == Verb::pass) {
    // RFC 1939 7: "PASS string"; the whole rest of the line is the password.
    if (cmd.arg.empty()) return bad_args(std::move(cmd), "PASS needs a password");
    return ParseResult{true, std::move(cmd), {}};
  }
  cmd.args = split_args(cmd.arg);
  const Shape* shape = nullptr;
  for (auto& s : shapes)
    if (s.verb == cmd.verb) shape = &s;
  if (!shape) return bad_args(std::move(cmd), "Wrong number of arguments");  // unreachable: every verb has a shape
  if (cmd.args.size() < shape->min_args || cmd.args.size() > shape->max_args) {
    if (shape->max_args == 0) return bad_args(std::move(cmd), "This command takes no argument");
    return bad_args(std::move(cmd), "Wrong number of arguments");
  }
  if (shape->numeric) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < cmd.args.size(); ++i) {
      if (!parse_number(cmd.args[i], n)) return bad_args(std::move(cmd), "Invalid number");
      if (i == 0) {
        cmd.has_msg = true;
        cmd.msg = n;
      } else {
        cmd.lines = n;
      }
    }
  }
  if (cmd.verb == Verb::user) cmd.arg = cmd.args[0];
  if (cmd.verb == Verb::auth && !cmd.args.empty()) {
    cmd.mechanism = upper(cmd.args[0]);
    if (cmd.args.size() == 2) {
      cmd.has_initial_response = true;
      cmd.initial_response = cmd.args[1];
    }
  }
  return ParseResult{true, std::move(cmd), {}};
}

Event Reader::feed(std::string_view in, std::size_t& consumed) {
  // Limits without the line end: keep at most the longest line allowed plus one octet for its CR.
  constexpr std::size_t command_limit = max_command_line - 2;
  constexpr std::size_t auth_limit = max_auth_line - 2;
  Event ev;
  std::size_t lf = in.find('\n');
  std::string_view part = in.substr(0, lf);
  consumed = lf == std::string_view::npos ? in.size() : lf + 1;
  if (!overflow_) {
    if (line_.size() + part.size() > auth_limit + 1) {
      overflow_ = true;
      line_.clear();
    } else {
      line_.append(part);
    }
  }
  if (lf == std::string_view::npos) return ev;

  std::string line = std::move(line_);
  line_.clear();
  bool overflow = std::exchange(overflow_, false);
  bool sasl = std::exchange(sasl_, false);
  if (!line.empty() && line.back() == '\r') line.pop_back();

  bool too_long = overflow || line.size() > auth_limit;
  if (!too_long && !sasl && line.size() > command_limit) {
    // Only AUTH may exceed the RFC 2449 limit: its initial response can be long.
    too_long = parse_verb(std::string_view(line).substr(0, line.find(' '))) != Verb::auth;
  }
  if (too_long) {
    ev.kind = Event::error;
    ev.err = error(ErrorKind::line_too_long, "Line too long");
  } else if (line.find('\0') != std::string::npos) {
    ev.kind = Event::error;
    ev.err = error(ErrorKind::nul_octet, "NUL octet in line");
  } else if (sasl) {
    ev.kind = Event::sasl_response;
    ev.line = std::move(line);
  } else {
    auto parsed = parse_command_line(line);
    if (parsed.ok) {
      ev.kind = Event::command;
      ev.cmd = std::move(parsed.cmd);
    } else {
      ev.kind = Event::error;
      ev.cmd = std::move(parsed.cmd);
      ev.err = std::move(parsed.err);
    }
  }
  return ev;
}

void Reader::reset() {
  line_.clear();
  overflow_ = false;
  sasl_ = false;
}

// --- Responses ------------------------------------------------------------------------------------

std::string_view resp_code_name(RespCode c) {
  switch (c) {
    case RespCode::in_use: return "IN-USE";
    case RespCode::login_delay: return "LOGIN-DELAY";
    case RespCode::sys_temp: return "SYS/TEMP";
    case RespCode::sys_perm: return "SYS/PERM";
    case RespCode::auth: return "AUTH";
    case RespCode::utf8: return "UTF8";
    case RespCode::none: break;
  }
  return "";
}

std::string ok(std::string_view text) {
  if (text.empty()) return "+OK\r\n";
  return "+OK " + clean(text) + "\r\n";
}

std::string err(RespCode code, std::string_view text) {
  std::string out = "-ERR";
  if (code != RespCode::none) {
    out += " [";
    out += resp_code_name(code);
    out += "]";
  }
  if (!text.empty()) out += " " + clean(text);
  return out + "\r\n";
}

std::string err(std::string_view text) { return err(RespCode::none, text); }

std::string continuation(std::string_view base64) { return "+ " + clean(base64) + "\r\n"; }

// --- Multi-line response bodies -------------------------------------------------------------------

void MultilineEncoder::append(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 64 + 8);
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (line_start_ && chunk[i] == '.') out += '.';  // RFC 1939 3: byte-stuff the termination octet
    // Copy up to the next line end in one piece.
    std::size_t lf = chunk.find('\n', i);
    std::size_t end = lf == std::string_view::npos ? chunk.size() : lf;
    if (end > i) {
      out.append(chunk, i, end - i);
      after_cr_ = chunk[end - 1] == '\r';
      line_start_ = false;
    }
    if (lf == std::string_view::npos) break;
    if (!after_cr_) out += '\r';  // a bare LF leaves as CRLF
    out += '\n';
    after_cr_ = false;
    line_start_ = true;
    i = lf + 1;
  }
}

void MultilineEncoder::finish(std::string& out) {
  if (!line_start_) out += after_cr_ ? "\n" : "\r\n";
  out += ".\r\n";
  line_start_ = true;
  after_cr_ = false;
}

std::string encode_multiline(std::string_view message) {
  std::string out;
  MultilineEncoder enc;
  enc.append(message, out);
  enc.finish(out);
  return out;
}

std::uint64_t wire_size(std::string_view message) {
  std::uint64_t n = message.size();
  for (std::size_t i = 0; i < message.size(); ++i)
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) ++n;
  return n;
}

std::string_view top_of(std::string_view message, std::uint64_t lines) {
  // The header section ends at the first empty line (RFC 5322 2.1), which TOP includes.
  std::size_t pos = 0;
  bool found = false;
  while (pos < message.size()) {
    std::size_t lf = message.find('\n', pos);
    if (lf == std::string_view::npos) break;
    std::string_view line = message.substr(pos, lf - pos);
    pos = lf + 1;
    if (line.empty() || line == "\r") {
      found = true;
      break;
    }
  }
  if (!found) return message;
  for (std::uint64_t n = 0; n < lines && pos < message.size(); ++n) {
    std::size_t lf = message.find('\n', pos);
    pos = lf == std::string_view::npos ? message.size() : lf + 1;
  }
  return message.substr(0, pos);
}

std::string unique_id(std::string_view name) {
  bool valid = !name.empty() && name.size() <= max_unique_id;
  for (char c : name) valid = valid && c >= 0x21 && c <= 0x7e;
  if (valid) return std::string(name);
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs and builds
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "x";
  for (int shift = 60; shift >= 0; shift -= 4) out += hex[(h >> shift) & 0xf];
  return out;
}

}  // namespace tern::pop3::proto
