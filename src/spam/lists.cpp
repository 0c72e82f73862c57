#include "spam/lists.hpp"

#include <cctype>

#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::spam {

namespace ip = boost::asio::ip;

bool wildcard_match(std::string_view p, std::string_view t) {
  // Iterative matching with one backtrack point (the last star): linear in practice, never exponential.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && same(p[pi], t[ti])) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

bool in_network(const ip::address& a, const ip::address& base, unsigned prefix) {
  if (a.is_v4() != base.is_v4()) {
    if (a.is_v6() && a.to_v6().is_v4_mapped() && base.is_v4())
      return in_network(ip::make_address_v4(ip::v4_mapped, a.to_v6()), base, prefix);
    return false;
  }
  auto bytes = [](const ip::address& x) {
    std::vector<unsigned char> out;
    if (x.is_v4()) {
      auto b = x.to_v4().to_bytes();
      out.assign(b.begin(), b.end());
    } else {
      auto b = x.to_v6().to_bytes();
      out.assign(b.begin(), b.end());
    }
    return out;
  };
  auto x = bytes(a), y = bytes(base);
  for (unsigned i = 0; i < prefix; ++i) {
    unsigned char mask = static_cast<unsigned char>(0x80u >> (i % 8));
    if ((x[i / 8] & mask) != (y[i / 8] & mask)) return false;
  }
  return true;
}

bool valid_pattern_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("*.-_+=@'!#$%&/?^`{|}~").find(c) != std::string_view::npos ||
         static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

Result<AddressList> AddressList::parse(const std::vector<std::string>& entries) {
  AddressList out;
  for (const auto& raw : entries) {
    std::string_view e = trim(raw);
    if (e.empty()) return Error{"an empty entry"};
    boost::system::error_code ec;
    std::string_view host = e, len;
    if (auto slash = e.find('/'); slash != std::string_view::npos && e.find('@') == std::string_view::npos) {
      host = e.substr(0, slash);
      len = e.substr(slash + 1);
    }
    auto addr = ip::make_address(std::string(host), ec);
    if (!ec) {
      unsigned max = addr.is_v4() ? 32 : 128;
      unsigned prefix = max;
      if (!len.empty() || host.size() != e.size()) {
        auto n = parse_u64(len);
        if (!n || *n > max) return Error{fmt::format("'{}': the prefix length must be 0 to {}", std::string(e), max)};
        prefix = static_cast<unsigned>(*n);
      }
      out.networks_.push_back({addr, prefix, std::string(e)});
      continue;
    }
    if (host.size() != e.size()) return Error{fmt::format("'{}': not an address/prefix", std::string(e))};
    for (char c : e)
      if (!valid_pattern_char(c)) return Error{fmt::format("'{}': not an address, domain or network", std::string(e))};
    if (e.find('@') != std::string_view::npos) out.addresses_.push_back(to_lower(e));
    else out.domains_.push_back(to_lower(e));
  }
  return out;
}

std::string AddressList::match_ip(const ip::address& a) const {
  for (const auto& n : networks_)
    if (in_network(a, n.base, n.prefix)) return n.text;
  return {};
}

std::string AddressList::match_address(std::string_view address) const {
  if (address.empty()) return {};
  for (const auto& p : addresses_)
    if (wildcard_match(p, address)) return p;
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : match_domain(address.substr(at + 1));
}

std::string AddressList::match_domain(std::string_view domain) const {
  if (domain.empty()) return {};
  for (const auto& p : domains_)
    if (wildcard_match(p, domain)) return p;
  return {};
}

}  // namespace tern::spam
