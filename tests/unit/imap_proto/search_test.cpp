// SEARCH, SORT and THREAD: every key of RFC 9051 6.4.4 and RFC 3501, RETURN options, charsets, and
// the nesting bound.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace tern::imap::proto {
namespace {

using test::args_of;
using Op = SearchKey::Op;

// A key tree as a short string: op(children) with its argument.
std::string show(const SearchKey& k) {
  static const char* names[] = {"all", "and", "or", "not", "seqset", "uid", "answered", "deleted", "draft",
                                "flagged", "seen", "recent", "new", "old", "unanswered", "undeleted",
                                "undraft", "unflagged", "unseen", "keyword", "unkeyword", "bcc", "cc", "from",
                                "to", "subject", "body", "text", "header", "before", "on", "since",
                                "sentbefore", "senton", "sentsince", "larger", "smaller", "modseq"};
  std::string s = names[static_cast<int>(k.op)];
  switch (k.op) {
    case Op::and_: case Op::or_: case Op::not_: {
      s += "(";
      for (std::size_t i = 0; i < k.children.size(); ++i) s += (i ? " " : "") + show(k.children[i]);
      return s + ")";
    }
    case Op::seqset: case Op::uid: {
      s += ":";
      if (k.set.saved) return s + "$";
      for (auto& r : k.set.ranges) s += std::to_string(r.lo) + "-" + std::to_string(r.hi) + ",";
      return s;
    }
    case Op::keyword: case Op::unkeyword: case Op::bcc: case Op::cc: case Op::from: case Op::to:
    case Op::subject: case Op::body: case Op::text:
      return s + "=" + k.arg;
    case Op::header:
      return s + "=" + k.arg + ":" + k.arg2;
    case Op::before: case Op::on: case Op::since: case Op::sentbefore: case Op::senton: case Op::sentsince:
      return s + "=" + std::to_string(k.date);
    case Op::larger: case Op::smaller:
      return s + "=" + std::to_string(k.number);
    case Op::modseq:
      return s + "=" + k.arg + "/" + k.arg2 + "/" + std::to_string(k.number);
    default:
      return s;
  }
}

std::string search(const std::string& line) {
  auto r = parse_search(args_of("SEARCH " + line));
  if (!r) return "error: " + r.error + (r.code.empty() ? "" : " [" + r.code + "]");
  return show(r->key);
}

TEST(Search, EveryFlagKey) {
  EXPECT_EQ(search("ALL ANSWERED DELETED DRAFT FLAGGED SEEN RECENT NEW OLD UNANSWERED UNDELETED UNDRAFT "
                   "UNFLAGGED UNSEEN"),
            "and(all answered deleted draft flagged seen recent new old unanswered undeleted undraft unflagged "
            "unseen)");
  EXPECT_EQ(search("unseen"), "unseen");
}

TEST(Search, StringKeys) {
  EXPECT_EQ(search("FROM bob TO \"a b\" CC x BCC y SUBJECT {3+}\r\nh\xc3\xa9 BODY NIL TEXT \"\""),
            "and(from=bob to=a b cc=x bcc=y subject=h\xc3\xa9 body=NIL text=)");
  EXPECT_EQ(search("HEADER Message-ID \"<a@b>\""), "header=Message-ID:<a@b>");
  EXPECT_EQ(search("KEYWORD $Junk UNKEYWORD NonJunk"), "and(keyword=$Junk unkeyword=NonJunk)");
}

TEST(Search, DatesAndSizes) {
  EXPECT_EQ(search("BEFORE 1-Feb-1994 ON \"01-Feb-1994\" SINCE 29-feb-2024 SENTBEFORE 1-Jan-2000 SENTON "
                   "31-Dec-1999 SENTSINCE 7-Jul-2007"),
            "and(before=19940201 on=19940201 since=20240229 sentbefore=20000101 senton=19991231 "
            "sentsince=20070707)");
  EXPECT_EQ(search("LARGER 1000 SMALLER 9223372036854775807"), "and(larger=1000 smaller=9223372036854775807)");
}

TEST(Search, SetsAndLogic) {
  EXPECT_EQ(search("1:3,5 UID 7:* $"), "and(seqset:1-3,5-5, uid:7-0, seqset:$)");
  EXPECT_EQ(search("NOT SEEN"), "not(seen)");
  EXPECT_EQ(search("OR SEEN (FLAGGED FROM x)"), "or(seen and(flagged from=x))");
  EXPECT_EQ(search("OR OR SEEN DRAFT NOT (DELETED)"), "or(or(seen draft) not(and(deleted)))");
  EXPECT_EQ(search("UID $"), "uid:$");
}

TEST(Search, Modseq) {
  EXPECT_EQ(search("MODSEQ 620162338"), "modseq=//620162338");
  EXPECT_EQ(search("MODSEQ \"/flags/\\\\draft\" all 620162338"), "modseq=/flags/\\draft/all/620162338");
  EXPECT_EQ(search("MODSEQ \"/flags/$Junk\" PRIV 5"), "modseq=/flags/$Junk/priv/5");
}

TEST(Search, ReturnAndCharset) {
  auto r = parse_search(args_of("SEARCH RETURN (MIN MAX COUNT ALL SAVE) CHARSET utf-8 SEEN"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->has_return && r->ret_min && r->ret_max && r->ret_count && r->ret_all && r->ret_save);
  EXPECT_EQ(r->charset, "UTF-8");
  r = parse_search(args_of("SEARCH RETURN () ALL"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_return && r->ret_all && !r->ret_min);
  r = parse_search(args_of("SEARCH CHARSET US-ASCII ALL"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_return);
  EXPECT_EQ(r->charset, "US-ASCII");
  EXPECT_EQ(search("CHARSET ISO-8859-1 ALL"), "error: Unsupported charset [BADCHARSET]");
  EXPECT_EQ(search("RETURN (PARTIAL) ALL"), "error: Invalid RETURN options");
  EXPECT_EQ(search("RETURN ALL"), "error: Invalid RETURN options");
}

TEST(Search, Errors) {
  for (const char* bad : {"", "FOO", "FROM", "BEFORE", "BEFORE 30-Feb-2024", "BEFORE 1-Foo-2024", "LARGER x",
                          "LARGER -1", "UID", "UID x", "NOT", "OR SEEN", "()", "0", "1:x", "KEYWORD (a)",
                          "KEYWORD a]b", "HEADER x", "MODSEQ", "MODSEQ \"/flags/x\" 5", "MODSEQ \"flags\" all 5",
                          "MODSEQ \"/flags/x\" mine 5", "CHARSET", "(SEEN) (\"x\")", "SEEN (FROM)"})
    EXPECT_EQ(search(bad).rfind("error: ", 0), 0u) << bad;
}

TEST(Search, NestingIsBounded) {
  std::string deep;
  for (std::size_t i = 0; i < max_search_depth; ++i) deep += "NOT ";
  EXPECT_EQ(search(deep + "SEEN").rfind("not(not(", 0), 0u);
  EXPECT_EQ(search(deep + "NOT NOT SEEN"), "error: Search keys nested too deeply");
  std::string ors;
  for (std::size_t i = 0; i < 5000; ++i) ors += "OR SEEN ";
  EXPECT_EQ(search(ors + "SEEN"), "error: Search keys nested too deeply");
}

TEST(Sort, CriteriaAndKeys) {
  auto r = parse_sort(args_of("SORT (REVERSE ARRIVAL cc DATE from SIZE SUBJECT TO DISPLAYFROM REVERSE DISPLAYTO) "
                              "UTF-8 UNSEEN FROM x"));
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r->criteria.size(), 9u);
  EXPECT_TRUE(r->criteria[0].reverse);
  EXPECT_EQ(r->criteria[0].key, SortCriterion::Key::arrival);
  EXPECT_FALSE(r->criteria[1].reverse);
  EXPECT_EQ(r->criteria[7].key, SortCriterion::Key::display_from);
  EXPECT_TRUE(r->criteria[8].reverse);
  EXPECT_EQ(r->criteria[8].key, SortCriterion::Key::display_to);
  EXPECT_EQ(r->charset, "UTF-8");
  EXPECT_FALSE(r->search.has_return);
  EXPECT_EQ(show(r->search.key), "and(unseen from=x)");
}

TEST(Sort, EsortReturn) {
  auto r = parse_sort(args_of("SORT RETURN (MIN COUNT) (DATE) us-ascii ALL"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_TRUE(r->search.has_return && r->search.ret_min && r->search.ret_count);
  EXPECT_EQ(r->charset, "US-ASCII");
}

TEST(Sort, Errors) {
  for (const char* bad : {"SORT", "SORT () UTF-8 ALL", "SORT (DATE)", "SORT (DATE) UTF-8", "SORT (REVERSE) UTF-8 ALL",
                          "SORT (REVERSE REVERSE DATE) UTF-8 ALL", "SORT (FOO) UTF-8 ALL", "SORT DATE UTF-8 ALL",
                          "SORT ((DATE)) UTF-8 ALL", "SORT (DATE) UTF-8 BAR"})
    EXPECT_FALSE(parse_sort(args_of(bad))) << bad;
  auto r = parse_sort(args_of("SORT (DATE) KOI8-R ALL"));
  EXPECT_EQ(r.code, "BADCHARSET");
}

TEST(Thread, Algorithms) {
  auto r = parse_thread(args_of("THREAD references UTF-8 SINCE 1-Jan-2020"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->algorithm, ThreadRequest::Algorithm::references);
  EXPECT_EQ(show(r->key), "since=20200101");
  r = parse_thread(args_of("THREAD ORDEREDSUBJECT US-ASCII ALL UNSEEN"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->algorithm, ThreadRequest::Algorithm::orderedsubject);
  EXPECT_EQ(show(r->key), "and(all unseen)");
  EXPECT_FALSE(parse_thread(args_of("THREAD REFS UTF-8 ALL")));
  EXPECT_FALSE(parse_thread(args_of("THREAD REFERENCES UTF-8")));
  EXPECT_EQ(parse_thread(args_of("THREAD REFERENCES BIG5 ALL")).code, "BADCHARSET");
}

}  // namespace
}  // namespace tern::imap::proto
