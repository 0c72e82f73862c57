// imapd conversations, not authenticated state: the greeting, CAPABILITY, LOGIN, and a command that
// arrives one octet at a time.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

TEST_F(Conversation, GreetingCapabilityAndLogin) {
  EXPECT_TRUE(connect().starts_with("* OK [CAPABILITY IMAP4rev1")) ;
  std::string caps = command("CAPABILITY");
  EXPECT_NE(caps.find("* CAPABILITY IMAP4rev1"), std::string::npos) << caps;
  EXPECT_NE(caps.find("IMAP4rev2"), std::string::npos) << caps;
  std::string bad = command("LOGIN bob@tern.test wrong");
  EXPECT_EQ(status(bad), "NO") << bad;
  EXPECT_NE(bad.find("[AUTHENTICATIONFAILED]"), std::string::npos) << bad;
  EXPECT_EQ(status(command("LOGIN bob@tern.test secret")), "OK");
  EXPECT_EQ(status(command("LOGOUT")), "OK");
}

TEST_F(Conversation, ACommandInPieces) {
  connect();
  for (char c : std::string("a1 LOGIN bob@tern.test secret\r\n")) send(std::string(1, c));
  EXPECT_NE(read_reply([](const std::string& l) { return l.starts_with("a1 "); }).find("a1 OK"), std::string::npos);
  EXPECT_EQ(status(command("NOOP")), "OK");
  EXPECT_EQ(status(command("SELECT Nowhere")), "NO");
  EXPECT_EQ(status(command("FETCH")), "BAD");
}

}  // namespace
}  // namespace tern::imapd::testing
