#include "mailauth/spf.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

#include "base/strings.hpp"

namespace tern::mailauth::spf {

namespace asio = boost::asio;

namespace {

constexpr int max_dns_terms = 10;
constexpr int max_void_lookups = 2;
constexpr std::size_t max_mx_names = 10;
constexpr std::size_t max_ptr_names = 10;
constexpr std::size_t max_record = 4096;

// --- the record's grammar (RFC 7208 4.6, 5, 6, 7) ---------------------------------------------------

enum class Kind { all, include, a, mx, ptr, ip4, ip6, exists };

struct Term {
  char qualifier = '+';
  Kind kind = Kind::all;
  std::string text;         // as written, for the log ("-all")
  std::string domain_spec;  // "" when the mechanism has none (a, mx, ptr: the current domain)
  int cidr4 = 32;
  int cidr6 = 128;
  asio::ip::address network;  // ip4, ip6
};

struct Record {
  std::vector<Term> terms;
  std::optional<std::string> redirect;
  std::optional<std::string> exp;
};

struct Stop {  // ends the whole check: permerror or temperror
  Result result;
  std::string why;
};

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool alnum(char c) { return alpha(c) || digit(c); }

// A macro-string (RFC 7208 7.1); `exp`: the c, r and t letters are allowed (explanations only).
std::string macro_error(std::string_view s, bool exp) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '%') {
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
        if (!(exp && c == ' ')) return "bad character in a macro string";
      continue;
    }
    if (i + 1 >= s.size()) return "a lone '%'";
    char n = s[++i];
    if (n == '%' || n == '_' || n == '-') continue;
    if (n != '{') return "'%' must be followed by {, %, _ or -";
    auto close = s.find('}', i);
    if (close == std::string_view::npos) return "unterminated macro";
    std::string_view body = s.substr(i + 1, close - i - 1);
    i = close;
    if (body.empty()) return "empty macro";
    char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(body[0])));
    if (std::string_view("slodiphv").find(letter) == std::string_view::npos &&
        !(exp && std::string_view("crt").find(letter) != std::string_view::npos))
      return std::string("unknown macro letter '") + body[0] + "'";
    std::size_t j = 1;
    std::size_t digits = 0;
    while (j < body.size() && digit(body[j])) ++j, ++digits;
    if (digits > 0) {
      int n_keep = 0;
      std::from_chars(body.data() + 1, body.data() + 1 + std::min<std::size_t>(digits, 3), n_keep);
      if (n_keep == 0) return "a macro keeping 0 labels";
    }
    if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) ++j;
    for (; j < body.size(); ++j)
      if (std::string_view(".-+,/_=").find(body[j]) == std::string_view::npos) return "bad macro delimiter";
  }
  return "";
}

bool toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool has_alpha = false;
  for (char c : l) {
    if (!alnum(c) && c != '-') return false;
    has_alpha = has_alpha || alpha(c);
  }
  if (l.front() == '-' || l.back() == '-') return false;
  // ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
  return has_alpha || l.find('-') != std::string_view::npos;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel ["."] ) / macro-expand
std::string domain_spec_error(std::string_view s) {
  if (s.empty()) return "empty domain";
  if (auto e = macro_error(s, false); !e.empty()) return e;
  if (s.back() == '}') return "";
  if (s.size() >= 2 && s[s.size() - 2] == '%' && (s.back() == '%' || s.back() == '_' || s.back() == '-')) {
    std::size_t percents = 0;  // "%%" at the end is a literal '%', not a macro-expand
    for (std::size_t i = s.size() - 1; i-- > 0 && s[i] == '%';) ++percents;
    if (s.back() != '%' && percents % 2 == 1) return "";
  }
  std::string_view t = s;
  if (t.back() == '.') t.remove_suffix(1);
  auto dot = t.rfind('.');
  if (dot == std::string_view::npos) return "the domain has no top label";
  if (!toplabel(t.substr(dot + 1))) return "bad top label in '" + std::string(s) + "'";
  return "";
}

std::optional<int> cidr(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || v > max) return std::nullopt;
  return v;
}

