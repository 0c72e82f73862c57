// filter/greylist and filter/connection: the greylisting rule, the triplet's parts, the database
// (deferral, retry, auto-allow, expiry, a damaged file set aside).
#include <gtest/gtest.h>

#include <fstream>

#include <boost/asio/ip/address.hpp>

#include "../temp_dir.hpp"
#include "filter/connection.hpp"
#include "filter/greylist.hpp"

namespace tern::filter {
namespace {

using greylist::Decision;
using greylist::Entry;
using greylist::Settings;

const Settings settings{300, 86400, 35 * 86400, 3};

TEST(GreylistDecide, FirstTryWaitsTheDelay) {
  Decision d = greylist::decide(std::nullopt, 1000, settings);
  EXPECT_FALSE(d.pass);
  EXPECT_EQ(d.wait, 300);
  EXPECT_TRUE(d.write);
  EXPECT_EQ(d.entry.first_seen, 1000);
  EXPECT_FALSE(d.entry.passed);
}

TEST(GreylistDecide, AnEarlyRetryWaitsTheRestAndChangesNothing) {
  Decision d = greylist::decide(Entry{1000, 1000, false}, 1100, settings);
  EXPECT_FALSE(d.pass);
  EXPECT_EQ(d.wait, 200);
  EXPECT_FALSE(d.write);
  EXPECT_EQ(d.entry.first_seen, 1000);
}

TEST(GreylistDecide, ARetryAfterTheDelayPassesAndSoDoesEveryLaterOne) {
  Decision d = greylist::decide(Entry{1000, 1100, false}, 1300, settings);
  EXPECT_TRUE(d.pass);
  EXPECT_TRUE(d.confirmed);
  EXPECT_TRUE(d.write);
  EXPECT_TRUE(d.entry.passed);
  EXPECT_EQ(d.entry.last_seen, 1300);

  Decision later = greylist::decide(d.entry, 2000, settings);
  EXPECT_TRUE(later.pass);
  EXPECT_FALSE(later.confirmed);
  EXPECT_FALSE(later.write);  // last_seen is refreshed hourly
  EXPECT_TRUE(greylist::decide(d.entry, 1300 + 3600, settings).write);
}

TEST(GreylistDecide, ForgottenTripletsStartAgain) {
  // Never retried within expire.
  Decision d = greylist::decide(Entry{1000, 1000, false}, 1000 + 86400, settings);
  EXPECT_FALSE(d.pass);
  EXPECT_EQ(d.wait, 300);
  EXPECT_EQ(d.entry.first_seen, 1000 + 86400);
  // Passed, but unseen for the retention.
  d = greylist::decide(Entry{1000, 2000, true}, 2000 + 35 * 86400, settings);
  EXPECT_FALSE(d.pass);
  EXPECT_FALSE(d.entry.passed);
  // A clock that went back: a new wait, never a negative one.
  d = greylist::decide(Entry{5000, 5000, false}, 4000, settings);
  EXPECT_FALSE(d.pass);
  EXPECT_EQ(d.wait, 300);
}

TEST(GreylistKeys, PostgreysSenderSubstitutions) {
  EXPECT_EQ(greylist::normalize_sender("Bounce-12345-Bob=Example.org@Lists.Example"), "bounce-#-bob=example.org@lists.example");
  EXPECT_EQ(greylist::normalize_sender("prvs=1234abcdef=news@shop.example"), "news@shop.example");
  EXPECT_EQ(greylist::normalize_sender("alice+tag42@example.org"), "alice@example.org");
  EXPECT_EQ(greylist::normalize_sender("msprvs1=19075ii2gbp=bounces-123@x.example"), "msprvs#=#ii#gbp=bounces-#@x.example");
  EXPECT_EQ(greylist::normalize_sender(""), "<>");
  EXPECT_EQ(greylist::triplet_key("192.0.2.0/24", "News-1@Shop.Example", "Bob@Tern.Test"),
            "192.0.2.0/24/news-#@shop.example/bob@tern.test");
  EXPECT_EQ(greylist::client_key("192.0.2.0/24", "news@Shop.Example"), "192.0.2.0/24/shop.example");
  EXPECT_EQ(greylist::client_key("192.0.2.0/24", ""), "192.0.2.0/24/<>");
}

TEST(ClientNetwork, IPv4Slash24AndIPv6Slash64) {
  auto a = [](const char* s) { return boost::asio::ip::make_address(s); };
  EXPECT_EQ(client_network(a("192.0.2.77"), 24, 64), "192.0.2.0/24");
  EXPECT_EQ(client_network(a("192.0.2.77"), 32, 64), "192.0.2.77");
  EXPECT_EQ(client_network(a("192.0.2.77"), 20, 64), "192.0.0.0/20");
  EXPECT_EQ(client_network(a("::ffff:192.0.2.77"), 24, 64), "192.0.2.0/24");
  EXPECT_EQ(client_network(a("2001:db8:1:2:3:4:5:6"), 24, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network(a("2001:db8:1:2:3:4:5:6"), 24, 128), "2001:db8:1:2:3:4:5:6");
  EXPECT_EQ(client_network(a("2001:db8:1:2ff:3:4:5:6"), 24, 56), "2001:db8:1:200::/56");
}

class GreylistDatabase : public ::testing::Test {
 protected:
  tern::testing::TempDir tmp_;
  std::filesystem::path file_ = tmp_ / "greylist.db";
  std::filesystem::path lost_ = tmp_ / "mail" / "lost+found";
};

TEST_F(GreylistDatabase, DefersThenPassesAndRemembers) {
  const std::string t = "192.0.2.0/24/news@shop.example/bob@tern.test", c = "192.0.2.0/24/shop.example";
  {
    greylist::Database db(file_, lost_);
    auto a = db.check(t, c, 1000, settings);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_FALSE(a->decision.pass);
    EXPECT_EQ(a->decision.wait, 300);
    a = db.check(t, c, 1200, settings);
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->decision.pass);
    EXPECT_EQ(a->decision.wait, 100);
  }
  greylist::Database again(file_, lost_);  // a restart
  auto a = again.check(t, c, 1300, settings);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->decision.pass);
  EXPECT_TRUE(a->decision.confirmed);
  EXPECT_FALSE(a->auto_allowed);
}

TEST_F(GreylistDatabase, AutoAllowAfterPassedMessagesFromTheClientAndDomain) {
  greylist::Database db(file_, lost_);
  const std::string c = "192.0.2.0/24/shop.example";
  for (int i = 0; i < 3; ++i) {
    auto a = db.check("192.0.2.0/24/news@shop.example/new" + std::to_string(i) + "@tern.test", c, 1000, settings);
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->decision.pass) << i;
    ASSERT_TRUE(db.passed(c, 1000));
  }
  auto a = db.check("192.0.2.0/24/news@shop.example/other@tern.test", c, 1001, settings);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->decision.pass);
  EXPECT_TRUE(a->auto_allowed);
  // Another sender domain from the same network is still unknown.
  a = db.check("192.0.2.0/24/news@else.example/other@tern.test", "192.0.2.0/24/else.example", 1001, settings);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->decision.pass);
  // auto_allow = 0: never.
  Settings never = settings;
  never.auto_allow = 0;
  a = db.check("192.0.2.0/24/news@shop.example/third@tern.test", c, 1002, never);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->decision.pass);
}

TEST_F(GreylistDatabase, ADamagedFileIsSetAsideAndANewOneStarted) {
  {
    std::ofstream f(file_, std::ios::binary);
    f << std::string(8192, 'x');
  }
  greylist::Database db(file_, lost_);
  auto a = db.check("n/s/r", "n/d", 1000, settings);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_FALSE(a->decision.pass);
  EXPECT_TRUE(std::filesystem::exists(lost_ / "greylist.db"));
  EXPECT_TRUE(std::filesystem::exists(lost_ / "greylist.db.why"));
  a = db.check("n/s/r", "n/d", 1300, settings);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->decision.pass);
}

}  // namespace
}  // namespace tern::filter
