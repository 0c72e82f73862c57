// imapd conversations: STORE (RFC 9051 6.4.6) with +FLAGS, -FLAGS, FLAGS and .SILENT, keywords, and
// EXPUNGE (6.4.3), UID EXPUNGE (RFC 4315) and CLOSE (6.4.1), which remove \Deleted messages.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

class StoreExpunge : public Conversation {
 protected:
  // Logs in and selects an INBOX of three messages, UIDs 1, 2, 3.
  void SetUp() override {
    Conversation::SetUp();
    login();
    for (const char* s : {"one", "two", "three"})
      ASSERT_THAT(append("INBOX", "", std::string("Subject: ") + s + "\r\n\r\nx\r\n").tagged, StartsWith("OK "));
    ASSERT_EQ(command("SELECT INBOX").tagged, "OK [READ-WRITE] SELECT completed");
  }
};

TEST_F(StoreExpunge, StoreAddsRemovesAndReplacesFlags) {
  auto add = command("STORE 1:2 +FLAGS (\\Flagged \\Seen)");
  EXPECT_EQ(add.untagged, "* 1 FETCH (FLAGS (\\Recent \\Flagged \\Seen))\r\n"
                          "* 2 FETCH (FLAGS (\\Recent \\Flagged \\Seen))\r\n");
  EXPECT_EQ(add.tagged, "OK STORE completed");
  EXPECT_EQ(command("STORE 1 -FLAGS (\\Flagged)").untagged, "* 1 FETCH (FLAGS (\\Recent \\Seen))\r\n");
  EXPECT_EQ(command("STORE 2 FLAGS (\\Answered)").untagged, "* 2 FETCH (FLAGS (\\Recent \\Answered))\r\n");
  EXPECT_EQ(command("STORE 3 +FLAGS.SILENT (\\Draft)").untagged, "");
  EXPECT_EQ(command("FETCH 1:3 FLAGS").untagged,
            "* 1 FETCH (FLAGS (\\Recent \\Seen))\r\n"
            "* 2 FETCH (FLAGS (\\Recent \\Answered))\r\n"
            "* 3 FETCH (FLAGS (\\Recent \\Draft))\r\n");
}

TEST_F(StoreExpunge, AKeywordIsAnnouncedInFlags) {
  auto r = command("STORE 1 +FLAGS ($Important)");
  EXPECT_THAT(r.untagged, HasSubstr("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"));
  EXPECT_THAT(r.untagged, HasSubstr("* 1 FETCH (FLAGS (\\Recent $Important))\r\n"));
}

TEST_F(StoreExpunge, UidStoreAnswersWithTheUid) {
  EXPECT_EQ(command("UID STORE 3 +FLAGS (\\Seen)").untagged, "* 3 FETCH (UID 3 FLAGS (\\Recent \\Seen))\r\n");
  EXPECT_EQ(command("STORE 4 +FLAGS (\\Seen)").tagged, "BAD Invalid message sequence number");
}

TEST_F(StoreExpunge, ExpungeRemovesTheDeletedMessages) {
  command("STORE 1 +FLAGS.SILENT (\\Deleted)");
  command("STORE 3 +FLAGS.SILENT (\\Deleted)");
  auto r = command("EXPUNGE");
  // RFC 9051 7.5.1: each EXPUNGE renumbers the messages after it, so 3 is reported before 1.
  EXPECT_EQ(r.untagged, "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
  EXPECT_EQ(r.tagged, "OK EXPUNGE completed");
  EXPECT_EQ(command("FETCH 1:* (UID FLAGS)").untagged, "* 1 FETCH (UID 2 FLAGS (\\Recent))\r\n");
  EXPECT_EQ(command("STATUS INBOX (MESSAGES)").untagged, "* STATUS INBOX (MESSAGES 1)\r\n");
}

TEST_F(StoreExpunge, UidExpungeRemovesOnlyTheUidsNamed) {
  command("STORE 1:3 +FLAGS.SILENT (\\Deleted)");
  EXPECT_EQ(command("UID EXPUNGE 2").untagged, "* 2 EXPUNGE\r\n");
  EXPECT_EQ(command("UID FETCH 1:* UID").untagged, "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\n");
}

TEST_F(StoreExpunge, CloseExpungesSilentlyAndUnselectDoesNot) {
  command("STORE 1 +FLAGS.SILENT (\\Deleted)");
  auto unselect = command("UNSELECT");
  EXPECT_EQ(unselect.untagged, "");
  EXPECT_EQ(unselect.tagged, "OK UNSELECT completed");
  EXPECT_EQ(command("STATUS INBOX (MESSAGES)").untagged, "* STATUS INBOX (MESSAGES 3)\r\n");
  command("SELECT INBOX");
  auto close = command("CLOSE");
  EXPECT_EQ(close.untagged, "");  // RFC 9051 6.4.1: no EXPUNGE responses
  EXPECT_EQ(close.tagged, "OK CLOSE completed");
  EXPECT_EQ(command("STATUS INBOX (MESSAGES)").untagged, "* STATUS INBOX (MESSAGES 2)\r\n");
}

}  // namespace
}  // namespace tern::imapd::testing
