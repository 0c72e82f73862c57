// FETCH arguments: items, sections, partials, macros, CONDSTORE/QRESYNC modifiers, and the names the
// response echoes.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace tern::imap::proto {
namespace {

using test::args_of;
using K = FetchAtt::Kind;

std::string names(const FetchRequest& r) {
  std::string s;
  for (const auto& a : r.atts) s += (s.empty() ? "" : " ") + a.name;
  return s;
}

TEST(Fetch, SimpleItemsAndMacros) {
  auto r = parse_fetch(args_of("FETCH 1:3,5 (flags uid InternalDate RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY MODSEQ SAVEDATE)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(names(*r), "FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY MODSEQ SAVEDATE");
  EXPECT_EQ(r->set.ranges.size(), 2u);
  EXPECT_EQ(names(*parse_fetch(args_of("FETCH * ALL"))), "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
  EXPECT_EQ(names(*parse_fetch(args_of("FETCH * fast"))), "FLAGS INTERNALDATE RFC822.SIZE");
  EXPECT_EQ(names(*parse_fetch(args_of("FETCH * FULL"))), "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
  EXPECT_EQ(names(*parse_fetch(args_of("FETCH 1 uid"))), "UID");
}

TEST(Fetch, MacrosOnlyStandAlone) {
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 (ALL)")));
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 (FLAGS FAST)")));
}

TEST(Fetch, Rfc822Items) {
  auto r = parse_fetch(args_of("FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT)"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->atts[0].kind, K::rfc822);
  EXPECT_FALSE(r->atts[0].peek);
  EXPECT_EQ(r->atts[1].kind, K::rfc822_header);
  EXPECT_TRUE(r->atts[1].peek);
  EXPECT_EQ(r->atts[2].kind, K::rfc822_text);
  EXPECT_EQ(names(*r), "RFC822 RFC822.HEADER RFC822.TEXT");
}

TEST(Fetch, BodySections) {
  auto a = parse_fetch_att("BODY[]");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, K::body_section);
  EXPECT_TRUE(a->section.part.empty());
  EXPECT_EQ(a->section.text, Section::Text::none);
  EXPECT_EQ(a->name, "BODY[]");

  a = parse_fetch_att("body.peek[1.2.MIME]");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->peek);
  EXPECT_EQ(a->section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(a->section.text, Section::Text::mime);
  EXPECT_EQ(a->name, "BODY[1.2.MIME]");

  a = parse_fetch_att("BODY.PEEK[HEADER.FIELDS (From to \"X-Spam\")]<0.100>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->section.text, Section::Text::header_fields);
  EXPECT_EQ(a->section.fields, (std::vector<std::string>{"FROM", "TO", "X-SPAM"}));
  ASSERT_TRUE(a->partial);
  EXPECT_EQ(*a->partial, std::make_pair(0u, 100u));
  EXPECT_EQ(a->name, "BODY[HEADER.FIELDS (FROM TO X-SPAM)]<0>");

  a = parse_fetch_att("BODY[3.HEADER.FIELDS.NOT (Received)]");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->section.text, Section::Text::header_fields_not);
  EXPECT_EQ(a->name, "BODY[3.HEADER.FIELDS.NOT (RECEIVED)]");

  EXPECT_EQ(parse_fetch_att("BODY[TEXT]<10.5>")->name, "BODY[TEXT]<10>");
  EXPECT_EQ(parse_fetch_att("BODY[2]")->name, "BODY[2]");
  EXPECT_EQ(parse_fetch_att("BODY[1.HEADER]")->section.text, Section::Text::header);
}

TEST(Fetch, BadSections) {
  for (const char* bad : {"BODY[", "BODY[MIME]", "BODY[0]", "BODY[1.]", "BODY[.1]", "BODY[HEADER.FIELDS]",
                          "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (a:b)]", "BODY[HEADER.FIELDS (a  b)]",
                          "BODY[TEXT ]", "BODY[FOO]", "BODY[]<1>", "BODY[]<1.0>", "BODY[]<a.1>", "BODY[]x",
                          "BODY.PEEK", "BINARY[TEXT]", "BINARY[1.]", "BINARY.SIZE[1]<0.1>", "FOO[1]", "FOO",
                          "BODY[4294967296]", "BODY[]<4294967296.1>"})
    EXPECT_FALSE(parse_fetch_att(bad)) << bad;
}

TEST(Fetch, Binary) {
  auto a = parse_fetch_att("BINARY.PEEK[1.2]<0.1024>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, K::binary);
  EXPECT_TRUE(a->peek);
  EXPECT_EQ(a->name, "BINARY[1.2]<0>");
  a = parse_fetch_att("binary.size[]");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, K::binary_size);
  EXPECT_EQ(a->name, "BINARY.SIZE[]");
  EXPECT_EQ(parse_fetch_att("BINARY[3]")->name, "BINARY[3]");
}

TEST(Fetch, LargeCountIsClamped) {
  auto a = parse_fetch_att("BODY[]<5.99999999999>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->partial->second, 0xffffffffu);
}

TEST(Fetch, Modifiers) {
  auto r = parse_fetch(args_of("FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->changedsince, 12345u);
  EXPECT_FALSE(r->vanished);
  r = parse_fetch(args_of("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 0 VANISHED)"), true);
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->vanished);
  EXPECT_EQ(r->changedsince, 0u);
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)")));  // not UID FETCH
  EXPECT_FALSE(parse_fetch(args_of("UID FETCH 1 FLAGS (VANISHED)"), true));      // needs CHANGEDSINCE
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS (CHANGEDSINCE x)")));
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)")));
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)")));
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS ()")));
  EXPECT_FALSE(parse_fetch(args_of("FETCH 1 FLAGS (FOO)")));
}

TEST(Fetch, BadRequests) {
  for (const char* bad : {"FETCH", "FETCH 1", "FETCH 0 FLAGS", "FETCH 1 ()", "FETCH 1 (FLAGS \"UID\")",
                          "FETCH 1 \"FLAGS\"", "FETCH (1) FLAGS", "FETCH 1 FLAGS (CHANGEDSINCE 1) x", "FETCH 1 NIL",
                          "FETCH 1 BODY[1", "FETCH 1 (BODY[1 FLAGS)"})
    EXPECT_FALSE(parse_fetch(args_of(bad))) << bad;
}

}  // namespace
}  // namespace tern::imap::proto
