// imapd conversations: SEARCH (RFC 9051 6.4.4) by header, body text, flags, size and sequence set,
// UID SEARCH, and ESEARCH's RETURN options (RFC 4731).
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

class Search : public Conversation {
 protected:
  // INBOX: 1 from alice "lunch plans" (\Seen), 2 from carol "budget" with "lunch" in the body,
  // 3 from alice "budget review" (\Flagged); UIDs 1, 2, 3.
  void SetUp() override {
    Conversation::SetUp();
    login();
    ASSERT_THAT(append("INBOX", "\\Seen", "From: alice@elsewhere.test\r\nSubject: lunch plans\r\n\r\nNoon?\r\n").tagged, StartsWith("OK "));
    ASSERT_THAT(append("INBOX", "", "From: carol@elsewhere.test\r\nSubject: budget\r\n\r\nAfter lunch.\r\n").tagged, StartsWith("OK "));
    ASSERT_THAT(append("INBOX", "\\Flagged", "From: alice@elsewhere.test\r\nSubject: budget review\r\n\r\n" + std::string(500, 'x') + "\r\n").tagged, StartsWith("OK "));
    ASSERT_EQ(command("SELECT INBOX").tagged, "OK [READ-WRITE] SELECT completed");
  }
  std::string search(const std::string& criteria) { return command("SEARCH " + criteria).untagged; }
};

TEST_F(Search, ByHeaderAndText) {
  EXPECT_EQ(search("SUBJECT budget"), "* SEARCH 2 3\r\n");
  EXPECT_EQ(search("FROM alice"), "* SEARCH 1 3\r\n");
  EXPECT_EQ(search("SUBJECT LUNCH"), "* SEARCH 1\r\n");  // case-insensitive
  EXPECT_EQ(search("BODY lunch"), "* SEARCH 2\r\n");
  EXPECT_EQ(search("TEXT lunch"), "* SEARCH 1 2\r\n");  // header or body
  EXPECT_EQ(search("SUBJECT nothing"), "* SEARCH\r\n");
}

TEST_F(Search, ByFlagsSizeAndCombinations) {
  EXPECT_EQ(search("ALL"), "* SEARCH 1 2 3\r\n");
  EXPECT_EQ(search("UNSEEN"), "* SEARCH 2 3\r\n");
  EXPECT_EQ(search("FLAGGED"), "* SEARCH 3\r\n");
  EXPECT_EQ(search("LARGER 400"), "* SEARCH 3\r\n");
  EXPECT_EQ(search("FROM alice UNSEEN"), "* SEARCH 3\r\n");  // AND
  EXPECT_EQ(search("OR FLAGGED SEEN"), "* SEARCH 1 3\r\n");
  EXPECT_EQ(search("NOT SUBJECT budget"), "* SEARCH 1\r\n");
  EXPECT_EQ(search("2:*"), "* SEARCH 2 3\r\n");
}

TEST_F(Search, UidSearchAndEsearch) {
  command("STORE 1 +FLAGS.SILENT (\\Deleted)");
  command("EXPUNGE");
  EXPECT_EQ(search("ALL"), "* SEARCH 1 2\r\n");
  EXPECT_EQ(command("UID SEARCH ALL").untagged, "* SEARCH 2 3\r\n");
  EXPECT_EQ(command("UID SEARCH UID 3").untagged, "* SEARCH 3\r\n");
  std::string tag = next_tag();
  send(tag + " SEARCH RETURN (MIN MAX COUNT) ALL\r\n");
  EXPECT_EQ(response(tag).untagged, "* ESEARCH (TAG \"" + tag + "\") MIN 1 MAX 2 COUNT 2\r\n");
}

TEST_F(Search, BadCriteria) {
  EXPECT_THAT(command("SEARCH FROBNICATE").tagged, StartsWith("BAD "));
  EXPECT_THAT(command("SEARCH SUBJECT").tagged, StartsWith("BAD "));
}

}  // namespace
}  // namespace tern::imapd::testing