// Splits "name/24//64" into the name and the dual CIDR lengths (a, mx).
std::string dual_cidr(std::string& rest, Term& t) {
  auto take_suffix = [&](std::string_view sep, int max, int& out) -> std::string {
    auto pos = rest.rfind(sep);
    if (pos == std::string::npos) return "";
    std::string_view digits = std::string_view(rest).substr(pos + sep.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), digit)) return "";
    auto v = cidr(digits, max);
    if (!v) return "bad CIDR length in '" + t.text + "'";
    out = *v;
    rest.resize(pos);
    return "";
  };
  if (auto e = take_suffix("//", 128, t.cidr6); !e.empty()) return e;
  if (rest.ends_with("/")) return "bad CIDR length in '" + t.text + "'";
  auto pos = rest.rfind('/');
  if (pos != std::string::npos && (pos == 0 || rest[pos - 1] != '/')) {
    if (auto e = take_suffix("/", 32, t.cidr4); !e.empty()) return e;
  }
  return "";
}

// Parses a whole record; an error string on a syntax error.
std::string parse(std::string_view text, Record& out) {
  if (text.size() > max_record) return "record longer than 4096 octets";
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e) return "a character outside printable ASCII";
  auto words = split(text, ' ');
  for (std::size_t i = 1; i < words.size(); ++i) {
    std::string_view w = words[i];
    if (w.empty()) continue;
    Term t;
    t.text = std::string(w);
    // A modifier: name "=" macro-string, the name first.
    auto eq = w.find('=');
    auto colon_or_slash = w.find_first_of(":/");
    if (eq != std::string_view::npos && (colon_or_slash == std::string_view::npos || eq < colon_or_slash)) {
      std::string_view name = w.substr(0, eq);
      std::string_view value = w.substr(eq + 1);
      if (name.empty() || !alpha(name[0])) return "bad modifier name in '" + t.text + "'";
      for (char c : name)
        if (!alnum(c) && c != '-' && c != '_' && c != '.') return "bad modifier name in '" + t.text + "'";
      if (iequals(name, "redirect") || iequals(name, "exp")) {
        auto& slot = iequals(name, "redirect") ? out.redirect : out.exp;
        if (slot) return "two " + to_lower(name) + "= modifiers";
        if (auto e = domain_spec_error(value); !e.empty()) return e;
        slot = std::string(value);
      } else if (auto e = macro_error(value, false); !e.empty()) {
        return e;
      }
      continue;
    }
    if (w[0] == '+' || w[0] == '-' || w[0] == '~' || w[0] == '?') {
      t.qualifier = w[0];
      w.remove_prefix(1);
    }
    auto end = w.find_first_of(":/");
    std::string name = to_lower(w.substr(0, end));
    std::string rest(end == std::string_view::npos ? std::string_view() : w.substr(end));
    if (name == "all") {
      if (!rest.empty()) return "'all' takes no argument";
      t.kind = Kind::all;
    } else if (name == "include" || name == "exists") {
      t.kind = name == "include" ? Kind::include : Kind::exists;
      if (!rest.starts_with(":")) return "'" + name + "' needs a domain";
      t.domain_spec = rest.substr(1);
      if (auto e = domain_spec_error(t.domain_spec); !e.empty()) return e;
    } else if (name == "a" || name == "mx") {
      t.kind = name == "a" ? Kind::a : Kind::mx;
      if (auto e = dual_cidr(rest, t); !e.empty()) return e;
      if (!rest.empty()) {
        if (!rest.starts_with(":")) return "bad '" + name + "' mechanism '" + t.text + "'";
        t.domain_spec = rest.substr(1);
        if (auto e = domain_spec_error(t.domain_spec); !e.empty()) return e;
      }
    } else if (name == "ptr") {
      t.kind = Kind::ptr;
      if (!rest.empty()) {
        if (!rest.starts_with(":")) return "bad 'ptr' mechanism";
        t.domain_spec = rest.substr(1);
        if (auto e = domain_spec_error(t.domain_spec); !e.empty()) return e;
      }
    } else if (name == "ip4" || name == "ip6") {
      bool v6 = name == "ip6";
      t.kind = v6 ? Kind::ip6 : Kind::ip4;
      if (!rest.starts_with(":")) return "'" + name + "' needs an address";
      std::string addr = rest.substr(1);
      if (auto slash = addr.find('/'); slash != std::string::npos) {
        auto v = cidr(std::string_view(addr).substr(slash + 1), v6 ? 128 : 32);
        if (!v) return "bad CIDR length in '" + t.text + "'";
        (v6 ? t.cidr6 : t.cidr4) = *v;
        addr.resize(slash);
      }
      boost::system::error_code ec;
      if (v6) {
        t.network = asio::ip::make_address_v6(addr, ec);
      } else {
        // Dotted quad only (no "1.2.3", no leading zeros): RFC 7208 4.6.1's ip4-network.
        auto parts = split(addr, '.');
        bool ok = parts.size() == 4;
        for (auto p : parts) ok = ok && !p.empty() && p.size() <= 3 && std::all_of(p.begin(), p.end(), digit) && !(p.size() > 1 && p[0] == '0');
        if (ok) t.network = asio::ip::make_address_v4(addr, ec);
        else ec = asio::error::invalid_argument;
      }
      if (ec) return "bad address in '" + t.text + "'";
    } else {
      return "unknown mechanism '" + name + "'";
    }
    out.terms.push_back(std::move(t));
  }
  return "";
}

