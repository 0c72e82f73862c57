// RFC 5256 2.1 base subject extraction.
#include <gtest/gtest.h>

#include "imap/message/message.hpp"
#include "imap/message/subject.hpp"

namespace tern::imap::message {
namespace {

TEST(BaseSubject, RemovesReplyAndForwardMarkers) {
  EXPECT_EQ(base_subject("Re: hello"), "hello");
  EXPECT_EQ(base_subject("re:RE: Re : hello"), "hello");
  EXPECT_EQ(base_subject("Fwd: hello"), "hello");
  EXPECT_EQ(base_subject("FW: hello"), "hello");
  EXPECT_EQ(base_subject("Re[2]: hello"), "hello");
  EXPECT_EQ(base_subject("Re: [list] Re: Fwd: hello (fwd)"), "hello");
  EXPECT_EQ(base_subject("hello (fwd) (FWD)  "), "hello");
}

TEST(BaseSubject, BlobsAndForwardBrackets) {
  EXPECT_EQ(base_subject("[list] hello"), "hello");
  EXPECT_EQ(base_subject("[list]"), "[list]");  // removing the blob would leave nothing (step 4)
  EXPECT_EQ(base_subject("[a][b] Re: x"), "x");
  EXPECT_EQ(base_subject("[Fwd: Re: hello]"), "hello");
  EXPECT_EQ(base_subject("[fwd: [fwd: hello]]"), "hello");
}

TEST(BaseSubject, WhiteSpaceIsNormalised) {
  EXPECT_EQ(base_subject("  hello \t  world  "), "hello world");
  EXPECT_EQ(base_subject("hello\r\n world"), "hello world");
}

TEST(BaseSubject, OnlyRealMarkersAreRemoved) {
  EXPECT_EQ(base_subject("Reply: hello"), "Reply: hello");
  EXPECT_EQ(base_subject("Regarding x"), "Regarding x");
  EXPECT_EQ(base_subject("Re: "), "");
  EXPECT_EQ(base_subject(""), "");
}

TEST(BaseSubject, EncodedWordsAreDecodedFirst) {
  EXPECT_EQ(base_subject("=?utf-8?q?Re=3A_caf=C3=A9?="), "caf\xc3\xa9");
  EXPECT_EQ(base_subject("=?iso-8859-1?q?Fwd=3A_J=F6rg?="), "J\xc3\xb6rg");
}

// Every marker was erased from the front of the string (a copy of the rest each time) and every blob
// removed in step (5) made step (3) scan the whole run of blobs again: quadratic, so a 1 MB Subject
// of "Re: " kept delivery (which summarizes) busy for minutes. Found with fuzz_imap_message on a long
// Subject (corpus: 17_long_subject_markers, a short one).
TEST(BaseSubject, LongRunsOfMarkers) {
  std::string subject;
  for (int i = 0; i < 250000; ++i) subject += "Re: ";
  for (int i = 0; i < 50000; ++i) subject += "[list] ";
  subject += "topic";
  for (int i = 0; i < 50000; ++i) subject += " (fwd)";
  auto b = detail::extract_base_subject(subject);
  EXPECT_EQ(b.text, "topic");
  EXPECT_TRUE(b.reply_or_forward);
  std::string wrapped;
  for (int i = 0; i < 50000; ++i) wrapped += "[fwd: ";
  wrapped += "[a] [b] topic";
  wrapped += std::string(50000, ']');
  EXPECT_EQ(base_subject(wrapped), "topic");
  std::string blobs;
  for (int i = 0; i < 100000; ++i) blobs += "[b" + std::to_string(i) + "] ";
  EXPECT_EQ(base_subject(blobs), "[b99999]");  // the last blob stays: nothing would be left (step 4)
}

TEST(BaseSubject, ReplyOrForwardIsRecorded) {
  EXPECT_TRUE(detail::extract_base_subject("Re: x").reply_or_forward);
  EXPECT_TRUE(detail::extract_base_subject("x (fwd)").reply_or_forward);
  EXPECT_TRUE(detail::extract_base_subject("[fwd: x]").reply_or_forward);
  EXPECT_FALSE(detail::extract_base_subject("[list] x").reply_or_forward);
  EXPECT_FALSE(detail::extract_base_subject("x").reply_or_forward);
}

}  // namespace
}  // namespace tern::imap::message
