// spool/queue_file: CONTRACT.md's envelope format, written and read; marking recipients in place; files
// written by hand or by Mailtraq; every damaged file is an Error (the spool moves it to lost+found).
#include <gtest/gtest.h>

#include <string>

#include "spool/queue_file.hpp"

namespace tern::spool {
namespace {

const std::string msg = "From: a@remote.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nHello.\r\n";

Envelope full_envelope() {
  Envelope e;
  e.from = "sender@remote.test";
  e.recipients.push_back(Recipient{"alice@example.test", RcptState::pending, "SUCCESS,FAILURE", "rfc822;Alice@Example.test"});
  e.recipients.push_back(Recipient{"bob@example.test", RcptState::done, "", ""});
  e.recipients.push_back(Recipient{"carol@remote.test", RcptState::failed, "NEVER", ""});
  e.recipients.push_back(Recipient{"dave@remote.test", RcptState::pending, "", "rfc822;dave@remote.test"});
  e.envid = "QQ314159";
  e.ret = "HDRS";
  e.body = "8BITMIME";
  e.smtputf8 = true;
  e.auth = "sender@remote.test";
  e.client = "[192.0.2.7] helo=client.remote.test";
  e.arrived = 1795872005;
  return e;
}

// Asserts that `data` is refused, and returns the reason.
std::string error_of(std::string_view data) {
  auto r = parse(data);
  EXPECT_FALSE(r) << "accepted: " << data;
  return r ? "" : r.error().message;
}

// --- format and parse ------------------------------------------------------------------------------

TEST(QueueFile, RoundTripEveryField) {
  auto env = full_envelope();
  auto text = format(env, msg);
  auto q = parse(text);
  ASSERT_TRUE(q) << q.error().message;
  const Envelope& e = q->envelope;
  EXPECT_EQ(e.from, "sender@remote.test");
  ASSERT_EQ(e.recipients.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(e.recipients[i].address, env.recipients[i].address) << i;
    EXPECT_EQ(e.recipients[i].state, env.recipients[i].state) << i;
    EXPECT_EQ(e.recipients[i].notify, env.recipients[i].notify) << i;
    EXPECT_EQ(e.recipients[i].orcpt, env.recipients[i].orcpt) << i;
    EXPECT_EQ(e.recipients[i].line_offset, env.recipients[i].line_offset) << i;
  }
  EXPECT_EQ(e.envid, "QQ314159");
  EXPECT_EQ(e.ret, "HDRS");
  EXPECT_EQ(e.body, "8BITMIME");
  EXPECT_TRUE(e.smtputf8);
  EXPECT_EQ(e.auth, "sender@remote.test");
  EXPECT_EQ(e.client, "[192.0.2.7] helo=client.remote.test");
  EXPECT_EQ(e.arrived, 1795872005);
  EXPECT_EQ(text.substr(q->message_offset), msg);
  EXPECT_EQ(q->message_offset + msg.size(), text.size());
}

TEST(QueueFile, FormatWritesTheContractEnvelope) {
  Envelope env;
  env.from = "a@remote.test";
  env.recipients.push_back(Recipient{"b@example.test"});
  env.arrived = 7;
  auto text = format(env, msg);
  EXPECT_TRUE(text.starts_with("FROM: a@remote.test\r\n")) << text;
  EXPECT_NE(text.find("\r\nRCPT: b@example.test\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nSIZE: " + std::to_string(msg.size()) + "\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nARRIVED: 7\r\n"), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("\r\n" + msg)) << text;
}

TEST(QueueFile, MinimalEnvelopeRoundTrip) {
  Envelope env;
  env.from = "a@remote.test";
  env.recipients.push_back(Recipient{"b@example.test"});
  auto q = parse(format(env, msg));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->envelope.recipients[0].notify, "");
  EXPECT_EQ(q->envelope.recipients[0].orcpt, "");
  EXPECT_EQ(q->envelope.envid, "");
  EXPECT_FALSE(q->envelope.smtputf8);
}

TEST(QueueFile, NullSender) {
  Envelope env;
  env.from = "";
  env.recipients.push_back(Recipient{"postmaster@example.test"});
  auto text = format(env, msg);
  EXPECT_TRUE(text.starts_with("FROM: \r\n")) << text;  // "FROM: " with nothing after it
  auto q = parse(text);
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->envelope.from, "");
  EXPECT_EQ(q->envelope.recipients.at(0).address, "postmaster@example.test");
}

