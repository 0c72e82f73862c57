// NeedleSet: many SEARCH strings in one pass, with exactly contains()'s answers (RFC 9051 6.4.4).
#include <gtest/gtest.h>

#include <random>

#include "imap/message/message.hpp"
#include "imap/message/needles.hpp"

namespace tern::imap::message {
namespace {

// find() against contains(), needle by needle, on the concatenation of `parts`.
void expect_as_contains(const std::vector<std::string>& needles, std::initializer_list<std::string_view> parts) {
  NeedleSet set;
  std::vector<std::uint32_t> ids;
  for (auto& n : needles) ids.push_back(set.add(n));
  set.build();
  auto found = set.find(parts);
  std::string joined;
  for (auto p : parts) joined += p;
  for (std::size_t i = 0; i < needles.size(); ++i)
    EXPECT_EQ(found[ids[i]], contains(joined, needles[i])) << "needle \"" << needles[i] << "\" in \"" << joined << "\"";
}

TEST(Needles, OverlappingNeedlesAllFound) {
  // The textbook set: suffixes of one another, found through failure and dictionary links.
  expect_as_contains({"he", "she", "his", "hers", "hi", "s", "ushers!", "x"}, {"USHERS"});
  expect_as_contains({"aab", "ab", "b", "aaab", "aaaab"}, {"aaab"});
  expect_as_contains({"abcd", "bc", "bcx", "c"}, {"abcx"});
}

TEST(Needles, AsciiCaseIgnoredAndDuplicatesShareAnIndex) {
  NeedleSet set;
  auto a = set.add("Hello");
  auto b = set.add("HELLO");
  auto c = set.add("world");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(set.size(), 2u);
  set.build();
  auto found = set.find({"say hello"});
  EXPECT_TRUE(found[a]);
  EXPECT_FALSE(found[c]);
}

TEST(Needles, EmptyNeedleAlwaysMatches) {
  NeedleSet set;
  auto e = set.add("");
  auto x = set.add("x");
  set.build();
  EXPECT_TRUE(set.find({""})[e]);
  EXPECT_FALSE(set.find({""})[x]);
  EXPECT_TRUE(set.find({"abc"})[e]);
}

TEST(Needles, MatchSpansParts) {
  // TEXT reads the header text and then the body text as one.
  expect_as_contains({"subject: hi\nbody", "hi\nb", "\nbody", "nothing"}, {"Subject: hi\n", "Body text\n"});
  expect_as_contains({"abcdef", "cd", "f", "a"}, {"ab", "", "c", "def"});
}

TEST(Needles, UnicodeCaseFoldingForEightBitNeedles) {
  // As contains(): J\xc3\x96RG ("JÖRG") folds to "jörg"; an ASCII needle is not folded.
  expect_as_contains({"J\xc3\x96RG", "j\xc3\xb6rg", "GR\xc3\x9c\xc3\x9f", "CAF", "CAFE", "\xc3\xa9"},
                     {"Gr\xc3\xbc\xc3\x9f" "e von J\xc3\xb6rg, caf\xc3\xa9"});
  expect_as_contains({"\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89"}, {"l'\xc3\xa9", "t\xc3\xa9"});
  // Invalid UTF-8 in the text: folded for ASCII only, as contains() does.
  expect_as_contains({"\xe9t\xe9", "\xc3\xa9"}, {"\xe9T\xe9 and more"});
}

TEST(Needles, BinaryBytesAndLongNeedles) {
  std::string text("a\0b\0c", 5);
  expect_as_contains({std::string("\0b", 2), "B", std::string("b\0C", 3)}, {text});
  std::string longest(5000, 'e');
  expect_as_contains({longest, longest + "x", std::string(60, 'e') + "0511", "ee"}, {longest});
}

// The shape of issue 10 item 4: thousands of needles against repetitive text, two of them present.
TEST(Needles, ThousandsOfNeedles) {
  std::vector<std::string> needles;
  for (int i = 0; i < 4096; ++i) needles.push_back(std::string(60, 'e') + std::to_string(10000 + i));
  std::string text;
  for (int line = 0; line < 300; ++line) text += std::string(76, 'e') + "\r\n";
  text += std::string(60, 'E') + "10007 and " + std::string(60, 'e') + "14095\r\n";
  NeedleSet set;
  for (auto& n : needles) set.add(n);
  set.build();
  auto found = set.find({text});
  for (std::size_t i = 0; i < needles.size(); ++i) EXPECT_EQ(found[i], i == 7 || i == 4095) << i;
}

// Random needles and texts over a small alphabet (many partial matches), against contains().
TEST(Needles, RandomAgainstContains) {
  std::mt19937 rng(42);
  auto random_string = [&](std::size_t max) {
    static const char alphabet[] = "abAB\n";
    std::string s(std::uniform_int_distribution<std::size_t>(0, max)(rng), 'a');
    for (auto& c : s) c = alphabet[std::uniform_int_distribution<int>(0, 4)(rng)];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> needles;
    for (int i = 0; i < 12; ++i) needles.push_back(random_string(6));
    auto a = random_string(40), b = random_string(40);
    expect_as_contains(needles, {a, b});
  }
}

}  // namespace
}  // namespace tern::imap::message
