// DATA and BDAT receivers. Every DataReader input is fed whole, split at every byte position and one
// byte at a time, and must give the same verdict, message and consumed count; the smuggling cases
// (bare CR / LF around a dot) must never end the message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/proto/proto.hpp"

namespace tern::smtp::proto {
namespace {

struct DataOutcome {
  std::size_t consumed = 0;
  bool done = false;
  bool too_big = false;
  bool bare = false;
  bool eight_bit = false;
  std::uint64_t size = 0;
  std::string message;
  bool operator==(const DataOutcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const DataOutcome& o) {
  return os << "{consumed=" << o.consumed << " done=" << o.done << " too_big=" << o.too_big
            << " bare=" << o.bare << " eight_bit=" << o.eight_bit << " size=" << o.size << " message="
            << testing::PrintToString(o.message) << "}";
}

// Feeds the pieces in order until the reader is done; what it leaves of a piece is not fed again.
DataOutcome read_data(const std::vector<std::string>& pieces, std::uint64_t max_size) {
  DataReader reader(max_size);
  DataOutcome o;
  for (const auto& piece : pieces) {
    std::size_t n = reader.feed(piece);
    EXPECT_LE(n, piece.size());
    o.consumed += n;
    if (reader.done()) break;
    EXPECT_EQ(n, piece.size()) << "a reader that is not done must take everything";
  }
  o.done = reader.done();
  o.too_big = reader.too_big();
  o.bare = reader.bare_line_end();
  o.eight_bit = reader.eight_bit();
  o.size = reader.size();
  o.message = reader.message();
  return o;
}

DataOutcome read_data_all_splits(const std::string& input, std::uint64_t max_size = 1 << 20) {
  DataOutcome whole = read_data({input}, max_size);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(read_data({input.substr(0, cut), input.substr(cut)}, max_size), whole) << "split at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(read_data(bytes, max_size), whole) << "byte by byte";
  return whole;
}

TEST(DataReader, SimpleMessage) {
  std::string input = "Subject: hi\r\n\r\nHello\r\n.\r\n";
  auto o = read_data_all_splits(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "Subject: hi\r\n\r\nHello\r\n");
  EXPECT_EQ(o.consumed, input.size());
  EXPECT_EQ(o.size, o.message.size());
  EXPECT_FALSE(o.bare);
  EXPECT_FALSE(o.too_big);
  EXPECT_FALSE(o.eight_bit);
}

TEST(DataReader, EmptyMessageIsADotRightAway) {
  auto o = read_data_all_splits(".\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "");
  EXPECT_EQ(o.consumed, 3u);
  o = read_data_all_splits("\r\n.\r\n");  // one empty line
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "\r\n");
}

TEST(DataReader, DotUnstuffing) {
  // RFC 5321 4.5.2: the first dot of a line is removed, whatever follows it.
  auto o = read_data_all_splits("..leading\r\n.x\r\n...\r\nmid.dle.\r\n..\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, ".leading\r\nx\r\n..\r\nmid.dle.\r\n.\r\n");
  EXPECT_EQ(o.size, o.message.size());
}

TEST(DataReader, PipelinedCommandsAfterTheEndAreNotConsumed) {
  std::string body = "a\r\n.\r\n";
  auto o = read_data_all_splits(body + "MAIL FROM:<x@y.org>\r\nQUIT\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, body.size());
  EXPECT_EQ(o.message, "a\r\n");
  o = read_data_all_splits(".\r\nQUIT\r\n");
  EXPECT_EQ(o.consumed, 3u);
  DataReader reader(100);
  EXPECT_EQ(reader.feed(".\r\nRSET\r\n"), 3u);
  EXPECT_EQ(reader.feed("RSET\r\n"), 0u);  // nothing more once done
}

// SMTP smuggling: each of these would end the message for some receiver; here none does, the reader
// waits for the real CRLF.CRLF and the message is marked for refusal.
TEST(DataReader, SmugglingAttemptsNeverEndTheMessage) {
  const std::string smuggled = "MAIL FROM:<ceo@victim.org>\r\nRCPT TO:<x@y.org>\r\nDATA\r\nfake\r\n";
  for (const std::string fake_end : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r\r\n", "\n.\r"}) {
    std::string input = "hello" + fake_end + smuggled + "\r\n.\r\n";
    auto o = read_data_all_splits(input);
    EXPECT_TRUE(o.done) << testing::PrintToString(fake_end);
    EXPECT_EQ(o.consumed, input.size()) << testing::PrintToString(fake_end);
    EXPECT_TRUE(o.bare) << testing::PrintToString(fake_end);
    EXPECT_NE(o.message.find("ceo@victim.org"), std::string::npos) << testing::PrintToString(fake_end);
  }
}

TEST(DataReader, FakeEndWithoutARealOneIsNotDone) {
  for (const std::string input : {"a\n.\n", "a\r.\r", "a\n.\r\n", "a\r\n.\n", "a\r\n.\r", "a\r\n.", "a\r\n"}) {
    auto o = read_data_all_splits(input);
    EXPECT_FALSE(o.done) << testing::PrintToString(input);
    EXPECT_EQ(o.consumed, input.size()) << testing::PrintToString(input);
  }
}

TEST(DataReader, BareLineEndsAreKeptAndMarked) {
  auto o = read_data_all_splits("a\nb\rc\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.message, "a\nb\rc\r\n");
  EXPECT_TRUE(has_bare_line_end(o.message));
  o = read_data_all_splits("a\r\r\n.\r\n");  // CR CR LF: the first CR is bare
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.message, "a\r\r\n");
  o = read_data_all_splits("clean\r\nlines\r\n.\r\n");
  EXPECT_FALSE(o.bare);
}

TEST(DataReader, TooBigIsReadToTheEndButNotKept) {
  std::string line = "0123456789\r\n";  // 12 octets
  auto o = read_data_all_splits(line + line + ".\r\nQUIT\r\n", 20);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.too_big);
  EXPECT_EQ(o.size, 24u);
  EXPECT_EQ(o.message, "");
  EXPECT_EQ(o.consumed, 27u);
  o = read_data_all_splits(line + line + ".\r\n", 24);  // exactly at the limit
  EXPECT_FALSE(o.too_big);
  EXPECT_EQ(o.message, line + line);
}

// Issue 10 item 13: a line of 100 KB (over the 64 KB line limit Tern once had, and far over RFC 5322's
// 998) is kept whole, whatever the split; only the message size limit refuses a message.
TEST(DataReader, LongLineIsKeptWholeAtEverySplit) {
  std::string line(100 * 1024, 'x');
  for (std::size_t i = 0; i < line.size(); i += 61) line[i] = static_cast<char>('a' + i % 26);
  line[0] = '.';  // dot-stuffed at the start: "..xyz" arrives, ".xyz" is kept
  std::string body = "Subject: long\r\n\r\n" + line + "\r\nshort\r\n";
  std::string input = "Subject: long\r\n\r\n." + line + "\r\nshort\r\n.\r\nQUIT\r\n";
  std::uint64_t max_size = 50ull * 1024 * 1024;
  DataOutcome whole = read_data({input}, max_size);
  EXPECT_TRUE(whole.done);
  EXPECT_FALSE(whole.too_big);
  EXPECT_FALSE(whole.bare);
  EXPECT_EQ(whole.message, body);
  EXPECT_EQ(whole.consumed, input.size() - 6);
  // Every split near the start, around 64 KB, near the end, and every 509th octet in between.
  std::vector<std::size_t> cuts;
  for (std::size_t c = 0; c < 300; ++c) cuts.push_back(c);
  for (std::size_t c = 65536 - 200; c < 65536 + 200; ++c) cuts.push_back(c);
  for (std::size_t c = input.size() - 300; c <= input.size(); ++c) cuts.push_back(c);
  for (std::size_t c = 300; c < input.size(); c += 509) cuts.push_back(c);
  for (auto cut : cuts)
    ASSERT_EQ(read_data({input.substr(0, cut), input.substr(cut)}, max_size), whole) << "split at " << cut;
  // Three pieces, and byte by byte.
  for (std::size_t a = 1000; a < input.size(); a += 7919)
    for (std::size_t b = a; b < input.size(); b += 15013)
      ASSERT_EQ(read_data({input.substr(0, a), input.substr(a, b - a), input.substr(b)}, max_size), whole)
          << "splits at " << a << ", " << b;
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(read_data(bytes, max_size), whole) << "byte by byte";
}

TEST(DataReader, LongLineOverTheSizeLimitIsTooBig) {
  std::string line(5000, 'x');
  auto o = read_data_all_splits(line + "\r\n.\r\n", 4096);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.too_big);
  EXPECT_EQ(o.size, line.size() + 2);
  EXPECT_EQ(o.message, "");
}

TEST(DataReader, EightBitIsNoticed) {
  EXPECT_TRUE(read_data_all_splits("caf\xC3\xA9\r\n.\r\n").eight_bit);
  EXPECT_TRUE(read_data_all_splits(".\xFF\r\n.\r\n").eight_bit);
  EXPECT_FALSE(read_data_all_splits("plain\r\n.\r\n").eight_bit);
}

TEST(DataReader, TakeMessage) {
  DataReader reader(100);
  reader.feed("x\r\n.\r\n");
  EXPECT_EQ(reader.take_message(), "x\r\n");
}

TEST(BdatReader, TakesExactlyTheChunkAndLeavesTheRest) {
  std::string message = "start:";
  BdatReader reader(5, message, 100);
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.feed("abc"), 3u);
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.feed("de\r\nQUIT\r\n"), 2u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.feed("more"), 0u);
  EXPECT_EQ(message, "start:abcde");
  EXPECT_FALSE(reader.too_big());
}

TEST(BdatReader, BinaryAndDotsPassUntouched) {
  std::string message;
  std::string chunk("\r\n.\r\n\0\n.\n", 10);
  BdatReader reader(chunk.size(), message, 100);
  EXPECT_EQ(reader.feed(chunk), chunk.size());
  EXPECT_EQ(message, chunk);
}

TEST(BdatReader, EmptyChunkIsDoneAtOnce) {
  std::string message;
  BdatReader reader(0, message, 100);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.feed("QUIT\r\n"), 0u);
}