TEST(QueueFile, NullSenderWrittenByHand) {
  for (std::string first : {"FROM: \n", "FROM:\n", "FROM: <>\n", "FROM: \r\n"}) {
    auto q = parse(first + "RCPT: b@example.test\nSubject: x\n\nbody\n");
    ASSERT_TRUE(q) << first << ": " << q.error().message;
    EXPECT_EQ(q->envelope.from, "") << first;
  }
}

TEST(QueueFile, LineOffsetPointsAtRcptAndPatchingMarksDone) {
  auto env = full_envelope();
  auto text = format(env, msg);
  for (auto& r : env.recipients) {
    auto kw = text.substr(r.line_offset, 5);
    EXPECT_EQ(kw, keyword(r.state)) << r.address;
    EXPECT_EQ(text.substr(r.line_offset + 6, r.address.size()), r.address);
  }
  // Mark alice (pending) and dave (pending) as the spool does: 5 bytes written in place.
  ASSERT_EQ(text.substr(env.recipients[0].line_offset, 5), "RCPT:");
  text.replace(env.recipients[0].line_offset, 5, keyword(RcptState::done));
  text.replace(env.recipients[3].line_offset, 5, keyword(RcptState::failed));
  auto q = parse(text);
  ASSERT_TRUE(q) << q.error().message;
  const auto& rs = q->envelope.recipients;
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].state, RcptState::done);
  EXPECT_EQ(rs[0].notify, "SUCCESS,FAILURE");  // its DSN parameters stay attached
  EXPECT_EQ(rs[1].state, RcptState::done);
  EXPECT_EQ(rs[2].state, RcptState::failed);
  EXPECT_EQ(rs[3].state, RcptState::failed);
  EXPECT_EQ(rs[3].orcpt, "rfc822;dave@remote.test");
  EXPECT_EQ(rs[0].line_offset, env.recipients[0].line_offset);
  EXPECT_EQ(text.substr(q->message_offset), msg);
}

TEST(QueueFile, KeywordsHaveTheSameLength) {
  EXPECT_EQ(keyword(RcptState::pending), "RCPT:");
  EXPECT_EQ(keyword(RcptState::done), "DONE:");
  EXPECT_EQ(keyword(RcptState::failed), "FAIL:");
}

// --- files from elsewhere -------------------------------------------------------------------------

TEST(QueueFile, MailtraqStyleWithLfLineEnds) {
  std::string data =
      "FROM: sender@remote.test\n"
      "RCPT: alice@example.test\n"
      "RCPT: bob@example.test\n"
      "Received: from x by y; Sat, 28 Nov 2026 13:20:05 +0000\n"
      "From: sender@remote.test\n"
      "Subject: from Mailtraq\n"
      "\n"
      "Body line\n";
  auto q = parse(data);
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->envelope.from, "sender@remote.test");
  ASSERT_EQ(q->envelope.recipients.size(), 2u);
  EXPECT_EQ(q->envelope.recipients[0].address, "alice@example.test");
  EXPECT_EQ(q->envelope.recipients[0].state, RcptState::pending);
  EXPECT_EQ(q->envelope.recipients[1].address, "bob@example.test");
  EXPECT_EQ(q->envelope.recipients[0].line_offset, data.find("RCPT: alice"));
  EXPECT_EQ(q->envelope.recipients[1].line_offset, data.find("RCPT: bob"));
  EXPECT_EQ(data.substr(q->message_offset), data.substr(data.find("Received:")));
  EXPECT_EQ(q->envelope.arrived, 0);
}

