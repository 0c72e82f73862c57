// smtp/client/reply.cpp: server replies (RFC 5321 4.2), enhanced status codes (RFC 3463), EHLO
// keywords (RFC 5321 4.1.1.1), and what decides each recipient of a transaction.
#include <cctype>

#include "base/strings.hpp"
#include "smtp/client/protocol.hpp"

namespace tern::smtp::client {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// The length of an RFC 3463 code "c.sss.ddd" of class `cls` at the start of s, followed by a space
// or the end; 0 when there is none.
std::size_t enhanced_length(std::string_view s, char cls) {
  if (s.size() < 5 || s[0] != cls || s[1] != '.') return 0;
  std::size_t i = 2, n = 0;
  while (i < s.size() && digit(s[i]) && n < 3) ++i, ++n;
  if (n == 0 || i >= s.size() || s[i] != '.') return 0;
  ++i;
  n = 0;
  while (i < s.size() && digit(s[i]) && n < 3) ++i, ++n;
  if (n == 0) return 0;
  if (i < s.size() && s[i] != ' ') return 0;
  return i;
}

}  // namespace

std::string ServerReply::str() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " " + text;
  return out;
}

ServerReply TransactionResult::outcome(std::size_t i) const {
  if (mail_reply) return *mail_reply;
  if (i < rcpt_replies.size() && rcpt_replies[i].code != 0 && !rcpt_replies[i].positive()) return rcpt_replies[i];
  if (data_reply) return *data_reply;
  ServerReply lost;
  lost.code = 451;
  lost.enhanced = "4.4.2";
  lost.text = error.empty() ? "connection lost before the end of the transaction" : "connection lost: " + error;
  return lost;
}

ServerReply ParsedReply::to_server_reply() const {
  ServerReply r;
  r.code = code;
  if (lines.empty()) return r;
  const char cls = static_cast<char>('0' + code / 100);
  std::size_t len = enhanced_length(lines[0], cls);
  if (len) r.enhanced = lines[0].substr(0, len);
  for (const auto& line : lines) {
    std::string_view t = line;
    if (len && t.substr(0, len) == r.enhanced && (t.size() == len || t[len] == ' ')) t.remove_prefix(len);
    t = trim(t);
    if (t.empty()) continue;
    if (!r.text.empty()) r.text += ' ';
    r.text.append(t);
  }
  return r;
}

ReplyParser::Event ReplyParser::feed(std::string_view in, std::size_t& consumed) {
  Event ev;
  consumed = 0;
  auto fail = [&](std::string why) {
    failed_ = true;
    ev.kind = Event::failed;
    ev.error = std::move(why);
    return ev;
  };
  if (failed_) return fail("reply stream already broken");
  while (consumed < in.size()) {
    std::string_view rest = in.substr(consumed);
    std::size_t lf = rest.find('\n');
    std::size_t take = lf == std::string_view::npos ? rest.size() : lf + 1;
    if (line_.size() + take > max_reply_line) {
      consumed += take;
      return fail("reply line longer than " + std::to_string(max_reply_line) + " octets");
    }
    line_.append(rest.substr(0, take));
    consumed += take;
    if (lf == std::string_view::npos) break;

    std::string_view line = line_;
    line.remove_suffix(1);  // LF
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '2' || line[0] > '5')
      return fail("malformed reply line: '" + std::string(line.substr(0, 80)) + "'");
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    bool last = true;
    if (line.size() > 3) {
      if (line[3] == '-')
        last = false;
      else if (line[3] != ' ')
        return fail("malformed reply line: '" + std::string(line.substr(0, 80)) + "'");
    }
    if (!partial_.lines.empty() && code != partial_.code)
      return fail("reply code changed within a multi-line reply (" + std::to_string(partial_.code) + ", then " +
                  std::to_string(code) + ")");
    if (partial_.lines.size() >= max_reply_lines)
      return fail("reply of more than " + std::to_string(max_reply_lines) + " lines");
    partial_.code = code;
    partial_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    line_.clear();
    if (last) {
      ev.kind = Event::complete;
      ev.reply = std::move(partial_);
      partial_ = ParsedReply{};
      return ev;
    }
  }
  return ev;
}

Extensions parse_ehlo(const ParsedReply& reply) {
  Extensions x;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = trim(reply.lines[i]);
    std::size_t end = line.find_first_of(" =");
    std::string keyword = to_upper_ascii(line.substr(0, end));
    std::string_view params = end == std::string_view::npos ? std::string_view() : trim(line.substr(end + 1));
    if (keyword == "PIPELINING") {
      x.pipelining = true;
    } else if (keyword == "8BITMIME") {
      x.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      x.smtputf8 = true;
    } else if (keyword == "DSN") {
      x.dsn = true;
    } else if (keyword == "CHUNKING") {
      x.chunking = true;
    } else if (keyword == "STARTTLS") {
      x.starttls = true;
    } else if (keyword == "SIZE") {
      // RFC 1870 4: an optional limit; none (or one we cannot read) means no fixed limit.
      auto n = parse_u64(params);
      x.size = n ? *n : 0;
    } else if (keyword == "AUTH") {
      // "AUTH PLAIN LOGIN", and the pre-standard "AUTH=PLAIN LOGIN" some servers still send.
      for (auto m : split(params, ' ')) {
        std::string mech = to_upper_ascii(trim(m));
        if (mech.empty()) continue;
        bool seen = false;
        for (const auto& a : x.auth) seen = seen || a == mech;
        if (!seen) x.auth.push_back(mech);
      }
    }
  }
  return x;
}

}  // namespace tern::smtp::client
