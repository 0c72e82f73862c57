// Summary: dates, SORT/THREAD keys, serialisation, robustness and thread safety.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "common.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {
namespace {

using test::crlf;

TEST(Summary, SentDateInUtcAndDayInItsOwnZone) {
  auto s = summarize(test::mixed());
  EXPECT_EQ(s.sent_date, 760686745);  // 1994-02-08 05:52:25 UTC
  EXPECT_EQ(s.sent_day, 19940207);    // still the 7th at -0800 (RFC 9051 6.4.4 SENTON)
  auto old = summarize(crlf("Date: Thu, 13 Feb 1969 23:32:54 -0330\n\n"));
  EXPECT_EQ(old.sent_date, -27723426);
  EXPECT_EQ(old.sent_day, 19690213);
}

TEST(Summary, MissingOrBadDateIsZero) {
  EXPECT_EQ(summarize(crlf("Subject: x\n\n")).sent_date, 0);
  auto bad = summarize(crlf("Date: not a date at all\n\n"));
  EXPECT_EQ(bad.sent_date, 0);
  EXPECT_EQ(bad.sent_day, 0);
}

TEST(Summary, SortAndDisplayKeys) {
  auto s = summarize(test::mixed());
  EXPECT_EQ(s.sort_from, "john");
  EXPECT_EQ(s.sort_to, "");  // only a group
  EXPECT_EQ(s.sort_cc, "mary");
  EXPECT_EQ(s.display_from, "Doe, John");
  EXPECT_EQ(s.base_subject, "Caf\xc3\xa9 test");
  auto t = summarize(crlf("From: =?iso-8859-1?q?J=F6rg?= <joerg@example.de>\nTo: <bob@x.org>\n\n"));
  EXPECT_EQ(t.display_from, "J\xc3\xb6rg");  // RFC 5957: decoded display name
  EXPECT_EQ(t.display_to, "bob@x.org");      // else the addr-spec
  EXPECT_EQ(t.sort_to, "bob");
}

TEST(Summary, ThreadKeys) {
  auto s = summarize(crlf("Message-ID: <a@b>\nIn-Reply-To: <c@d> (from x)\n"
                          "References: <e@f>\n <c@d> junk\nSubject: Re: topic\n\n"));
  EXPECT_EQ(s.message_id, "<a@b>");
  EXPECT_EQ(s.in_reply_to, "<c@d>");
  EXPECT_EQ(s.references, (std::vector<std::string>{"<e@f>", "<c@d>"}));
  EXPECT_EQ(s.base_subject, "topic");
  EXPECT_TRUE(s.reply_or_forward);
}

TEST(Summary, ReferencesAreTrimmedToWhatDecodeTakes) {
  // decode() takes at most 100000 references: a longer field kept them all, so its cached summary
  // never decoded (the message was summarized again at every use). The first and the most recent are
  // kept, as Netnews trims References (RFC 5537 3.4.4).
  std::string refs;
  for (int i = 0; i < 100005; ++i) refs += "<" + std::to_string(i) + "@x> ";
  auto s = summarize("References: " + refs + "\r\nSubject: x\r\n\r\nbody\r\n");
  ASSERT_EQ(s.references.size(), 100000u);
  EXPECT_EQ(s.references[0], "<0@x>");
  EXPECT_EQ(s.references[1], "<6@x>");
  EXPECT_EQ(s.references.back(), "<100004@x>");
  auto back = Summary::decode(s.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
}

// For each '<' of "<<<...<x>" the '>' was searched for again: quadratic, a 1 MB References field took
// ten seconds to summarize. Found with fuzz_imap_message (corpus: 18_many_angle_brackets).
TEST(Summary, MessageIdsAfterManyAngleBrackets) {
  auto s = summarize("References: " + std::string(1000000, '<') + "x@y> <a <b@c> d> <e@f>\r\n" +
                     "In-Reply-To: <<junk <g@h>\r\nMessage-ID: <m@n\r\n\r\nbody\r\n");
  EXPECT_EQ(s.references, (std::vector<std::string>{"<x@y>", "<b@c>", "<e@f>"}));
  EXPECT_EQ(s.in_reply_to, "<g@h>");
  EXPECT_EQ(s.message_id, "");
}

TEST(Summary, EncodeDecodeRoundTrip) {
  auto s = summarize(test::mixed());
  s.references = {"<x@y>", "<z@w>"};
  s.sent_date = -5;
  s.reply_or_forward = true;
  auto blob = s.encode();
  auto back = Summary::decode(blob);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_EQ(Summary::decode(Summary{}.encode()), Summary{});
}

TEST(Summary, DecodeRejectsDamagedBlobs) {
  auto blob = summarize(test::mixed()).encode();
  EXPECT_FALSE(Summary::decode(""));
  EXPECT_FALSE(Summary::decode(blob.substr(0, blob.size() - 1)));
  EXPECT_FALSE(Summary::decode(blob + "x"));
  auto other_version = blob;
  other_version[0] = 9;
  EXPECT_FALSE(Summary::decode(other_version));
  for (std::size_t n = 0; n < blob.size(); n += 7) EXPECT_FALSE(Summary::decode(blob.substr(0, n)));
}

// Every function on whatever bytes: never crashes, always answers something well formed.
void exercise(std::string_view raw) {
  Parsed p(raw);
  auto s = p.summary();
  EXPECT_EQ(s.body_structure.front(), '(');
  EXPECT_EQ(s.envelope.front(), '(');
  EXPECT_EQ(Summary::decode(s.encode()), s);
  for (auto path : {std::vector<std::uint32_t>{}, {1}, {1, 1}, {2, 1, 3}}) {
    for (auto t : {SectionText::none, SectionText::header, SectionText::header_fields, SectionText::text,
                   SectionText::mime})
      (void)p.section(path, t, {"From"});
    (void)p.binary(path);
    (void)p.binary_size(path);
  }
  (void)p.text();
  (void)p.header_values("Subject");
}

TEST(Summary, GarbageDoesNotCrash) {
  std::mt19937 rng(42);
  const std::string_view pieces[] = {"\r\n", "--b\r\n", "--b--", ":", "Content-Type: multipart/mixed; boundary=b\r\n",
                                     "Content-Type: message/rfc822\r\n", "From: \"x", "<@", "(((", "=?utf-8?b?",
                                     "\xff\xfe", std::string_view("\0", 1), "Date: 99 Foo 99999 99:99\r\n",
                                     "Content-Transfer-Encoding: base64\r\n", "To: a:b:c;;<>,,@@", " ", "\t"};
  for (int round = 0; round < 500; ++round) {
    std::string raw;
    auto n = rng() % 60;
    for (unsigned i = 0; i < n; ++i) raw += pieces[rng() % std::size(pieces)];
    exercise(raw);
    std::string bytes(rng() % 300, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    exercise(bytes);
  }
  exercise("");
  exercise("\r\n");
  exercise("From:");
}

TEST(Summary, SafeFromManyThreadsAtOnce) {
  std::vector<std::string> msgs = {test::mixed(), crlf("From: =?iso-8859-1?q?J=F6rg?= <j@x>\nDate: "
                                                      "Mon, 7 Feb 1994 21:52:25 -0800\n\n=E9\n")};
  std::vector<Summary> expected;
  for (auto& m : msgs) expected.push_back(summarize(m));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        for (std::size_t k = 0; k < msgs.size(); ++k) {
          if (!(summarize(msgs[k]) == expected[k])) ++mismatches;
          if (body_text(msgs[k]).empty()) ++mismatches;
        }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tern::imap::message
