// smtp/proto: replies, command lines, MAIL/RCPT/BDAT arguments and xtext (RFC 5321, 1870, 3030, 3461,
// 4954, 6152, 6531). Message bodies (DATA, BDAT) are in body.cpp.
//
// Error contract: every function takes any byte sequence and returns a value or an error reply; none
// throws except std::bad_alloc. Reply texts are fixed strings: client bytes are never echoed into a
// reply, so a reply can never carry a CR or LF the client chose.
#include "smtp/proto/proto.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>


namespace tern::smtp::proto {
namespace {

// Reply codes (RFC 5321 4.2.3) and enhanced codes (RFC 3463) produced here.
constexpr int code_syntax_error = 500;      // command line unrecognisable
constexpr int code_param_syntax = 501;      // syntax error in parameters or arguments
constexpr int code_mailbox_name = 553;      // mailbox name not allowed
constexpr int code_param_unknown = 555;     // MAIL/RCPT parameter not recognised (RFC 5321 4.1.1.11)
constexpr const char* enh_bad_syntax = "5.5.2";
constexpr const char* enh_bad_args = "5.5.4";
constexpr const char* enh_too_long = "5.5.6";
constexpr const char* enh_bad_dest = "5.1.3";
constexpr const char* enh_bad_sender = "5.1.7";
constexpr const char* enh_non_ascii = "5.6.7";  // RFC 6531 3.7.4.1

ProtoError error(int code, const char* enhanced, const char* text) {
  return ProtoError{Reply{code, enhanced, text}};
}

unsigned char uc(char c) { return static_cast<unsigned char>(c); }
bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

bool has_non_ascii(std::string_view s) {
  for (char c : s)
    if (uc(c) >= 0x80) return true;
  return false;
}

std::string_view trim_trailing_spaces(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Length of the well-formed UTF-8 sequence (RFC 3629 4) that starts at s[i], or 0 when the octets
// there are not one: no overlong forms, no surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  unsigned char c = uc(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    unsigned char t = uc(s[i + k]);
    if ((t & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (t & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

// RFC 5322 3.2.3 atext, which RFC 5321 4.1.2 uses for Atom.
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// RFC 5321 4.1.2 Dot-string; RFC 6531 3.3 adds UTF8-non-ascii to atext.
bool valid_dot_string(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = uc(s[i]);
    if (c == '.') {
      if (s[i + 1] == '.') return false;  // s.back() is not '.', so i + 1 is in range
    } else if (c >= 0x80) {
      std::size_t n = utf8 ? utf8_sequence(s, i) : 0;
      if (n == 0) return false;
      i += n - 1;
    } else if (!is_atext(c)) {
      return false;
    }
  }
  return true;
}

// RFC 5321 4.1.2 Quoted-string starting at s[0] == '"': returns the index of the closing quote, or
// npos. qtextSMTP is %d32-33 / %d35-91 / %d93-126 (plus UTF8-non-ascii with RFC 6531);
// quoted-pairSMTP is "\" followed by %d32-126.
std::size_t quoted_string_end(std::string_view s, bool utf8) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    unsigned char c = uc(s[i]);
    if (c == '"') return i;
    if (c == '\\') {
      if (i + 1 >= s.size() || uc(s[i + 1]) < 32 || uc(s[i + 1]) > 126) return std::string_view::npos;
      ++i;
    } else if (c >= 0x80) {
      std::size_t n = utf8 ? utf8_sequence(s, i) : 0;
      if (n == 0) return std::string_view::npos;
      i += n - 1;
    } else if (c < 32 || c > 126) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// RFC 5321 4.1.3 IPv4-address-literal: four Snum of 1-3 digits, each at most 255.
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && is_digit(uc(s[i])) && i - start < 3) value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// RFC 5321 4.1.3 IPv6-addr: groups of 1-4 hex digits, at most one "::", optionally ending in an
// IPv4 address. "::" may stand for a single group, as RFC 4291 2.2 and inet_pton allow.
bool valid_ipv6(std::string_view s) {
  int max_groups = 8;
  std::size_t last_colon = s.rfind(':');
  if (last_colon == std::string_view::npos) return false;
  if (s.find('.', last_colon) != std::string_view::npos) {
    if (!valid_ipv4(s.substr(last_colon + 1))) return false;
    max_groups = 6;
    s = s.substr(0, last_colon + 1);
    // "a::1.2.3.4" leaves "a::", "a:b:c:d:e:f:1.2.3.4" leaves "a:b:c:d:e:f:": drop a lone colon.
    if (!s.ends_with("::")) s.remove_suffix(1);
  }
  std::size_t gap = s.find("::");
  bool compressed = gap != std::string_view::npos;
  if (compressed && s.find("::", gap + 1) != std::string_view::npos) return false;
  auto count_groups = [](std::string_view part, int& groups) {
    if (part.empty()) return true;
    std::size_t i = 0;
    while (true) {
      std::size_t start = i;
      while (i < part.size() && is_hex(uc(part[i])) && i - start < 4) ++i;
      if (i == start) return false;
      ++groups;
      if (i == part.size()) return true;
      if (part[i] != ':') return false;
      ++i;
      if (i == part.size()) return false;
    }
  };
  int groups = 0;
  if (compressed) {
    if (!count_groups(s.substr(0, gap), groups) || !count_groups(s.substr(gap + 2), groups)) return false;
    return groups < max_groups;
  }
  return count_groups(s, groups) && groups == max_groups;
}

// RFC 5321 4.1.2 Domain / address-literal (RFC 6531 3.3 adds U-labels). Returns the normalised
// form: ASCII letters lower-cased, or "[IPv6:" with the address lower-cased.
Result<std::string> parse_domain(std::string_view d, bool utf8) {
  if (d.empty()) return Error{"missing domain"};
  if (d.size() > max_domain) return Error{"domain too long"};
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return Error{"bad address literal"};
    std::string_view inner = d.substr(1, d.size() - 2);
    if (valid_ipv4(inner)) return std::string(d);
    if (istarts_with(inner, "IPv6:") && valid_ipv6(inner.substr(5))) {
      std::string out = "[IPv6:";
      for (char c : inner.substr(5)) out += ascii_lower(c);
      out += ']';
      return out;
    }
    // General-address-literal needs an IANA-registered tag; IPv6 is the only one.
    return Error{"bad address literal"};
  }
  std::string out;
  out.reserve(d.size());
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      std::string_view label = d.substr(label_start, i - label_start);
      // sub-domain = Let-dig [Ldh-str]: no empty label, no hyphen at either end.
      if (label.empty() || label.front() == '-' || label.back() == '-') return Error{"bad domain"};
      if (!has_non_ascii(label) && label.size() > 63) return Error{"domain label too long"};  // RFC 1035 2.3.4
      if (i < d.size()) out += '.';
      label_start = i + 1;
      continue;
    }
    unsigned char c = uc(d[i]);
    if (c >= 0x80) {
      std::size_t n = utf8 ? utf8_sequence(d, i) : 0;
      if (n == 0) return Error{utf8 ? "bad UTF-8 in domain" : "non-ASCII domain"};
      out.append(d.substr(i, n));
      i += n - 1;
    } else if (is_alpha(c) || is_digit(c) || c == '-') {
      out += ascii_lower(static_cast<char>(c));
    } else {
      return Error{"bad domain"};
    }
  }
  return out;
}

// "<...>" at the start of s: the index of the closing '>' (one inside a quoted local part does not
// count), or npos.
std::size_t path_end(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (quoted) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') quoted = false;
    } else if (s[i] == '"') {
      quoted = true;
    } else if (s[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// RFC 5321 4.1.2 A-d-l: "@a,@b:" before the mailbox. Obsolete; 4.1.1.3 says receivers SHOULD ignore
// it, so it is checked for syntax and dropped. Returns what follows, or nullopt on a bad route.
std::optional<std::string_view> strip_source_route(std::string_view inner, bool utf8) {
  if (inner.empty() || inner.front() != '@') return inner;
  std::size_t colon = std::string_view::npos;
  bool in_literal = false;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '[') in_literal = true;
    else if (inner[i] == ']') in_literal = false;
    else if (inner[i] == ':' && !in_literal) {
      colon = i;
      break;
    }
  }
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view route = inner.substr(0, colon);
  std::size_t start = 0;
  while (start <= route.size()) {
    std::size_t comma = route.find(',', start);
    std::string_view hop = route.substr(start, comma == std::string_view::npos ? route.npos : comma - start);
    if (hop.size() < 2 || hop.front() != '@' || !parse_domain(hop.substr(1), utf8)) return std::nullopt;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return inner.substr(colon + 1);
}

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// RFC 5321 4.1.2 Mail-parameters: esmtp-param *(SP esmtp-param); several spaces are tolerated.
// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126 /
// UTF8-non-ascii).
std::optional<std::vector<Param>> split_params(std::string_view s) {
  std::vector<Param> params;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = s.find(' ', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view token = s.substr(i, end - i);
    i = end;
    Param p;
    std::size_t eq = token.find('=');
    p.keyword = token.substr(0, eq);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = token.substr(eq + 1);
      if (p.value.empty()) return std::nullopt;
      for (char c : p.value)
        if (uc(c) < 33 || uc(c) == '=' || uc(c) == 127) return std::nullopt;
    }
    if (p.keyword.empty()) return std::nullopt;
    for (std::size_t k = 0; k < p.keyword.size(); ++k) {
      unsigned char c = uc(p.keyword[k]);
      if (!is_alpha(c) && !is_digit(c) && (c != '-' || k == 0)) return std::nullopt;
    }
    params.push_back(p);
  }
  return params;
}

// "FROM:<path> params" or "TO:<path> params".
struct PathArg {
  std::string_view path;    // with its angle brackets
  std::string_view params;  // after the path and its separating space
};

std::optional<PathArg> split_path_arg(std::string_view arg, std::string_view prefix) {
  arg = trim_trailing_spaces(arg);
  if (!istarts_with(arg, prefix)) return std::nullopt;
  arg.remove_prefix(prefix.size());
  // "MAIL FROM: <a@b>": RFC 5321 forbids the space, but many clients send it.
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (arg.empty() || arg.front() != '<') return std::nullopt;
  std::size_t end = path_end(arg);
  if (end == std::string_view::npos) return std::nullopt;
  PathArg out{arg.substr(0, end + 1), arg.substr(end + 1)};
  if (!out.params.empty()) {
    if (out.params.front() != ' ') return std::nullopt;
    out.params.remove_prefix(1);
  }
  return out;
}

// A decoded xtext value that may hold no control characters: ENVID must be printable (RFC 3461 4.4)
// and an ORCPT or AUTH address with a CR or LF in it could inject header lines into a DSN.
std::optional<std::string> decode_printable(std::string_view s) {
  auto decoded = xtext_decode(s);
  if (!decoded) return std::nullopt;
  for (char c : *decoded)
    if (uc(c) < 32 || uc(c) == 127) return std::nullopt;
  return decoded;
}

// RFC 1870 size-value = 1*20DIGIT; a value beyond 2^64-1 saturates (it is over any limit anyway).
std::optional<std::uint64_t> parse_size(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (char c : s) {
    if (!is_digit(uc(c))) return std::nullopt;
    unsigned digit = static_cast<unsigned>(c - '0');
    v = (v > (max - digit) / 10) ? max : v * 10 + digit;
  }
  return v;
}

}  // namespace