// --- evaluation ------------------------------------------------------------------------------------

// A domain name usable in a query (4.3): labels of 1 to 63 octets, at most 253 in all, two labels or more.
bool valid_domain(std::string_view d, bool need_two_labels = true) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253) return false;
  auto labels = split(d, '.');
  if (need_two_labels && labels.size() < 2) return false;
  for (auto l : labels)
    if (l.empty() || l.size() > 63) return false;
  return true;
}

bool in_network(const asio::ip::address& ip, const asio::ip::address& net, int bits) {
  if (ip.is_v4() != net.is_v4()) return false;
  auto cmp = [&](const auto& a, const auto& b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      int take = std::clamp(bits - static_cast<int>(i * 8), 0, 8);
      if (take == 0) return true;
      unsigned mask = (0xff00u >> take) & 0xffu;
      if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
  };
  return ip.is_v4() ? cmp(ip.to_v4().to_bytes(), net.to_v4().to_bytes()) : cmp(ip.to_v6().to_bytes(), net.to_v6().to_bytes());
}

std::string url_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (alnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

struct Check {
  dns::Resolver& resolver;
  Request req;
  asio::ip::address ip;
  std::string sender;  // s
  std::string local;   // l
  std::string sender_domain;  // o
  int dns_terms = 0;
  int voids = 0;
  std::optional<std::string> validated;  // %{p}, once looked up

  void count_term() {
    if (++dns_terms > max_dns_terms) throw Stop{Result::permerror, "more than 10 DNS lookups"};
  }
  void count_void() {
    if (++voids > max_void_lookups) throw Stop{Result::permerror, "more than 2 void DNS lookups"};
  }
  dns::Family family() const { return ip.is_v4() ? dns::Family::v4 : dns::Family::v6; }
};

std::string ip_macro(const asio::ip::address& ip) {
  if (ip.is_v4()) return ip.to_string();
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : ip.to_v6().to_bytes()) {
    if (!out.empty()) out += '.';
    out += hex[b >> 4];
    out += '.';
    out += hex[b & 0xf];
  }
  return out;
}

// The validated domain name of the client (5.5): a PTR name whose addresses include the client.
// `target` "": any; else the first that is `target` or a subdomain of it.
asio::awaitable<std::optional<std::string>> validated_name(Check& c, std::string target) {
  dns::NameAnswer names = co_await c.resolver.ptr(c.ip);
  if (names.status != dns::NameAnswer::ok) co_return std::nullopt;
  std::optional<std::string> any;
  std::size_t n = 0;
  for (const auto& name : names.names) {
    if (++n > max_ptr_names) break;
    dns::AddressAnswer a = co_await c.resolver.addresses(name, c.family());
    if (a.status != dns::AddressAnswer::ok) continue;
    if (std::find(a.addresses.begin(), a.addresses.end(), c.ip) == a.addresses.end()) continue;
    if (target.empty()) co_return name;
    if (iequals(name, target) || (name.size() > target.size() && name[name.size() - target.size() - 1] == '.' &&
                                  iequals(std::string_view(name).substr(name.size() - target.size()), target)))
      co_return name;
    if (!any) any = name;
  }
  co_return target.empty() ? any : std::nullopt;
}

