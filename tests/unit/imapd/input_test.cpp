// imapd conversations: how input arrives. A command split across writes or sent one octet at a time,
// a literal split from its command, several commands pipelined in one write (answered in order), and
// a line the reader cannot parse.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

TEST_F(Conversation, ACommandOneOctetAtATime) {
  connect();
  send_octets("a1 LOGIN bob@tern.test secret\r\n");
  EXPECT_THAT(response("a1").tagged, StartsWith("OK [CAPABILITY "));
  send_octets("a2 SELECT INBOX\r\n");
  EXPECT_EQ(response("a2").tagged, "OK [READ-WRITE] SELECT completed");
}

TEST_F(Conversation, ACommandSplitAcrossWrites) {
  connect();
  send("a1 LOG");
  send("IN bob@tern.te");
  send("st secret\r");
  send("\n");
  EXPECT_THAT(response("a1").tagged, StartsWith("OK [CAPABILITY "));
}

TEST_F(Conversation, AnAppendWhoseLiteralArrivesInPieces) {
  login();
  const std::string msg = "Subject: pieces\r\n\r\nbody\r\n";
  send("a9 APPEND INBOX {" + std::to_string(msg.size()) + "+}\r\n");
  send_octets(msg);
  send("\r\n");
  EXPECT_THAT(response("a9").tagged, StartsWith("OK [APPENDUID "));
  command("SELECT INBOX");
  EXPECT_THAT(command("FETCH 1 BODY.PEEK[]").untagged, HasSubstr("}\r\n" + msg + ")\r\n"));
}

TEST_F(Conversation, PipelinedCommandsAreAnsweredInOrder) {
  connect();
  send("p1 LOGIN bob@tern.test secret\r\np2 CREATE Box\r\np3 SELECT Box\r\np4 NOOP\r\n");
  EXPECT_THAT(response("p1").tagged, StartsWith("OK [CAPABILITY "));
  EXPECT_EQ(response("p2").tagged, "OK CREATE completed");
  EXPECT_EQ(response("p3").tagged, "OK [READ-WRITE] SELECT completed");
  auto noop = response("p4");
  EXPECT_EQ(noop.untagged, "");
  EXPECT_EQ(noop.tagged, "OK NOOP completed");
}

TEST_F(Conversation, AnUnparsableLineIsRefusedAndTheNextOneRead) {
  login();
  send("a5 FETCH (\r\na6 NOOP\r\n");
  EXPECT_THAT(response("a5").tagged, StartsWith("BAD "));
  EXPECT_EQ(response("a6").tagged, "OK NOOP completed");
}

}  // namespace
}  // namespace tern::imapd::testing