// --- Replies ----------------------------------------------------------------------------------------

std::string Reply::format() const {
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (true) {
    std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
    if (rest.empty()) break;  // a trailing '\n' does not make an empty last line
  }
  std::string code_text = std::to_string(code);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string line;
    for (char c : lines[i])
      if (c != '\r') line += c;  // a reply line never holds a CR of its own
    std::string body = enhanced;
    if (!enhanced.empty() && !line.empty()) body += ' ';
    body += line;
    bool last = i + 1 == lines.size();
    out += code_text;
    if (!last) out += '-';
    else if (!body.empty()) out += ' ';
    out += body;
    out += "\r\n";
  }
  return out;
}

// --- Command lines ----------------------------------------------------------------------------------

Verb parse_verb(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, Verb>, 14> verbs{{
      {"EHLO", Verb::ehlo},
      {"HELO", Verb::helo},
      {"MAIL", Verb::mail},
      {"RCPT", Verb::rcpt},
      {"DATA", Verb::data},
      {"BDAT", Verb::bdat},
      {"RSET", Verb::rset},
      {"NOOP", Verb::noop},
      {"QUIT", Verb::quit},
      {"VRFY", Verb::vrfy},
      {"EXPN", Verb::expn},
      {"HELP", Verb::help},
      {"STARTTLS", Verb::starttls},
      {"AUTH", Verb::auth},
  }};
  for (const auto& [name, verb] : verbs)
    if (iequals(word, name)) return verb;
  return Verb::unknown;
}

