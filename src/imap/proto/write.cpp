#include "imap/proto/write.hpp"

#include <fmt/format.h>

namespace tern::imap::proto {

namespace {

bool quotable(std::string_view s, bool utf8) {
  if (s.size() > 1000) return false;  // long values read better as literals
  for (unsigned char c : s) {
    if (c == 0 || c == '\r' || c == '\n') return false;
    if (c >= 0x80 && !utf8) return false;
  }
  return true;
}

// RFC 9051 9: ATOM-CHAR is any CHAR except atom-specials ( ) { SP CTL % * " \ ].
bool atom_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

}  // namespace

void append_string(std::string& out, std::string_view s, bool utf8) {
  if (quotable(s, utf8)) {
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return;
  }
  out += fmt::format("{{{}}}\r\n", s.size());
  out += s;
}

std::string string(std::string_view s, bool utf8) {
  std::string out;
  append_string(out, s, utf8);
  return out;
}

void append_nstring(std::string& out, std::string_view s, bool utf8) {
  if (s.empty()) {
    out += "NIL";
    return;
  }
  append_string(out, s, utf8);
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
  bool atom = !s.empty() && !(s.size() == 3 && (s == "NIL" || s == "nil" || s == "Nil"));
  for (unsigned char c : s) atom = atom && atom_char(c);
  if (atom) {
    out += s;
    return;
  }
  append_string(out, s, utf8);
}

}  // namespace tern::imap::proto
