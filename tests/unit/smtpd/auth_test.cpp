// smtpd conversations: AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, on the submission listener and
// on smtp: success, a wrong password, cancelling, unknown mechanisms, the order of commands, the
// refusal without TLS, and what an authenticated session may then send.
#include "base/codec.hpp"
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

std::string plain(const std::string& user, const std::string& password) {
  return base64_encode(std::string(1, '\0') + user + std::string(1, '\0') + password);
}

TEST_F(Conversation, SubmissionNeedsAuthThenRelays) {
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("MAIL FROM:<bob@tern.test>"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "secret")), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(ask("MAIL FROM:<bob@tern.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<friend@remote.test>"), "250 2.1.5 Ok\r\n");  // relay for the authenticated
  EXPECT_EQ(ask("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  send("Subject: from bob\r\n\r\nHi.\r\n.\r\n");
  auto q = queued(reply());
  ASSERT_TRUE(q);
  EXPECT_EQ(q->envelope.auth, "bob@tern.test");
  EXPECT_THAT(q->message, HasSubstr(" with ESMTPA id "));  // RFC 3848
  // RFC 6409 8.2, 8.3: the Date and Message-ID the client left out.
  EXPECT_THAT(q->message, HasSubstr("\r\nDate: "));
  EXPECT_THAT(q->message, HasSubstr("\r\nMessage-ID: <"));
}

TEST_F(Conversation, AWrongPasswordFails) {
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "wrong")), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(ask("MAIL FROM:<bob@tern.test>"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(auth_->throttle().addresses(), 1u);  // counted against the client address
}

TEST_F(Conversation, PlainWithAnEmptyInitialChallenge) {
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("AUTH PLAIN"), "334 \r\n");
  EXPECT_EQ(ask(plain("bob@tern.test", "secret")), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "secret")), "503 5.5.1 Already authenticated\r\n");
}

TEST_F(Conversation, LoginMechanism) {
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");  // "Username:"
  EXPECT_EQ(ask(base64_encode("bob@tern.test")), "334 UGFzc3dvcmQ6\r\n");  // "Password:"
  EXPECT_EQ(ask(base64_encode("secret")), "235 2.7.0 Authentication successful\r\n");
}

TEST_F(Conversation, CancelUnknownMechanismAndMalformedResponse) {
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(ask("*"), "501 5.7.0 Authentication cancelled\r\n");  // RFC 4954 4
  EXPECT_EQ(ask("AUTH CRAM-MD5"), "504 5.5.4 Unrecognized authentication type\r\n");
  EXPECT_EQ(ask("AUTH PLAIN !!notbase64"), "501 5.5.2 Malformed PLAIN response\r\n");
  EXPECT_EQ(auth_->throttle().addresses(), 0u);  // none of these was a password check
}

TEST_F(Conversation, AuthNeedsEhloAndNoTransaction) {
  connect(ListenerKind::smtp);
  reply();
  EXPECT_EQ(ask("HELO client.test"), "250 mx.tern.test\r\n");
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "secret")), "503 5.5.1 Send EHLO first\r\n");
  ask("EHLO client.test");
  ask("MAIL FROM:<alice@elsewhere.test>");
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "secret")), "503 5.5.1 AUTH not allowed during a mail transaction\r\n");
}

TEST_F(Conversation, AuthWithoutTlsIsRefusedUnlessAllowed) {
  configure("[auth]\nallow_plaintext = false\n");
  hello(ListenerKind::submission);
  EXPECT_EQ(ask("AUTH PLAIN " + plain("bob@tern.test", "secret")),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_EQ(ask("MAIL FROM:<bob@tern.test>"), "530 5.7.0 Authentication required\r\n");
}

TEST_F(Conversation, AnAuthenticatedSenderMustBeTheUsers) {
  hello(ListenerKind::submission);
  ask("AUTH PLAIN " + plain("bob@tern.test", "secret"));
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"),
            "553 5.7.1 Sender address <alice@elsewhere.test> not owned by user bob@tern.test\r\n");
  EXPECT_EQ(ask("MAIL FROM:<>"), "553 5.7.1 The null sender is not allowed for authenticated users\r\n");
  EXPECT_EQ(ask("MAIL FROM:<Bob@Tern.test>"), "250 2.1.0 Ok\r\n");
}

}  // namespace
}  // namespace tern::smtpd::testing
