// smtpd conversations: the connection checks of docs/spam.md: the tarpit's delays, the dictionary
// attack's 421, the inbound rate limits; never for an authenticated session.
#include "base/codec.hpp"
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

using namespace std::chrono_literals;

TEST(TarpitDelay, GrowsWithTheErrorsBeyondTheThresholdUpToTheCap) {
  config::Limits l;  // after 3 errors, 1 s per error, at most 5 s; unknown recipients: 5
  EXPECT_EQ(tarpit_delay(l, 0, 0), 0ms);
  EXPECT_EQ(tarpit_delay(l, 3, 0), 0ms);
  EXPECT_EQ(tarpit_delay(l, 4, 0), 1s);
  EXPECT_EQ(tarpit_delay(l, 6, 0), 3s);
  EXPECT_EQ(tarpit_delay(l, 60, 0), 5s);
  EXPECT_EQ(tarpit_delay(l, 5, 5), 5s);  // a dictionary attack: the cap at once
  l.tarpit_delay = 0ms;
  EXPECT_EQ(tarpit_delay(l, 60, 0), 0ms);  // off
  l.unknown_recipients_delay_after = 0;
  l.tarpit_max = 2s;
  l.tarpit_delay = 250ms;
  l.tarpit_after = 0;
  EXPECT_EQ(tarpit_delay(l, 1, 50), 250ms);
  EXPECT_EQ(tarpit_delay(l, 100, 50), 2s);
}

// No delays here (the system tests see them): only the counting and the closing.
const char* quick = "[limits]\ntarpit_delay = \"0ms\"\ntarpit_max = \"0ms\"\nmax_unknown_recipients = 3\n";

TEST_F(Conversation, ManyUnknownRecipientsCloseTheSessionWith421) {
  configure(quick);
  hello();
  EXPECT_EQ(ask("MAIL FROM:<someone@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<a@tern.test>"), "550 5.1.1 <a@tern.test>: Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");  // known ones do not count
  EXPECT_EQ(ask("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("MAIL FROM:<someone@elsewhere.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<b@tern.test>"), "550 5.1.1 <b@tern.test>: Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(ask("RCPT TO:<c@tern.test>"), "421 4.7.0 <c@tern.test>: Too many unknown recipients; closing connection\r\n");
  EXPECT_TRUE(closed());
}

TEST_F(Conversation, AnAuthenticatedSessionIsNeverClosedForUnknownRecipients) {
  configure(quick);
  hello(ListenerKind::submission);
  ASSERT_EQ(ask("AUTH PLAIN " + base64_encode(std::string("\0bob@tern.test\0secret", 21))),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(ask("MAIL FROM:<bob@tern.test>"), "250 2.1.0 Ok\r\n");
  for (const char* r : {"a", "b", "c", "d", "e"})
    EXPECT_EQ(ask(std::string("RCPT TO:<") + r + "@tern.test>"),
              std::string("550 5.1.1 <") + r + "@tern.test>: Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(ask("NOOP"), "250 2.0.0 Ok\r\n");
}

TEST_F(Conversation, ConnectionsPerMinuteFromOneAddress) {
  configure("[limits]\nconnections_per_ip_per_minute = 2\nrate_limit_exempt = []\n");
  hello();
  EXPECT_EQ(ask("QUIT"), "221 2.0.0 Bye\r\n");
  hello();
  EXPECT_EQ(ask("QUIT"), "221 2.0.0 Bye\r\n");
  connect();
  EXPECT_EQ(reply(), "421 4.7.0 Too many connections from 192.0.2.7; try again later\r\n");
  EXPECT_TRUE(closed());
  connect(ListenerKind::submission);  // only the MX listener counts
  EXPECT_THAT(reply(), StartsWith("220 "));
}

TEST_F(Conversation, MessagesPerSenderAndRecipientsPerAddress) {
  configure("[limits]\nmessages_per_sender_per_hour = 1\nrecipients_per_ip_per_hour = 2\n"
            "rate_limit_exempt = [\"127.0.0.1\"]\n");
  hello();
  EXPECT_EQ(ask("MAIL FROM:<news@shop.test>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<postmaster@tern.test>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@tern.test>"), "450 4.7.1 Too many recipients from 192.0.2.7; try again later\r\n");
  EXPECT_EQ(ask("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(ask("MAIL FROM:<News@Shop.test>"), "450 4.7.1 Too many messages from news@shop.test; try again later\r\n");
  EXPECT_EQ(ask("MAIL FROM:<other@shop.test>"), "250 2.1.0 Ok\r\n");
}

TEST_F(Conversation, AnExemptAddressIsNotCounted) {
  configure("[limits]\nmessages_per_ip_per_hour = 1\nrate_limit_exempt = [\"192.0.2.0/24\"]\n");
  hello();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ask("MAIL FROM:<news@shop.test>"), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(ask("RSET"), "250 2.0.0 Ok\r\n");
  }
}

}  // namespace
}  // namespace tern::smtpd::testing