// Expands a macro-string (already checked by macro_error).
asio::awaitable<std::string> expand(Check& c, std::string spec, std::string domain) {
  std::string out;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != '%') {
      out += spec[i];
      continue;
    }
    char n = spec[++i];
    if (n == '%') { out += '%'; continue; }
    if (n == '_') { out += ' '; continue; }
    if (n == '-') { out += "%20"; continue; }
    auto close = spec.find('}', i);
    std::string body = spec.substr(i + 1, close - i - 1);
    i = close;
    char letter = body[0];
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(letter)));
    std::string value;
    switch (lower) {
      case 's': value = c.sender; break;
      case 'l': value = c.local; break;
      case 'o': value = c.sender_domain; break;
      case 'd': value = domain; break;
      case 'i': value = ip_macro(c.ip); break;
      case 'p':
        if (!c.validated) {
          std::string any;
          auto name = co_await validated_name(c, any);
          c.validated = name.value_or("unknown");
        }
        value = *c.validated;
        break;
      case 'v': value = c.ip.is_v4() ? "in-addr" : "ip6"; break;
      case 'h': value = c.req.helo; break;
      case 'c': value = c.ip.to_string(); break;
      case 'r': value = c.req.receiver.empty() ? "unknown" : c.req.receiver; break;
      case 't':
        value = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count());
        break;
    }
    std::size_t j = 1;
    int keep = 0;
    while (j < body.size() && digit(body[j])) keep = std::min(keep * 10 + (body[j++] - '0'), 1000);
    bool reverse = j < body.size() && (body[j] == 'r' || body[j] == 'R');
    if (reverse) ++j;
    std::string delims = body.substr(j);
    if (delims.empty()) delims = ".";
    std::vector<std::string> parts(1);
    for (char ch : value) {
      if (delims.find(ch) != std::string::npos) parts.emplace_back();
      else parts.back() += ch;
    }
    if (reverse) std::reverse(parts.begin(), parts.end());
    if (keep > 0 && static_cast<std::size_t>(keep) < parts.size()) parts.erase(parts.begin(), parts.end() - keep);
    std::string joined;
    for (std::size_t k = 0; k < parts.size(); ++k) joined += (k ? "." : "") + parts[k];
    out += std::isupper(static_cast<unsigned char>(letter)) ? url_escape(joined) : joined;
  }
  co_return out;
}

// A domain-spec expanded for a query: longer than 253 octets, labels are dropped from the left (7.3).
asio::awaitable<std::string> target_name(Check& c, std::string spec, std::string domain) {
  std::string t = co_await expand(c, spec, domain);
  while (!t.empty() && t.back() == '.') t.pop_back();
  while (t.size() > 253) {
    auto dot = t.find('.');
    if (dot == std::string::npos) break;
    t.erase(0, dot + 1);
  }
  co_return t;
}

asio::awaitable<Outcome> check_host(Check& c, std::string domain);

// The name an a or mx mechanism looks up (the current domain without a domain-spec), its DNS term
// counted; "" when the expanded name cannot be asked (a void lookup).
asio::awaitable<std::string> mechanism_target(Check& c, const Term& t, std::string domain) {
  c.count_term();
  std::string target = domain;
  if (!t.domain_spec.empty()) target = co_await target_name(c, t.domain_spec, domain);
  if (valid_domain(target, false)) co_return target;
  c.count_void();
  co_return std::string();
}

