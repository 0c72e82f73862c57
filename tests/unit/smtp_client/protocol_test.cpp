// smtp/client's pure pieces: the reply parser fed every split of its input, enhanced codes, limits,
// EHLO keywords, MAIL/RCPT parameters, dot-stuffing, quoted-printable and the 8-bit downgrade.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/client/protocol.hpp"

namespace tern::smtp::client {
namespace {

// Feeds `input` in pieces cut at `cuts` and returns every reply (or "ERROR: ...") in order.
std::vector<std::string> feed_split(std::string_view input, const std::vector<std::size_t>& cuts) {
  ReplyParser p;
  std::vector<std::string> out;
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    std::string_view piece = input.substr(from, end - from);
    from = end;
    while (!piece.empty()) {
      std::size_t used = 0;
      auto ev = p.feed(piece, used);
      EXPECT_LE(used, piece.size());
      piece.remove_prefix(used);
      if (ev.kind == ReplyParser::Event::complete) {
        std::string s = std::to_string(ev.reply.code);
        for (const auto& l : ev.reply.lines) s += "|" + l;
        out.push_back(s);
      } else if (ev.kind == ReplyParser::Event::failed) {
        out.push_back("ERROR: " + ev.error);
        return out;
      } else {
        EXPECT_TRUE(piece.empty());
      }
    }
  }
  return out;
}

// The same result for the whole input at once, for every single cut and for one byte at a time.
std::vector<std::string> parse_all_splits(std::string_view input) {
  auto whole = feed_split(input, {});
  for (std::size_t cut = 1; cut < input.size(); ++cut) EXPECT_EQ(feed_split(input, {cut}), whole) << "cut at " << cut;
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < input.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(feed_split(input, bytes), whole) << "byte by byte";
  return whole;
}

TEST(ReplyParser, SingleAndMultiLine) {
  auto r = parse_all_splits(
      "220 mx.test ESMTP ready\r\n"
      "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 DSN\r\n"
      "354 go on\r\n"
      "250\r\n"
      "550 5.1.1 <b@x> no such user\n");
  EXPECT_EQ(r, (std::vector<std::string>{"220|mx.test ESMTP ready", "250|mx.test Hello|PIPELINING|SIZE 1000|DSN",
                                         "354|go on", "250|", "550|5.1.1 <b@x> no such user"}));
}

TEST(ReplyParser, Malformed) {
  EXPECT_EQ(parse_all_splits("hello\r\n")[0].substr(0, 22), "ERROR: malformed reply");
  EXPECT_EQ(parse_all_splits("25 short\r\n")[0].substr(0, 22), "ERROR: malformed reply");
  EXPECT_EQ(parse_all_splits("250x\r\n")[0].substr(0, 22), "ERROR: malformed reply");
  EXPECT_EQ(parse_all_splits("650 bad class\r\n")[0].substr(0, 22), "ERROR: malformed reply");
  auto changed = parse_all_splits("250-a\r\n251 b\r\n");
  EXPECT_NE(changed[0].find("code changed"), std::string::npos) << changed[0];
}

TEST(ReplyParser, LineLengthLimit) {
  std::string ok = "250 " + std::string(max_reply_line - 6, 'a') + "\r\n";  // exactly the limit
  ASSERT_EQ(ok.size(), max_reply_line);
  EXPECT_EQ(feed_split(ok, {}).at(0).substr(0, 4), "250|");
  std::string too_long = "250 " + std::string(max_reply_line - 5, 'a') + "\r\n";
  auto r = feed_split(too_long, {100, 2000});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("longer than 4096"), std::string::npos) << r[0];
  // Without any line end, the limit still holds (a server that streams garbage).
  ReplyParser p;
  std::size_t used = 0;
  std::string junk(3000, 'x');
  EXPECT_EQ(p.feed("250 " + junk, used).kind, ReplyParser::Event::need_more);
  EXPECT_EQ(p.feed(junk, used).kind, ReplyParser::Event::failed);
  // After an error the parser stays failed.
  EXPECT_EQ(p.feed("250 ok\r\n", used).kind, ReplyParser::Event::failed);
}

