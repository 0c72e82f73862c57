#include "filter/connection.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace tern::filter {

namespace ip = boost::asio::ip;

std::string client_network(const ip::address& a, unsigned ipv4_prefix, unsigned ipv6_prefix) {
  auto mask = [](auto bytes, unsigned prefix) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - static_cast<unsigned>(i) * 8 : 0;
      bytes[i] = static_cast<unsigned char>(bytes[i] & (0xff00u >> keep));
    }
    return bytes;
  };
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return client_network(ip::make_address_v4(ip::v4_mapped, a.to_v6()), ipv4_prefix, ipv6_prefix);
  if (a.is_v4()) {
    ipv4_prefix = std::min(ipv4_prefix, 32u);
    auto net = ip::address_v4(mask(a.to_v4().to_bytes(), ipv4_prefix)).to_string();
    return ipv4_prefix == 32 ? net : fmt::format("{}/{}", net, ipv4_prefix);
  }
  ipv6_prefix = std::min(ipv6_prefix, 128u);
  auto net = ip::address_v6(mask(a.to_v6().to_bytes(), ipv6_prefix)).to_string();
  return ipv6_prefix == 128 ? net : fmt::format("{}/{}", net, ipv6_prefix);
}

namespace {

std::string_view status_name(ReverseDns::Status s) {
  switch (s) {
    case ReverseDns::Status::confirmed: return "pass";
    case ReverseDns::Status::unconfirmed: return "fail";
    case ReverseDns::Status::none: return "none";
    case ReverseDns::Status::unknown: break;
  }
  return "temperror";
}

}  // namespace

net::awaitable<ReverseDns> reverse_dns(const Context& ctx, dns::Resolver* resolver) {
  auto& notes = ctx.notes->session;
  if (auto it = notes.find("fcrdns"); it != notes.end()) {
    ReverseDns r;
    for (auto s : {ReverseDns::Status::confirmed, ReverseDns::Status::unconfirmed, ReverseDns::Status::none})
      if (it->second == status_name(s)) r.status = s;
    r.name = notes["fcrdns.name"];
    co_return r;
  }
  ReverseDns r;
  boost::system::error_code ec;
  auto client = ip::make_address(ctx.client_address, ec);
  if (!resolver || ec || client.is_unspecified()) co_return r;  // not kept: nothing was asked
  dns::NameAnswer names = co_await resolver->ptr(client);
  if (names.status == dns::NameAnswer::nxdomain || names.status == dns::NameAnswer::no_records) {
    r.status = ReverseDns::Status::none;
  } else if (names.status == dns::NameAnswer::ok && !names.names.empty()) {
    r.status = ReverseDns::Status::unconfirmed;
    r.name = names.names.front();
    for (std::size_t i = 0; i < names.names.size() && i < 3; ++i) {
      dns::AddressAnswer a = co_await resolver->addresses(names.names[i]);
      if (std::find(a.addresses.begin(), a.addresses.end(), client) != a.addresses.end()) {
        r.status = ReverseDns::Status::confirmed;
        r.name = names.names[i];
        break;
      }
    }
  }
  notes["fcrdns"] = std::string(status_name(r.status));
  notes["fcrdns.name"] = r.name;
  co_return r;
}

}  // namespace tern::filter
