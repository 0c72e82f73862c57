// spam/lists: the allow and deny lists of [spam] (docs/spam.md). Each entry is one of
//
//   192.0.2.7, 2001:db8::/32, 10.0.0.0/8   the client's address, or a network in CIDR notation
//   user@example.org, *@example.org, news-*@*.example.com
//                                          an address (the envelope sender, or a recipient); * matches
//                                          any run of characters, case is ignored
//   example.org, *.example.org             a domain: the sender's domain (the envelope's, and the From
//                                          field's), or a recipient's
//
// An entry with an address or domain pattern never matches a client address and the other way round.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/result.hpp"

namespace tern::spam {

// `*` matches any run of characters (also none); case is ignored.
bool wildcard_match(std::string_view pattern, std::string_view text);

class AddressList {
 public:
  // Each entry checked; the error names the entry (the caller adds file and key).
  static Result<AddressList> parse(const std::vector<std::string>& entries);

  bool empty() const { return networks_.empty() && addresses_.empty() && domains_.empty(); }
  // The entry that matches, or "" when none.
  std::string match_ip(const boost::asio::ip::address& ip) const;
  std::string match_address(std::string_view address) const;  // an address's own entries or its domain's
  std::string match_domain(std::string_view domain) const;

 private:
  struct Network {
    boost::asio::ip::address base;
    unsigned prefix = 0;
    std::string text;
  };
  std::vector<Network> networks_;
  std::vector<std::string> addresses_;  // patterns with '@'
  std::vector<std::string> domains_;    // patterns without
};

}  // namespace tern::spam
