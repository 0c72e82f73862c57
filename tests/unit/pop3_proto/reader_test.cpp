// The command reader and the command-line grammar. Every Reader input is also fed split at every byte
// position and one byte at a time, and must give the same events.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pop3/proto/proto.hpp"

namespace tern::pop3::proto {
namespace {

// One line per event, so a whole run compares with one EXPECT_EQ.
std::string describe(const Event& ev) {
  switch (ev.kind) {
    case Event::command: {
      std::string s = "cmd " + std::string(verb_name(ev.cmd.verb)) + " [" + ev.cmd.arg + "]";
      if (ev.cmd.has_msg) s += " msg=" + std::to_string(ev.cmd.msg);
      if (ev.cmd.verb == Verb::top) s += " lines=" + std::to_string(ev.cmd.lines);
      if (!ev.cmd.mechanism.empty()) s += " mech=" + ev.cmd.mechanism;
      if (ev.cmd.has_initial_response) s += " ir=[" + ev.cmd.initial_response + "]";
      return s;
    }
    case Event::sasl_response:
      return "sasl [" + ev.line + "]";
    case Event::error:
      return "err " + std::to_string(static_cast<int>(ev.err.kind)) + " " + ev.err.text;
    case Event::need_more:
      break;
  }
  return "need_more";
}

// Feeds `pieces` in order the way a session does (unconsumed bytes stay in its buffer). Like the
// session, it reads the line after "AUTH mech" (without initial response) as a SASL response.
std::vector<std::string> read_events(const std::vector<std::string>& pieces) {
  Reader reader;
  std::vector<std::string> events;
  std::string buffer;
  for (const auto& piece : pieces) {
    buffer += piece;
    while (!buffer.empty()) {
      std::size_t consumed = 0;
      Event ev = reader.feed(buffer, consumed);
      EXPECT_LE(consumed, buffer.size());
      EXPECT_GT(consumed, 0u);
      buffer.erase(0, consumed);
      if (ev.kind == Event::need_more) {
        EXPECT_TRUE(buffer.empty());
        break;
      }
      events.push_back(describe(ev));
      if (ev.kind == Event::command && ev.cmd.verb == Verb::auth && !ev.cmd.mechanism.empty() &&
          !ev.cmd.has_initial_response)
        reader.expect_sasl_response();
    }
  }
  return events;
}

std::vector<std::string> read_all_splits(const std::string& input) {
  auto whole = read_events({input});
  for (std::size_t cut = 0; cut <= input.size(); ++cut)
    EXPECT_EQ(read_events({input.substr(0, cut), input.substr(cut)}), whole) << "split at " << cut;
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(read_events(bytes), whole) << "byte by byte";
  return whole;
}

using Events = std::vector<std::string>;

TEST(Reader, AWholeSessionAtEverySplit) {
  auto events = read_all_splits(
      "CAPA\r\nUSER bob@tern.test\r\nPASS pass word \r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\n"
      "RETR 1\r\nTOP 1 10\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(events, (Events{"cmd CAPA []", "cmd USER [bob@tern.test]", "cmd PASS [pass word ]", "cmd STAT []",
                            "cmd LIST []", "cmd LIST [2] msg=2", "cmd UIDL []", "cmd UIDL [1] msg=1",
                            "cmd RETR [1] msg=1", "cmd TOP [1 10] msg=1 lines=10", "cmd DELE [1] msg=1",
                            "cmd RSET []", "cmd NOOP []", "cmd QUIT []"}));
}

TEST(Reader, KeywordsAreCaseInsensitiveAndBareLfEndsALine) {
  EXPECT_EQ(read_all_splits("retr 3\nQuIt\n"), (Events{"cmd RETR [3] msg=3", "cmd QUIT []"}));
}

TEST(Reader, AuthForms) {
  auto events = read_all_splits(
      "AUTH\r\nAUTH plain dGVzdA==\r\nAUTH PLAIN =\r\nAUTH PLAIN\r\ndGVzdA==\r\nAUTH LOGIN\r\n*\r\nNOOP\r\n");
  EXPECT_EQ(events, (Events{"cmd AUTH []", "cmd AUTH [plain dGVzdA==] mech=PLAIN ir=[dGVzdA==]",
                            "cmd AUTH [PLAIN =] mech=PLAIN ir=[=]", "cmd AUTH [PLAIN] mech=PLAIN",
                            "sasl [dGVzdA==]", "cmd AUTH [LOGIN] mech=LOGIN", "sasl [*]", "cmd NOOP []"}));
}

