#include "mime/headers.hpp"

#include "base/strings.hpp"

namespace tern::mime {

std::vector<Field> parse_header(std::string_view msg, std::size_t max_fields) {
  std::vector<Field> out;
  std::size_t pos = 0;
  while (pos < msg.size() && out.size() <= max_fields) {
    auto eol = msg.find('\n', pos);
    auto line = msg.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().value += " ";
      out.back().value += std::string(trim(line));
    } else {
      auto colon = line.find(':');
      if (colon != std::string_view::npos && colon > 0) {
        out.push_back(Field{std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
      } else if (out.empty()) {
        break;  // not a header at all
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (out.size() > max_fields) out.resize(max_fields);
  return out;
}

std::string first_value(const std::vector<Field>& fields, std::string_view name) {
  for (auto& f : fields)
    if (iequals(f.name, name)) return f.value;
  return {};
}

std::size_t count_received(std::string_view msg) {
  std::size_t n = 0;
  for (auto& f : parse_header(msg, 100000))
    if (iequals(f.name, "Received")) ++n;
  return n;
}

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

std::optional<std::string> decode_b(std::string_view s) {
  static const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    auto v = alphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<std::string> decode_q(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      out += ' ';
    } else if (s[i] == '=' && i + 2 < s.size() + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string decode_words(std::string_view v) {
  std::string out;
  std::size_t pos = 0;
  bool last_was_word = false;
  std::string pending_space;
  while (pos < v.size()) {
    auto start = v.find("=?", pos);
    if (start == std::string_view::npos) break;
    auto q1 = v.find('?', start + 2);
    auto q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
    auto end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
    if (end == std::string_view::npos) break;
    auto between = v.substr(pos, start - pos);
    auto charset = to_lower(v.substr(start + 2, q1 - start - 2));
    auto enc = v.substr(q1 + 1, q2 - q1 - 1);
    auto text = v.substr(q2 + 1, end - q2 - 1);
    std::optional<std::string> decoded;
    if (iequals(enc, "B")) decoded = decode_b(text);
    else if (iequals(enc, "Q")) decoded = decode_q(text);
    bool known = charset == "utf-8" || charset == "us-ascii" || charset == "iso-8859-1";
    // RFC 2047 6.2: white space between adjacent encoded-words is ignored.
    if (!(last_was_word && trim(between).empty())) out += between;
    if (decoded && known) {
      out += charset == "iso-8859-1" ? latin1_to_utf8(*decoded) : *decoded;
      last_was_word = true;
    } else {
      out += v.substr(start, end + 2 - start);
      last_was_word = false;
    }
    pos = end + 2;
  }
  out += v.substr(pos);
  return out;
}

}  // namespace tern::mime
