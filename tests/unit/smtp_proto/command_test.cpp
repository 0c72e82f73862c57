// Replies, verbs and the command-line receiver. Every CommandReader input is also fed split at every
// byte position and one byte at a time, and must give the same events.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/proto/proto.hpp"

namespace tern::smtp::proto {
namespace {

// One line per event, so a whole run compares with one EXPECT_EQ.
std::string describe(const CommandEvent& ev) {
  switch (ev.kind) {
    case CommandEvent::command:
      return "cmd " + std::to_string(static_cast<int>(ev.cmd.verb)) + " [" + ev.cmd.verb_text + "] [" +
             ev.cmd.arg + "]";
    case CommandEvent::error:
      return "err " + ev.err.reply.format();
    case CommandEvent::need_more:
      break;
  }
  return "need_more";
}

// Feeds `pieces` in order the way a session does (unconsumed bytes stay in its buffer) and returns
// the events. Checks that consumed never exceeds the input and that input is never left unread.
std::vector<std::string> read_commands(const std::vector<std::string>& pieces) {
  CommandReader reader;
  std::vector<std::string> events;
  std::string buffer;
  for (const auto& piece : pieces) {
    buffer += piece;
    while (!buffer.empty()) {
      std::size_t consumed = 0;
      CommandEvent ev = reader.feed(buffer, consumed);
      EXPECT_LE(consumed, buffer.size());
      EXPECT_GT(consumed, 0u);
      buffer.erase(0, consumed);
      if (ev.kind != CommandEvent::need_more) events.push_back(describe(ev));
      if (consumed == 0) break;
    }
  }
  return events;
}

// The events of `input` fed at once, after asserting that every two-piece split and the byte-by-byte
// feed give exactly the same.
std::vector<std::string> read_all_splits(const std::string& input) {
  auto whole = read_commands({input});
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(read_commands({input.substr(0, cut), input.substr(cut)}), whole) << "split at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(read_commands(bytes), whole) << "byte by byte";
  return whole;
}

std::string cmd(Verb v, const std::string& verb_text, const std::string& arg) {
  return "cmd " + std::to_string(static_cast<int>(v)) + " [" + verb_text + "] [" + arg + "]";
}

TEST(Reply, SingleLineWithEnhancedCode) {
  EXPECT_EQ((Reply{250, "2.1.0", "Sender OK"}.format()), "250 2.1.0 Sender OK\r\n");
}

TEST(Reply, GreetingWithoutEnhancedCode) {
  EXPECT_EQ((Reply{220, "", "mx.example.org ESMTP Tern"}.format()), "220 mx.example.org ESMTP Tern\r\n");
}

TEST(Reply, MultiLineRepeatsEnhancedCodeOnEveryLine) {
  EXPECT_EQ((Reply{250, "2.0.0", "line1\nline2\nline3"}.format()),
            "250-2.0.0 line1\r\n250-2.0.0 line2\r\n250 2.0.0 line3\r\n");
  EXPECT_EQ((Reply{250, "", "mx.example.org\nPIPELINING\nSMTPUTF8"}.format()),
            "250-mx.example.org\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
}

TEST(Reply, TrailingNewlineAndCarriageReturnsDoNotBreakTheFormat) {
  EXPECT_EQ((Reply{250, "", "a\nb\n"}.format()), "250-a\r\n250 b\r\n");
  EXPECT_EQ((Reply{250, "", "a\r\nb"}.format()), "250-a\r\n250 b\r\n");
  EXPECT_EQ((Reply{221, "2.0.0", ""}.format()), "221 2.0.0\r\n");
}

TEST(Verb, EveryVerbCaseInsensitive) {
  const std::vector<std::pair<std::string, Verb>> verbs = {
      {"EHLO", Verb::ehlo}, {"HELO", Verb::helo}, {"MAIL", Verb::mail},         {"RCPT", Verb::rcpt},
      {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset},         {"NOOP", Verb::noop},
      {"QUIT", Verb::quit}, {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn},         {"HELP", Verb::help},
      {"AUTH", Verb::auth}, {"STARTTLS", Verb::starttls},
  };
  for (const auto& [name, verb] : verbs) {
    EXPECT_EQ(parse_verb(name), verb) << name;
    std::string lower;
    for (char c : name) lower += static_cast<char>(c - 'A' + 'a');
    EXPECT_EQ(parse_verb(lower), verb) << lower;
  }
  EXPECT_EQ(parse_verb("StartTls"), Verb::starttls);
  EXPECT_EQ(parse_verb("XFOO"), Verb::unknown);
  EXPECT_EQ(parse_verb("MAILX"), Verb::unknown);
  EXPECT_EQ(parse_verb("MAI"), Verb::unknown);
  EXPECT_EQ(parse_verb(""), Verb::unknown);
}

TEST(CommandLine, VerbAndArgumentSplitAtTheFirstSpace) {
  Command c = parse_command_line("MAIL FROM:<a@b>");
  EXPECT_EQ(c.verb, Verb::mail);
  EXPECT_EQ(c.verb_text, "MAIL");
  EXPECT_EQ(c.arg, "FROM:<a@b>");

  c = parse_command_line("quit");
  EXPECT_EQ(c.verb, Verb::quit);
  EXPECT_EQ(c.verb_text, "quit");
  EXPECT_EQ(c.arg, "");

  c = parse_command_line("EHLO  two.spaces");  // only one space is the separator
  EXPECT_EQ(c.verb, Verb::ehlo);
  EXPECT_EQ(c.arg, " two.spaces");

  c = parse_command_line("XCLIENT ADDR=1.2.3.4");
  EXPECT_EQ(c.verb, Verb::unknown);
  EXPECT_EQ(c.verb_text, "XCLIENT");
}

TEST(CommandReader, ConsumesOneLineAtATime) {
  CommandReader reader;
  std::string input = "NOOP\r\nQUIT\r\n";
  std::size_t consumed = 0;
  CommandEvent ev = reader.feed(input, consumed);
  EXPECT_EQ(ev.kind, CommandEvent::command);
  EXPECT_EQ(ev.cmd.verb, Verb::noop);
  EXPECT_EQ(consumed, 6u);
  ev = reader.feed(std::string_view(input).substr(6), consumed);
  EXPECT_EQ(ev.cmd.verb, Verb::quit);
  EXPECT_EQ(consumed, 6u);
}

TEST(CommandReader, PartialLineNeedsMoreAndIsConsumed) {
  CommandReader reader;
  std::size_t consumed = 0;
  EXPECT_EQ(reader.feed("EHLO exa", consumed).kind, CommandEvent::need_more);
  EXPECT_EQ(consumed, 8u);
  CommandEvent ev = reader.feed("mple.org\r\n", consumed);
  EXPECT_EQ(ev.kind, CommandEvent::command);
  EXPECT_EQ(ev.cmd.arg, "example.org");
  EXPECT_EQ(consumed, 10u);
}

TEST(CommandReader, ResetDropsAPartialLine) {
  CommandReader reader;
  std::size_t consumed = 0;
  reader.feed("MAIL FROM:<evil@x>", consumed);
  reader.reset();  // e.g. after STARTTLS: nothing read before the handshake may survive it
  CommandEvent ev = reader.feed("EHLO a\r\n", consumed);
  EXPECT_EQ(ev.kind, CommandEvent::command);
  EXPECT_EQ(ev.cmd.verb, Verb::ehlo);
}

TEST(CommandReader, PipelinedCommandsAnySplit) {
  auto events = read_all_splits("EHLO client.example\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  EXPECT_EQ(events, (std::vector<std::string>{
                        cmd(Verb::ehlo, "EHLO", "client.example"),
                        cmd(Verb::mail, "MAIL", "FROM:<a@b> SIZE=10"),
                        cmd(Verb::rcpt, "RCPT", "TO:<c@d>"),
                        cmd(Verb::data, "DATA", ""),
                    }));
}

TEST(CommandReader, BareLfEndsALineAndOnlyOneCrIsStripped) {
  auto events = read_all_splits("NOOP\nHELO x\r\r\n\r\n");
  EXPECT_EQ(events, (std::vector<std::string>{
                        cmd(Verb::noop, "NOOP", ""),
                        cmd(Verb::helo, "HELO", "x\r"),
                        cmd(Verb::unknown, "", ""),
                    }));
}

TEST(CommandReader, LineAtTheLimitIsAccepted) {
  std::string arg(max_command_line - 5, 'a');  // "NOOP " + arg is exactly max_command_line
  auto events = read_all_splits("NOOP " + arg + "\r\n");
  EXPECT_EQ(events, (std::vector<std::string>{cmd(Verb::noop, "NOOP", arg)}));
  events = read_all_splits("NOOP " + arg + "\n");
  EXPECT_EQ(events, (std::vector<std::string>{cmd(Verb::noop, "NOOP", arg)}));
}

TEST(CommandReader, LineOneOverTheLimitGivesOneErrorAndResynchronises) {
  std::string arg(max_command_line - 4, 'a');
  auto events = read_all_splits("NOOP " + arg + "\r\nQUIT\r\n");
  EXPECT_EQ(events, (std::vector<std::string>{"err 500 5.5.6 Line too long\r\n", cmd(Verb::quit, "QUIT", "")}));
}

TEST(CommandReader, HugeLineIsDiscardedToTheNextLf) {
  std::string huge = "MAIL FROM:<" + std::string(5 * max_command_line, 'x') + "@y>\r\nRSET\r\n";
  auto events = read_commands({huge});
  EXPECT_EQ(events, (std::vector<std::string>{"err 500 5.5.6 Line too long\r\n", cmd(Verb::rset, "RSET", "")}));
  // The same in small pieces: the error comes once, at the line end, not per piece.
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < huge.size(); i += 100) pieces.push_back(huge.substr(i, 100));
  EXPECT_EQ(read_commands(pieces), events);
}

TEST(CommandReader, NulByteIsAnErrorAndTheNextLineParses) {
  auto events = read_all_splits(std::string("MAIL FROM:<a\0b@c>\r\nNOOP\r\n", 26));
  EXPECT_EQ(events, (std::vector<std::string>{"err 500 5.5.2 NUL octet in command line\r\n", cmd(Verb::noop, "NOOP", "")}));
}

TEST(CommandReader, UnknownVerbKeepsWhatTheClientSent) {
  auto events = read_all_splits("xyzzy plugh\r\n");
  EXPECT_EQ(events, (std::vector<std::string>{cmd(Verb::unknown, "xyzzy", "plugh")}));
}

}  // namespace
}  // namespace tern::smtp::proto
