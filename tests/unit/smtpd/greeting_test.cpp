// smtpd conversations: the greeting, EHLO and HELO (RFC 5321 4.1.1.1) with the extensions announced,
// and the informational commands VRFY, EXPN and HELP.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, GreetingThenEhloListsTheExtensions) {
  connect();
  EXPECT_EQ(reply(), "220 mx.tern.test ESMTP Tern\r\n");
  EXPECT_EQ(ask("EHLO client.test"),
            "250-mx.tern.test Hello client.test [192.0.2.7]\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 52428800\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-CHUNKING\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250-DSN\r\n"
            "250-AUTH PLAIN LOGIN\r\n"  // [auth] allow_plaintext; no STARTTLS without a certificate
            "250 HELP\r\n");
}

TEST_F(Conversation, EhloAnnouncesTheConfiguredSizeAndNoAuthWithoutTls) {
  configure("[limits]\nmax_message_size = 4096\n[auth]\nallow_plaintext = false\n");
  connect();
  reply();
  std::string ehlo = ask("EHLO client.test");
  EXPECT_THAT(ehlo, HasSubstr("\r\n250-SIZE 4096\r\n"));
  EXPECT_THAT(ehlo, Not(HasSubstr("AUTH")));  // RFC 4954 4: no plaintext passwords without TLS
  EXPECT_THAT(ehlo, HasSubstr("\r\n250 HELP\r\n"));
}

TEST_F(Conversation, HeloAnswersInOneLine) {
  connect();
  reply();
  EXPECT_EQ(ask("HELO client.test"), "250 mx.tern.test\r\n");
  // Without EHLO, no extension parameters (RFC 5321 4.1.4 and RFC 1869).
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> SIZE=100"), "555 5.5.4 Parameters need EHLO\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, EhloAndHeloNeedOneName) {
  connect();
  reply();
  EXPECT_EQ(ask("EHLO"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(ask("HELO two names"), "501 5.5.4 Syntax: HELO hostname\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "503 5.5.1 Send EHLO or HELO first\r\n");
}

TEST_F(Conversation, EhloAgainResetsTheTransaction) {
  hello();
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_THAT(ask("EHLO again.test"), StartsWith("250-mx.tern.test Hello again.test [192.0.2.7]\r\n"));
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "503 5.5.1 Need MAIL command\r\n");  // RFC 5321 4.1.4
}

TEST_F(Conversation, VrfyExpnAndHelp) {
  hello();
  // RFC 5321 3.5.3: 252, never whether the user exists.
  EXPECT_EQ(ask("VRFY bob"), "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(ask("VRFY nobody"), "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(ask("EXPN staff"), "502 5.5.1 EXPN is not available\r\n");
  EXPECT_THAT(ask("HELP"), StartsWith("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA"));
}

}  // namespace
}  // namespace tern::smtpd::testing
