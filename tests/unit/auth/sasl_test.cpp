// auth/sasl: the PLAIN mechanism (RFC 4616).
#include <gtest/gtest.h>

#include <string>

#include "auth/sasl.hpp"

namespace tern::auth {
namespace {

using namespace std::string_literals;

// --- PLAIN ----------------------------------------------------------------------------------------

TEST(DecodePlain, WithoutAuthzid) {
  auto c = decode_plain(base64_encode("\0alice@example.test\0s3cret"s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "alice@example.test");
  EXPECT_EQ(c->password, "s3cret");
}

TEST(DecodePlain, WithAuthzid) {
  auto c = decode_plain(base64_encode("admin@example.test\0alice@example.test\0pass word"s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "admin@example.test");
  EXPECT_EQ(c->authcid, "alice@example.test");
  EXPECT_EQ(c->password, "pass word");
}

TEST(DecodePlain, KnownWireForm) {
  // RFC 4616 4's examples: "\0tim\0tanstaaftanstaaf" and with authzid "Ragnarok".
  auto c = decode_plain("AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authcid, "tim");
  EXPECT_EQ(c->password, "tanstaaftanstaaf");
  auto d = decode_plain("UmFnbmFyb2sAdGltAHRhbnN0YWFmdGFuc3RhYWY=");  // "Ragnarok\0tim\0tanstaaftanstaaf"
  ASSERT_TRUE(d);
  EXPECT_EQ(d->authzid, "Ragnarok");
}

TEST(DecodePlain, Utf8Password) {
  auto c = decode_plain(base64_encode("\0alice\0p\xc3\xa4ss"s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "p\xc3\xa4ss");
}

TEST(DecodePlain, Malformed) {
  EXPECT_FALSE(decode_plain(""));                                         // nothing
  EXPECT_FALSE(decode_plain("not base64!"));
  EXPECT_FALSE(decode_plain(base64_encode("alice")));                     // no NUL
  EXPECT_FALSE(decode_plain(base64_encode("alice\0secret"s)));            // one NUL
  EXPECT_FALSE(decode_plain(base64_encode("\0\0secret"s)));               // empty authcid
  EXPECT_FALSE(decode_plain(base64_encode("a\0alice\0sec\0ret"s)));       // three NULs
  EXPECT_FALSE(decode_plain(base64_encode("\0alice\0"s)));                // empty password (RFC 4616: 1*SAFE)
  EXPECT_FALSE(decode_plain(base64_encode("\0\0"s)));
  EXPECT_FALSE(decode_plain("="));
  EXPECT_FALSE(decode_plain("*"));  // the client's cancel, never credentials
}

// --- the server engine ----------------------------------------------------------------------------

TEST(SaslServer, OffersPlainAndLoginCaseInsensitively) {
  EXPECT_TRUE(SaslServer::start("PLAIN"));
  EXPECT_TRUE(SaslServer::start("plain"));
  EXPECT_TRUE(SaslServer::start("Login"));
  EXPECT_FALSE(SaslServer::start("CRAM-MD5"));
  EXPECT_FALSE(SaslServer::start(""));
}

TEST(SaslServer, PlainWithInitialResponseIsDoneAtOnce) {
  auto sasl = SaslServer::start("PLAIN");
  auto step = sasl->begin(base64_encode("\0bob@tern.test\0secret"s));
  ASSERT_EQ(step.kind, SaslServer::Step::done);
  EXPECT_EQ(step.credentials.authzid, "");
  EXPECT_EQ(step.credentials.authcid, "bob@tern.test");
  EXPECT_EQ(step.credentials.password, "secret");
}

TEST(SaslServer, PlainWithoutInitialResponseSendsAnEmptyChallenge) {
  auto sasl = SaslServer::start("PLAIN");
  auto step = sasl->begin(std::nullopt);
  ASSERT_EQ(step.kind, SaslServer::Step::more);
  EXPECT_EQ(step.challenge, "");
  step = sasl->next(base64_encode("admin\0bob\0pw"s));
  ASSERT_EQ(step.kind, SaslServer::Step::done);
  EXPECT_EQ(step.credentials.authzid, "admin");  // the Authenticator decides what it is worth
}

TEST(SaslServer, AnEmptyInitialResponseIsMalformedPlain) {
  auto step = SaslServer::start("PLAIN")->begin("=");  // "=": an empty response (RFC 4954 4)
  ASSERT_EQ(step.kind, SaslServer::Step::fail);
  EXPECT_EQ(step.failure, SaslServer::Failure::malformed);
}

TEST(SaslServer, LoginAsksForUserNameThenPassword) {
  auto sasl = SaslServer::start("LOGIN");
  auto step = sasl->begin(std::nullopt);
  ASSERT_EQ(step.kind, SaslServer::Step::more);
  EXPECT_EQ(base64_decode(step.challenge), "Username:");
  step = sasl->next(base64_encode("bob@tern.test"));
  ASSERT_EQ(step.kind, SaslServer::Step::more);
  EXPECT_EQ(base64_decode(step.challenge), "Password:");
  step = sasl->next(base64_encode("pass word"));
  ASSERT_EQ(step.kind, SaslServer::Step::done);
  EXPECT_EQ(step.credentials.authcid, "bob@tern.test");
  EXPECT_EQ(step.credentials.password, "pass word");
}

TEST(SaslServer, LoginTakesTheUserNameAsInitialResponse) {
  auto sasl = SaslServer::start("LOGIN");
  auto step = sasl->begin(base64_encode("bob"));
  ASSERT_EQ(step.kind, SaslServer::Step::more);
  EXPECT_EQ(base64_decode(step.challenge), "Password:");
  step = sasl->next(base64_encode("pw"));
  ASSERT_EQ(step.kind, SaslServer::Step::done);
  EXPECT_EQ(step.credentials.authcid, "bob");
}

TEST(SaslServer, StarCancelsAtAnyStep) {
  for (auto mech : {"PLAIN", "LOGIN"}) {
    auto sasl = SaslServer::start(mech);
    sasl->begin(std::nullopt);
    auto step = sasl->next("*");
    ASSERT_EQ(step.kind, SaslServer::Step::fail) << mech;
    EXPECT_EQ(step.failure, SaslServer::Failure::cancelled) << mech;
  }
  auto sasl = SaslServer::start("LOGIN");
  sasl->begin(base64_encode("bob"));
  EXPECT_EQ(sasl->next("*").failure, SaslServer::Failure::cancelled);
}

TEST(SaslServer, BadBase64IsMalformed) {
  EXPECT_EQ(SaslServer::start("PLAIN")->begin("not base64!").failure, SaslServer::Failure::malformed);
  auto sasl = SaslServer::start("LOGIN");
  sasl->begin("%%%%");
  auto step = sasl->next(base64_encode("pw"));
  ASSERT_EQ(step.kind, SaslServer::Step::fail);
  EXPECT_EQ(step.failure, SaslServer::Failure::malformed);
}

}  // namespace
}  // namespace tern::auth
