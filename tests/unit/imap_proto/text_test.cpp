// Sequence sets, numbers, astrings, modified UTF-7, UTF-8 and dates.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace tern::imap::proto {
namespace {

std::string show(const SequenceSet& s) {
  if (s.saved) return "$";
  std::string out;
  for (const auto& r : s.ranges) out += std::to_string(r.lo) + "-" + std::to_string(r.hi) + ",";
  return out;
}

TEST(SequenceSet, Parse) {
  EXPECT_EQ(show(*parse_sequence_set("1")), "1-1,");
  EXPECT_EQ(show(*parse_sequence_set("1:3,7,*,9:*,5:2,4294967295")), "1-3,7-7,0-0,9-0,5-2,4294967295-4294967295,");
  EXPECT_EQ(show(*parse_sequence_set("$")), "$");
  for (const char* bad : {"", "0", "1:0", ",1", "1,", "1,,2", "1:", ":1", "1:2:3", "a", "-1", "4294967296", "$,1", "1 2",
                          "01"})
    EXPECT_FALSE(parse_sequence_set(bad)) << bad;
}

TEST(SequenceSet, Contains) {
  auto s = *parse_sequence_set("2:4,10:*");
  EXPECT_FALSE(s.contains(1, 20));
  EXPECT_TRUE(s.contains(3, 20));
  EXPECT_FALSE(s.contains(5, 20));
  EXPECT_TRUE(s.contains(15, 20));
  EXPECT_TRUE(s.contains(20, 20));
  EXPECT_FALSE(s.contains(21, 20));
  // RFC 9051 6.4.8: with 7 the highest UID, "10:*" is "7:10".
  EXPECT_TRUE(s.contains(7, 7));
  EXPECT_TRUE(parse_sequence_set("5:2")->contains(3, 10));
}

TEST(SequenceSet, Resolved) {
  auto r = parse_sequence_set("9:*,1:3,2:5,7,8")->resolved(12);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].lo, 1u);
  EXPECT_EQ(r[0].hi, 5u);
  EXPECT_EQ(r[1].lo, 7u);
  EXPECT_EQ(r[1].hi, 12u);
  EXPECT_TRUE(parse_sequence_set("*")->resolved(0).empty());
  auto m = parse_sequence_set("4294967295,4294967294")->resolved(1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].lo, 4294967294u);
  EXPECT_EQ(m[0].hi, 4294967295u);
}

TEST(SequenceSet, Format) {
  std::vector<std::uint32_t> v{9, 1, 2, 3, 7, 10, 2};
  EXPECT_EQ(format_sequence_set(v), "1:3,7,9:10");
  EXPECT_EQ(format_sequence_set(std::vector<std::uint32_t>{}), "");
  EXPECT_EQ(format_sequence_set(std::vector<std::uint32_t>{5}), "5");
  EXPECT_EQ(format_sequence_set(std::vector<std::uint32_t>{4294967294u, 4294967295u}), "4294967294:4294967295");
}

TEST(Numbers, Parse) {
  EXPECT_EQ(parse_nz_number("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_nz_number("0"));
  EXPECT_FALSE(parse_nz_number("4294967296"));
  EXPECT_FALSE(parse_nz_number("+1"));
  EXPECT_EQ(parse_number64("0"), 0u);
  EXPECT_EQ(parse_number64("9223372036854775807"), 9223372036854775807u);
  EXPECT_FALSE(parse_number64("9223372036854775808"));
  EXPECT_FALSE(parse_number64("99999999999999999999"));
  EXPECT_FALSE(parse_number64(""));
}

TEST(Astring, Args) {
  auto args = test::args_of("X foo \"a b\" NIL (x) inBox");
  EXPECT_EQ(astring_arg(args[0]), "foo");
  EXPECT_EQ(astring_arg(args[1]), "a b");
  EXPECT_EQ(astring_arg(args[2]), "NIL");
  EXPECT_FALSE(astring_arg(args[3]));
  EXPECT_EQ(mailbox_arg(args[4]), "INBOX");
  EXPECT_EQ(mailbox_arg(args[0]), "foo");
}

TEST(Utf8, Valid) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("Entw\xc3\xbcrfe \xe2\x82\xac \xf0\x9f\x98\x80"));
  for (const char* bad : {"\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80",
                          "a\xe2\x82"})
    EXPECT_FALSE(valid_utf8(bad)) << bad;
}

