// mime/headers (linked through the store): header fields, unfolding, Received count, RFC 2047 words.
#include <gtest/gtest.h>

#include <string>

#include "mime/headers.hpp"
#include "mime/text.hpp"

namespace tern::mime {
namespace {

// --- parse_header ---------------------------------------------------------------------------------

TEST(ParseHeader, FieldsUntilTheEmptyLine) {
  auto f = parse_header("From: a@b.test\r\nTo: c@d.test\r\nSubject:  hi there  \r\n\r\nBody: not a field\r\n");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "From");
  EXPECT_EQ(f[0].value, "a@b.test");
  EXPECT_EQ(f[1].name, "To");
  EXPECT_EQ(f[2].name, "Subject");
  EXPECT_EQ(f[2].value, "hi there");
}

TEST(ParseHeader, UnfoldsContinuationLines) {
  // RFC 5322 2.2.3: a CRLF followed by WSP is folding white space.
  auto f = parse_header("Subject: a long\r\n  subject\r\n\tline\r\nTo: x@y.test\r\n\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, "a long subject line");
  EXPECT_EQ(f[1].value, "x@y.test");
}

TEST(ParseHeader, LfLineEnds) {
  auto f = parse_header("Subject: one\n two\nFrom: a@b.test\n\nbody\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, "one two");
  EXPECT_EQ(f[1].value, "a@b.test");
}

TEST(ParseHeader, NoBodyNoFinalLineEnd) {
  auto f = parse_header("Subject: only");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].value, "only");
}

TEST(ParseHeader, EmptyValueAndColonInValue) {
  auto f = parse_header("Subject:\r\nX-Time: 12:30:00\r\n\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, "");
  EXPECT_EQ(f[1].name, "X-Time");
  EXPECT_EQ(f[1].value, "12:30:00");
}

TEST(ParseHeader, NotAHeaderAtAll) {
  EXPECT_TRUE(parse_header("").empty());
  EXPECT_TRUE(parse_header("\r\nSubject: body\r\n").empty());
  EXPECT_TRUE(parse_header("just text without a colon\r\nSubject: x\r\n").empty());
}

TEST(ParseHeader, MaxFields) {
  std::string m;
  for (int i = 0; i < 50; ++i) m += "X-N: " + std::to_string(i) + "\r\n";
  m += "\r\n";
  auto f = parse_header(m, 10);
  ASSERT_EQ(f.size(), 10u);
  EXPECT_EQ(f[9].value, "9");
  EXPECT_EQ(parse_header(m).size(), 50u);
}

// --- first_value ----------------------------------------------------------------------------------

TEST(FirstValue, CaseInsensitiveFirstOccurrence) {
  auto f = parse_header("SUBJECT: first\r\nsubject: second\r\nFrom: a@b.test\r\n\r\n");
  EXPECT_EQ(first_value(f, "Subject"), "first");
  EXPECT_EQ(first_value(f, "from"), "a@b.test");
  EXPECT_EQ(first_value(f, "To"), "");
  EXPECT_EQ(first_value(f, "Subj"), "");
}

// --- count_received -------------------------------------------------------------------------------

TEST(CountReceived, OnlyInTheHeader) {
  std::string m =
      "Received: from a by b;\r\n\tSat, 28 Nov 2026 13:20:05 +0000\r\n"
      "received: from c by d; Sat, 28 Nov 2026 13:20:04 +0000\r\n"
      "X-Received: not counted\r\n"
      "RECEIVED: from e by f; Sat, 28 Nov 2026 13:20:03 +0000\r\n"
      "Subject: x\r\n"
      "\r\n"
      "Received: this one is in the body\r\n";
  EXPECT_EQ(count_received(m), 3u);
  EXPECT_EQ(count_received("Subject: none\r\n\r\n"), 0u);
  EXPECT_EQ(count_received(""), 0u);
}

TEST(CountReceived, ManyHops) {
  std::string m;
  for (int i = 0; i < 120; ++i) m += "Received: from h" + std::to_string(i) + " by x\r\n";
  m += "\r\nbody\r\n";
  EXPECT_EQ(count_received(m), 120u);
}

// --- decode_header (mime/text, GMime): the index's From and Subject ---------------------------------

TEST(DecodeHeader, PlainTextUntouched) {
  EXPECT_EQ(decode_header(""), "");
  EXPECT_EQ(decode_header("Hello world"), "Hello world");
  EXPECT_EQ(decode_header("a = b ? c"), "a = b ? c");
}

TEST(DecodeHeader, BEncoding) {
  EXPECT_EQ(decode_header("=?utf-8?B?R3LDvMOfZQ==?="), "Gr\xc3\xbc\xc3\x9f" "e");
  EXPECT_EQ(decode_header("=?UTF-8?b?4oKs?="), "\xe2\x82\xac");
  EXPECT_EQ(decode_header("=?utf-8?B?0J/RgNC40LLQtdGCINC80LjRgA==?="),
            "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80");
}

TEST(DecodeHeader, QEncoding) {
  EXPECT_EQ(decode_header("=?utf-8?Q?Caf=C3=A9_au_lait?="), "Caf\xc3\xa9 au lait");
  EXPECT_EQ(decode_header("=?us-ascii?q?a=3Db?="), "a=b");
  EXPECT_EQ(decode_header("=?utf-8?Q?=3F?="), "?");
}

TEST(DecodeHeader, Latin1ConvertedToUtf8) {
  EXPECT_EQ(decode_header("=?iso-8859-1?Q?J=F6rg?="), "J\xc3\xb6rg");
  EXPECT_EQ(decode_header("=?ISO-8859-1?B?R3L832U=?="), "Gr\xc3\xbc\xc3\x9f" "e");
}

TEST(DecodeHeader, EveryCharsetIconvKnows) {
  // The second decoder left these encoded; the index now shows them.
  EXPECT_EQ(decode_header("=?koi8-r?B?8NLJ18XU?="), "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
  EXPECT_EQ(decode_header("=?iso-8859-2?Q?=A3=F3d=BC?="), "\xc5\x81\xc3\xb3" "d\xc5\xba");
  EXPECT_EQ(decode_header("=?windows-1252?Q?=80?="), "\xe2\x82\xac");
  EXPECT_EQ(decode_header("=?shift_jis?B?k/qWe4zq?="), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
}

TEST(DecodeHeader, AdjacentEncodedWordsJoinWithoutTheSpace) {
  // RFC 2047 6.2: white space between adjacent encoded-words is not displayed.
  EXPECT_EQ(decode_header("=?utf-8?Q?a?= =?utf-8?Q?b?="), "ab");
  EXPECT_EQ(decode_header("=?utf-8?Q?a_?= =?utf-8?Q?b?="), "a b");  // an encoded space is kept
}

TEST(DecodeHeader, TextAroundWordsKept) {
  EXPECT_EQ(decode_header("Re: =?utf-8?Q?Caf=C3=A9?= menu"), "Re: Caf\xc3\xa9 menu");
  EXPECT_EQ(decode_header("=?utf-8?Q?a?= and =?utf-8?Q?b?="), "a and b");
}

TEST(DecodeHeader, MalformedWordsLeftAsIs) {
  EXPECT_EQ(decode_header("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");  // unknown encoding
  EXPECT_EQ(decode_header("=?utf-8?B?abc"), "=?utf-8?B?abc");      // no end
  EXPECT_EQ(decode_header("Price =?"), "Price =?");
}

}  // namespace
}  // namespace tern::mime
