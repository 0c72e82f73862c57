// smtpd conversations: MAIL, RCPT and DATA (relay refusal, unknown users, a message queued and kept in
// the outbox), pipelining, the SMTP-smuggling defence, and AUTH PLAIN.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/sasl.hpp"
#include "conversation.hpp"

namespace tern::smtpd::testing {
namespace {

TEST_F(Conversation, RelayIsRefusedAndUnknownUsersToo) {
  connect();
  reply();
  ask("EHLO client.test");
  EXPECT_TRUE(ask("MAIL FROM:<someone@elsewhere.test>").starts_with("250 2.1.0"));
  EXPECT_TRUE(ask("RCPT TO:<friend@remote.test>").starts_with("554 5.7.1 <friend@remote.test>: Relay access denied"));
  EXPECT_TRUE(ask("RCPT TO:<nobody@tern.test>").starts_with("550 5.1.1"));
  EXPECT_TRUE(ask("RCPT TO:<bob@tern.test>").starts_with("250 2.1.5"));
}

TEST_F(Conversation, PipelinedMessageIsQueued) {
  connect();
  reply();
  ask("EHLO client.test");
  // RFC 2920: all of it in one write; the replies come in order.
  send("MAIL FROM:<alice@elsewhere.test>\r\nRCPT TO:<bob@tern.test>\r\nDATA\r\n");
  EXPECT_TRUE(reply().starts_with("250 2.1.0"));
  EXPECT_TRUE(reply().starts_with("250 2.1.5"));
  EXPECT_TRUE(reply().starts_with("354"));
  send("From: alice@elsewhere.test\r\nSubject: conversation\r\n\r\nHello Bob.\r\n..leading dot\r\n.\r\n");
  std::string queued = reply();
  ASSERT_TRUE(queued.starts_with("250 2.0.0 Ok: queued as ")) << queued;
  std::string id = queued.substr(24, queued.size() - 26);
  auto file = tmp_ / "data" / "mail" / "outbox" / (id + ".msg");
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  std::string data = [&] {
    std::ifstream f(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }();
  EXPECT_NE(data.find("RCPT: bob@tern.test\r\n"), std::string::npos);
  EXPECT_NE(data.find("\r\n.leading dot\r\n"), std::string::npos);  // dot-stuffing undone
  EXPECT_NE(data.find("Received: from client.test ([192.0.2.7])"), std::string::npos);
}

TEST_F(Conversation, BareLineFeedInDataIsRefused) {
  connect();
  reply();
  ask("EHLO client.test");
  ask("MAIL FROM:<alice@elsewhere.test>");
  ask("RCPT TO:<bob@tern.test>");
  EXPECT_TRUE(ask("DATA").starts_with("354"));
  send("Subject: smuggle\r\n\r\nline\n.\r\nMAIL FROM:<x@y.test>\r\n\r\n.\r\n");
  std::string r = reply();
  EXPECT_TRUE(r.starts_with("554 5.6.0 Message refused: bare CR or LF")) << r;
  // Nothing after the smuggled "." was taken as a command: the session waits for the next one.
  EXPECT_TRUE(ask("NOOP").starts_with("250 2.0.0"));
}

TEST_F(Conversation, AuthPlain) {
  connect(ListenerKind::submission);
  reply();
  ask("EHLO client.test");
  std::string bad = ask("AUTH PLAIN " + base64_encode(std::string("\0bob@tern.test\0wrong", 20)));
  EXPECT_TRUE(bad.starts_with("535 5.7.8")) << bad;
  std::string good = ask("AUTH PLAIN " + base64_encode(std::string("\0bob@tern.test\0secret", 21)));
  EXPECT_TRUE(good.starts_with("235 2.7.0")) << good;
  EXPECT_TRUE(ask("MAIL FROM:<bob@tern.test>").starts_with("250"));
  EXPECT_TRUE(ask("RCPT TO:<friend@remote.test>").starts_with("250"));  // relay for the authenticated
}

}  // namespace
}  // namespace tern::smtpd::testing