Command parse_command_line(std::string_view line) {
  Command cmd;
  std::size_t sp = line.find(' ');
  cmd.verb_text = std::string(line.substr(0, sp));
  if (sp != std::string_view::npos) cmd.arg = std::string(line.substr(sp + 1));
  cmd.verb = parse_verb(cmd.verb_text);
  return cmd;
}

// max_command_line counts the line without its line end. Memory stays bounded: past the limit the
// rest of the line is skipped, not stored, and the one error comes at its LF, so the next line is
// read normally.
CommandEvent CommandReader::feed(std::string_view in, std::size_t& consumed) {
  CommandEvent ev;
  std::size_t lf = in.find('\n');
  std::string_view part = in.substr(0, lf);
  consumed = lf == std::string_view::npos ? in.size() : lf + 1;
  if (!overflow_) {
    // Keep at most max_command_line octets plus one for a CR that the LF would strip.
    if (line_.size() + part.size() > max_command_line + 1) {
      overflow_ = true;
      line_.clear();
    } else {
      line_.append(part);
    }
  }
  if (lf == std::string_view::npos) return ev;

  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (overflow_ || line.size() > max_command_line) {
    ev.kind = CommandEvent::error;
    ev.err = error(code_syntax_error, enh_too_long, "Line too long");
  } else if (line.find('\0') != std::string_view::npos) {
    ev.kind = CommandEvent::error;
    ev.err = error(code_syntax_error, enh_bad_syntax, "NUL octet in command line");
  } else {
    ev.kind = CommandEvent::command;
    ev.cmd = parse_command_line(line);
  }
  line_.clear();
  overflow_ = false;
  return ev;
}