TEST(BdatReader, TooBigStopsStoringButReadsTheChunk) {
  std::string message;
  BdatReader first(6, message, 10);
  EXPECT_EQ(first.feed("123456"), 6u);
  EXPECT_FALSE(first.too_big());
  BdatReader second(6, message, 10);
  EXPECT_EQ(second.feed("abc"), 3u);
  EXPECT_EQ(second.feed("defXYZ"), 3u);
  EXPECT_TRUE(second.done());
  EXPECT_TRUE(second.too_big());
  EXPECT_EQ(message.size(), 10u);  // never beyond max_size
  BdatReader third(1, message, 10);  // a later chunk cannot fit either
  EXPECT_EQ(third.feed("z"), 1u);
  EXPECT_TRUE(third.too_big());
}

TEST(BareLineEnd, Detection) {
  EXPECT_FALSE(has_bare_line_end(""));
  EXPECT_FALSE(has_bare_line_end("a\r\nb\r\n"));
  EXPECT_TRUE(has_bare_line_end("a\nb"));
  EXPECT_TRUE(has_bare_line_end("\n"));
  EXPECT_TRUE(has_bare_line_end("a\rb"));
  EXPECT_TRUE(has_bare_line_end("a\r"));
  EXPECT_TRUE(has_bare_line_end("a\r\r\n"));
  EXPECT_TRUE(has_bare_line_end("a\r\n\n"));
}

}  // namespace
}  // namespace tern::smtp::proto
