// imapd conversations, authenticated and selected states: CREATE, LIST, APPEND, SELECT, FETCH, SEARCH,
// STORE, EXPUNGE, EXAMINE, DELETE.
#include "conversation.hpp"

namespace tern::imapd::testing {
namespace {

TEST_F(Conversation, MailboxesAppendFetchStoreExpungeSearch) {
  connect();
  ASSERT_EQ(status(command("LOGIN bob@tern.test secret")), "OK");
  EXPECT_EQ(status(command("CREATE Projects")), "OK");
  std::string exists = command("CREATE Projects");
  EXPECT_EQ(status(exists), "NO");
  EXPECT_NE(exists.find("[ALREADYEXISTS]"), std::string::npos) << exists;
  std::string list = command("LIST \"\" \"*\"");
  EXPECT_NE(list.find("\"/\" INBOX\r\n"), std::string::npos) << list;
  EXPECT_NE(list.find("\"/\" Projects\r\n"), std::string::npos) << list;

  const std::string msg = "From: alice@elsewhere.test\r\nSubject: plans\r\n\r\nThe plan.\r\n";
  send("a100 APPEND Projects (\\Flagged) {" + std::to_string(msg.size()) + "}\r\n");
  EXPECT_TRUE(read_reply([](const std::string&) { return true; }).starts_with("+ "));
  send(msg + "\r\n");
  std::string appended = read_reply([](const std::string& l) { return l.starts_with("a100 "); });
  EXPECT_NE(appended.find("a100 OK [APPENDUID "), std::string::npos) << appended;

  std::string sel = command("SELECT Projects");
  EXPECT_EQ(status(sel), "OK");
  EXPECT_NE(sel.find("* 1 EXISTS"), std::string::npos) << sel;
  std::string fetch = command("FETCH 1 (FLAGS BODY.PEEK[])");
  EXPECT_NE(fetch.find("\\Flagged"), std::string::npos) << fetch;
  EXPECT_NE(fetch.find("BODY[] {" + std::to_string(msg.size()) + "}\r\n" + msg), std::string::npos) << fetch;
  std::string search = command("SEARCH SUBJECT plans");
  EXPECT_NE(search.find("* SEARCH 1\r\n"), std::string::npos) << search;
  EXPECT_NE(command("SEARCH SUBJECT nothing").find("* SEARCH\r\n"), std::string::npos);
  EXPECT_EQ(status(command("STORE 1 +FLAGS (\\Deleted)")), "OK");
  std::string gone = command("EXPUNGE");
  EXPECT_NE(gone.find("* 1 EXPUNGE"), std::string::npos) << gone;
  EXPECT_EQ(status(command("EXAMINE INBOX")), "OK");
  EXPECT_EQ(status(command("DELETE Projects")), "OK");
}

}  // namespace
}  // namespace tern::imapd::testing