TEST(Mutf7, RoundTrips) {
  struct Case {
    const char* utf8;
    const char* mutf7;
  };
  for (auto c : {Case{"", ""}, Case{"INBOX", "INBOX"}, Case{"&", "&-"}, Case{"a&b&", "a&-b&-"},
                 Case{"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
                 Case{"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                      "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
                 Case{"\xf0\x9f\x98\x80", "&2D3eAA-"}, Case{"\xc3\xa4&", "&AOQ-&-"}, Case{"\t", "&AAk-"}}) {
    EXPECT_EQ(mutf7_encode(c.utf8), c.mutf7) << c.utf8;
    EXPECT_EQ(mutf7_decode(c.mutf7), std::optional<std::string>(c.utf8)) << c.mutf7;
  }
}

TEST(Mutf7, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(mutf7_encode("a\xff"), "a&,,0-");
  EXPECT_EQ(mutf7_decode("a&,,0-"), "a\xef\xbf\xbd");
}

TEST(Mutf7, RejectsNonCanonicalForms) {
  for (const char* bad : {"&", "&AOQ", "&-&", "&AGE-",  // "a" encoded
                          "&AOQ-&APw-",                 // two adjacent runs
                          "&AOR-",                      // non-zero padding bits
                          "&AOQA-",                     // a stray sextet
                          "&2D0-",                      // lone high surrogate
                          "&3gA-",                      // lone low surrogate
                          "&*-", "caf\xc3\xa9", "a\tb", "&/-", "&AOQ"}) {
    EXPECT_FALSE(mutf7_decode(bad)) << bad;
  }
}

TEST(Dates, DateTime) {
  EXPECT_EQ(parse_date_time("17-Jul-1996 02:44:25 -0700"), 837596665);
  EXPECT_EQ(parse_date_time(" 7-Jul-1996 02:44:25 +0000"), 836707465);
  EXPECT_EQ(parse_date_time("7-jul-1996 02:44:25 +0000"), 836707465);
  EXPECT_EQ(parse_date_time("01-Jan-1970 00:00:00 +0000"), 0);
  EXPECT_EQ(parse_date_time("01-Jan-1970 01:00:00 +0100"), 0);
  EXPECT_EQ(parse_date_time("31-Dec-1969 23:59:59 +0000"), -1);
  EXPECT_EQ(parse_date_time("29-Feb-2000 12:00:00 +0000"), 951825600);
  for (const char* bad : {"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000",
                          "17-Jul-1996 02:60:25 +0000", "17-Jul-1996 02:44:25 0700", "32-Jul-1996 02:44:25 +0000",
                          "29-Feb-1900 02:44:25 +0000", "17-Jux-1996 02:44:25 +0000", "17-Jul-96 02:44:25 +0000",
                          "  7-Jul-1996 02:44:25 +0000", " 17-Jul-1996 02:44:25 +0000", "17-Jul-1996 02:44:25 +0700 ",
                          "117-Jul-1996 02:44:25 +0000", "17-Jul-1996 2:44:25 +0000", "00-Jul-1996 02:44:25 +0000"})
    EXPECT_FALSE(parse_date_time(bad)) << bad;
}

TEST(Dates, SearchDate) {
  EXPECT_EQ(parse_date("1-Feb-1994"), 19940201);
  EXPECT_EQ(parse_date("01-FEB-1994"), 19940201);
  EXPECT_EQ(parse_date("29-Feb-2024"), 20240229);
  for (const char* bad : {"", "29-Feb-2023", "1-Feb-94", "1 Feb 1994", "1-Feb-1994 ", "x1-Feb-1994", "001-Feb-1994"})
    EXPECT_FALSE(parse_date(bad)) << bad;
}

TEST(Dates, Format) {
  EXPECT_EQ(format_date_time(0), "01-Jan-1970 00:00:00 +0000");
  EXPECT_EQ(format_date_time(837596665), "17-Jul-1996 09:44:25 +0000");
  EXPECT_EQ(format_date_time(-1), "31-Dec-1969 23:59:59 +0000");
  EXPECT_EQ(format_date_time(951825600), "29-Feb-2000 12:00:00 +0000");
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{1700000000}, std::int64_t{-86401}, std::int64_t{4102444799}})
    EXPECT_EQ(parse_date_time(format_date_time(t)), t);
}

}  // namespace
}  // namespace tern::imap::proto
