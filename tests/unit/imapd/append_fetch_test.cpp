// imapd conversations: APPEND (RFC 9051 6.3.12, with UIDPLUS's APPENDUID, RFC 4315) and FETCH
// (RFC 9051 6.4.5): the message bytes back (BODY[], BODY.PEEK[], a header section), FLAGS, UID,
// RFC822.SIZE, and FETCH by UID.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

const std::string msg = "From: alice@elsewhere.test\r\nSubject: plans\r\n\r\nThe plan.\r\n";

TEST_F(Conversation, AppendWithASynchronisingLiteral) {
  login();
  std::string tag = next_tag();
  send(tag + " APPEND INBOX (\\Flagged) {" + std::to_string(msg.size()) + "}\r\n");
  EXPECT_EQ(read_line(), "+ OK\r\n");  // RFC 9051 7.5: go ahead
  send(msg + "\r\n");
  auto r = response(tag);
  EXPECT_EQ(r.untagged, "");
  EXPECT_THAT(r.tagged, ::testing::MatchesRegex("OK \\[APPENDUID [0-9]+ 1\\] APPEND completed"));
  auto status = command("STATUS INBOX (MESSAGES)");
  EXPECT_EQ(status.untagged, "* STATUS INBOX (MESSAGES 1)\r\n");
}

TEST_F(Conversation, AppendToAMailboxThatDoesNotExist) {
  login();
  // RFC 9051 6.3.12: TRYCREATE tells the client to CREATE it and try again.
  EXPECT_EQ(append("Nowhere", "", msg).tagged, "NO [TRYCREATE] No such mailbox");
}

TEST_F(Conversation, AppendAboveTheSizeLimitIsTooBig) {
  configure("[limits]\nmax_message_size = 2048\n");
  login();
  std::string tag = next_tag();
  send(tag + " APPEND INBOX {4096}\r\n");
  // RFC 7889: refused before the literal is sent.
  EXPECT_THAT(response(tag).tagged, StartsWith("NO [TOOBIG] "));
  EXPECT_EQ(command("STATUS INBOX (MESSAGES)").untagged, "* STATUS INBOX (MESSAGES 0)\r\n");
}

TEST_F(Conversation, FetchTheMessageItsFlagsAndItsUid) {
  login();
  append("INBOX", "\\Flagged", msg);
  command("SELECT INBOX");
  auto peek = command("FETCH 1 (UID FLAGS RFC822.SIZE BODY.PEEK[])");
  EXPECT_EQ(peek.untagged, "* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged) RFC822.SIZE " + std::to_string(msg.size()) +
                               " BODY[] {" + std::to_string(msg.size()) + "}\r\n" + msg + ")\r\n");
  EXPECT_EQ(peek.tagged, "OK FETCH completed");
  // BODY[] without PEEK sets \Seen (RFC 9051 6.4.5), and says so.
  EXPECT_EQ(command("FETCH 1 BODY[]").untagged,
            "* 1 FETCH (BODY[] {" + std::to_string(msg.size()) + "}\r\n" + msg + " FLAGS (\\Recent \\Flagged \\Seen))\r\n");
  EXPECT_EQ(command("FETCH 1 FLAGS").untagged, "* 1 FETCH (FLAGS (\\Recent \\Flagged \\Seen))\r\n");
}

TEST_F(Conversation, FetchAHeaderField) {
  login();
  append("INBOX", "", msg);
  command("SELECT INBOX");
  auto r = command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
  EXPECT_EQ(r.untagged, "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: plans\r\n\r\n)\r\n");
}

TEST_F(Conversation, UidFetchNamesMessagesByUid) {
  login();
  append("INBOX", "", "Subject: one\r\n\r\n1\r\n");
  append("INBOX", "", "Subject: two\r\n\r\n2\r\n");
  append("INBOX", "", "Subject: three\r\n\r\n3\r\n");
  command("SELECT INBOX");
  command("STORE 2 +FLAGS.SILENT (\\Deleted)");
  command("EXPUNGE");
  // UID 3 is now message 2; UID FETCH always returns the UID (RFC 9051 6.4.9).
  EXPECT_EQ(command("UID FETCH 3 FLAGS").untagged, "* 2 FETCH (UID 3 FLAGS (\\Recent))\r\n");
  EXPECT_EQ(command("UID FETCH 2 FLAGS").untagged, "");  // gone: nothing, and no error
  EXPECT_EQ(command("UID FETCH 1:* UID").untagged, "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\n");
  EXPECT_EQ(command("FETCH 3 FLAGS").tagged, "BAD Invalid message sequence number");
}

}  // namespace
}  // namespace tern::imapd::testing