// Whether `t` matches; throws Stop for temperror/permerror.
asio::awaitable<bool> matches(Check& c, const Term& t, std::string domain) {
  switch (t.kind) {
    case Kind::all: co_return true;
    case Kind::ip4:
    case Kind::ip6: co_return in_network(c.ip, t.network, t.kind == Kind::ip4 ? t.cidr4 : t.cidr6);
    case Kind::include: {
      c.count_term();
      std::string target = co_await target_name(c, t.domain_spec, domain);
      Outcome sub = co_await check_host(c, target);
      switch (sub.result) {
        case Result::pass: co_return true;
        case Result::fail:
        case Result::softfail:
        case Result::neutral: co_return false;
        case Result::temperror: throw Stop{Result::temperror, sub.problem};
        case Result::permerror: throw Stop{Result::permerror, sub.problem};
        case Result::none: throw Stop{Result::permerror, "include:" + target + " has no SPF record"};
      }
      co_return false;
    }
    case Kind::a: {
      std::string target = co_await mechanism_target(c, t, domain);
      if (target.empty()) co_return false;
      dns::AddressAnswer a = co_await c.resolver.addresses(target, c.family());
      if (a.status == dns::AddressAnswer::temp_failure) throw Stop{Result::temperror, "DNS: " + target + ": " + a.error};
      if (a.status != dns::AddressAnswer::ok) {
        c.count_void();
        co_return false;
      }
      for (const auto& addr : a.addresses)
        if (in_network(c.ip, addr, c.ip.is_v4() ? t.cidr4 : t.cidr6)) co_return true;
      co_return false;
    }
    case Kind::mx: {
      std::string target = co_await mechanism_target(c, t, domain);
      if (target.empty()) co_return false;
      dns::MxAnswer mx = co_await c.resolver.mx(target);
      if (mx.status == dns::MxAnswer::temp_failure) throw Stop{Result::temperror, "DNS: " + target + ": " + mx.error};
      if (mx.status == dns::MxAnswer::nxdomain || mx.status == dns::MxAnswer::no_records) {
        c.count_void();
        co_return false;
      }
      if (mx.hosts.size() > max_mx_names) throw Stop{Result::permerror, target + " has more than 10 MX hosts"};
      for (const auto& h : mx.hosts) {
        dns::AddressAnswer a = co_await c.resolver.addresses(h.name, c.family());
        if (a.status == dns::AddressAnswer::temp_failure) throw Stop{Result::temperror, "DNS: " + h.name + ": " + a.error};
        for (const auto& addr : a.addresses)
          if (in_network(c.ip, addr, c.ip.is_v4() ? t.cidr4 : t.cidr6)) co_return true;
      }
      co_return false;
    }
    case Kind::ptr: {
      c.count_term();
      std::string target = domain;
      if (!t.domain_spec.empty()) target = co_await target_name(c, t.domain_spec, domain);
      std::string lower = to_lower(target);
      auto name = co_await validated_name(c, lower);
      co_return name.has_value();
    }
    case Kind::exists: {
      c.count_term();
      std::string target = co_await target_name(c, t.domain_spec, domain);
      if (!valid_domain(target, false)) {
        c.count_void();
        co_return false;
      }
      dns::AddressAnswer a = co_await c.resolver.addresses(target, dns::Family::v4);  // always A (5.7)
      if (a.status == dns::AddressAnswer::temp_failure) throw Stop{Result::temperror, "DNS: " + target + ": " + a.error};
      if (a.status != dns::AddressAnswer::ok) {
        c.count_void();
        co_return false;
      }
      co_return true;
    }
  }
  co_return false;
}

Result qualifier_result(char q) {
  switch (q) {
    case '-': return Result::fail;
    case '~': return Result::softfail;
    case '?': return Result::neutral;
    default: return Result::pass;
  }
}

// The explanation of a fail (6.2): the TXT record at the expanded exp=, itself expanded; "" on any trouble.
asio::awaitable<std::string> explanation(Check& c, std::string spec, std::string domain) {
  std::string target = co_await target_name(c, spec, domain);
  if (!valid_domain(target, false)) co_return std::string();
  dns::TxtAnswer txt = co_await c.resolver.txt(target);
  if (txt.status != dns::TxtAnswer::ok || txt.records.size() != 1) co_return std::string();
  const std::string& text = txt.records.front();
  for (unsigned char ch : text)
    if (ch < 0x20 || ch > 0x7e) co_return std::string();
  if (!macro_error(text, true).empty()) co_return std::string();
  co_return co_await expand(c, text, domain);
}

