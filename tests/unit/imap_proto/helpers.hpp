// Test helpers for imap/proto: events and arguments written as short strings, so a whole exchange
// compares with one EXPECT_EQ, and commands built from wire text through the real Reader.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "imap/proto/proto.hpp"

namespace tern::imap::proto::test {

// atom: its text; string: "text" (L"..." for a literal, L8"..." for a literal8); NIL; (a b).
inline std::string describe(const Arg& a) {
  switch (a.kind) {
    case Arg::Kind::atom:
      return a.text;
    case Arg::Kind::nil:
      return "NIL";
    case Arg::Kind::string:
      return std::string(a.literal8 ? "L8" : a.literal ? "L" : "") + "\"" + a.text + "\"";
    case Arg::Kind::list: {
      std::string s = "(";
      for (std::size_t i = 0; i < a.items.size(); ++i) s += (i ? " " : "") + describe(a.items[i]);
      return s + ")";
    }
  }
  return "?";
}

inline std::string describe(const Command& c) {
  std::string s = c.tag + " " + c.name;
  for (const auto& a : c.args) s += " " + describe(a);
  return s;
}

inline std::string describe(const Event& ev) {
  switch (ev.kind) {
    case Event::Kind::need_more:
      return "need_more";
    case Event::Kind::send_continuation:
      return "+";
    case Event::Kind::command:
      return "cmd " + describe(ev.command);
    case Event::Kind::error:
      return "err " + ev.tag + (ev.code.empty() ? "" : " [" + ev.code + "]") + (ev.fatal ? " fatal" : "") + " " +
             ev.text;
  }
  return "?";
}

// Feeds the pieces in order as a session does; stops after a fatal error, as the session closes.
inline std::vector<std::string> read_events(const std::vector<std::string>& pieces, const Limits& limits = {}) {
  Reader reader(limits);
  std::vector<std::string> events;
  std::string buffer;
  for (const auto& piece : pieces) {
    buffer += piece;
    for (;;) {
      Event ev = reader.next(buffer);
      if (ev.kind == Event::Kind::need_more) {
        EXPECT_TRUE(buffer.empty());
        break;
      }
      events.push_back(describe(ev));
      if (ev.kind == Event::Kind::error && ev.fatal) return events;
    }
  }
  return events;
}

// The events for `input`, checked to be the same when it is split at every position and when it
// comes one byte at a time.
inline std::vector<std::string> read_all_splits(const std::string& input, const Limits& limits = {}) {
  auto whole = read_events({input}, limits);
  for (std::size_t cut = 0; cut <= input.size(); ++cut)
    EXPECT_EQ(read_events({input.substr(0, cut), input.substr(cut)}, limits), whole) << "split at " << cut;
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(read_events(bytes, limits), whole) << "byte by byte";
  return whole;
}

using Events = std::vector<std::string>;

// The one command in `wire` (literals and all), read through a Reader.
inline Command command(const std::string& wire) {
  Reader reader;
  std::string buffer = wire;
  for (;;) {
    Event ev = reader.next(buffer);
    if (ev.kind == Event::Kind::command) {
      EXPECT_TRUE(buffer.empty()) << wire;
      return ev.command;
    }
    if (ev.kind == Event::Kind::send_continuation) continue;
    ADD_FAILURE() << "no command in: " << wire << " -> " << describe(ev);
    return {};
  }
}

// The arguments of "t <line>\r\n" after the command name.
inline std::vector<Arg> args_of(const std::string& line) { return command("t " + line + "\r\n").args; }

}  // namespace tern::imap::proto::test