TEST(ReplyParser, LineCountLimit) {
  std::string ok, too_many;
  for (std::size_t i = 0; i + 1 < max_reply_lines; ++i) ok += "250-line\r\n";
  ok += "250 last\r\n";
  EXPECT_EQ(feed_split(ok, {}).size(), 1u);
  EXPECT_EQ(feed_split(ok, {}).at(0).substr(0, 4), "250|");
  for (std::size_t i = 0; i < max_reply_lines; ++i) too_many += "250-line\r\n";
  too_many += "250 last\r\n";
  auto r = feed_split(too_many, {});
  EXPECT_NE(r.at(0).find("more than 100 lines"), std::string::npos) << r[0];
}

TEST(ReplyParser, StopsAfterOneReply) {
  ReplyParser p;
  std::size_t used = 0;
  std::string in = "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n";
  auto ev = p.feed(in, used);
  EXPECT_EQ(ev.kind, ReplyParser::Event::complete);
  EXPECT_EQ(used, 14u);
}

ServerReply server_reply(std::string_view text) {
  ReplyParser p;
  std::size_t used = 0;
  auto ev = p.feed(text, used);
  EXPECT_EQ(ev.kind, ReplyParser::Event::complete) << text;
  return ev.reply.to_server_reply();
}

TEST(ServerReply, EnhancedCodes) {
  auto r = server_reply("550-5.1.1 The email account does not exist.\r\n550 5.1.1 Try again.\r\n");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  EXPECT_EQ(r.text, "The email account does not exist. Try again.");
  EXPECT_EQ(r.str(), "550 5.1.1 The email account does not exist. Try again.");
  EXPECT_TRUE(r.permanent());
  // A code of another class than the reply is text, not an enhanced code.
  auto mismatch = server_reply("250 5.1.1 odd\r\n");
  EXPECT_EQ(mismatch.enhanced, "");
  EXPECT_EQ(mismatch.text, "5.1.1 odd");
  auto none = server_reply("220 mx.test ESMTP\r\n");
  EXPECT_EQ(none.enhanced, "");
  EXPECT_EQ(none.str(), "220 mx.test ESMTP");
  auto bare = server_reply("250 2.0.0\r\n");
  EXPECT_EQ(bare.enhanced, "2.0.0");
  EXPECT_EQ(bare.str(), "250 2.0.0");
  auto t = server_reply("421 4.3.2 closing\r\n");
  EXPECT_TRUE(t.transient());
  EXPECT_EQ(server_reply("250 2.100.999 x\r\n").enhanced, "2.100.999");
  EXPECT_EQ(server_reply("250 2.1000.1 x\r\n").enhanced, "");
}

TEST(TransactionResult, Outcome) {
  TransactionResult r;
  r.rcpt_replies = {server_reply("250 2.1.5 ok\r\n"), server_reply("550 5.1.1 unknown\r\n"), ServerReply{}};
  r.data_reply = server_reply("250 2.0.0 queued as X\r\n");
  EXPECT_EQ(r.outcome(0).str(), "250 2.0.0 queued as X");
  EXPECT_EQ(r.outcome(1).str(), "550 5.1.1 unknown");
  r.data_reply.reset();
  r.connection_lost = true;
  r.error = "timeout (300 s) waiting for the reply to DATA";
  EXPECT_EQ(r.outcome(0).str(), "451 4.4.2 connection lost: timeout (300 s) waiting for the reply to DATA");
  EXPECT_EQ(r.outcome(2).code, 451);
  r.mail_reply = server_reply("552 5.3.4 too big\r\n");
  EXPECT_EQ(r.outcome(0).str(), "552 5.3.4 too big");
}

