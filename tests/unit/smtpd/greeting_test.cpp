// smtpd conversations: the greeting, EHLO/HELO, NOOP, RSET, QUIT, unknown commands, and a command
// that arrives one octet at a time.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, GreetingEhloAndQuit) {
  connect();
  EXPECT_TRUE(reply().starts_with("220 mx.tern.test ESMTP")) ;
  std::string ehlo = ask("EHLO client.test");
  EXPECT_TRUE(ehlo.starts_with("250-mx.tern.test")) << ehlo;
  EXPECT_NE(ehlo.find("250-PIPELINING\r\n"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("8BITMIME"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("AUTH PLAIN LOGIN"), std::string::npos) << ehlo;  // allow_plaintext
  EXPECT_TRUE(ask("NOOP").starts_with("250 2.0.0")) ;
  EXPECT_TRUE(ask("QUIT").starts_with("221 2.0.0"));
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, HeloAndUnknownCommands) {
  connect();
  reply();
  EXPECT_TRUE(ask("HELO client.test").starts_with("250 mx.tern.test"));
  EXPECT_TRUE(ask("FOO bar").starts_with("500 5.5.2")) ;
  EXPECT_TRUE(ask("MAIL FROM:<a@b.test> BOGUS=1").starts_with("555 5.5.4"));
  EXPECT_TRUE(ask("RCPT TO:<bob@tern.test>").starts_with("503 5.5.1"));  // no MAIL yet
  EXPECT_TRUE(ask("RSET").starts_with("250 2.0.0"));
}

TEST_F(Conversation, ACommandOneOctetAtATime) {
  connect();
  reply();
  for (char c : std::string("EHLO slow.test\r\n")) send(std::string(1, c));
  EXPECT_TRUE(reply().starts_with("250-mx.tern.test"));
}

}  // namespace
}  // namespace tern::smtpd::testing
