// smtpd conversations: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): a message queued durably (the
// outbox file holds the envelope and the message with Tern's Received field), dot-stuffing undone, the
// SMTP-smuggling defence (bare LF or CR refuses the message), the size limit and the hop limit.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

const std::string body = "From: alice@elsewhere.test\r\nSubject: conversation\r\n\r\nHello Bob.\r\n";

TEST_F(Conversation, AMessageIsQueuedWithItsEnvelope) {
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  send(body + ".\r\n");
  std::string r = reply();
  auto q = queued(r);
  ASSERT_TRUE(q) << r;
  EXPECT_EQ(q->envelope.from, "alice@elsewhere.test");
  ASSERT_EQ(q->envelope.recipients.size(), 1u);
  EXPECT_EQ(q->envelope.recipients[0].address, "bob@tern.test");
  EXPECT_EQ(q->envelope.client, "192.0.2.7");
  EXPECT_EQ(q->envelope.auth, "");
  // RFC 5321 4.4: the trace field on top, "for" with the single recipient; the message after it as sent.
  EXPECT_THAT(q->message, StartsWith("Received: from client.test ([192.0.2.7])\r\n\tby mx.tern.test (Tern) with ESMTP id "));
  EXPECT_THAT(q->message, HasSubstr("\r\n\tfor <bob@tern.test>;\r\n"));
  EXPECT_THAT(q->message, HasSubstr("\r\n" + body));
  EXPECT_TRUE(q->message.ends_with(body));
  // The session goes on with the next transaction.
  EXPECT_EQ(ask("MAIL FROM:<alice@elsewhere.test>"), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, DotStuffingIsUndone) {
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  // RFC 5321 4.5.2: a line starting with "." was sent with one more.
  send("Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\r\n");
  auto q = queued(reply());
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->message.ends_with("\r\nSubject: dots\r\n\r\n.leading dot\r\n..\r\n")) << q->message;
}

TEST_F(Conversation, SeveralRecipientsShareOneQueueFile) {
  ASSERT_TRUE(dir_->add_mailslot("carol@tern.test", store::SlotKind::mailbox, password_hash()));
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test", "carol@tern.test"});
  send(body + ".\r\n");
  auto q = queued(reply());
  ASSERT_TRUE(q);
  ASSERT_EQ(q->envelope.recipients.size(), 2u);
  EXPECT_EQ(q->envelope.recipients[1].address, "carol@tern.test");
  EXPECT_THAT(q->message, Not(HasSubstr("\tfor <")));  // RFC 5321 7.2: no Bcc leak in the trace
}

TEST_F(Conversation, BareLineFeedInDataIsRefused) {
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  // SMTP smuggling: "\n.\r\n" is no end of data, and what follows it is no command.
  send("Subject: smuggle\r\n\r\nline\n.\r\nMAIL FROM:<x@y.test>\r\n\r\n.\r\n");
  EXPECT_EQ(reply(), "554 5.6.0 Message refused: bare CR or LF in the data (CRLF line ends are required)\r\n");
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "503 5.5.1 Need MAIL command\r\n");  // the transaction ended
}

TEST_F(Conversation, BareCarriageReturnInDataIsRefused) {
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  send("Subject: smuggle\r\n\r\nline\r.\r\n.\r\n");
  EXPECT_EQ(reply(), "554 5.6.0 Message refused: bare CR or LF in the data (CRLF line ends are required)\r\n");
}

TEST_F(Conversation, AMessageAboveTheSizeLimitIsReadOffAndRefused) {
  configure("[limits]\nmax_message_size = 2048\n");
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  send("Subject: big\r\n\r\n" + std::string(3000, 'x') + "\r\n.\r\n");
  EXPECT_EQ(reply(), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");  // the rest of the message was not taken as commands
}

TEST_F(Conversation, TooManyReceivedFieldsIsALoop) {
  configure("[limits]\nmax_received_headers = 3\n");
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  std::string hops;
  for (int i = 0; i < 3; ++i) hops += "Received: from hop" + std::to_string(i) + ".test by x.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n";
  send(hops + body + ".\r\n");
  EXPECT_EQ(reply(), "554 5.4.6 Too many hops (mail loop?)\r\n");
}

TEST_F(Conversation, DataNeedsARecipient) {
  hello();
  EXPECT_EQ(ask("DATA"), "503 5.5.1 Need MAIL command\r\n");
  ask("MAIL FROM:<alice@elsewhere.test>");
  EXPECT_EQ(ask("RCPT TO:<nobody@tern.test>").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(ask("DATA"), "503 5.5.1 Need RCPT command\r\n");
}

TEST_F(Conversation, BdatChunksMakeOneMessage) {
  hello();
  ask("MAIL FROM:<alice@elsewhere.test>");
  ask("RCPT TO:<bob@tern.test>");
  const std::string first = "Subject: chunks\r\n\r\n", second = "one\r\n.two\r\n";  // no dot-stuffing in BDAT
  send("BDAT " + std::to_string(first.size()) + "\r\n" + first);
  EXPECT_EQ(reply(), "250 2.0.0 " + std::to_string(first.size()) + " octets received\r\n");
  send("BDAT " + std::to_string(second.size()) + " LAST\r\n" + second);
  auto q = queued(reply());
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->message.ends_with("\r\n" + first + second)) << q->message;
  EXPECT_EQ(ask("DATA"), "503 5.5.1 Need MAIL command\r\n");
}

TEST_F(Conversation, BdatWithoutATransactionIsReadOffAndRefused) {
  hello();
  send("BDAT 12 LAST\r\nQUIT\r\nNOOP\r\n");  // the chunk is data, never commands (RFC 3030 2)
  EXPECT_EQ(reply(), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");
}

}  // namespace
}  // namespace tern::smtpd::testing
