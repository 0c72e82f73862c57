// smtp/client/message.cpp: the message as it goes on the wire: dot-stuffing (RFC 5321 4.5.2) and,
// for a server without 8BITMIME, a quoted-printable downgrade (RFC 6152 3, RFC 2045 6.7).

#include "base/strings.hpp"
#include "smtp/client/protocol.hpp"

namespace tern::smtp::client {

bool has_eight_bit(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

std::string dot_stuff(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 64 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (c == '\r' || c == '\n') {
      // CRLF, bare CR and bare LF all end a line; CR LF is one line end, not two.
      if (c == '\r' && i + 1 < m.size() && m[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::string quoted_printable_encode(std::string_view body) {
  static constexpr char hex[] = "0123456789ABCDEF";
  static constexpr std::size_t max_line = 76;  // RFC 2045 6.7 (5), "=" of a soft break included
  std::string out;
  out.reserve(body.size() + body.size() / 8);
  std::size_t col = 0;
  auto emit = [&](std::string_view token) {
    if (col + token.size() > max_line - 1) {  // keep room for the "=" of a soft line break
      out += "=\r\n";
      col = 0;
    }
    out += token;
    col += token.size();
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(body[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += "\r\n";
      col = 0;
      continue;
    }
    bool at_line_end = i + 1 == body.size() || body[i + 1] == '\r' || body[i + 1] == '\n';
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    } else {
      char enc[3] = {'=', hex[c >> 4], hex[c & 0xF]};
      emit(std::string_view(enc, 3));
    }
  }
  return out;
}

namespace {

struct HeaderLine {
  std::string_view name;  // "" for a continuation line
  std::string_view text;  // the whole line with its line end
};

// The header's physical lines (CRLF or LF ends), up to the empty line.
std::vector<HeaderLine> header_lines(std::string_view header) {
  std::vector<HeaderLine> out;
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t lf = header.find('\n', at);
    std::size_t end = lf == std::string_view::npos ? header.size() : lf + 1;
    std::string_view line = header.substr(at, end - at);
    HeaderLine h{{}, line};
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') {
      std::size_t colon = line.find(':');
      h.name = trim(line.substr(0, colon == std::string_view::npos ? 0 : colon));
    }
    out.push_back(h);
    at = end;
  }
  return out;
}

// The unfolded value of the field starting at lines[i].
std::string field_value(const std::vector<HeaderLine>& lines, std::size_t i) {
  std::string v;
  std::string_view first = lines[i].text;
  v.append(first.substr(first.find(':') + 1));
  for (std::size_t j = i + 1; j < lines.size() && lines[j].name.empty(); ++j) v.append(lines[j].text);
  std::string out;
  for (char c : v)
    if (c != '\r' && c != '\n') out += c;
  return std::string(trim(out));
}

}  // namespace

std::optional<std::string> downgrade_8bit(std::string_view message, std::string& why) {
  // The header ends at the first empty line; the body follows it.
  std::size_t body_at = std::string_view::npos, header_end = message.size();
  for (std::size_t at = 0; at < message.size();) {
    if (message.compare(at, 2, "\r\n") == 0) {
      header_end = at;
      body_at = at + 2;
      break;
    }
    if (message[at] == '\n') {
      header_end = at;
      body_at = at + 1;
      break;
    }
    std::size_t lf = message.find('\n', at);
    if (lf == std::string_view::npos) break;
    at = lf + 1;
  }
  std::string_view header = message.substr(0, header_end);
  std::string_view body = body_at == std::string_view::npos ? std::string_view() : message.substr(body_at);
  if (has_eight_bit(header)) {
    why = "8-bit octets in the message header";
    return std::nullopt;
  }
  auto lines = header_lines(header);
  bool mime_version = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].name.empty()) continue;
    if (iequals(lines[i].name, "MIME-Version")) mime_version = true;
    if (iequals(lines[i].name, "Content-Type")) {
      std::string type = to_lower(field_value(lines, i));
      if (istarts_with(type, "multipart/") || istarts_with(type, "message/")) {
        why = "8-bit content in a " + type.substr(0, type.find(';')) + " message";
        return std::nullopt;
      }
    }
    if (iequals(lines[i].name, "Content-Transfer-Encoding")) {
      std::string cte = to_lower(field_value(lines, i));
      if (cte != "7bit" && cte != "8bit") {
        why = "8-bit content with Content-Transfer-Encoding " + cte;
        return std::nullopt;
      }
    }
  }
  std::string out;
  out.reserve(message.size() + message.size() / 8 + 80);
  bool in_cte = false;
  for (const auto& l : lines) {
    if (!l.name.empty()) in_cte = iequals(l.name, "Content-Transfer-Encoding");
    if (in_cte) continue;
    out.append(l.text);
    if (out.empty() || out.back() != '\n') out += "\r\n";
  }
  if (!mime_version) out += "MIME-Version: 1.0\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable_encode(body);
  return out;
}

}  // namespace tern::smtp::client
