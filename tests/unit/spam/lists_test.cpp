// spam/lists: allow and deny entries (networks, address and domain patterns) and wildcard matching.
#include <gtest/gtest.h>

#include "spam/lists.hpp"

namespace tern::spam {
namespace {

boost::asio::ip::address ip(const char* s) { return boost::asio::ip::make_address(s); }

TEST(Wildcard, Matches) {
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("*@example.org", "Alice@Example.ORG"));
  EXPECT_TRUE(wildcard_match("news-*@*.shop.test", "news-12@mail.shop.test"));
  EXPECT_FALSE(wildcard_match("news-*@*.shop.test", "news-12@shop.test"));
  EXPECT_FALSE(wildcard_match("a*b", "ac"));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXbYbZc"));
  // no exponential backtracking on a hostile pattern
  EXPECT_FALSE(wildcard_match("*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(AddressList, NetworksAddressesAndDomains) {
  auto l = AddressList::parse({"192.0.2.0/24", "2001:db8::/32", "203.0.113.7", "*@partner.test", "boss@tern.test",
                               "*.example.org", "example.org"});
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->match_ip(ip("192.0.2.200")), "192.0.2.0/24");
  EXPECT_EQ(l->match_ip(ip("192.0.3.1")), "");
  EXPECT_EQ(l->match_ip(ip("::ffff:192.0.2.5")), "192.0.2.0/24");
  EXPECT_EQ(l->match_ip(ip("2001:db8:1::5")), "2001:db8::/32");
  EXPECT_EQ(l->match_ip(ip("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(l->match_ip(ip("203.0.113.8")), "");
  EXPECT_EQ(l->match_address("Anyone@Partner.test"), "*@partner.test");
  EXPECT_EQ(l->match_address("boss@tern.test"), "boss@tern.test");
  EXPECT_EQ(l->match_address("clerk@tern.test"), "");
  EXPECT_EQ(l->match_address("x@mail.example.org"), "*.example.org");
  EXPECT_EQ(l->match_address("x@example.org"), "example.org");
  EXPECT_EQ(l->match_domain("notexample.org"), "");
  EXPECT_EQ(l->match_address(""), "");
}

TEST(AddressList, BadEntriesAreNamed) {
  for (auto bad : {"192.0.2.0/33", "10.0.0.1/x", "", "two words", "a,b"}) {
    auto l = AddressList::parse({bad});
    EXPECT_FALSE(l) << bad;
  }
  auto l = AddressList::parse({"192.0.2.0/33"});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("192.0.2.0/33"), std::string::npos);
  EXPECT_TRUE(AddressList::parse({})->empty());
}

}  // namespace
}  // namespace tern::spam
