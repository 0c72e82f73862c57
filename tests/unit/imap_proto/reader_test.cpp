// The Reader: framing (lines, literals, limits, resynchronisation) and tokenizing. Every Reader input
// is also fed split at every byte position and one byte at a time, and must give the same events.
#include <gtest/gtest.h>

#include <string>

#include "helpers.hpp"

namespace tern::imap::proto {
namespace {

using namespace std::string_literals;
using test::Events;
using test::read_all_splits;

TEST(Reader, SimpleCommandsAtEverySplit) {
  auto ev = read_all_splits(
      "a1 NOOP\r\nA2 login bob \"pa ss\\\"w\\\\\"\r\n"
      "b uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n"
      "c LIST \"\" %\r\n");
  EXPECT_EQ(ev, (Events{"cmd a1 NOOP", "cmd A2 LOGIN bob \"pa ss\"w\\\"",
                        "cmd b UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)",
                        "cmd c LIST \"\" %"}));
}

TEST(Reader, BareLineFeedsAndEmptyLines) {
  EXPECT_EQ(read_all_splits("\r\n\na NOOP\n\r\nb CHECK\r\n"), (Events{"cmd a NOOP", "cmd b CHECK"}));
}

TEST(Reader, TrailingSpacesAreHarmless) {
  EXPECT_EQ(read_all_splits("a NOOP  \r\nb SELECT  INBOX \r\n"), (Events{"cmd a NOOP", "cmd b SELECT INBOX"}));
}

TEST(Reader, NilAndStrings) {
  EXPECT_EQ(read_all_splits("a X NIL nil \"NIL\" \"\" \\Seen $Junk ~x\r\n"),
            (Events{"cmd a X NIL NIL \"NIL\" \"\" \\Seen $Junk ~x"}));
}

TEST(Reader, SynchronizingLiteralsAskForTheirBytes) {
  EXPECT_EQ(read_all_splits("a LOGIN {3}\r\nbob {4}\r\np\r\ns\r\n"), (Events{"+", "+", "cmd a LOGIN L\"bob\" L\"p\r\ns\""}));
}

TEST(Reader, NonSynchronizingLiteralsDoNotAsk) {
  EXPECT_EQ(read_all_splits("a LOGIN {3+}\r\nbob {2+}\r\npw\r\nb NOOP\r\n"),
            (Events{"cmd a LOGIN L\"bob\" L\"pw\"", "cmd b NOOP"}));
}

TEST(Reader, Literal8MayHoldNul) {
  EXPECT_EQ(read_all_splits("a APPEND INBOX ~{5}\r\nhe\0lo\r\n"s), (Events{"+", "cmd a APPEND INBOX L8\"he\0lo\""s}));
  EXPECT_EQ(read_all_splits("a APPEND INBOX ~{2+}\r\n\0\0\r\n"s), (Events{"cmd a APPEND INBOX L8\"\0\0\""s}));
}

TEST(Reader, ZeroLengthLiteral) {
  EXPECT_EQ(read_all_splits("a LOGIN {0}\r\n {0+}\r\n\r\n"), (Events{"+", "cmd a LOGIN L\"\" L\"\""}));
}

TEST(Reader, LiteralBytesAreNeverParsed) {
  // Line ends, announcements and quotes inside a literal are only bytes.
  EXPECT_EQ(read_all_splits("a X {12}\r\n\"{5}\r\nb NOOP\r\nc NOOP\r\n"),
            (Events{"+", "cmd a X L\"\"{5}\r\nb NOOP\"", "cmd c NOOP"}));
}

TEST(Reader, LiteralsInsideLists) {
  EXPECT_EQ(read_all_splits("a X (a {2}\r\nbc (d {1+}\r\ne) f)\r\n"), (Events{"+", "cmd a X (a L\"bc\" (d L\"e\") f)"}));
}

TEST(Reader, MultiappendWithTwoMessages) {
  EXPECT_EQ(read_all_splits("a APPEND box (\\Seen) {5}\r\nhello ~{3+}\r\nx\0z\r\nb NOOP\r\n"s),
            (Events{"+", "cmd a APPEND box (\\Seen) L\"hello\" L8\"x\0z\""s, "cmd b NOOP"}));
}

TEST(Reader, AnnouncementInsideAQuotedStringIsNoLiteral) {
  EXPECT_EQ(read_all_splits("a X \"{3}\"\r\nb X \"ab {3}\r\nc NOOP\r\n"),
            (Events{"cmd a X \"{3}\"", "err b Unterminated quoted string", "cmd c NOOP"}));
}

TEST(Reader, LiteralMustEndItsLine) {
  EXPECT_EQ(read_all_splits("a X {3} b\r\nc X a{3}\r\nabc\r\nd NOOP\r\n"),
            (Events{"err a Literal not at the end of a line", "+", "err c Expected a space between arguments",
                    "cmd d NOOP"}));
}

TEST(Reader, TagsAndNames) {
  EXPECT_EQ(read_all_splits("a+b NOOP\r\n\"x\" NOOP\r\nonly\r\nt UID\r\nt (x)\r\nA]1 noop\r\n"),
            (Events{"err * Invalid tag", "err * Invalid tag", "err only Missing command", "err t UID needs a command",
                    "err t Invalid command name", "cmd A]1 NOOP"}));
}

TEST(Reader, QuotedStringErrors) {
  EXPECT_EQ(read_all_splits("a X \"a\\nb\"\r\nb X \"a\rb\"\r\nc X \"ok\\\\\"\r\n"),
            (Events{"err a Invalid escape in quoted string", "err b Invalid octet in quoted string", "cmd c X \"ok\\\""}));
}

TEST(Reader, ParseErrorsResynchroniseAtTheNextLine) {
  EXPECT_EQ(read_all_splits("a FETCH 1 (FLAGS\r\nb NOOP\r\nc X a)b\r\nd X (a)b\r\ne NOOP\r\n"),
            (Events{"err a Unterminated list", "cmd b NOOP", "err c Expected a space between arguments",
                    "err d Expected a space between arguments", "cmd e NOOP"}));
  EXPECT_EQ(read_all_splits("a X )\r\nb X (a))\r\n"), (Events{"err a Unexpected character", "err b Expected a space between arguments"}));
}

TEST(Reader, SectionsStayOneAtom) {
  // An unclosed "[" is no section: the atom ends at the space (FETCH then refuses "BODY[1" itself,
  // fetch_test.cpp); a quoted string left open inside a section is still an error.
  EXPECT_EQ(read_all_splits("a FETCH 1 (BODY[HEADER.FIELDS (\"X]\" To)] BINARY[1.2]<0.5>)\r\nb FETCH 1 BODY[1\r\n"
                            "c FETCH 1 BODY[HEADER.FIELDS (\"X)\r\n"),
            (Events{"cmd a FETCH 1 (BODY[HEADER.FIELDS (\"X]\" To)] BINARY[1.2]<0.5>)", "cmd b FETCH 1 BODY[1",
                    "err c Unterminated section"}));
}

// Issue 11: "[" is an ATOM-CHAR outside a FETCH section (RFC 9051 9: only "]" is resp-special), so a
// mailbox name holding every atom character is one atom, in SELECT as in LIST with wildcards.
TEST(Reader, BracketInAnAtom) {
  EXPECT_EQ(read_all_splits("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\nb LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n"),
            (Events{"cmd a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}", "cmd b LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*"}));
}

TEST(Reader, DepthLimit) {
  Limits l;
  l.max_depth = 2;
  EXPECT_EQ(read_all_splits("a X ((a))\r\nb X (((a)))\r\nc NOOP\r\n", l),
            (Events{"cmd a X ((a))", "err b [LIMIT] Lists nested too deeply", "cmd c NOOP"}));
}

TEST(Reader, ItemLimit) {
  Limits l;
  l.max_items = 3;
  EXPECT_EQ(read_all_splits("a X 1 2 3\r\nb X 1 (2 3)\r\nc NOOP\r\n", l),
            (Events{"cmd a X 1 2 3", "err b [LIMIT] Too many arguments", "cmd c NOOP"}));
}

TEST(Reader, OversizedLineIsDiscardedAndReported) {
  Limits l;
  l.max_line = 20;
  std::string longline = "a NOOP " + std::string(30, 'x') + "\r\n";
  EXPECT_EQ(read_all_splits(longline + "b NOOP\r\n", l), (Events{"err a [TOOBIG] Command line too long", "cmd b NOOP"}));
  // Exactly at the limit is fine; one more octet is not.
  std::string at = "a X " + std::string(16, 'y');
  EXPECT_EQ(read_all_splits(at + "\r\n" + at + "z\r\nc NOOP\n", l),
            (Events{"cmd a X " + std::string(16, 'y'), "err a [TOOBIG] Command line too long", "cmd c NOOP"}));
  // A tag that does not end within the limit cannot be read.
  EXPECT_EQ(read_all_splits(std::string(40, 't') + " NOOP\r\nb NOOP\r\n", l),
            (Events{"err * [TOOBIG] Command line too long", "cmd b NOOP"}));
}

TEST(Reader, OversizedLineAfterALiteralKeepsTheTag) {
  Limits l;
  l.max_line = 20;
  EXPECT_EQ(read_all_splits("a X {1+}\r\nx " + std::string(30, 'y') + "\r\nb NOOP\r\n", l),
            (Events{"err a [TOOBIG] Command line too long", "cmd b NOOP"}));
}

TEST(Reader, OversizedLineAnnouncingANonSyncLiteralIsFatal) {
  Limits l;
  l.max_line = 20;
  // Its literal octets would follow at once and be read as commands.
  EXPECT_EQ(read_all_splits("a X " + std::string(30, 'y') + " {5+}\r\nhello\r\n", l),
            (Events{"err a [TOOBIG] fatal Command line too long"}));
  // A synchronizing one is never sent without a "+".
  EXPECT_EQ(read_all_splits("a X " + std::string(30, 'y') + " {5}\r\nb NOOP\r\n", l),
            (Events{"err a [TOOBIG] Command line too long", "cmd b NOOP"}));
}

TEST(Reader, SynchronizingLiteralOverTheLimitIsRefusedWithoutContinuation) {
  Limits l;
  l.max_literal = 10;
  EXPECT_EQ(read_all_splits("a APPEND x {11}\r\nb NOOP\r\nc APPEND x {10}\r\n0123456789\r\n", l),
            (Events{"err a [TOOBIG] Literal too large", "cmd b NOOP", "+", "cmd c APPEND x L\"0123456789\""}));
  EXPECT_EQ(read_all_splits("a APPEND x {99999999999999999999999}\r\nb NOOP\r\n", l),
            (Events{"err a [TOOBIG] Literal too large", "cmd b NOOP"}));
}

TEST(Reader, TooLargeLiteralErrorNamesTheCommand) {
  Limits l;
  l.max_literal = 10;
  Reader r(l);
  std::string in = "a uid Append x {11}\r\n";
  Event ev = r.next(in);
  EXPECT_EQ(ev.kind, Event::Kind::error);
  EXPECT_EQ(ev.command.tag, "a");
  EXPECT_EQ(ev.command.name, "UID APPEND");
  EXPECT_FALSE(ev.fatal);
}

TEST(Reader, NonSynchronizingLiteralOverLiteralMinusIsFatal) {
  EXPECT_EQ(read_all_splits("a APPEND x {4097+}\r\n" + std::string(4097, 'm') + "\r\n"),
            (Events{"err a [TOOBIG] fatal Literal too large"}));
  EXPECT_EQ(read_all_splits("a APPEND x {4096+}\r\n" + std::string(4096, 'm') + "\r\n").size(), 1u);
  // With LITERAL+ advertised, the session raises the limit to max_literal.
  Limits l;
  l.max_nonsync_literal = l.max_literal;
  EXPECT_EQ(test::read_events({"a APPEND x {5000+}\r\n" + std::string(5000, 'm') + "\r\n"}, l).size(), 1u);
}

TEST(Reader, CommandLimitCountsLinesAndLiterals) {
  Limits l;
  l.max_command = 40;
  EXPECT_EQ(read_all_splits("a X {10}\r\n0123456789 {20}\r\nb NOOP\r\nc NOOP\r\n", l),
            (Events{"+", "err a [TOOBIG] Literal too large", "cmd b NOOP", "cmd c NOOP"}));
  EXPECT_EQ(read_all_splits("a X {10}\r\n0123456789 {5}\r\nabcde xxxxxxxxxx\r\nc NOOP\r\n", l),
            (Events{"+", "+", "err a [TOOBIG] Command too long", "cmd c NOOP"}));
  EXPECT_EQ(read_all_splits("a X {10+}\r\n0123456789 {20+}\r\n" + std::string(20, 'z') + "\r\n", l),
            (Events{"err a [TOOBIG] fatal Literal too large"}));
}

TEST(Reader, NextLineReadsRawLines) {
  Reader r;
  bool too_long = true;
  std::string in = "dGVzdA==\r\nDON";
  EXPECT_EQ(r.next_line(in, 100, too_long), std::optional<std::string>("dGVzdA=="));
  EXPECT_FALSE(too_long);
  EXPECT_EQ(r.next_line(in, 100, too_long), std::nullopt);
  EXPECT_EQ(in, "DON");
  in += "E\na NOOP\r\n";
  EXPECT_EQ(r.next_line(in, 100, too_long), std::optional<std::string>("DONE"));
  Event ev = r.next(in);
  EXPECT_EQ(test::describe(ev), "cmd a NOOP");
}

TEST(Reader, NextLineTooLongDiscardsTheRestOfThatLine) {
  Reader r;
  bool too_long = false;
  std::string in = std::string(20, 'x');
  EXPECT_EQ(r.next_line(in, 10, too_long), std::nullopt);
  EXPECT_TRUE(too_long);
  EXPECT_TRUE(in.empty());
  in = "yyyy";
  EXPECT_EQ(r.next_line(in, 10, too_long), std::nullopt);
  EXPECT_FALSE(too_long);
  in += "y\r\na NOOP\r\n";
  Event ev = r.next(in);  // the tail of the long line is skipped silently
  EXPECT_EQ(test::describe(ev), "cmd a NOOP");
  // A whole line over the limit.
  in = std::string(11, 'z') + "\r\nok\r\n";
  EXPECT_EQ(r.next_line(in, 10, too_long), std::nullopt);
  EXPECT_TRUE(too_long);
  EXPECT_EQ(r.next_line(in, 10, too_long), std::optional<std::string>("ok"));
}

TEST(ParseCommandLine, WithoutReader) {
  auto p = parse_command_line("x1 Status INBOX (MESSAGES UIDNEXT)");
  ASSERT_TRUE(p.command);
  EXPECT_EQ(test::describe(*p.command), "x1 STATUS INBOX (MESSAGES UIDNEXT)");
  auto bad = parse_command_line("x1 LOGIN {3}");
  EXPECT_FALSE(bad.command);
  EXPECT_EQ(bad.tag, "x1");
  auto untagged = parse_command_line("");
  EXPECT_FALSE(untagged.command);
  EXPECT_EQ(untagged.tag, "*");
}

}  // namespace
}  // namespace tern::imap::proto
