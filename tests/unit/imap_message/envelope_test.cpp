// ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2); expectations checked against Dovecot 2.3.
#include <gtest/gtest.h>

#include "common.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {
namespace {

using test::crlf;

std::string envelope(std::string_view header) { return summarize(crlf(std::string(header) + "\nbody\n")).envelope; }

TEST(Envelope, AllFieldsGroupsAndRawEncodedWords) {
  EXPECT_EQ(summarize(test::mixed()).envelope,
            R"e(("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "=?utf-8?q?Caf=C3=A9?= test")e"
            R"( (("Doe, John" NIL "john" "example.com")) (("Doe, John" NIL "john" "example.com")))"
            R"( (("Doe, John" NIL "john" "example.com")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)))"
            R"( (("Mary" NIL "mary" "x.org")("Bob Smith" NIL "bob" "y.org")(NIL NIL "group" NIL))"
            R"((NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL)) NIL NIL "<B27397-0100000@cac.washington.edu>"))");
}

TEST(Envelope, MissingFieldsAreNilAndSenderDefaultsToFrom) {
  EXPECT_EQ(envelope("From: a@b.c\n"),
            R"((NIL NIL ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL))");
  EXPECT_EQ(envelope("X-Nothing: 1\n"), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
  // Present but empty: "" (and an empty Sender still falls back to From).
  EXPECT_EQ(envelope("Subject:\nFrom: a@b.c\nSender:\n"),
            R"((NIL "" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL))");
}

TEST(Envelope, OddAddresses) {
  auto e = envelope(
      "From: =?iso-8859-1?q?J=F6rg?= <joerg@example.de>\n"
      "Sender: <@route1,@route2:user@host.com>\n"
      "Reply-To: \"quoted \\\"name\\\"\" <\"john doe\"@example.com>\n"
      "To: postmaster, John Q. Public <jqp@example.com>, <>\n"
      "Bcc: John Doe\n"
      "In-Reply-To: <a@b> (comment)\n");
  EXPECT_EQ(e, R"((NIL NIL (("=?iso-8859-1?q?J=F6rg?=" NIL "joerg" "example.de")))"
               R"( ((NIL "@route1,@route2" "user" "host.com")) (("quoted \"name\"" NIL "john doe" "example.com")))"
               R"( ((NIL NIL "postmaster" "MISSING_DOMAIN")("John Q. Public" NIL "jqp" "example.com"))"
               R"((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) NIL)"
               R"e( (("John Doe" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) "<a@b> (comment)" NIL))e");
}

TEST(Envelope, GroupsAndCommentNames) {
  auto e = envelope("From: Group One: a@b.c, \"B\" <b@c.d>;, Group Two:;\n"
                    "To: a@b.c (comment only), (another) x@y\n");
  EXPECT_EQ(e, R"((NIL NIL ((NIL NIL "Group One" NIL)(NIL NIL "a" "b.c")("B" NIL "b" "c.d")(NIL NIL NIL NIL))"
               R"((NIL NIL "Group Two" NIL)(NIL NIL NIL NIL)))"
               R"( ((NIL NIL "Group One" NIL)(NIL NIL "a" "b.c")("B" NIL "b" "c.d")(NIL NIL NIL NIL))"
               R"((NIL NIL "Group Two" NIL)(NIL NIL NIL NIL)))"
               R"( ((NIL NIL "Group One" NIL)(NIL NIL "a" "b.c")("B" NIL "b" "c.d")(NIL NIL NIL NIL))"
               R"((NIL NIL "Group Two" NIL)(NIL NIL NIL NIL)))"
               R"( (("comment only" NIL "a" "b.c")(NIL NIL "x" "y")) NIL NIL NIL NIL))");
}

TEST(Envelope, EightBitHeaderBytesGoAsLiterals) {
  auto e = envelope("Subject: 8bit subj\xc3\xa9\n folded\nCc: Mr. Sm\xc3\xb6rg\xc3\xa5s <s@x.se>\n");
  // Unfolded: the CRLF goes, the white space after it stays.
  EXPECT_EQ(e, "(NIL {18}\r\n8bit subj\xc3\xa9 folded NIL NIL NIL NIL (({13}\r\nMr. Sm\xc3\xb6rg\xc3\xa5s NIL \"s\" "
               "\"x.se\")) NIL NIL NIL)");
}

TEST(Envelope, FoldedTabsAreKept) {
  auto e = envelope("Subject: a\n\tb\n");
  EXPECT_EQ(e, "(NIL \"a\tb\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

}  // namespace
}  // namespace tern::imap::message
