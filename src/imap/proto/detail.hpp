// imap/proto internal helpers shared by the grammar files: ASCII case, character classes (RFC 9051 9)
// and error construction. Not part of the public API.
#pragma once
#include <string>
#include <string_view>
#include <utility>

#include "imap/proto/proto.hpp"

namespace tern::imap::proto::detail {

inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  return true;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 9051 9: ATOM-CHAR is any CHAR except atom-specials: ( ) { SP CTL % * " \ ].
inline bool atom_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

// RFC 9051 9: ASTRING-CHAR is ATOM-CHAR or "]".
inline bool astring_char(char c) { return atom_char(c) || c == ']'; }

// The argument is the atom `word` (case-insensitive).
inline bool is_word(const Arg& a, std::string_view word) {
  return a.kind == Arg::Kind::atom && iequals(a.text, word);
}

template <typename T>
Parsed<T> fail(std::string error, std::string code = {}) {
  Parsed<T> p;
  p.error = std::move(error);
  p.code = std::move(code);
  return p;
}

template <typename T>
Parsed<T> done(T value) {
  Parsed<T> p;
  p.value = std::move(value);
  return p;
}

}  // namespace tern::imap::proto::detail