TEST(QueueFile, MessageHeadersAreNotEnvelopeLines) {
  // "From:" is a header, not the envelope's "FROM:"; the envelope ends at the first other line.
  auto q = parse("FROM: a@remote.test\r\nRCPT: b@example.test\r\nFrom: c@remote.test\r\nSubject: s\r\n\r\nx\r\n");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->envelope.from, "a@remote.test");
  EXPECT_EQ(q->envelope.recipients.size(), 1u);
}

TEST(QueueFile, AngleBracketsStripped) {
  auto q = parse("FROM: <sender@remote.test>\r\nRCPT: <alice@example.test>\r\nDONE: <bob@example.test>\r\n"
                 "Subject: x\r\n\r\nbody\r\n");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->envelope.from, "sender@remote.test");
  EXPECT_EQ(q->envelope.recipients.at(0).address, "alice@example.test");
  EXPECT_EQ(q->envelope.recipients.at(1).address, "bob@example.test");
  EXPECT_EQ(q->envelope.recipients.at(1).state, RcptState::done);
}

TEST(QueueFile, FileCopiedFromTheOutboxKeepsDoneRecipients) {
  auto env = full_envelope();
  auto q = parse(format(env, msg));
  ASSERT_TRUE(q);
  int pending = 0;
  for (auto& r : q->envelope.recipients) pending += r.state == RcptState::pending;
  EXPECT_EQ(pending, 2);
}

// --- errors ---------------------------------------------------------------------------------------

TEST(QueueFileErrors, NoFrom) {
  error_of("RCPT: b@example.test\r\nSubject: x\r\n\r\nbody\r\n");
  error_of("Subject: x\r\n\r\nbody\r\n");
  error_of("");
  error_of("\r\n");
  error_of("just some text without any envelope\n");
}

TEST(QueueFileErrors, FromNotFirst) {
  auto e = error_of("RCPT: b@example.test\r\nFROM: a@remote.test\r\nSubject: x\r\n\r\nbody\r\n");
  EXPECT_NE(e.find("FROM"), std::string::npos) << e;
  error_of("SIZE: 5\r\nFROM: a@remote.test\r\nRCPT: b@example.test\r\nhello");
}

TEST(QueueFileErrors, SecondFrom) {
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\nFROM: c@remote.test\r\nSubject: x\r\n\r\nbody\r\n");
}

TEST(QueueFileErrors, NoRcpt) {
  auto e = error_of("FROM: a@remote.test\r\nSubject: x\r\n\r\nbody\r\n");
  EXPECT_NE(e.find("RCPT"), std::string::npos) << e;
  error_of("FROM: a@remote.test\r\nARRIVED: 5\r\nSubject: x\r\n\r\nbody\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test");  // the RCPT line never ended
}

TEST(QueueFileErrors, SizeMismatchTruncatedFile) {
  Envelope env;
  env.from = "a@remote.test";
  env.recipients.push_back(Recipient{"b@example.test"});
  auto text = format(env, msg);
  ASSERT_TRUE(parse(text));
  auto e = error_of(text.substr(0, text.size() - 1));  // one octet lost
  EXPECT_NE(e.find("SIZE"), std::string::npos) << e;
  error_of(text.substr(0, text.size() - msg.size() / 2));
  error_of(text + "extra");  // grown behind Tern's back
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\nSIZE: x\r\nSubject: s\r\n\r\nb\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\nSIZE: -1\r\nSubject: s\r\n\r\nb\r\n");
}

// Damage at the same size (a flipped bit, a block of zeros) is caught by the CHECKSUM: line; a file
// without one (older, or written by hand) still loads.
TEST(QueueFileErrors, ChecksumCatchesDamageAtTheSameSize) {
  Envelope env;
  env.from = "a@remote.test";
  env.recipients.push_back(Recipient{"b@example.test"});
  auto text = format(env, msg);
  EXPECT_NE(text.find("\r\nCHECKSUM: crc32:"), std::string::npos) << text;
  ASSERT_TRUE(parse(text));
  auto damaged = text;
  damaged[damaged.size() - 4] ^= 0x20;  // "Hello." -> "HelLo.": same size
  auto e = error_of(damaged);
  EXPECT_NE(e.find("CHECKSUM"), std::string::npos) << e;
  // Without the line the same bytes load (nothing to check them against).
  auto start = damaged.find("CHECKSUM: ");
  auto without = damaged.substr(0, start) + damaged.substr(damaged.find('\n', start) + 1);
  EXPECT_TRUE(parse(without));
  error_of("FROM: a@remote.test\r\nCHECKSUM: md5:abc\r\nRCPT: b@example.test\r\nSubject: s\r\n\r\nb\r\n");
  error_of("FROM: a@remote.test\r\nCHECKSUM: crc32:12345\r\nRCPT: b@example.test\r\nSubject: s\r\n\r\nb\r\n");
}

