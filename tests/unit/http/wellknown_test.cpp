// http/wellknown: the address of an Autodiscover request, and escaping in its answers.
#include <gtest/gtest.h>

#include "http/wellknown.hpp"

namespace tern::http {
namespace {

TEST(Autodiscover, AddressOfTheRequest) {
  EXPECT_EQ(autodiscover_address("<Request><EMailAddress>bob@tern.test</EMailAddress></Request>"), "bob@tern.test");
  EXPECT_EQ(autodiscover_address("<a:EMailAddress> bob@tern.test\n</a:EMailAddress>"), "bob@tern.test");
  EXPECT_EQ(autodiscover_address("<LegacyEMailAddress>x@y</LegacyEMailAddress><EMailAddress>b@t</EMailAddress>"),
            "b@t");
  EXPECT_EQ(autodiscover_address("<Request></Request>"), std::nullopt);
  EXPECT_EQ(autodiscover_address("<EMailAddress>no-at-sign</EMailAddress>"), std::nullopt);
  EXPECT_EQ(autodiscover_address("<EMailAddress>a@b@c</EMailAddress>"), std::nullopt);
  EXPECT_EQ(autodiscover_address("<EMailAddress>a&amp;b@c</EMailAddress>"), std::nullopt);
  EXPECT_EQ(autodiscover_address("<EMailAddress>@c</EMailAddress>"), std::nullopt);
  EXPECT_EQ(autodiscover_address("<EMailAddress>bob@tern.test"), std::nullopt);  // never closed
  std::string big(autodiscover_max_request, ' ');
  EXPECT_EQ(autodiscover_address("<EMailAddress>b@t</EMailAddress>" + big), std::nullopt);
}

TEST(Autodiscover, AnswersAreEscaped) {
  config::Config cfg;
  cfg.hostname = "mx.<x>.test";
  cfg.listen["imaps"] = {config::Endpoint{"127.0.0.1", 993}};
  auto xml = autodiscover_xml(cfg, "o'hara@tern.test");
  EXPECT_NE(xml.find("<Server>mx.&lt;x&gt;.test</Server>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Port>993</Port>"), std::string::npos);
  EXPECT_NE(xml.find("<Encryption>SSL</Encryption>"), std::string::npos);
  EXPECT_EQ(xml.find("POP3"), std::string::npos);  // not in [listen]
  auto err = autodiscover_error(AutodiscoverError::address_not_found, "a < b");
  EXPECT_NE(err.find("<ErrorCode>500</ErrorCode>"), std::string::npos);
  EXPECT_NE(err.find("<Message>a &lt; b</Message>"), std::string::npos);
}

}  // namespace
}  // namespace tern::http