TEST(Ehlo, Keywords) {
  ParsedReply r;
  r.code = 250;
  r.lines = {"mx.test Hello client", "PIPELINING", "size 35882577", "8BITMIME", "SMTPUTF8", "DSN",
             "STARTTLS", "AUTH PLAIN LOGIN", "AUTH=LOGIN CRAM-MD5", "CHUNKING", "ENHANCEDSTATUSCODES", "X-UNKNOWN x"};
  auto x = parse_ehlo(r);
  EXPECT_TRUE(x.pipelining);
  ASSERT_TRUE(x.size);
  EXPECT_EQ(*x.size, 35882577u);
  EXPECT_TRUE(x.eight_bit_mime);
  EXPECT_TRUE(x.smtputf8);
  EXPECT_TRUE(x.dsn);
  EXPECT_TRUE(x.starttls);
  EXPECT_TRUE(x.chunking);
  EXPECT_EQ(x.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));

  ParsedReply plain;
  plain.code = 250;
  plain.lines = {"mx.test", "SIZE"};
  auto y = parse_ehlo(plain);
  ASSERT_TRUE(y.size);
  EXPECT_EQ(*y.size, 0u);  // offered, no fixed limit
  EXPECT_FALSE(y.pipelining || y.eight_bit_mime || y.smtputf8 || y.dsn || y.starttls || y.chunking);
  // The first line is the server's name, never a keyword.
  ParsedReply first;
  first.code = 250;
  first.lines = {"PIPELINING"};
  EXPECT_FALSE(parse_ehlo(first).pipelining);
}

TEST(Commands, MailAndRcptParameters) {
  Envelope env;
  env.from = "a@x.test";
  env.envid = "Q+1 2";
  env.ret = "hdrs";
  env.smtputf8 = true;
  Recipient r{"b@y.test", "success,failure", "rfc822;B+C=@y.test"};
  SessionInfo none;
  EXPECT_EQ(mail_command(env, none, 1234, false), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_EQ(rcpt_command(r, none), "RCPT TO:<b@y.test>\r\n");
  SessionInfo all;
  all.dsn = all.smtputf8 = all.eight_bit_mime = true;
  all.size_limit = 0;
  EXPECT_EQ(mail_command(env, all, 1234, true),
            "MAIL FROM:<a@x.test> SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=Q+2B1+202\r\n");
  EXPECT_EQ(rcpt_command(r, all), "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B+2BC+3D@y.test\r\n");
  Recipient plain{"c@y.test", "", ""};
  EXPECT_EQ(rcpt_command(plain, all), "RCPT TO:<c@y.test>\r\n");
  Recipient bare_orcpt{"d@y.test", "NEVER", "d@y.test"};
  EXPECT_EQ(rcpt_command(bare_orcpt, all), "RCPT TO:<d@y.test> NOTIFY=NEVER ORCPT=rfc822;d@y.test\r\n");
  Envelope null_sender;
  EXPECT_EQ(mail_command(null_sender, all, 10, false), "MAIL FROM:<> SIZE=10\r\n");
  Envelope bad_ret;
  bad_ret.ret = "EVERYTHING";
  EXPECT_EQ(mail_command(bad_ret, all, 10, false), "MAIL FROM:<> SIZE=10\r\n");
}

TEST(DotStuff, Transparency) {
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\n.\r\nd\r\n"), "a\r\n..b\r\n...c\r\n..\r\nd\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".first"), "..first\r\n.\r\n");
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  EXPECT_EQ(dot_stuff("x\r\n"), "x\r\n.\r\n");
  // Bare line ends become CRLF: no server can see an end of data we did not mean.
  EXPECT_EQ(dot_stuff("a\n.\nb\r.\rc"), "a\r\n..\r\nb\r\n..\r\nc\r\n.\r\n");
  EXPECT_EQ(dot_stuff("a\r\n\r\n.\r\n"), "a\r\n\r\n..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("mid.dot\r\n"), "mid.dot\r\n.\r\n");
}

