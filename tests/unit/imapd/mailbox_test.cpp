// imapd conversations, authenticated state (RFC 9051 6.3): SELECT and EXAMINE with their untagged data,
// LIST, CREATE, DELETE, RENAME and STATUS.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

TEST_F(Conversation, SelectAnEmptyInbox) {
  login();
  auto r = command("SELECT INBOX");
  EXPECT_EQ(r.tagged, "OK [READ-WRITE] SELECT completed");
  EXPECT_THAT(r.untagged, StartsWith("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                                     "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"
                                     "* 0 EXISTS\r\n"
                                     "* 0 RECENT\r\n"
                                     "* OK [UIDVALIDITY "));
  EXPECT_THAT(r.untagged, HasSubstr("\r\n* OK [UIDNEXT 1] Predicted next UID\r\n"));
}

TEST_F(Conversation, SelectShowsMessagesAndExamineIsReadOnly) {
  login();
  ASSERT_THAT(append("INBOX", "\\Seen", "Subject: one\r\n\r\n1\r\n").tagged, StartsWith("OK [APPENDUID "));
  ASSERT_THAT(append("INBOX", "", "Subject: two\r\n\r\n2\r\n").tagged, StartsWith("OK [APPENDUID "));
  auto sel = command("SELECT INBOX");
  EXPECT_EQ(sel.tagged, "OK [READ-WRITE] SELECT completed");
  EXPECT_THAT(sel.untagged, HasSubstr("\r\n* 2 EXISTS\r\n* 2 RECENT\r\n* OK [UNSEEN 2] First unseen\r\n"));
  EXPECT_THAT(sel.untagged, HasSubstr("\r\n* OK [UIDNEXT 3] Predicted next UID\r\n"));
  auto ex = command("EXAMINE INBOX");
  EXPECT_EQ(ex.tagged, "OK [READ-ONLY] EXAMINE completed");
  EXPECT_THAT(ex.untagged, StartsWith("* OK [CLOSED] Previous mailbox closed\r\n"));  // RFC 7162 3.2.11
  EXPECT_THAT(ex.untagged, HasSubstr("\r\n* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n"));
  EXPECT_THAT(ex.untagged, HasSubstr("\r\n* 2 EXISTS\r\n* 0 RECENT\r\n"));  // the SELECT took \Recent
  EXPECT_EQ(command("STORE 1 +FLAGS (\\Flagged)").tagged, "NO [READ-ONLY] The mailbox is read-only");
}

TEST_F(Conversation, SelectingWhatDoesNotExist) {
  login();
  EXPECT_EQ(command("SELECT Nowhere").tagged, "NO [NONEXISTENT] No such mailbox");
  EXPECT_EQ(command("EXAMINE Nowhere").tagged, "NO [NONEXISTENT] No such mailbox");
  EXPECT_EQ(command("FETCH 1 FLAGS").tagged, "BAD No mailbox selected");  // a failed SELECT selects nothing
}

TEST_F(Conversation, ListShowsTheDefaultFoldersWithTheirSpecialUse) {
  login();
  auto r = command("LIST \"\" \"*\"");
  EXPECT_EQ(r.tagged, "OK LIST completed");
  EXPECT_THAT(r.untagged, HasSubstr("* LIST (\\HasNoChildren) \"/\" INBOX\r\n"));
  EXPECT_THAT(r.untagged, HasSubstr("* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"));  // RFC 6154
  EXPECT_THAT(r.untagged, HasSubstr("* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"));
  // RFC 9051 6.3.9.1: the empty pattern asks for the hierarchy delimiter.
  EXPECT_EQ(command("LIST \"\" \"\"").untagged, "* LIST (\\Noselect) \"/\" \"\"\r\n");
}

TEST_F(Conversation, CreateListAndDelete) {
  login();
  EXPECT_EQ(command("CREATE Projects/2024").tagged, "OK CREATE completed");  // its parent with it
  auto exists = command("CREATE Projects");
  EXPECT_EQ(exists.tagged, "NO [ALREADYEXISTS] Mailbox already exists");
  EXPECT_EQ(command("CREATE inbox").tagged, "NO [ALREADYEXISTS] INBOX always exists");
  auto list = command("LIST \"\" \"Projects*\"");
  EXPECT_EQ(list.untagged,
            "* LIST (\\HasChildren) \"/\" Projects\r\n"
            "* LIST (\\HasNoChildren) \"/\" Projects/2024\r\n");
  EXPECT_EQ(command("LIST \"\" \"Projects/%\"").untagged, "* LIST (\\HasNoChildren) \"/\" Projects/2024\r\n");
  EXPECT_EQ(command("DELETE Projects/2024").tagged, "OK DELETE completed");
  EXPECT_EQ(command("DELETE Projects/2024").tagged, "NO [NONEXISTENT] No such mailbox");
  EXPECT_EQ(command("DELETE INBOX").tagged, "NO [CANNOT] INBOX cannot be deleted");
  EXPECT_EQ(command("LIST \"\" \"Projects*\"").untagged, "* LIST (\\HasNoChildren) \"/\" Projects\r\n");
}

TEST_F(Conversation, DeletingTheSelectedMailboxDeselectsIt) {
  login();
  command("CREATE Old");
  EXPECT_EQ(command("SELECT Old").tagged, "OK [READ-WRITE] SELECT completed");
  auto r = command("DELETE Old");
  EXPECT_EQ(r.untagged, "* OK [CLOSED] Mailbox deselected\r\n");
  EXPECT_EQ(r.tagged, "OK DELETE completed");
  EXPECT_EQ(command("FETCH 1 FLAGS").tagged, "BAD No mailbox selected");
}

TEST_F(Conversation, RenameKeepsTheMessages) {
  login();
  command("CREATE Drafts2");
  append("Drafts2", "", "Subject: draft\r\n\r\nx\r\n");
  EXPECT_EQ(command("RENAME Drafts2 Later").tagged, "OK RENAME completed");
  EXPECT_EQ(command("SELECT Drafts2").tagged, "NO [NONEXISTENT] No such mailbox");
  EXPECT_THAT(command("SELECT Later").untagged, HasSubstr("\r\n* 1 EXISTS\r\n"));
}

TEST_F(Conversation, StatusCountsWithoutSelecting) {
  login();
  append("INBOX", "\\Seen", "Subject: one\r\n\r\n1\r\n");
  append("INBOX", "", "Subject: two\r\n\r\n2\r\n");
  auto r = command("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)");
  EXPECT_EQ(r.untagged, "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 1)\r\n");
  EXPECT_EQ(r.tagged, "OK STATUS completed");
}

}  // namespace
}  // namespace tern::imapd::testing
