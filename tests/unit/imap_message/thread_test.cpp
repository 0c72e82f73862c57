// THREAD (RFC 5256): ORDEREDSUBJECT (3), REFERENCES (4), response syntax (5).
#include <gtest/gtest.h>

#include "imap/message/message.hpp"

namespace tern::imap::message {
namespace {

ThreadMessage msg(std::uint32_t id, std::string subject, std::int64_t date, std::string mid = {},
                  std::vector<std::string> refs = {}, std::string irt = {}) {
  ThreadMessage m;
  m.id = id;
  m.base_subject = base_subject(subject);
  m.reply_or_forward = m.base_subject != subject;
  m.sent_date = date;
  m.message_id = std::move(mid);
  m.references = std::move(refs);
  m.in_reply_to = std::move(irt);
  return m;
}

TEST(ThreadOrderedSubject, GroupsBySubjectWithoutGrandchildren) {
  std::vector<ThreadMessage> in = {msg(1, "A", 10), msg(2, "Re: A", 20), msg(3, "B", 5), msg(4, "re: a", 30),
                                   msg(5, "C", 40), msg(6, "[x] C", 45)};
  EXPECT_EQ(thread_orderedsubject(in), "(3)(1 (2)(4))(5 6)");
}

TEST(ThreadOrderedSubject, EqualDatesKeepTheRequestOrder) {
  EXPECT_EQ(thread_orderedsubject({msg(7, "x", 1), msg(3, "y", 1), msg(5, "x", 1)}), "(3)(5 7)");
  EXPECT_EQ(thread_orderedsubject({}), "");
}

// The tree RFC 5256 5 draws for "(2)(3 6 (4 23)(44 7 96))".
TEST(ThreadReferences, TheRfcExampleTree) {
  std::vector<ThreadMessage> in = {
      msg(2, "other", 1, "<2@x>"),
      msg(3, "topic", 2, "<3@x>"),
      msg(6, "Re: topic", 3, "<6@x>", {"<3@x>"}),
      msg(4, "Re: topic", 4, "<4@x>", {"<3@x>", "<6@x>"}),
      msg(23, "Re: topic", 5, "<23@x>", {"<3@x>", "<6@x>", "<4@x>"}),
      msg(44, "Re: topic", 6, "<44@x>", {}, "<6@x>"),
      msg(7, "Re: topic", 7, "<7@x>", {"<44@x>"}),
      msg(96, "Re: topic", 8, "<96@x>", {"<3@x>", "<6@x>", "<44@x>", "<7@x>"}),
  };
  EXPECT_EQ(thread_references(in), "(2)(3 6 (4 23)(44 7 96))");
}

TEST(ThreadReferences, DummyParentWithTwoChildrenStaysAtTheRoot) {
  std::vector<ThreadMessage> in = {msg(3, "Re: a", 1, "<3@x>", {"<gone@x>"}),
                                   msg(5, "Re: b", 2, "<5@x>", {"<gone@x>"})};
  EXPECT_EQ(thread_references(in), "((3)(5))");
}

TEST(ThreadReferences, DummyParentWithOneChildIsPromoted) {
  EXPECT_EQ(thread_references({msg(1, "Re: a", 1, "<1@x>", {"<gone@x>"}), msg(2, "b", 2, "<2@x>")}), "(1)(2)");
  // Below the root a dummy always gives way to its children.
  std::vector<ThreadMessage> in = {msg(1, "a", 1, "<1@x>"), msg(2, "Re: a", 2, "<2@x>", {"<1@x>", "<gone@x>"}),
                                   msg(3, "Re: a", 3, "<3@x>", {"<1@x>", "<gone@x>"})};
  EXPECT_EQ(thread_references(in), "(1 (2)(3))");
}

TEST(ThreadReferences, SubjectsMergeThreads) {
  // A reply without references joins the original as its child.
  EXPECT_EQ(thread_references({msg(1, "hello", 1, "<1@x>"), msg(2, "Re: hello", 2, "<2@x>")}), "(1 2)");
  // Two originals with one subject go under a new dummy.
  EXPECT_EQ(thread_references({msg(1, "hello", 1, "<1@x>"), msg(2, "hello", 2, "<2@x>")}), "((1)(2))");
  // A later original next to a dummy thread becomes one of the dummy's children.
  std::vector<ThreadMessage> in = {msg(1, "Re: s", 1, "<1@x>", {"<g@x>"}), msg(2, "Re: s", 2, "<2@x>", {"<g@x>"}),
                                   msg(3, "s", 3, "<3@x>")};
  EXPECT_EQ(thread_references(in), "((1)(2)(3))");
  // Empty subjects are never merged.
  EXPECT_EQ(thread_references({msg(1, "", 1, "<1@x>"), msg(2, "Re:", 2, "<2@x>")}), "(1)(2)");
}

TEST(ThreadReferences, ThreadsAndChildrenAreSortedBySentDate) {
  std::vector<ThreadMessage> in = {msg(1, "a", 50, "<1@x>"), msg(2, "Re: a", 70, "<2@x>", {"<1@x>"}),
                                   msg(3, "Re: a", 60, "<3@x>", {"<1@x>"}), msg(4, "b", 10, "<4@x>")};
  EXPECT_EQ(thread_references(in), "(4)(1 (3)(2))");
}

TEST(ThreadReferences, LoopsDuplicatesAndMissingIds) {
  std::vector<ThreadMessage> loop = {msg(1, "a", 1, "<1@x>", {"<2@x>"}), msg(2, "b", 2, "<2@x>", {"<1@x>"})};
  EXPECT_EQ(thread_references(loop), "(2 1)");
  std::vector<ThreadMessage> self = {msg(1, "a", 1, "<1@x>", {"<1@x>"})};
  EXPECT_EQ(thread_references(self), "(1)");
  std::vector<ThreadMessage> dup = {msg(1, "a", 1, "<d@x>"), msg(2, "b", 2, "<d@x>"), msg(3, "c", 3)};
  EXPECT_EQ(thread_references(dup), "(1)(2)(3)");
  EXPECT_EQ(thread_references({}), "");
}

TEST(ThreadReferences, ExistingParentLinksAreKept) {
  // 3's References say 1 -> 2, but 2 already named its parent (9 via In-Reply-To): the last
  // reference still becomes 3's parent (step 1.B), the older link stays (step 1.A).
  std::vector<ThreadMessage> in = {msg(9, "x", 1, "<9@x>"), msg(2, "Re: x", 2, "<2@x>", {}, "<9@x>"),
                                   msg(1, "y", 3, "<1@x>"), msg(3, "Re: x", 4, "<3@x>", {"<1@x>", "<2@x>"})};
  EXPECT_EQ(thread_references(in), "(9 2 3)(1)");
}

// A thread is as deep as its longest chain of references, which anyone who can send mail chooses. The
// tree was walked by recursion (a stack overflow: the server died) and every link checked for a loop
// by walking up to the root (quadratic: minutes). Found with fuzz_imap_message's THREAD check given a
// message with a 1 MB References field (longer than libFuzzer's inputs; the corpus has a short one,
// 15_thread_deep_references).
TEST(ThreadReferences, OneMessageWithAVeryLongReferencesChain) {
  std::vector<std::string> refs;
  for (int i = 0; i < 300000; ++i) refs.push_back("<r" + std::to_string(i) + "@x>");
  std::vector<ThreadMessage> in = {msg(1, "Re: deep", 1, "<me@x>", refs), msg(2, "other", 2, "<2@x>")};
  // Every reference is a dummy with one child: pruned away, the message stands alone.
  EXPECT_EQ(thread_references(in), "(1)(2)");
  // A message in the middle of the chain is its root's child; the chain's end is below it.
  in.push_back(msg(3, "deep", 0, "<r150000@x>"));
  EXPECT_EQ(thread_references(in), "(3 1)(2)");
}

TEST(ThreadReferences, AVeryDeepThreadOfRealMessages) {
  // 200000 messages each answering the previous one, given last first (so every message's node
  // already has children when its parent link is made).
  const std::uint32_t n = 200000;
  std::vector<ThreadMessage> in;
  for (std::uint32_t i = n; i >= 1; --i)
    in.push_back(msg(i, i == 1 ? "deep" : "Re: deep", i, "<" + std::to_string(i) + "@x>", {},
                     i == 1 ? "" : "<" + std::to_string(i - 1) + "@x>"));
  std::string chain = "(1", flat = "(1 ";
  for (std::uint32_t i = 2; i <= n; ++i) {
    chain += " " + std::to_string(i);
    flat += "(" + std::to_string(i) + ")";
  }
  EXPECT_EQ(thread_references(in), chain + ")");
  EXPECT_EQ(thread_orderedsubject(in), flat + ")");
}

TEST(ThreadMessage, FromSummaryUsesTheInternalDateWithoutDate) {
  Summary s;
  s.base_subject = "x";
  s.message_id = "<m@x>";
  auto m = thread_message(5, s, 1234);
  EXPECT_EQ(m.sent_date, 1234);
  s.sent_date = 99;
  EXPECT_EQ(thread_message(5, s, 1234).sent_date, 99);
  EXPECT_EQ(m.id, 5u);
}

}  // namespace
}  // namespace tern::imap::message
