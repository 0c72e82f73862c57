// filter/connection: what several stages want to know about the client itself, found once.
//
//   client_network   the unit that greylisting and the inbound rates count by: an IPv4 address's /24
//                    (or /32), an IPv6 address's /64, as postgrey and most rate limiters do, since one
//                    sender's outbound servers share a network and one IPv6 host has a whole /64
//   reverse_dns      forward-confirmed reverse DNS (a name for the address whose own addresses include
//                    it), asked once per session and kept in the session notes ("fcrdns", "fcrdns.name")
//                    for the greylisting and spam stages
#pragma once
#include <string>

#include <boost/asio/ip/address.hpp>

#include "dns/resolver.hpp"
#include "filter/filter.hpp"

namespace tern::filter {

// "192.0.2.0/24", "2001:db8:1:2::/64"; the address itself when the prefix is the whole address.
std::string client_network(const boost::asio::ip::address& a, unsigned ipv4_prefix, unsigned ipv6_prefix);

struct ReverseDns {
  enum class Status { confirmed, unconfirmed, none, unknown };
  Status status = Status::unknown;  // none: no PTR record; unknown: DNS failed, or no resolver
  std::string name;                 // the first PTR name (confirmed: the one that matched)
};

// `resolver` may be null (no DNS: unknown).
net::awaitable<ReverseDns> reverse_dns(const Context& ctx, dns::Resolver* resolver);

}  // namespace tern::filter