void CommandReader::reset() {
  line_.clear();
  overflow_ = false;
}

// --- Addresses --------------------------------------------------------------------------------------

Result<Mailbox> parse_mailbox(std::string_view s, bool utf8) {
  if (s.empty()) return Error{"empty address"};
  if (!utf8 && has_non_ascii(s)) return Error{"non-ASCII address without SMTPUTF8"};
  std::size_t at;
  if (s.front() == '"') {
    std::size_t close = quoted_string_end(s, utf8);
    if (close == std::string_view::npos) return Error{"bad quoted local part"};
    at = close + 1;
    if (at >= s.size() || s[at] != '@') return Error{"missing domain"};
  } else {
    at = s.find('@');
    if (at == std::string_view::npos) return Error{"missing domain"};
    if (!valid_dot_string(s.substr(0, at), utf8)) return Error{"bad local part"};
  }
  if (at > max_local_part) return Error{"local part too long"};
  auto domain = parse_domain(s.substr(at + 1), utf8);
  if (!domain) return domain.error();
  return Mailbox{std::string(s.substr(0, at)), std::move(domain.value())};
}

namespace {

// The part of MAIL and RCPT that is the same: the path's checks once the parameters are known.
// Returns the mailbox inside a non-empty path, or the error reply.
struct PathResult {
  std::optional<Mailbox> mailbox;
  ProtoError err;
};

PathResult parse_path_mailbox(std::string_view path, bool utf8, const char* enh_bad_address,
                              std::string_view what) {
  PathResult r;
  // RFC 5321 4.5.3.1.3: a path is at most 256 octets, punctuation included.
  if (path.size() > max_path) {
    r.err = ProtoError{Reply{code_param_syntax, enh_bad_address, std::string(what) + ": path too long"}};
    return r;
  }
  // RFC 6531 3.4: without SMTPUTF8 an address is ASCII only.
  if (!utf8 && has_non_ascii(path)) {
    r.err = error(code_mailbox_name, enh_non_ascii, "Non-ASCII address requires SMTPUTF8");
    return r;
  }
  auto mailbox_text = strip_source_route(path.substr(1, path.size() - 2), utf8);
  if (!mailbox_text) {
    r.err = ProtoError{Reply{code_param_syntax, enh_bad_address, std::string(what) + ": bad source route"}};
    return r;
  }
  auto mailbox = parse_mailbox(*mailbox_text, utf8);
  if (!mailbox) {
    // The error message is one of parse_mailbox's fixed sentences, never client text.
    r.err = ProtoError{Reply{code_param_syntax, enh_bad_address,
                             std::string(what) + ": " + mailbox.error().message}};
    return r;
  }
  r.mailbox = std::move(mailbox.value());
  return r;
}

}  // namespace