TEST(QueueFileErrors, EmptyMessage) {
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\n");
  error_of("FROM: a@remote.test\nRCPT: b@example.test\n");
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\nSIZE: 0\r\n");
  Envelope env;
  env.from = "a@remote.test";
  env.recipients.push_back(Recipient{"b@example.test"});
  error_of(format(env, ""));
}

TEST(QueueFileErrors, NotifyOrOrcptBeforeRcpt) {
  auto e = error_of("FROM: a@remote.test\r\nNOTIFY: NEVER\r\nRCPT: b@example.test\r\nSubject: x\r\n\r\nbody\r\n");
  EXPECT_NE(e.find("NOTIFY"), std::string::npos) << e;
  error_of("FROM: a@remote.test\r\nORCPT: rfc822;b@example.test\r\nRCPT: b@example.test\r\nSubject: x\r\n\r\nb\r\n");
}

TEST(QueueFileErrors, BadAddresses) {
  error_of("FROM: a b@remote.test\r\nRCPT: b@example.test\r\nSubject: x\r\n\r\nbody\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: \r\nSubject: x\r\n\r\nbody\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: <>\r\nSubject: x\r\n\r\nbody\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test c@example.test\r\nSubject: x\r\n\r\nbody\r\n");
  error_of("FROM: a@remote.test\r\nRCPT: " + std::string(400, 'x') + "@example.test\r\nSubject: x\r\n\r\nb\r\n");
}

TEST(QueueFileErrors, BadArrived) {
  error_of("FROM: a@remote.test\r\nRCPT: b@example.test\r\nARRIVED: yesterday\r\nSubject: x\r\n\r\nbody\r\n");
}

// Found by fuzz_queue_file (corpus: 19_arrived_beyond_int64): ARRIVED: 18446744073709551615 was read as -1,
// written back as "ARRIVED: -1" (so a stamped or re-written file no longer parsed), and a value past
// 2^63 made `now - arrived` overflow. ARRIVED: must fit the clock (std::chrono::system_clock, for the
// delay, the expiry and the DSN's Arrival-Date).
TEST(QueueFileErrors, ArrivedBeyondTheClock) {
  auto file = [](std::string_view arrived) {
    return "FROM: a@remote.test\r\nRCPT: b@example.test\r\nARRIVED: " + std::string(arrived) +
           "\r\nSubject: x\r\n\r\nbody\r\n";
  };
  for (auto v : {"18446744073709551615", "9223372036854775808", "9223372036854775807", "9223372037"})
    EXPECT_EQ(error_of(file(v)), "line 3: bad ARRIVED: value (past the year 2262)") << v;
  auto last = parse(file("9223372036"));  // 2262-04-11, the clock's last whole second
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->envelope.arrived, 9223372036);
  Envelope env = last->envelope;
  auto again = parse(format(env, "Subject: x\r\n\r\nbody\r\n"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->envelope.arrived, 9223372036);
}

TEST(QueueFileErrors, EveryTruncationIsAnErrorOrTheWholeMessage) {
  // A queue file cut at any point (a crash, a full disk) is never read as a shorter valid message.
  auto env = full_envelope();
  auto text = format(env, msg);
  for (std::size_t n = 0; n < text.size(); ++n) {
    auto r = parse(std::string_view(text).substr(0, n));
    EXPECT_FALSE(r) << "a file cut at " << n << " of " << text.size() << " octets was accepted";
  }
}

}  // namespace
}  // namespace tern::spool
