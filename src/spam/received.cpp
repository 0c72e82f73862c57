#include "spam/received.hpp"

#include <boost/asio/ip/address.hpp>

#include "base/strings.hpp"

namespace tern::spam {

namespace {

constexpr std::size_t kMaxField = 4096;
constexpr std::size_t kMaxName = 255;

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The "from" clause: after "from", up to " by " outside parentheses (or the end, or ';').
std::string_view from_clause(std::string_view v) {
  int depth = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0 && c == ';') return v.substr(0, i);
    else if (depth == 0 && space(c) && i + 4 <= v.size() && iequals(v.substr(i + 1, 2), "by") &&
             (i + 3 == v.size() || space(v[i + 3])))
      return v.substr(0, i);
  }
  return v;
}

// The word after `key` (up to a space or ')'), or "" when `key` is not in `text`.
std::string word_after(std::string_view text, std::string_view key) {
  auto lower = to_lower(text);
  auto at = lower.find(to_lower(key));
  if (at == std::string::npos) return {};
  std::size_t b = at + key.size(), e = b;
  while (e < text.size() && !space(text[e]) && text[e] != ')' && text[e] != '(') ++e;
  return std::string(text.substr(b, std::min(e - b, kMaxName)));
}

// An address as written inside [...] or (...), without "IPv6:"; "" when it is none.
std::string address_in(std::string_view s) {
  s = trim(s);
  if (istarts_with(s, "ipv6:")) s.remove_prefix(5);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(s), ec);
  return ec ? std::string() : a.to_string();
}

}  // namespace

std::optional<Relay> parse_received(std::string_view value) {
  std::string_view v = trim(value.substr(0, std::min(value.size(), kMaxField)));
  if (v.size() < 5 || !iequals(v.substr(0, 4), "from") || !space(v[4])) return std::nullopt;
  v.remove_prefix(5);
  const std::string_view clause = trim(from_clause(v));
  if (clause.empty()) return std::nullopt;

  // The first word: the HELO (Postfix, Sendmail, Tern) or the reverse name (Exim, qmail).
  std::size_t end = 0;
  while (end < clause.size() && !space(clause[end]) && clause[end] != '(') ++end;
  std::string first(clause.substr(0, std::min(end, kMaxName)));

  Relay r;
  // The address: in brackets ([192.0.2.1], [IPv6:2001:db8::1]), else a parenthesized one (qmail). The
  // brackets in the relay's comment come first: a HELO that is an address literal is the client's
  // claim ("from [10.0.0.1] (unknown [192.0.2.1])"), and a trusted one must not hide the real address.
  auto lb = std::string_view::npos;
  if (auto lp = clause.find('('); lp != std::string_view::npos) lb = clause.find('[', lp);
  if (lb == std::string_view::npos) lb = clause.find('[');
  if (lb != std::string_view::npos) {
    auto rb = clause.find(']', lb);
    if (rb == std::string_view::npos) return std::nullopt;
    r.ip = address_in(clause.substr(lb + 1, rb - lb - 1));
  } else {
    for (std::size_t lp = clause.find('('); lp != std::string_view::npos && r.ip.empty(); lp = clause.find('(', lp + 1)) {
      auto rp = clause.find(')', lp);
      if (rp == std::string_view::npos) break;
      r.ip = address_in(clause.substr(lp + 1, rp - lp - 1));
    }
  }
  if (r.ip.empty()) return std::nullopt;

  const bool exim = value.find("(Exim ") != std::string_view::npos;
  if (auto helo = word_after(clause, "helo="); !helo.empty()) {  // Exim
    r.helo = helo;
    if (!first.starts_with("[")) r.rdns = first;
  } else if (auto qhelo = word_after(clause, "(HELO "); !qhelo.empty()) {  // qmail
    r.helo = qhelo;
    if (!iequals(first, "unknown")) r.rdns = first;
  } else if (exim) {  // Exim when the HELO was the reverse name: "from NAME ([IP])"
    r.helo = first;
    if (!first.starts_with("[")) r.rdns = first;
  } else {  // Postfix, Sendmail, Tern: "from HELO (RDNS [IP])"
    r.helo = first;
    auto lp = clause.find('(');
    auto rb = lp == std::string_view::npos ? lp : clause.find('[', lp);  // the relay's bracket, in its comment
    if (rb != std::string_view::npos) {
      auto name = trim(clause.substr(lp + 1, rb - lp - 1));
      if (auto sp = name.find_last_of(" \t"); sp != std::string_view::npos) name = name.substr(sp + 1);  // the word before '['
      if (!name.empty() && !iequals(name, "unknown")) r.rdns = std::string(name.substr(0, kMaxName));
    }
    // Tern writes no reverse name: "from HELO ([IP]) by HOST (Tern)"
    if (r.rdns.empty() && value.find("(Tern)") != std::string_view::npos) r.rdns_known = false;
  }
  r.rdns = to_lower(r.rdns);
  if (r.helo.size() > kMaxName) r.helo.resize(kMaxName);
  return r;
}

}  // namespace tern::spam
