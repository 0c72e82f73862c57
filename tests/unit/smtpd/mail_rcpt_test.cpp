// smtpd conversations: MAIL (RFC 5321 4.1.1.2) and RCPT (4.1.1.3): the sender's syntax and parameters,
// the order of commands, relay refusal, unknown local users, and the recipient limit.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, MailAndRcptForALocalUser) {
  hello();
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<Bob@TERN.test>"), "250 2.1.5 Ok\r\n");  // the domain and user are matched case-blind
}

TEST_F(Conversation, TheNullSenderIsAccepted) {
  hello();
  EXPECT_EQ(ask("MAIL FROM:<>"), "250 2.1.0 Ok\r\n");  // RFC 5321 4.5.5: bounces
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
}

TEST_F(Conversation, SenderSyntaxErrors) {
  configure("[limits]\ntarpit_delay = \"0ms\"\n");  // eight errors: the tarpit would slow each reply
  hello();
  EXPECT_EQ(ask("MAIL FROM:alice@elsewhere.test"), "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n");
  EXPECT_EQ(ask("MAIL TO:<alice@elsewhere.test>"), "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice>"), "501 5.1.7 Bad sender address: missing domain\r\n");
  EXPECT_EQ(ask("MAIL FROM:<al ice@elsewhere.test>"), "501 5.1.7 Bad sender address: bad local part\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> BOGUS=1"), "555 5.5.4 Unknown MAIL parameter\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> SIZE=big"), "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> BODY=BINARYMIME"), "504 5.5.4 BODY=BINARYMIME is not supported\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alïce@elsewhere.test>"), "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n");
  // None of these started a transaction.
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "503 5.5.1 Need MAIL command\r\n");
}

TEST_F(Conversation, ADeclaredSizeAboveTheLimitIsRefusedAtMail) {
  configure("[limits]\nmax_message_size = 4096\n");
  hello();
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> SIZE=4097"), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test> SIZE=4096"), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, CommandsOutOfOrder) {
  hello();
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "503 5.5.1 Nested MAIL command\r\n");
  EXPECT_EQ(ask("DATA"), "503 5.5.1 Need RCPT command\r\n");
}

TEST_F(Conversation, RelayIsRefusedAndUnknownUsersToo) {
  hello();
  EXPECT_EQ(ask("MAIL FROM:<someone@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<friend@remote.test>"), "554 5.7.1 <friend@remote.test>: Relay access denied\r\n");
  EXPECT_EQ(ask("RCPT TO:<nobody@tern.test>"), "550 5.1.1 <nobody@tern.test>: Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(ask("RCPT TO:<>"), "501 5.1.3 Null recipient not allowed\r\n");
  EXPECT_EQ(ask("RCPT TO:bob@tern.test"), "501 5.5.4 Syntax: RCPT TO:<address> [parameters]\r\n");
  // The refusals left the transaction as it was.
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
}

TEST_F(Conversation, RelayFromAnotherClientAddressIsRefusedAlike) {
  connect(ListenerKind::smtp, "127.0.0.1");  // loopback is no exception
  reply();
  EXPECT_THAT(ask("EHLO localhost"), StartsWith("250-mx.tern.test Hello localhost [127.0.0.1]\r\n"));
  ask("MAIL FROM:<someone@elsewhere.test>");
  EXPECT_EQ(ask("RCPT TO:<friend@remote.test>"), "554 5.7.1 <friend@remote.test>: Relay access denied\r\n");
}

TEST_F(Conversation, AnAliasToAnotherDomainIsNotRelay) {
  ASSERT_TRUE(dir_->add_alias("team@tern.test", {"friend@remote.test"}));
  hello();
  ask("MAIL FROM:<someone@elsewhere.test>");
  EXPECT_EQ(ask("RCPT TO:<team@tern.test>"), "250 2.1.5 Ok\r\n");  // the server's own forwarding
}

TEST_F(Conversation, TheRecipientLimitSaysTryTheRestLater) {
  configure("[limits]\nmax_recipients = 2\n");
  ASSERT_TRUE(dir_->add_mailslot("carol@tern.test", store::SlotKind::mailbox, password_hash()));
  hello();
  ask("MAIL FROM:<alice@elsewhere.test>");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<carol@tern.test>"), "250 2.1.5 Ok\r\n");
  // RFC 5321 4.5.3.1.10: 452, so the client sends the rest in another transaction.
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "452 4.5.3 Too many recipients\r\n");
}

}  // namespace
}  // namespace tern::smtpd::testing