MailFromResult parse_mail(std::string_view arg) {
  MailFromResult r;
  auto split = split_path_arg(arg, "FROM:");
  if (!split) {
    r.err = error(code_param_syntax, enh_bad_args, "Syntax: MAIL FROM:<address> [parameters]");
    return r;
  }
  auto params = split_params(split->params);
  if (!params) {
    r.err = error(code_param_syntax, enh_bad_args, "Syntax error in parameters");
    return r;
  }
  MailFrom mail;
  bool seen_size = false, seen_body = false, seen_utf8 = false, seen_ret = false, seen_envid = false,
       seen_auth = false;
  auto once = [](bool& seen) { return !std::exchange(seen, true); };
  for (const Param& p : *params) {
    const char* bad = nullptr;
    if (iequals(p.keyword, "SIZE")) {  // RFC 1870 3
      auto size = p.has_value ? parse_size(p.value) : std::nullopt;
      if (!once(seen_size)) bad = "Duplicate SIZE parameter";
      else if (!size) bad = "Bad SIZE parameter";
      else mail.size = size;
    } else if (iequals(p.keyword, "BODY")) {  // RFC 6152 2, RFC 3030 3
      if (!once(seen_body)) bad = "Duplicate BODY parameter";
      else if (iequals(p.value, "7BIT")) mail.body = Body::seven_bit;
      else if (iequals(p.value, "8BITMIME")) mail.body = Body::eight_bit_mime;
      else if (iequals(p.value, "BINARYMIME")) mail.body = Body::binary_mime;
      else bad = "Bad BODY parameter";
    } else if (iequals(p.keyword, "SMTPUTF8")) {  // RFC 6531 3.4: takes no value
      if (!once(seen_utf8)) bad = "Duplicate SMTPUTF8 parameter";
      else if (p.has_value) bad = "SMTPUTF8 takes no value";
      else mail.smtputf8 = true;
    } else if (iequals(p.keyword, "RET")) {  // RFC 3461 4.3
      if (!once(seen_ret)) bad = "Duplicate RET parameter";
      else if (iequals(p.value, "FULL") || iequals(p.value, "HDRS")) mail.ret = upper(p.value);
      else bad = "Bad RET parameter";
    } else if (iequals(p.keyword, "ENVID")) {  // RFC 3461 4.4
      auto envid = p.has_value ? decode_printable(p.value) : std::nullopt;
      if (!once(seen_envid)) bad = "Duplicate ENVID parameter";
      else if (!envid) bad = "Bad ENVID parameter";
      else mail.envid = std::move(*envid);
    } else if (iequals(p.keyword, "AUTH")) {  // RFC 4954 5
      auto auth = !p.has_value ? std::nullopt
                  : p.value == "<>" ? std::optional<std::string>("<>")
                                    : decode_printable(p.value);
      if (!once(seen_auth)) bad = "Duplicate AUTH parameter";
      else if (!auth || auth->empty()) bad = "Bad AUTH parameter";
      else mail.auth = std::move(*auth);
    } else {
      r.err = error(code_param_unknown, enh_bad_args, "Unknown MAIL parameter");
      return r;
    }
    if (bad) {
      r.err = error(code_param_syntax, enh_bad_args, bad);
      return r;
    }
  }
  if (split->path.size() > 2) {
    auto path = parse_path_mailbox(split->path, mail.smtputf8, enh_bad_sender, "Bad sender address");
    if (!path.mailbox) {
      r.err = std::move(path.err);
      return r;
    }
    mail.sender = std::move(path.mailbox);
  }
  r.value = std::move(mail);
  return r;
}

