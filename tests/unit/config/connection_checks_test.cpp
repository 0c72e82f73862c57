// config: the connection checks' keys (docs/spam.md "Connection checks"): [limits] tarpit and rates,
// [greylist], and CONTRACT.md's [filter] greylisting.
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "config/config.hpp"

namespace tern::config {
namespace {

using namespace std::chrono_literals;

TEST(ConfigConnectionChecks, Defaults) {
  auto r = parse("", "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->greylisting);
  EXPECT_EQ(r->greylist.delay, 5min);
  EXPECT_EQ(r->greylist.expire, 24h);
  EXPECT_EQ(r->greylist.retention, 35 * 24h);
  EXPECT_EQ(r->greylist.auto_allow, 5u);
  EXPECT_EQ(r->greylist.skip_if, (std::vector<std::string>{"fcrdns", "spf"}));
  EXPECT_EQ(r->greylist.ipv4_prefix, 24u);
  EXPECT_EQ(r->greylist.ipv6_prefix, 64u);
  const auto& l = r->limits;
  EXPECT_EQ(l.tarpit_after, 3u);
  EXPECT_EQ(l.tarpit_delay, 1s);
  EXPECT_EQ(l.tarpit_max, 5s);
  EXPECT_EQ(l.unknown_recipients_delay_after, 5u);
  EXPECT_EQ(l.max_unknown_recipients, 10u);
  EXPECT_EQ(l.connections_per_ip_per_minute, 60u);
  EXPECT_EQ(l.messages_per_ip_per_hour, 1000u);
  EXPECT_EQ(l.recipients_per_ip_per_hour, 2000u);
  EXPECT_EQ(l.messages_per_sender_per_hour, 500u);
  EXPECT_EQ(l.rate_limit_exempt.match_ip(boost::asio::ip::make_address("127.0.0.5")), "127.0.0.0/8");
  EXPECT_EQ(l.rate_limit_exempt.match_ip(boost::asio::ip::make_address("::1")), "::1");
  EXPECT_EQ(l.rate_limit_exempt.match_ip(boost::asio::ip::make_address("192.0.2.1")), "");
}

TEST(ConfigConnectionChecks, EveryKey) {
  auto r = parse(R"(
[filter]
greylisting = true
[greylist]
delay = "1s"
expire = "1h"
retention = "7d"
auto_allow = 0
skip_if = []
ipv4_prefix = 32
ipv6_prefix = 56
[limits]
tarpit_after = 0
tarpit_delay = "250ms"
tarpit_max = "2s"
unknown_recipients_delay_after = 2
max_unknown_recipients = 4
connections_per_ip_per_minute = 3
messages_per_ip_per_hour = 0
recipients_per_ip_per_hour = 7
messages_per_sender_per_hour = 8
rate_limit_exempt = ["192.0.2.0/24"]
)",
                 "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->greylisting);
  EXPECT_EQ(r->greylist.delay, 1s);
  EXPECT_EQ(r->greylist.expire, 1h);
  EXPECT_EQ(r->greylist.retention, 7 * 24h);
  EXPECT_EQ(r->greylist.auto_allow, 0u);
  EXPECT_TRUE(r->greylist.skip_if.empty());
  EXPECT_EQ(r->greylist.ipv4_prefix, 32u);
  EXPECT_EQ(r->greylist.ipv6_prefix, 56u);
  const auto& l = r->limits;
  EXPECT_EQ(l.tarpit_after, 0u);
  EXPECT_EQ(l.tarpit_delay, 250ms);
  EXPECT_EQ(l.tarpit_max, 2s);
  EXPECT_EQ(l.unknown_recipients_delay_after, 2u);
  EXPECT_EQ(l.max_unknown_recipients, 4u);
  EXPECT_EQ(l.connections_per_ip_per_minute, 3u);
  EXPECT_EQ(l.messages_per_ip_per_hour, 0u);
  EXPECT_EQ(l.recipients_per_ip_per_hour, 7u);
  EXPECT_EQ(l.messages_per_sender_per_hour, 8u);
  EXPECT_EQ(l.rate_limit_exempt.match_ip(boost::asio::ip::make_address("127.0.0.1")), "");
  EXPECT_EQ(l.rate_limit_exempt.match_ip(boost::asio::ip::make_address("192.0.2.9")), "192.0.2.0/24");
}

TEST(ConfigConnectionChecks, BadValuesNameTheKey) {
  auto error = [](const std::string& text) {
    auto r = parse(text, "/opt/tern/tern.toml");
    return r ? std::string("(accepted)") : r.error().message;
  };
  EXPECT_EQ(error("[filter]\ngreylisting = \"yes\"\n"), "/opt/tern/tern.toml:2: filter.greylisting: expected true or false");
  EXPECT_EQ(error("[greylist]\ndelay = \"soon\"\n"),
            "/opt/tern/tern.toml:2: greylist.delay: expected a duration such as \"30s\", \"5m\", \"4h\" or \"4d\"");
  EXPECT_EQ(error("[greylist]\ndelay = \"2d\"\n"), "/opt/tern/tern.toml:1: greylist.expire: must be longer than greylist.delay");
  EXPECT_EQ(error("[greylist]\nexpire = \"40d\"\n"),
            "/opt/tern/tern.toml:1: greylist.retention: must not be shorter than greylist.expire");
  EXPECT_EQ(error("[greylist]\nskip_if = [\"dkim\"]\n"),
            "/opt/tern/tern.toml:2: greylist.skip_if: expected a list of \"fcrdns\" and \"spf\"");
  EXPECT_EQ(error("[greylist]\ndelays = \"1m\"\n"),
            "/opt/tern/tern.toml:2: greylist.delays: unknown key (expected one of: delay, expire, retention, auto_allow, "
            "skip_if, ipv4_prefix, ipv6_prefix)");
  EXPECT_EQ(error("[limits]\ntarpit_delay = \"1 second\"\n"),
            "/opt/tern/tern.toml:2: limits.tarpit_delay: expected a delay such as \"250ms\" or \"2s\" (at most 1h)");
  EXPECT_EQ(error("[limits]\ntarpit_max = \"2h\"\n"),
            "/opt/tern/tern.toml:2: limits.tarpit_max: expected a delay such as \"250ms\" or \"2s\" (at most 1h)");
  EXPECT_EQ(error("[limits]\nrate_limit_exempt = [\"300.1.1.1/8\"]\n").substr(0, 48),
            "/opt/tern/tern.toml:2: limits.rate_limit_exempt:");
  EXPECT_NE(error("[limits]\ntarpit = 1\n").find("unknown key (expected one of: max_connections"), std::string::npos);
  EXPECT_NE(error("[limits]\ntarpit = 1\n").find("tarpit_after, tarpit_delay"), std::string::npos);
}

TEST(ConfigConnectionChecks, TheDefaultFileParses) {
  auto r = parse(default_config_text(), "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->greylisting);
}

}  // namespace
}  // namespace tern::config
