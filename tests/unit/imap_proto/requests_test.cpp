// STORE, STATUS, LIST/LSUB, APPEND and SELECT/EXAMINE arguments, good and bad.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace tern::imap::proto {
namespace {

using namespace std::string_literals;
using test::args_of;
using test::command;
using Strings = std::vector<std::string>;

TEST(Store, Forms) {
  auto r = parse_store(args_of("STORE 1:3 +FLAGS.SILENT (\\seen \\DELETED $Junk)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mode, StoreRequest::Mode::add);
  EXPECT_TRUE(r->silent);
  EXPECT_EQ(r->flags, (Strings{"\\Seen", "\\Deleted", "$Junk"}));
  EXPECT_FALSE(r->unchangedsince);

  r = parse_store(args_of("STORE 2 -flags \\Flagged \\Answered"));  // flags without a list
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mode, StoreRequest::Mode::remove);
  EXPECT_FALSE(r->silent);
  EXPECT_EQ(r->flags, (Strings{"\\Flagged", "\\Answered"}));

  // Issue 11: NIL is a keyword like any other atom in a flag list or as a loose flag
  r = parse_store(args_of("STORE 1 +FLAGS NIL"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->flags, (Strings{"NIL"}));
  r = parse_store(args_of("STORE 1 FLAGS (NIL \\Seen)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->flags, (Strings{"NIL", "\\Seen"}));

  r = parse_store(args_of("STORE * FLAGS ()"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mode, StoreRequest::Mode::replace);
  EXPECT_TRUE(r->flags.empty());

  r = parse_store(args_of("STORE 1 (UNCHANGEDSINCE 320162338) FLAGS.SILENT (\\Draft foo FOO \\draft)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->unchangedsince, 320162338u);
  EXPECT_EQ(r->flags, (Strings{"\\Draft", "foo"}));  // duplicates dropped, keywords case-insensitive
}

TEST(Store, Errors) {
  EXPECT_EQ(parse_store(args_of("STORE 1 +FLAGS (\\Recent)")).error, "\\Recent cannot be set");
  for (const char* bad : {"STORE", "STORE 1 FLAGS", "STORE 1 (\\Seen)", "STORE x FLAGS \\Seen", "STORE 1 FLAG \\Seen",
                          "STORE 1 *FLAGS \\Seen", "STORE 1 FLAGS.LOUD \\Seen", "STORE 1 FLAGS (\\Foo)",
                          "STORE 1 FLAGS (\\*)", "STORE 1 FLAGS (\"x\")", "STORE 1 FLAGS (a]b)", "STORE 1 FLAGS ((a))",
                          "STORE 1 FLAGS (a) (b)", "STORE 1 (UNCHANGEDSINCE) FLAGS a", "STORE 1 (FOO 1) FLAGS a",
                          "STORE 1 (UNCHANGEDSINCE x) FLAGS a"})
    EXPECT_FALSE(parse_store(args_of(bad))) << bad;
}

TEST(Flags, Normalize) {
  EXPECT_EQ(normalize_flag("\\sEEn"), "\\Seen");
  EXPECT_EQ(normalize_flag("$Forwarded"), "$Forwarded");
  EXPECT_FALSE(normalize_flag("\\Recent"));
  EXPECT_FALSE(normalize_flag(""));
  EXPECT_FALSE(normalize_flag("a b"));
  EXPECT_FALSE(normalize_flag("caf\xc3\xa9"));
}

TEST(Status, Items) {
  auto r = parse_status(args_of("STATUS inbox (MESSAGES uidnext UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mailbox, "INBOX");
  EXPECT_TRUE(r->items.messages && r->items.uidnext && r->items.uidvalidity && r->items.unseen && r->items.deleted &&
              r->items.size && r->items.highestmodseq && r->items.recent);
  r = parse_status(args_of("STATUS \"Sent Items\" (UNSEEN)"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mailbox, "Sent Items");
  EXPECT_TRUE(r->items.unseen);
  EXPECT_FALSE(r->items.messages);
  for (const char* bad : {"STATUS", "STATUS INBOX", "STATUS INBOX ()", "STATUS INBOX (FOO)", "STATUS INBOX MESSAGES",
                          "STATUS (INBOX) (MESSAGES)", "STATUS INBOX (MESSAGES) x", "STATUS INBOX ((MESSAGES))"})
    EXPECT_FALSE(parse_status(args_of(bad))) << bad;
}

TEST(List, Basic) {
  auto r = parse_list(args_of("LIST \"\" *"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->reference, "");
  EXPECT_EQ(r->patterns, (Strings{"*"}));
  EXPECT_FALSE(r->extended);
  r = parse_list(args_of("LIST ~/Mail/ %/foo]"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->reference, "~/Mail/");
  EXPECT_EQ(r->patterns, (Strings{"%/foo]"}));
  r = parse_list(args_of("LSUB \"\" \"Lists/*\""), true);
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->subscribed);
  EXPECT_FALSE(r->extended);
}

TEST(List, Extended) {
  auto r = parse_list(args_of("LIST (SUBSCRIBED RECURSIVEMATCH remote) \"\" (INBOX \"Sent\" %) RETURN (CHILDREN "
                              "subscribed SPECIAL-USE STATUS (MESSAGES UNSEEN))"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->extended && r->subscribed && r->recursive_match && r->remote);
  EXPECT_FALSE(r->special_use_sel);
  EXPECT_EQ(r->patterns, (Strings{"INBOX", "Sent", "%"}));
  EXPECT_TRUE(r->ret_children && r->ret_subscribed && r->ret_special_use);
  ASSERT_TRUE(r->ret_status);
  EXPECT_TRUE(r->ret_status->messages && r->ret_status->unseen && !r->ret_status->uidnext);
  r = parse_list(args_of("LIST (SPECIAL-USE) \"\" *"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->special_use_sel && r->extended);
  r = parse_list(args_of("LIST () \"\" * RETURN ()"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->extended);
}

TEST(List, Errors) {
  for (const char* bad : {"LIST", "LIST \"\"", "LIST (RECURSIVEMATCH) \"\" *", "LIST (REMOTE RECURSIVEMATCH) \"\" *",
                          "LIST (FOO) \"\" *", "LIST \"\" ()", "LIST \"\" * RETURN", "LIST \"\" * RETURN (FOO)",
                          "LIST \"\" * RETURN (STATUS)", "LIST \"\" * RETURN (STATUS ())", "LIST \"\" * FOO ()",
                          "LIST (\"x\") \"\" *", "LIST () () *", "LIST \"\" * RETURN (STATUS (UNSEEN) STATUS (UNSEEN))"})
    EXPECT_FALSE(parse_list(args_of(bad))) << bad;
  EXPECT_FALSE(parse_list(args_of("LSUB (SUBSCRIBED) \"\" *"), true));
  EXPECT_FALSE(parse_list(args_of("LSUB \"\" * RETURN ()"), true));
  EXPECT_FALSE(parse_list(args_of("LSUB \"\" (a b)"), true));
}

TEST(Append, OneMessage) {
  auto r = parse_append(command("a APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello\r\n").args);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mailbox, "saved-messages");
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->messages[0].flags, (Strings{"\\Seen"}));
  EXPECT_EQ(r->messages[0].date, 837596665);
  EXPECT_EQ(r->messages[0].content, "hello");
  EXPECT_FALSE(r->messages[0].binary);
  r = parse_append(command("a APPEND inbox {3+}\r\nabc\r\n").args);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->mailbox, "INBOX");
  EXPECT_TRUE(r->messages[0].flags.empty());
  EXPECT_FALSE(r->messages[0].date);
}

TEST(Append, Multiappend) {
  auto r = parse_append(
      command("a APPEND box (\\Seen $x) {5}\r\nhello \" 7-Jul-2007 00:00:00 +0000\" ~{3}\r\nx\0z () UTF8 (~{2}\r\nhi)\r\n"s).args);
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->messages[0].content, "hello");
  EXPECT_EQ(r->messages[1].content, "x\0z"s);
  EXPECT_TRUE(r->messages[1].binary);
  EXPECT_EQ(r->messages[1].date, 1183766400);
  EXPECT_TRUE(r->messages[2].utf8);
  EXPECT_EQ(r->messages[2].content, "hi");
}

TEST(Append, MovesContentsOutWhenAsked) {
  Command c = command("a APPEND box {5}\r\nhello UTF8 (~{2}\r\nhi)\r\n");
  auto r = parse_append(std::move(c.args));
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[0].content, "hello");
  EXPECT_EQ(r->messages[1].content, "hi");
  EXPECT_TRUE(r->messages[1].utf8);
}

TEST(Append, Errors) {
  for (const char* bad : {"a APPEND box\r\n", "a APPEND box \"hello\"\r\n", "a APPEND box (\\Seen)\r\n",
                          "a APPEND box (\\Recent) {1}\r\nx\r\n", "a APPEND box \"bad date\" {1}\r\nx\r\n",
                          "a APPEND box {1}\r\nx (\\Seen)\r\n", "a APPEND (box) {1}\r\nx\r\n",
                          "a APPEND box UTF8 ({1}\r\nx)\r\n", "a APPEND box \"17-Jul-1996 02:44:25 -0700\" \"x\"\r\n"})
    EXPECT_FALSE(parse_append(command(bad).args)) << bad;
}

TEST(Select, Parameters) {
  auto r = parse_select(args_of("SELECT INBOX"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mailbox, "INBOX");
  EXPECT_FALSE(r->condstore);
  EXPECT_FALSE(r->qresync);
  r = parse_select(args_of("EXAMINE \"a b\" (CONDSTORE)"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->condstore);
  r = parse_select(args_of("SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"));
  ASSERT_TRUE(r) << r.error;
  ASSERT_TRUE(r->qresync);
  EXPECT_EQ(r->qresync->uidvalidity, 67890007u);
  EXPECT_EQ(r->qresync->modseq, 20050715194045000u);
  ASSERT_TRUE(r->qresync->known_uids);
  EXPECT_EQ(r->qresync->known_uids->ranges.size(), 3u);
  EXPECT_FALSE(r->qresync->seq_match);
  r = parse_select(args_of("SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
                           "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"));
  ASSERT_TRUE(r) << r.error;
  ASSERT_TRUE(r->qresync->seq_match);
  EXPECT_EQ(r->qresync->seq_match->first.ranges.size(), 4u);
  EXPECT_EQ(r->qresync->seq_match->second.ranges.size(), 13u);
  r = parse_select(args_of("SELECT INBOX (QRESYNC (1 2 (1 1)) CONDSTORE)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->condstore);
  EXPECT_FALSE(r->qresync->known_uids);
  EXPECT_TRUE(r->qresync->seq_match);
}

TEST(Select, Errors) {
  for (const char* bad : {"SELECT", "SELECT (INBOX)", "SELECT INBOX CONDSTORE", "SELECT INBOX (FOO)",
                          "SELECT INBOX (QRESYNC)", "SELECT INBOX (QRESYNC ())", "SELECT INBOX (QRESYNC (1))",
                          "SELECT INBOX (QRESYNC (0 1))", "SELECT INBOX (QRESYNC (1 0))", "SELECT INBOX (QRESYNC (1 2 1:*))",
                          "SELECT INBOX (QRESYNC (1 2 $))", "SELECT INBOX (QRESYNC (1 2 1 (1)))",
                          "SELECT INBOX (QRESYNC (1 2 1 (1 1) x))", "SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))",
                          "SELECT INBOX (CONDSTORE) x"})
    EXPECT_FALSE(parse_select(args_of(bad))) << bad;
}

}  // namespace
}  // namespace tern::imap::proto
