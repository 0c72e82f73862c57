// smtpd conversations: the commands of any state (RFC 5321 4.1.1.5 RSET, 4.1.1.9 NOOP, 4.1.1.10 QUIT),
// unknown commands, and the session closed after too many protocol errors.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, NoopAndQuit) {
  hello();
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("NOOP anything"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, RsetEndsTheTransaction) {
  hello();
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("DATA"), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "503 5.5.1 Need MAIL command\r\n");
  // A new transaction may start at once (no "Nested MAIL command").
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, UnknownCommandsAreRefused) {
  hello();
  EXPECT_EQ(ask("FOO bar"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(ask("MAILFROM:<a@b.test>"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");  // the session goes on
}

TEST_F(Conversation, TooManyErrorsCloseTheSession) {
  configure("[limits]\nmax_errors = 3\n");
  hello();
  EXPECT_EQ(ask("FOO"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(ask("BAR"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(ask("BAZ"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_EQ(reply(), "421 4.7.0 Too many errors; closing the connection\r\n");
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, ClientClosingEndsTheSession) {
  hello();
  ::shutdown(fd_, SHUT_WR);  // the client goes away without QUIT
  EXPECT_TRUE(closed());
}

}  // namespace
}  // namespace tern::smtpd::testing