TEST(Reader, CommandLineLimitIs255WithTheCrlf) {
  std::string ok_line = "USER " + std::string(253 - 5, 'u');  // 253 octets + CRLF = 255
  std::string long_line = ok_line + "u";
  auto events = read_all_splits(ok_line + "\r\n" + long_line + "\r\nNOOP\r\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], "cmd USER [" + std::string(248, 'u') + "]");
  EXPECT_EQ(events[1], "err 0 Line too long");
  EXPECT_EQ(events[2], "cmd NOOP []");
}

TEST(Reader, AuthLinesMayReach2048) {
  std::string ir(2046 - 11, 'Q');  // "AUTH PLAIN " + ir = 2046 octets, 2048 with the CRLF
  auto events = read_all_splits("AUTH PLAIN " + ir + "\r\nAUTH PLAIN " + ir + "Q\r\nNOOP\r\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], "cmd AUTH [PLAIN " + ir + "] mech=PLAIN ir=[" + ir + "]");
  EXPECT_EQ(events[1], "err 0 Line too long");
  EXPECT_EQ(events[2], "cmd NOOP []");
}

TEST(Reader, SaslResponseLimitAndResynchronisation) {
  std::string ok_resp(2046, 'x');
  auto events = read_all_splits("AUTH LOGIN\r\n" + ok_resp + "\r\nAUTH LOGIN\r\n" + std::string(5000, 'y') +
                                "\r\nNOOP\r\n");
  EXPECT_EQ(events, (Events{"cmd AUTH [LOGIN] mech=LOGIN", "sasl [" + ok_resp + "]", "cmd AUTH [LOGIN] mech=LOGIN",
                            "err 0 Line too long", "cmd NOOP []"}));
}

TEST(Reader, AVeryLongLineIsDiscardedToItsEnd) {
  auto events = read_all_splits(std::string(100000, 'A') + "\r\nSTAT\r\n");
  EXPECT_EQ(events, (Events{"err 0 Line too long", "cmd STAT []"}));
}

TEST(Reader, NulOctetIsRefused) {
  EXPECT_EQ(read_all_splits(std::string("NOOP\0\r\nNOOP\r\n", 13)), (Events{"err 1 NUL octet in line", "cmd NOOP []"}));
}

TEST(Reader, UnknownAndBadArguments) {
  auto events = read_all_splits(
      "XYZZY\r\n\r\nRETR\r\nRETR x\r\nRETR -1\r\nRETR 1 2\r\nTOP 1\r\nDELE 1a\r\nSTAT 1\r\nQUIT now\r\n"
      "PASS\r\nPASS \r\nUSER\r\nUSER a b\r\nAUTH PLAIN a b\r\nLIST 1 2\r\n");
  EXPECT_EQ(events, (Events{"err 2 Unknown command", "err 2 Empty command line", "err 3 Wrong number of arguments",
                            "err 3 Invalid number", "err 3 Invalid number", "err 3 Wrong number of arguments",
                            "err 3 Wrong number of arguments", "err 3 Invalid number",
                            "err 3 This command takes no argument", "err 3 This command takes no argument",
                            "err 3 PASS needs a password", "err 3 PASS needs a password",
                            "err 3 Wrong number of arguments", "err 3 Wrong number of arguments",
                            "err 3 Wrong number of arguments", "err 3 Wrong number of arguments"}));
}

TEST(Reader, ErrorsCarryTheVerbForLogs) {
  Reader r;
  std::size_t consumed = 0;
  auto ev = r.feed("RETR x\r\n", consumed);
  ASSERT_EQ(ev.kind, Event::error);
  EXPECT_EQ(ev.cmd.verb, Verb::retr);
}

TEST(Reader, ExtraSpacesAreTolerated) {
  EXPECT_EQ(read_all_splits("RETR  7 \r\nTOP 1  0\r\nSTAT \r\n"),
            (Events{"cmd RETR [ 7 ] msg=7", "cmd TOP [1  0] msg=1 lines=0", "cmd STAT []"}));
}

TEST(Reader, LargeNumbersSaturate) {
  auto events = read_all_splits("RETR 99999999999999999999999999\r\nTOP 1 18446744073709551616\r\n");
  EXPECT_EQ(events, (Events{"cmd RETR [99999999999999999999999999] msg=" + std::to_string(max_number),
                            "cmd TOP [1 18446744073709551616] msg=1 lines=" + std::to_string(max_number)}));
}

TEST(Reader, ResetForgetsAPartialLineAndSaslMode) {
  Reader r;
  std::size_t consumed = 0;
  r.expect_sasl_response();
  EXPECT_EQ(r.feed("NOO", consumed).kind, Event::need_more);
  r.reset();
  auto ev = r.feed("STAT\r\n", consumed);
  ASSERT_EQ(ev.kind, Event::command);
  EXPECT_EQ(ev.cmd.verb, Verb::stat);
}

TEST(Reader, Utf8UserNames) {
  EXPECT_EQ(read_all_splits("UTF8\r\nUSER b\xC3\xB6""b@t\xC3\xA9rn.test\r\n"),
            (Events{"cmd UTF8 []", "cmd USER [b\xC3\xB6""b@t\xC3\xA9rn.test]"}));
}

TEST(Verb, Names) {
  for (auto v : {Verb::user, Verb::pass, Verb::apop, Verb::auth, Verb::stls, Verb::capa, Verb::utf8, Verb::quit,
                 Verb::stat, Verb::list, Verb::uidl, Verb::retr, Verb::top, Verb::dele, Verb::noop, Verb::rset})
    EXPECT_EQ(parse_verb(verb_name(v)), v);
  EXPECT_EQ(parse_verb("USERX"), Verb::unknown);
  EXPECT_EQ(parse_verb(""), Verb::unknown);
}

}  // namespace
}  // namespace tern::pop3::proto
