// Responses, the multi-line encoder (dot-stuffing, line ends), TOP cuts, unique ids.
#include <gtest/gtest.h>

#include <string>

#include "pop3/proto/proto.hpp"

namespace tern::pop3::proto {
namespace {

TEST(Response, OkAndErr) {
  EXPECT_EQ(ok(""), "+OK\r\n");
  EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
  EXPECT_EQ(err("No such message"), "-ERR No such message\r\n");
  EXPECT_EQ(err(RespCode::in_use, "Locked"), "-ERR [IN-USE] Locked\r\n");
  EXPECT_EQ(err(RespCode::sys_temp, "Later"), "-ERR [SYS/TEMP] Later\r\n");
  EXPECT_EQ(err(RespCode::sys_perm, "No"), "-ERR [SYS/PERM] No\r\n");
  EXPECT_EQ(err(RespCode::auth, "Bad"), "-ERR [AUTH] Bad\r\n");
  EXPECT_EQ(err(RespCode::login_delay, "Wait"), "-ERR [LOGIN-DELAY] Wait\r\n");
  EXPECT_EQ(err(RespCode::utf8, "Need UTF8"), "-ERR [UTF8] Need UTF8\r\n");
}

TEST(Response, TextCannotBreakTheLine) {
  EXPECT_EQ(ok(std::string("a\r\nb\0c\rd", 8)), "+OK abcd\r\n");
  EXPECT_EQ(err("x\r\n+OK injected"), "-ERR x+OK injected\r\n");
}

TEST(Response, Continuation) {
  EXPECT_EQ(continuation(""), "+ \r\n");
  EXPECT_EQ(continuation("VXNlcm5hbWU6"), "+ VXNlcm5hbWU6\r\n");
}

// Encodes `message` cut at every position into two pieces, and byte by byte; all must equal the whole.
std::string encode_all_splits(const std::string& message) {
  std::string whole = encode_multiline(message);
  for (std::size_t cut = 0; cut <= message.size(); ++cut) {
    MultilineEncoder enc;
    std::string out;
    enc.append(message.substr(0, cut), out);
    enc.append(message.substr(cut), out);
    enc.finish(out);
    EXPECT_EQ(out, whole) << "split at " << cut;
  }
  MultilineEncoder enc;
  std::string out;
  for (char c : message) enc.append(std::string(1, c), out);
  enc.finish(out);
  EXPECT_EQ(out, whole) << "byte by byte";
  return whole;
}

TEST(Encoder, DotStuffing) {
  EXPECT_EQ(encode_all_splits("Subject: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\n"),
            "Subject: x\r\n\r\n..\r\n...\r\n..a\r\nb.\r\n.\r\n");
  EXPECT_EQ(encode_all_splits(".first line\r\n"), "..first line\r\n.\r\n");
}

TEST(Encoder, LineEndsLeaveAsCrlf) {
  EXPECT_EQ(encode_all_splits("a\nb\r\n\n.c\n"), "a\r\nb\r\n\r\n..c\r\n.\r\n");
  EXPECT_EQ(encode_all_splits("bare\rcr\r\n"), "bare\rcr\r\n.\r\n");  // a bare CR is content
}

TEST(Encoder, MissingFinalLineEnd) {
  EXPECT_EQ(encode_all_splits("no end"), "no end\r\n.\r\n");
  EXPECT_EQ(encode_all_splits("cr end\r"), "cr end\r\n.\r\n");
  EXPECT_EQ(encode_all_splits("."), "..\r\n.\r\n");
}

TEST(Encoder, EmptyMessage) { EXPECT_EQ(encode_all_splits(""), ".\r\n"); }

TEST(Encoder, TerminatorOnlyAtTheEnd) {
  std::string body = encode_all_splits("x\r\n.\r\n\r\n.\r\n");
  EXPECT_EQ(body.find("\r\n.\r\n"), body.size() - 5);
}

TEST(WireSize, CountsLineEndsAsCrlf) {
  EXPECT_EQ(wire_size(""), 0u);
  EXPECT_EQ(wire_size("a\r\nb\r\n"), 6u);
  EXPECT_EQ(wire_size("a\nb\n"), 6u);
  EXPECT_EQ(wire_size("\n\n"), 4u);
  EXPECT_EQ(wire_size(".a\r\n"), 4u);  // before dot-stuffing
}

TEST(Top, HeaderBlankLineAndNLines) {
  std::string m = "From: a\r\nSubject: s\r\n\r\nl1\r\nl2\r\nl3\r\n";
  EXPECT_EQ(top_of(m, 0), "From: a\r\nSubject: s\r\n\r\n");
  EXPECT_EQ(top_of(m, 1), "From: a\r\nSubject: s\r\n\r\nl1\r\n");
  EXPECT_EQ(top_of(m, 2), "From: a\r\nSubject: s\r\n\r\nl1\r\nl2\r\n");
  EXPECT_EQ(top_of(m, 3), m);
  EXPECT_EQ(top_of(m, 100), m);
  EXPECT_EQ(top_of(m, max_number), m);
}

TEST(Top, OddMessages) {
  EXPECT_EQ(top_of("Subject: only header\r\n", 5), "Subject: only header\r\n");
  EXPECT_EQ(top_of("Subject: x", 5), "Subject: x");
  EXPECT_EQ(top_of("\r\nbody\r\n", 0), "\r\n");
  EXPECT_EQ(top_of("A: b\n\nl1\nl2", 1), "A: b\n\nl1\n");
  EXPECT_EQ(top_of("A: b\n\nl1\nl2", 2), "A: b\n\nl1\nl2");  // a last line without line end counts
  EXPECT_EQ(top_of("A: b\r\n\r\n\r\n\r\nx\r\n", 2), "A: b\r\n\r\n\r\n\r\n");  // empty body lines count
  EXPECT_EQ(top_of("", 3), "");
}

TEST(UniqueId, FileNamesPassThrough) {
  EXPECT_EQ(unique_id("17.0005f1b2c3d4e5f600a1b2c3"), "17.0005f1b2c3d4e5f600a1b2c3");
  EXPECT_EQ(unique_id(std::string(70, 'a')), std::string(70, 'a'));
}

TEST(UniqueId, InvalidNamesGetAStableHash) {
  for (std::string bad : {std::string(), std::string(71, 'a'), std::string("has space"), std::string("tab\there"),
                          std::string("\x80\x81")}) {
    auto id = unique_id(bad);
    EXPECT_EQ(id, unique_id(bad));
    EXPECT_EQ(id.size(), 17u) << bad;
    EXPECT_EQ(id[0], 'x');
    for (char c : id) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  }
  EXPECT_NE(unique_id("a b"), unique_id("a  b"));
}

}  // namespace
}  // namespace tern::pop3::proto