asio::awaitable<Outcome> check_host(Check& c, std::string domain) {
  Outcome out;
  out.domain = to_lower(domain);
  while (!out.domain.empty() && out.domain.back() == '.') out.domain.pop_back();
  if (!valid_domain(out.domain)) {
    out.problem = "'" + domain + "' is not a domain name";
    co_return out;
  }
  dns::TxtAnswer txt = co_await c.resolver.txt(out.domain);
  if (txt.status == dns::TxtAnswer::temp_failure) {
    out.result = Result::temperror;
    out.problem = "DNS: " + out.domain + ": " + txt.error;
    co_return out;
  }
  std::vector<const std::string*> spf;
  for (const auto& r : txt.records)
    if (istarts_with(r, "v=spf1") && (r.size() == 6 || r[6] == ' ')) spf.push_back(&r);
  if (spf.empty()) {
    out.problem = "no SPF record at " + out.domain;
    co_return out;
  }
  if (spf.size() > 1) {
    out.result = Result::permerror;
    out.problem = out.domain + " has more than one SPF record";
    co_return out;
  }
  Record rec;
  if (auto e = parse(*spf.front(), rec); !e.empty()) {
    out.result = Result::permerror;
    out.problem = out.domain + ": " + e;
    co_return out;
  }
  for (const auto& t : rec.terms) {
    if (!co_await matches(c, t, out.domain)) continue;
    out.result = qualifier_result(t.qualifier);
    out.mechanism = t.text;
    if (out.result == Result::fail && rec.exp) out.explanation = co_await explanation(c, *rec.exp, out.domain);
    co_return out;
  }
  if (rec.redirect) {
    c.count_term();
    std::string target = co_await target_name(c, *rec.redirect, out.domain);
    Outcome sub = co_await check_host(c, target);
    if (sub.result == Result::none) {
      sub.result = Result::permerror;
      sub.problem = "redirect=" + target + ": " + sub.problem;
    }
    co_return sub;
  }
  out.result = Result::neutral;
  co_return out;
}

asio::awaitable<Outcome> run(dns::Resolver& resolver, Request req, std::string domain) {
  Check c{resolver, req, req.ip};
  if (c.ip.is_v6() && c.ip.to_v6().is_v4_mapped()) c.ip = asio::ip::make_address_v4(asio::ip::v4_mapped, c.ip.to_v6());
  std::string sender = req.sender.empty() ? "postmaster@" + req.helo : req.sender;
  auto at = sender.rfind('@');
  c.local = at == std::string::npos || at == 0 ? "postmaster" : sender.substr(0, at);
  c.sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
  c.sender = c.local + "@" + c.sender_domain;
  try {
    co_return co_await check_host(c, domain);
  } catch (const Stop& s) {
    Outcome out;
    out.result = s.result;
    out.domain = to_lower(domain);
    out.problem = s.why;
    co_return out;
  }
}

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::none: return "none";
    case Result::neutral: return "neutral";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::softfail: return "softfail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "none";
}

asio::awaitable<Outcome> check_mail_from(dns::Resolver& resolver, Request request) {
  if (request.sender.empty()) co_return co_await check_helo(resolver, std::move(request));
  auto at = request.sender.rfind('@');
  std::string domain = at == std::string::npos ? request.sender : request.sender.substr(at + 1);
  co_return co_await run(resolver, request, domain);
}

asio::awaitable<Outcome> check_helo(dns::Resolver& resolver, Request request) {
  std::string domain = request.helo;
  request.sender.clear();
  co_return co_await run(resolver, request, domain);
}

std::string syntax_error(std::string_view record) {
  Record rec;
  if (!istarts_with(record, "v=spf1") || (record.size() > 6 && record[6] != ' ')) return "not an SPF record";
  return parse(record, rec);
}

}  // namespace tern::mailauth::spf
