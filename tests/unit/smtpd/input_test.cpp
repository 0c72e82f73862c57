// smtpd conversations: how input arrives. PIPELINING (RFC 2920): several commands, or a whole
// transaction, in one write, answered in order; a command or a message delivered one octet per write;
// an over-long command line refused and the stream resynchronised at the next line end.
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, ATransactionInOneWrite) {
  hello();
  send("MAIL FROM:<alice@elsewhere.test>\r\nRCPT TO:<nobody@tern.test>\r\nRCPT TO:<bob@tern.test>\r\nDATA\r\n");
  EXPECT_EQ(reply(), "250 2.1.0 Ok\r\n");
  EXPECT_THAT(reply(), StartsWith("550 5.1.1 <nobody@tern.test>"));
  EXPECT_EQ(reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(reply(), "354 End data with <CR><LF>.<CR><LF>\r\n");
  // The message, its end and the next commands in one write too.
  send("Subject: pipelined\r\n\r\nHi.\r\n.\r\nNOOP\r\nQUIT\r\n");
  auto q = queued(reply());
  ASSERT_TRUE(q);
  EXPECT_EQ(q->envelope.recipients.size(), 1u);
  EXPECT_EQ(reply(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(reply(), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, EverythingPipelinedBeforeTheGreetingIsAnsweredInOrder) {
  connect();
  send("EHLO client.test\r\nNOOP\r\nRSET\r\n");
  EXPECT_EQ(reply(), "220 mx.tern.test ESMTP Tern\r\n");
  EXPECT_THAT(reply(), StartsWith("250-mx.tern.test Hello client.test"));
  EXPECT_EQ(reply(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(reply(), "250 2.0.0 Ok\r\n");
}

TEST_F(Conversation, ACommandOneOctetAtATime) {
  connect();
  reply();
  send_octets("EHLO slow.test\r\n");
  EXPECT_THAT(reply(), StartsWith("250-mx.tern.test Hello slow.test [192.0.2.7]\r\n"));
  send_octets("MAIL FROM:<alice@elsewhere.test>\r\n");
  EXPECT_EQ(reply(), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, AMessageOneOctetAtATime) {
  hello();
  begin_data("alice@elsewhere.test", {"bob@tern.test"});
  // Every split of the end of data ("\r\n.\r\n") and of a dot-stuffed line reaches the reader.
  send_octets("Subject: slow\r\n\r\n..dot\r\n.\r\n");
  auto q = queued(reply());
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->message.ends_with("\r\nSubject: slow\r\n\r\n.dot\r\n")) << q->message;
}

TEST_F(Conversation, AnOverlongCommandLineIsRefusedAndTheNextLineRead) {
  hello();
  // RFC 5321 4.5.3.1.4: 512 octets; Tern takes up to 2048 (smtp/proto) and refuses longer.
  send("NOOP " + std::string(3000, 'x') + "\r\nNOOP\r\n");
  EXPECT_EQ(reply(), "500 5.5.6 Line too long\r\n");
  EXPECT_EQ(reply(), "250 2.0.0 Ok\r\n");
}

}  // namespace
}  // namespace tern::smtpd::testing