RcptToResult parse_rcpt(std::string_view arg, bool utf8) {
  RcptToResult r;
  auto split = split_path_arg(arg, "TO:");
  if (!split) {
    r.err = error(code_param_syntax, enh_bad_args, "Syntax: RCPT TO:<address> [parameters]");
    return r;
  }
  auto params = split_params(split->params);
  if (!params) {
    r.err = error(code_param_syntax, enh_bad_args, "Syntax error in parameters");
    return r;
  }
  RcptTo rcpt;
  bool seen_notify = false, seen_orcpt = false;
  for (const Param& p : *params) {
    const char* bad = nullptr;
    if (iequals(p.keyword, "NOTIFY")) {  // RFC 3461 4.1: "NEVER" or a list of SUCCESS, FAILURE, DELAY
      if (std::exchange(seen_notify, true)) bad = "Duplicate NOTIFY parameter";
      else if (!p.has_value) bad = "Bad NOTIFY parameter";
      for (std::size_t start = 0; !bad && start <= p.value.size();) {
        std::size_t comma = p.value.find(',', start);
        std::string item = upper(p.value.substr(start, comma == p.value.npos ? p.value.npos : comma - start));
        bool known = item == "SUCCESS" || item == "FAILURE" || item == "DELAY" || item == "NEVER";
        bool repeated = ("," + rcpt.notify + ",").find("," + item + ",") != std::string::npos;
        bool never_mixed = (item == "NEVER" && start != 0) || rcpt.notify == "NEVER";
        if (!known || repeated || never_mixed) bad = "Bad NOTIFY parameter";
        else rcpt.notify += (rcpt.notify.empty() ? "" : ",") + item;
        if (comma == p.value.npos) break;
        start = comma + 1;
      }
    } else if (iequals(p.keyword, "ORCPT")) {  // RFC 3461 4.2: addr-type ";" xtext
      std::size_t semi = p.value.find(';');
      std::string_view type = p.value.substr(0, semi);
      bool type_ok = !type.empty();
      for (char c : type) type_ok = type_ok && uc(c) < 0x80 && is_atext(uc(c));
      auto addr = semi == p.value.npos ? std::nullopt : decode_printable(p.value.substr(semi + 1));
      if (std::exchange(seen_orcpt, true)) bad = "Duplicate ORCPT parameter";
      else if (!type_ok || !addr || addr->empty()) bad = "Bad ORCPT parameter";
      else rcpt.orcpt = std::string(type) + ";" + *addr;
    } else {
      r.err = error(code_param_unknown, enh_bad_args, "Unknown RCPT parameter");
      return r;
    }
    if (bad) {
      r.err = error(code_param_syntax, enh_bad_args, bad);
      return r;
    }
  }
  std::string_view inner = split->path.substr(1, split->path.size() - 2);
  if (inner.empty()) {
    r.err = error(code_param_syntax, enh_bad_dest, "Null recipient not allowed");
    return r;
  }
  // RFC 5321 4.1.1.3: "<Postmaster>" without a domain must be accepted.
  if (iequals(inner, "postmaster")) {
    rcpt.recipient = Mailbox{std::string(inner), ""};
  } else {
    auto path = parse_path_mailbox(split->path, utf8, enh_bad_dest, "Bad recipient address");
    if (!path.mailbox) {
      r.err = std::move(path.err);
      return r;
    }
    rcpt.recipient = std::move(*path.mailbox);
  }
  r.value = std::move(rcpt);
  return r;
}

// RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT.
BdatResult parse_bdat(std::string_view arg) {
  BdatResult r;
  arg = trim_trailing_spaces(arg);
  std::size_t sp = arg.find(' ');
  std::string_view digits = arg.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : arg.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::optional<std::uint64_t> size;
  if (!digits.empty() && digits.size() < 20) size = parse_size(digits);  // below 10^19: no saturation
  if (!size || !(rest.empty() || iequals(rest, "LAST"))) {
    r.err = error(code_param_syntax, enh_bad_args, "Syntax: BDAT <size> [LAST]");
    return r;
  }
  r.value = BdatArgs{*size, !rest.empty()};
  return r;
}

// --- xtext (RFC 3461 4) -----------------------------------------------------------------------------

std::optional<std::string> xtext_decode(std::string_view s) {
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // hexchar is upper case only
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = uc(s[i]);
    if (c == '+') {
      if (s.size() - i < 3) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return std::nullopt;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string xtext_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = uc(ch);
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out += ch;
    } else {
      out += '+';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

}  // namespace tern::smtp::proto