// A quoted-printable decoder for the round trip (RFC 2045 6.7), lines CRLF.
std::string qp_decode(std::string_view s) {
  std::string out;
  auto hex = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=') {
      if (s.substr(i + 1, 2) == "\r\n") {
        i += 2;
        continue;
      }
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void expect_valid_qp(const std::string& enc) {
  std::size_t start = 0;
  while (start < enc.size()) {
    std::size_t end = enc.find("\r\n", start);
    if (end == std::string::npos) end = enc.size();
    std::string_view line(enc.data() + start, end - start);
    EXPECT_LE(line.size(), 76u) << line;
    if (!line.empty()) {
      EXPECT_TRUE(line.back() != ' ' && line.back() != '\t') << "trailing white space: " << line;
    }
    for (char c : line) EXPECT_TRUE(static_cast<unsigned char>(c) < 128 && c != '\r' && c != '\n');
    start = end + 2;
  }
}

TEST(QuotedPrintable, EncodeRoundTrip) {
  EXPECT_EQ(quoted_printable_encode("Caf\xC3\xA9 = 5\r\n"), "Caf=C3=A9 =3D 5\r\n");
  EXPECT_EQ(quoted_printable_encode("trailing \r\ntab\t\r\n"), "trailing=20\r\ntab=09\r\n");
  EXPECT_EQ(quoted_printable_encode("end "), "end=20");
  std::vector<std::string> bodies = {
      std::string(200, 'a') + "\r\n",
      std::string(100, '\xE9') + "\r\nline two\r\n",
      "x" + std::string(74, ' ') + "y\r\n",
      std::string(75, 'b') + " \r\n",
      ".leading dot\r\n\r\n\r\n",
      "no final line end",
  };
  for (const auto& b : bodies) {
    auto enc = quoted_printable_encode(b);
    expect_valid_qp(enc);
    EXPECT_EQ(qp_decode(enc), b);
  }
}

TEST(Downgrade, SinglePartText) {
  std::string why;
  auto m = downgrade_8bit(
      "From: a@x.test\r\nSubject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xC3\xA9\r\n",
      why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(*m,
            "From: a@x.test\r\nSubject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9\r\n");
  EXPECT_FALSE(has_eight_bit(*m));
  // A folded Content-Transfer-Encoding field goes whole; an existing MIME-Version stays alone.
  auto folded = downgrade_8bit("MIME-Version: 1.0\r\nContent-Transfer-Encoding:\r\n 8bit\r\nX: y\r\n\r\n\xFF\r\n", why);
  ASSERT_TRUE(folded) << why;
  EXPECT_EQ(*folded, "MIME-Version: 1.0\r\nX: y\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF\r\n");
  // No Content-Type at all: text/plain by default (RFC 2045 5.2).
  auto untyped = downgrade_8bit("Subject: x\n\n\xE9t\xE9\n", why);
  ASSERT_TRUE(untyped) << why;
  EXPECT_EQ(*untyped, "Subject: x\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n");
}

TEST(Downgrade, RefusesWhatItCannotConvert) {
  std::string why;
  EXPECT_FALSE(downgrade_8bit("Subject: Caf\xC3\xA9\r\n\r\nbody\r\n", why));
  EXPECT_NE(why.find("header"), std::string::npos);
  EXPECT_FALSE(downgrade_8bit("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xE9\r\n--b--\r\n", why));
  EXPECT_NE(why.find("multipart/mixed"), std::string::npos) << why;
  EXPECT_FALSE(downgrade_8bit("Content-Type: message/rfc822\r\n\r\n\xE9\r\n", why));
  EXPECT_FALSE(downgrade_8bit("Content-Transfer-Encoding: binary\r\n\r\n\xE9\r\n", why));
  EXPECT_NE(why.find("binary"), std::string::npos) << why;
  EXPECT_FALSE(downgrade_8bit("Content-Transfer-Encoding: base64\r\n\r\n\xE9\r\n", why));
}

}  // namespace
}  // namespace tern::smtp::client
