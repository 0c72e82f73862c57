// spam/received: the client a relay names in its Received field, in the forms the common MTAs write.
#include <gtest/gtest.h>

#include "spam/received.hpp"

namespace tern::spam {
namespace {

Relay read(std::string_view v) {
  auto r = parse_received(v);
  EXPECT_TRUE(r) << v;
  return r.value_or(Relay{});
}

TEST(Received, Postfix) {
  auto r = read("from mail.example.org (mail.example.org [192.0.2.10]) by mx.tern.test (Postfix) with ESMTPS id 4Xy; "
                "Fri, 4 Dec 2026 10:00:00 +0000");
  EXPECT_EQ(r.ip, "192.0.2.10");
  EXPECT_EQ(r.helo, "mail.example.org");
  EXPECT_EQ(r.rdns, "mail.example.org");
  r = read("from tugo (unknown [211.115.78.51]) by mx.example (Postfix) with SMTP id 1");
  EXPECT_EQ(r.helo, "tugo");
  EXPECT_EQ(r.rdns, "");
  EXPECT_TRUE(r.rdns_known);
  r = read("from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8::1]) by mx.example (Postfix)");
  EXPECT_EQ(r.ip, "2001:db8::1");
  EXPECT_EQ(r.helo, "[IPv6:2001:db8::1]");
  // A HELO that is an address literal is only the client's word: the relay's bracket counts
  r = read("from [10.0.0.1] (unknown [192.0.2.1]) by mx.example (Postfix)");
  EXPECT_EQ(r.ip, "192.0.2.1");
  EXPECT_EQ(r.helo, "[10.0.0.1]");
  EXPECT_EQ(read("from [10.0.0.1] (host.example [192.0.2.1]) by mx.example (Postfix)").rdns, "host.example");
}

TEST(Received, Sendmail) {
  auto r = read("from amtelsa.com ([212.64.129.48]) by dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g129Rj812145");
  EXPECT_EQ(r.ip, "212.64.129.48");
  EXPECT_EQ(r.helo, "amtelsa.com");
  EXPECT_EQ(r.rdns, "");  // sendmail writes the name when it has one
  r = read("from lbrout12.listbuilder.com (lbrout12.ListBuilder.com [204.71.191.16]) by lerami.lerctr.org (8.12.2)");
  EXPECT_EQ(r.rdns, "lbrout12.listbuilder.com");
  r = read("from x.example (host.example [198.51.100.3] (may be forged)) by y.example (8.12)");
  EXPECT_EQ(r.ip, "198.51.100.3");
  EXPECT_EQ(r.rdns, "host.example");
}

TEST(Received, EximQmailAndTern) {
  auto r = read("from applejuice.dialups.example ([212.17.34.18] helo=sever.netnation.ie) by saffron.example with esmtp "
                "(Exim 3.20 #1) id 17ABkN-0000VZ-00");
  EXPECT_EQ(r.ip, "212.17.34.18");
  EXPECT_EQ(r.helo, "sever.netnation.ie");
  EXPECT_EQ(r.rdns, "applejuice.dialups.example");
  r = read("from [203.0.113.9] (helo=PC1) by mx.example with smtp (Exim 4.96)");
  EXPECT_EQ(r.helo, "PC1");
  EXPECT_EQ(r.rdns, "");
  r = read("from mail.example ([203.0.113.9]) by mx.example with esmtp (Exim 4.96)");
  EXPECT_EQ(r.rdns, "mail.example");  // Exim leaves the HELO out when it is the name
  r = read("from unknown (HELO desktop) (203.0.113.20) by mail.example with SMTP");
  EXPECT_EQ(r.ip, "203.0.113.20");
  EXPECT_EQ(r.helo, "desktop");
  EXPECT_EQ(r.rdns, "");
  r = read("from client.example ([192.0.2.77])\r\n\tby mx.tern.test (Tern) with ESMTP id 661c");
  EXPECT_EQ(r.helo, "client.example");
  EXPECT_FALSE(r.rdns_known);
}

TEST(Received, WhatCannotBeRead) {
  for (const char* v : {"", "by mx.example with SMTP", "from localhost by mx.example", "(qmail 5390 invoked by uid 0)",
                        "from x ([not-an-address]) by y", "from x ([192.0.2.1 by y", "fromx ([192.0.2.1]) by y"})
    EXPECT_FALSE(parse_received(v)) << v;
  // " by " inside a comment is not the end of the clause
  auto r = read("from a.example (relayed by b.example [192.0.2.5]) by c.example");
  EXPECT_EQ(r.ip, "192.0.2.5");
  EXPECT_EQ(r.rdns, "b.example");
  EXPECT_FALSE(parse_received("from " + std::string(5000, 'x') + " ([192.0.2.1]) by y"));  // past the first 4 KiB
}

}  // namespace
}  // namespace tern::spam
