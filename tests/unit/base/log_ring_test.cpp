// base/log_ring: bounds, search filters, protocol of a line, subscribers' bounded queues and resume.
#include <gtest/gtest.h>

#include <string>

#include "base/log_ring.hpp"

namespace tern::log {
namespace {

TEST(LogRing, ProtocolFromTheFirstWord) {
  EXPECT_EQ(protocol_of("smtp 1a2b: from 127.0.0.1"), "smtp");
  EXPECT_EQ(protocol_of("submissions 1a: refused"), "smtp");
  EXPECT_EQ(protocol_of("imaps 9: login"), "imap");
  EXPECT_EQ(protocol_of("queue 7f: delivered"), "queue");
  EXPECT_EQ(protocol_of("http x: GET /"), "http");
  EXPECT_EQ(protocol_of("tern ready on smtp=..."), "");
  EXPECT_EQ(protocol_of("smtpx 1: nothing"), "");
  EXPECT_EQ(protocol_of(""), "");
}

TEST(LogRing, KeepsTheNewestWithinLineAndByteBounds) {
  Ring r(3, 1000);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(r.add(Level::info, i, "line " + std::to_string(i)), std::uint64_t(i));
  auto all = r.search({}, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().id, 3u);
  EXPECT_EQ(all.back().text, "line 5");
  EXPECT_EQ(r.last_id(), 5u);

  Ring small(100, 10);
  small.add(Level::info, 1, "0123456");
  small.add(Level::info, 2, "abcdef");  // 13 octets > 10: the oldest goes
  auto kept = small.search({}, 100);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].text, "abcdef");
  small.add(Level::info, 3, std::string(Ring::max_line_text + 100, 'x'));
  EXPECT_EQ(small.search({}, 1)[0].text.size(), Ring::max_line_text);
}

TEST(LogRing, SearchFiltersAndLimit) {
  Ring r;
  r.add(Level::debug, 10, "smtp a: connect");
  r.add(Level::info, 20, "queue q1: to bob@tern.test delivered");
  r.add(Level::warn, 30, "smtp b: timeout");
  r.add(Level::error, 40, "disk full");
  Filter f;
  f.min_level = Level::warn;
  auto w = r.search(f, 10);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].text, "smtp b: timeout");
  EXPECT_EQ(w[1].protocol, "");
  Filter p;
  p.protocol = "smtp";
  EXPECT_EQ(r.search(p, 10).size(), 2u);
  p.protocol = "";
  EXPECT_EQ(r.search(p, 10).size(), 1u);
  Filter q;
  q.q = "bob@tern.test";
  ASSERT_EQ(r.search(q, 10).size(), 1u);
  EXPECT_EQ(r.search(q, 10)[0].level, Level::info);
  Filter t;
  t.since = 20;
  t.until = 30;
  EXPECT_EQ(r.search(t, 10).size(), 2u);
  auto last = r.search({}, 2);  // the newest two, oldest first
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].id, 3u);
  auto newest = r.newest({}, 2);  // newest first
  EXPECT_EQ(newest[0].id, 4u);
}

TEST(LogRing, SubscriberGetsMatchingLinesAndIsWokenOncePerBatch) {
  Ring r;
  int wakes = 0;
  Filter f;
  f.protocol = "smtp";
  auto s = std::make_shared<Subscriber>(f, [&] { ++wakes; });
  r.subscribe(s, std::nullopt);
  r.add(Level::info, 1, "smtp a: one");
  r.add(Level::info, 1, "imap a: other");
  r.add(Level::info, 1, "smtp a: two");
  EXPECT_EQ(wakes, 1);
  auto b = s->take();
  ASSERT_EQ(b.lines.size(), 2u);
  EXPECT_EQ(b.lines[1].text, "smtp a: two");
  r.add(Level::info, 1, "smtp a: three");
  EXPECT_EQ(wakes, 2);
  r.unsubscribe(s.get());
  r.add(Level::info, 1, "smtp a: four");
  EXPECT_EQ(s->take().lines.size(), 1u);
  EXPECT_EQ(r.subscribers(), 0u);
}

TEST(LogRing, ASlowSubscriberLosesLinesCountedNeverBlocks) {
  Ring r;
  auto s = std::make_shared<Subscriber>(Filter{}, nullptr, 3);
  r.subscribe(s, std::nullopt);
  for (int i = 0; i < 10; ++i) r.add(Level::info, 1, "line");
  auto b = s->take();
  EXPECT_EQ(b.lines.size(), 3u);
  EXPECT_EQ(b.dropped, 7u);
  EXPECT_TRUE(s->take().empty());
}

TEST(LogRing, ResumeAfterAnIdGivesTheLinesAfterIt) {
  Ring r;
  for (int i = 0; i < 5; ++i) r.add(Level::info, 1, "line " + std::to_string(i + 1));
  auto s = std::make_shared<Subscriber>(Filter{}, nullptr);
  r.subscribe(s, 3);
  r.add(Level::info, 1, "line 6");
  auto b = s->take();
  ASSERT_EQ(b.lines.size(), 3u);
  EXPECT_EQ(b.lines[0].id, 4u);
  EXPECT_EQ(b.lines[2].id, 6u);
}

TEST(LogRing, Levels) {
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_EQ(parse_level("verbose"), std::nullopt);
  EXPECT_EQ(level_name(Level::error), "error");
}

}  // namespace
}  // namespace tern::log
