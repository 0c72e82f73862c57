// spam/clamd: the reply forms, the address forms, and the INSTREAM exchange against a fake clamd on a
// Unix socket (the real clamd is tests/system/test_virus.py's).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/asio.hpp>

#include "../temp_dir.hpp"
#include "spam/clamd.hpp"

namespace tern::spam::clamd {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using Kind = ScanResult::Kind;

TEST(ClamdReply, Clean) {
  auto r = parse_reply("stream: OK");
  EXPECT_EQ(r.kind, Kind::clean);
}

TEST(ClamdReply, FoundGivesTheSignature) {
  auto r = parse_reply("stream: Eicar-Test-Signature.UNOFFICIAL FOUND");
  EXPECT_EQ(r.kind, Kind::found);
  EXPECT_EQ(r.text, "Eicar-Test-Signature.UNOFFICIAL");
}

TEST(ClamdReply, ErrorsKeepTheirText) {
  auto r = parse_reply("INSTREAM size limit exceeded. ERROR");
  EXPECT_EQ(r.kind, Kind::error);
  EXPECT_EQ(r.text, "INSTREAM size limit exceeded. ERROR");
}

TEST(ClamdReply, AnythingElseIsAnErrorNeverClean) {
  for (std::string_view reply : {"", "stream:", "OK", "stream: FOUND", "PONG", "stream: OKAY"}) {
    auto r = parse_reply(reply);
    EXPECT_EQ(r.kind, Kind::error) << reply;
  }
}

TEST(ClamdAddress, Forms) {
  auto unix_socket = parse_address("/run/clamav/clamd.ctl");
  ASSERT_TRUE(unix_socket);
  EXPECT_EQ(unix_socket->str(), "/run/clamav/clamd.ctl");
  auto v4 = parse_address("127.0.0.1:3310");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->str(), "127.0.0.1:3310");
  auto v6 = parse_address("[::1]:3310");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->str(), "[::1]:3310");
  for (std::string_view bad : {"", "clamd.ctl", "localhost:3310", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
                               "::1:3310", "127.0.0.1:x"})
    EXPECT_FALSE(parse_address(bad)) << bad;
}

// What the fake clamd received and how it answers.
struct Fake {
  enum class Answer { at_end, after_first_chunk, never };
  std::string reply;  // without the '\0'
  Answer answer = Answer::at_end;
  std::string command;
  std::vector<std::size_t> chunks;  // the lengths, the last one 0 when the stream ended
  std::string data;
};

asio::awaitable<void> read_exact(local::socket& s, char* out, std::size_t n) {
  co_await asio::async_read(s, asio::buffer(out, n), asio::use_awaitable);
}

// One connection: reads the command and the chunks, answers as told.
asio::awaitable<void> serve(local::acceptor& acceptor, Fake& f) {
  auto s = co_await acceptor.async_accept(asio::use_awaitable);
  try {
    std::string command(10, '\0');
    co_await read_exact(s, command.data(), command.size());
    f.command = command;
    for (;;) {
      unsigned char len[4];
      co_await read_exact(s, reinterpret_cast<char*>(len), 4);
      std::size_t n = (std::size_t{len[0]} << 24) | (std::size_t{len[1]} << 16) | (std::size_t{len[2]} << 8) | len[3];
      f.chunks.push_back(n);
      if (n == 0) break;
      std::string part(n, '\0');
      co_await read_exact(s, part.data(), n);
      f.data += part;
      if (f.answer == Fake::Answer::after_first_chunk) break;
    }
    if (f.answer == Fake::Answer::never) {
      char c;
      co_await read_exact(s, &c, 1);  // until the client gives up
    }
    std::string reply = f.reply + '\0';
    co_await asio::async_write(s, asio::buffer(reply), asio::use_awaitable);
  } catch (const boost::system::system_error&) {
    // the client hung up: what it sent is in `f`
  }
}

ScanResult scan_with(Fake& f, const std::string& message, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  testing::TempDir dir;
  asio::io_context io;
  const std::string path = (dir / "clamd.sock").string();
  local::acceptor acceptor(io, local::endpoint(path));
  auto address = parse_address(path);
  EXPECT_TRUE(address);
  std::optional<ScanResult> out;
  asio::co_spawn(io, serve(acceptor, f), asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await scan(*address, message, timeout); }, asio::detached);
  io.run();
  EXPECT_TRUE(out);
  return out.value_or(ScanResult{});
}

TEST(ClamdScan, TheMessageGoesInChunksAndTheReplyIsRead) {
  Fake f{"stream: OK"};
  std::string message(2 * chunk_size + 1000, 'x');
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>('a' + i % 26);
  auto r = scan_with(f, message);
  EXPECT_EQ(r.kind, Kind::clean) << r.text;
  EXPECT_EQ(f.command, std::string("zINSTREAM\0", 10));
  EXPECT_EQ(f.chunks, (std::vector<std::size_t>{chunk_size, chunk_size, 1000, 0}));
  EXPECT_EQ(f.data, message);
}

TEST(ClamdScan, Found) {
  Fake f{"stream: Eicar-Test-Signature FOUND"};
  auto r = scan_with(f, "X5O!P%@AP");
  EXPECT_EQ(r.kind, Kind::found);
  EXPECT_EQ(r.text, "Eicar-Test-Signature");
}

TEST(ClamdScan, AStreamOverTheLimitIsAnError) {
  // clamd answers and closes while the client is still sending.
  Fake f{"INSTREAM size limit exceeded. ERROR", Fake::Answer::after_first_chunk};
  auto r = scan_with(f, std::string(16 * chunk_size, 'x'));
  EXPECT_EQ(r.kind, Kind::error);
  EXPECT_EQ(r.text, "INSTREAM size limit exceeded. ERROR");
}

TEST(ClamdScan, AHungClamdMeetsTheDeadline) {
  Fake f{"stream: OK", Fake::Answer::never};
  auto r = scan_with(f, "hello", std::chrono::milliseconds(200));
  EXPECT_EQ(r.kind, Kind::error);
  EXPECT_EQ(r.text, "timeout waiting for the reply");
}

TEST(ClamdScan, NoClamdIsAnError) {
  testing::TempDir dir;
  asio::io_context io;
  auto address = parse_address((dir / "none.sock").string());
  ASSERT_TRUE(address);
  std::optional<ScanResult> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await scan(*address, "hello", std::chrono::seconds(5)); },
                 asio::detached);
  io.run();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->kind, Kind::error);
  EXPECT_NE(out->text.find("connecting"), std::string::npos) << out->text;
}

}  // namespace
}  // namespace tern::spam::clamd
