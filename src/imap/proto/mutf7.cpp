// imap/proto/mutf7: mailbox name encodings: strict UTF-8 (RFC 3629, for IMAP4rev2 and UTF8=ACCEPT,
// RFC 9051 5.1 and RFC 6855 3) and modified UTF-7 (RFC 3501 5.1.3, for IMAP4rev1 clients).
//
// Decoding accepts only the canonical form the encoder gives, so every name has exactly one spelling:
// two spellings of one mailbox would let a client create look-alike duplicates.
#include <cstdint>

#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool printable(std::uint32_t c) { return c >= 0x20 && c <= 0x7e; }

// Decodes one code point at s[i], advancing i; nullopt (and i past one octet) when invalid.
std::optional<std::uint32_t> next_code_point(std::string_view s, std::size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  std::uint32_t cp = 0, min = 0;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + len > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++i;
    return std::nullopt;
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();)
    if (!next_code_point(s, i)) return false;
  return true;
}

std::string mutf7_encode(std::string_view utf8) {
  std::string out;
  std::uint32_t bits = 0;
  int nbits = 0;
  bool shifted = false;
  auto put16 = [&](std::uint32_t unit) {
    bits = (bits << 16) | unit;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += b64_alphabet[(bits >> nbits) & 0x3f];
    }
    bits &= (1u << nbits) - 1;
  };
  auto unshift = [&]() {
    if (!shifted) return;
    if (nbits > 0) out += b64_alphabet[(bits << (6 - nbits)) & 0x3f];  // pad with zero bits
    out += '-';
    bits = 0;
    nbits = 0;
    shifted = false;
  };
  for (std::size_t i = 0; i < utf8.size();) {
    std::uint32_t cp = next_code_point(utf8, i).value_or(0xfffd);
    if (printable(cp)) {
      unshift();
      out += static_cast<char>(cp);
      if (cp == '&') out += '-';
      continue;
    }
    if (!shifted) {
      out += '&';
      shifted = true;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put16(0xd800 | (cp >> 10));
      put16(0xdc00 | (cp & 0x3ff));
    } else {
      put16(cp);
    }
  }
  unshift();
  return out;
}

std::optional<std::string> mutf7_decode(std::string_view s) {
  std::string out;
  bool after_run = false;  // the previous octet ended a base64 run
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (!printable(static_cast<unsigned char>(c))) return std::nullopt;
    if (c != '&') {
      out += c;
      ++i;
      after_run = false;
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '-') {
      out += '&';
      i += 2;
      after_run = false;
      continue;
    }
    if (after_run) return std::nullopt;  // "&..-&..-" is one run spelt twice
    ++i;
    std::uint32_t bits = 0, high = 0;
    int nbits = 0;
    bool any = false;
    for (;;) {
      if (i >= s.size()) return std::nullopt;  // a run must end with "-"
      char d = s[i++];
      if (d == '-') break;
      int v = b64_value(d);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits < 16) continue;
      nbits -= 16;
      std::uint32_t unit = (bits >> nbits) & 0xffff;
      bits &= (1u << nbits) - 1;
      any = true;
      if (high) {
        if (unit < 0xdc00 || unit > 0xdfff) return std::nullopt;
        append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
        high = 0;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        high = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return std::nullopt;
      } else if (printable(unit)) {
        return std::nullopt;  // RFC 3501 5.1.3: printable ASCII is never encoded
      } else {
        append_utf8(out, unit);
      }
    }
    // The padding is fewer than 6 bits, all zero; a run holds at least one character.
    if (!any || high || nbits >= 6 || bits != 0) return std::nullopt;
    after_run = true;
  }
  return out;
}

}  // namespace tern::imap::proto
