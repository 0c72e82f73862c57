// imapd conversations, not authenticated state (RFC 9051 6.1, 6.2): the greeting, CAPABILITY, NOOP,
// LOGIN, AUTHENTICATE (PLAIN with SASL-IR), LOGOUT, commands in the wrong state, and plaintext logins
// refused without TLS.
#include "base/codec.hpp"
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

const std::string before_login = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN AUTH=LOGIN";

TEST_F(Conversation, GreetingAndCapability) {
  EXPECT_EQ(connect(), "* OK [CAPABILITY " + before_login + "] mx.tern.test Tern IMAP server ready\r\n");
  auto caps = command("CAPABILITY");
  EXPECT_EQ(caps.untagged, "* CAPABILITY " + before_login + "\r\n");
  EXPECT_EQ(caps.tagged, "OK CAPABILITY completed");
  EXPECT_EQ(command("NOOP").tagged, "OK NOOP completed");
}

TEST_F(Conversation, LoginAnnouncesTheCapabilitiesOfTheAuthenticatedState) {
  connect();
  auto r = command("LOGIN bob@tern.test secret");
  EXPECT_EQ(r.untagged, "");
  EXPECT_THAT(r.tagged, StartsWith("OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE"));
  EXPECT_THAT(r.tagged, HasSubstr(" APPENDLIMIT=52428800 COMPRESS=DEFLATE] Logged in"));
  EXPECT_THAT(r.tagged, Not(HasSubstr("AUTH=")));
  EXPECT_THAT(command("CAPABILITY").untagged, StartsWith("* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE "));
  EXPECT_EQ(command("LOGIN bob@tern.test secret").tagged, "BAD Already logged in");
}

TEST_F(Conversation, AWrongPasswordAndAnUnknownUserFailAlike) {
  connect();
  EXPECT_EQ(command("LOGIN bob@tern.test wrong").tagged, "NO [AUTHENTICATIONFAILED] Invalid user name or password");
  EXPECT_EQ(command("LOGIN \"nobody@tern.test\" \"secret\"").tagged,
            "NO [AUTHENTICATIONFAILED] Invalid user name or password");
  EXPECT_EQ(command("SELECT INBOX").tagged, "BAD Log in first");
  EXPECT_EQ(command("LOGIN bob@tern.test").tagged, "BAD LOGIN needs a user name and a password");
  EXPECT_EQ(command("LOGIN \"bob@tern.test\" {6+}\r\nsecret").tagged.substr(0, 14), "OK [CAPABILITY");
}

TEST_F(Conversation, AuthenticatePlain) {
  connect();
  const std::string token = base64_encode(std::string("\0bob@tern.test\0secret", 21));
  // Without an initial response: an empty challenge, then the client's line.
  std::string tag = next_tag();
  send(tag + " AUTHENTICATE PLAIN\r\n");
  EXPECT_EQ(read_line(), "+ \r\n");
  send(token + "\r\n");
  EXPECT_THAT(response(tag).tagged, StartsWith("OK [CAPABILITY "));
  EXPECT_EQ(command("AUTHENTICATE PLAIN " + token).tagged, "BAD Already logged in");
}

TEST_F(Conversation, AuthenticateWithAnInitialResponseAndItsFailures) {
  connect();
  EXPECT_EQ(command("AUTHENTICATE CRAM-MD5").tagged, "NO Unsupported authentication mechanism");
  std::string tag = next_tag();
  send(tag + " AUTHENTICATE PLAIN\r\n");
  EXPECT_EQ(read_line(), "+ \r\n");
  send("*\r\n");
  EXPECT_EQ(response(tag).tagged, "BAD Authentication cancelled");  // RFC 9051 6.2.2
  // RFC 4959: SASL-IR.
  auto r = command("AUTHENTICATE PLAIN " + base64_encode(std::string("\0bob@tern.test\0secret", 21)));
  EXPECT_THAT(r.tagged, StartsWith("OK [CAPABILITY "));
}

TEST_F(Conversation, LogoutSaysByeAndCloses) {
  connect();
  auto r = command("LOGOUT");
  EXPECT_EQ(r.untagged, "* BYE Logging out\r\n");
  EXPECT_EQ(r.tagged, "OK LOGOUT completed");
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, CommandsInTheWrongState) {
  login();
  EXPECT_EQ(command("FETCH 1 FLAGS").tagged, "BAD No mailbox selected");
  EXPECT_EQ(command("EXPUNGE").tagged, "BAD No mailbox selected");
  EXPECT_EQ(command("FROB").tagged, "BAD Unknown command");
}

TEST_F(Conversation, PlaintextLoginsAreDisabledWithoutTls) {
  configure("[auth]\nallow_plaintext = false\n");
  EXPECT_EQ(connect(), "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE LOGINDISABLED] mx.tern.test Tern IMAP server ready\r\n");
  EXPECT_EQ(command("LOGIN bob@tern.test secret").tagged,
            "NO [PRIVACYREQUIRED] LOGIN is disabled until TLS is active (use STARTTLS)");
  EXPECT_EQ(command("AUTHENTICATE PLAIN " + base64_encode(std::string("\0bob@tern.test\0secret", 21))).tagged,
            "NO [PRIVACYREQUIRED] Authentication is disabled until TLS is active (use STARTTLS)");
  EXPECT_EQ(auth_->throttle().addresses(), 0u);  // no password was checked
}

}  // namespace
}  // namespace tern::imapd::testing
