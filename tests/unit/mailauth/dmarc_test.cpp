// mailauth/dmarc: the record grammar, organizational domains from the Public Suffix List, alignment,
// and the decision (pass by either aligned check, fail, sp=, pct=, temperror, no record).
#include <gtest/gtest.h>

#include "mailauth/dmarc.hpp"

namespace tern::mailauth::dmarc {
namespace {

dns::TxtAnswer txt(std::vector<std::string> records) { return {dns::TxtAnswer::ok, std::move(records), ""}; }
dns::TxtAnswer nothing() { return {dns::TxtAnswer::nxdomain, {}, "no such domain"}; }

TEST(Record, Parses) {
  auto r = parse_record("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=20; rua=mailto:a@x.test,mailto:b@y.test");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->p, Policy::quarantine);
  EXPECT_EQ(r->sp, Policy::reject);
  EXPECT_TRUE(r->strict_dkim);
  EXPECT_FALSE(r->strict_spf);
  EXPECT_EQ(r->pct, 20);
  EXPECT_EQ(r->rua.size(), 2u);
  EXPECT_FALSE(parse_record("p=reject; v=DMARC1"));  // v first
  EXPECT_FALSE(parse_record("v=DMARC1; p=bogus"));
  EXPECT_FALSE(parse_record("v=DMARC1"));
  auto rua_only = parse_record("v=DMARC1; rua=mailto:r@x.test");  // RFC 7489 6.6.3: as p=none
  ASSERT_TRUE(rua_only);
  EXPECT_EQ(rua_only->p, Policy::none);
  EXPECT_EQ(parse_record("v=DMARC1; p=none; pct=500")->pct, 100);  // out of range: the default
}

TEST(OrganizationalDomain, FromThePublicSuffixList) {
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("Example.COM."), "example.com");
  EXPECT_EQ(organizational_domain("sub.sp.test"), "sp.test");
  EXPECT_TRUE(aligned("bounce.example.com", "example.com", false));
  EXPECT_FALSE(aligned("bounce.example.com", "example.com", true));
  EXPECT_FALSE(aligned("example.co.uk", "other.co.uk", false));
  EXPECT_EQ(lookup_names("mail.example.com"), (std::vector<std::string>{"_dmarc.mail.example.com", "_dmarc.example.com"}));
  EXPECT_EQ(lookup_names("example.com"), (std::vector<std::string>{"_dmarc.example.com"}));
}

Inputs inputs(std::string from, std::string spf, std::string spf_domain, std::vector<Inputs::Dkim> dkim = {}) {
  return {std::move(from), std::move(spf), std::move(spf_domain), std::move(dkim)};
}

TEST(Evaluate, PassByEitherAlignedCheck) {
  auto rec = txt({"v=DMARC1; p=reject"});
  auto d = evaluate(inputs("example.com", "pass", "bounce.example.com"), {rec}, 0);
  EXPECT_EQ(d.status, Status::pass);
  EXPECT_TRUE(d.spf_aligned);
  d = evaluate(inputs("example.com", "fail", "example.com", {{"pass", "example.com"}}), {rec}, 0);
  EXPECT_EQ(d.status, Status::pass);
  EXPECT_TRUE(d.dkim_aligned);
  // A pass for another domain is no pass for this one.
  d = evaluate(inputs("example.com", "pass", "evil.test", {{"pass", "evil.test"}}), {rec}, 0);
  EXPECT_EQ(d.status, Status::fail);
  EXPECT_EQ(d.disposition, Policy::reject);
  EXPECT_EQ(d.record_domain, "example.com");
}

TEST(Evaluate, StrictAlignment) {
  auto d = evaluate(inputs("example.com", "pass", "bounce.example.com"), {txt({"v=DMARC1; p=reject; aspf=s"})}, 0);
  EXPECT_EQ(d.status, Status::fail);
  d = evaluate(inputs("example.com", "none", "", {{"pass", "mail.example.com"}}), {txt({"v=DMARC1; p=reject; adkim=s"})}, 0);
  EXPECT_EQ(d.status, Status::fail);
}

TEST(Evaluate, SubdomainPolicyFromTheOrganizationalDomain) {
  auto d = evaluate(inputs("sub.example.com", "fail", "sub.example.com"), {nothing(), txt({"v=DMARC1; p=none; sp=quarantine"})}, 0);
  EXPECT_EQ(d.status, Status::fail);
  EXPECT_EQ(d.record_domain, "example.com");
  EXPECT_EQ(d.policy, Policy::quarantine);
  EXPECT_EQ(d.disposition, Policy::quarantine);
  // The domain's own record: p= applies, not sp=.
  d = evaluate(inputs("example.com", "fail", "example.com"), {txt({"v=DMARC1; p=none; sp=quarantine"})}, 0);
  EXPECT_EQ(d.policy, Policy::none);
}

TEST(Evaluate, PctSoftensTheUnsampled) {
  auto rec = txt({"v=DMARC1; p=reject; pct=30"});
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {rec}, 29).disposition, Policy::reject);
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {rec}, 30).disposition, Policy::quarantine);
  auto q = txt({"v=DMARC1; p=quarantine; pct=0"});
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {q}, 0).disposition, Policy::none);
}

TEST(Evaluate, NoneTemperrorAndBrokenInput) {
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {nothing()}, 0).status, Status::none);
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {txt({"v=spf1 -all"})}, 0).status, Status::none);
  // Two records: none (RFC 7489 6.6.3).
  EXPECT_EQ(evaluate(inputs("example.com", "fail", "example.com"), {txt({"v=DMARC1; p=reject", "v=DMARC1; p=none"})}, 0).status,
            Status::none);
  dns::TxtAnswer servfail{dns::TxtAnswer::temp_failure, {}, "timeout"};
  EXPECT_EQ(evaluate(inputs("example.com", "pass", "example.com"), {servfail}, 0).status, Status::temperror);
  // An aligned DKIM temperror is no fail: ask again later.
  auto d = evaluate(inputs("example.com", "fail", "example.com", {{"temperror", "example.com"}}), {txt({"v=DMARC1; p=reject"})}, 0);
  EXPECT_EQ(d.status, Status::temperror);
  EXPECT_EQ(evaluate(inputs("", "pass", "example.com"), {}, 0).status, Status::none);  // no single From
}

}  // namespace
}  // namespace tern::mailauth::dmarc
