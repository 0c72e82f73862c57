// imap/proto/reader: framing commands (lines and literals) and tokenizing them (RFC 9051 2.2, 4.3, 7.5,
// 9; RFC 7888 LITERAL+/LITERAL-; RFC 3516 literal8).
//
// Framing: a line ends at LF (a CR before it is dropped). A line whose end, outside a quoted string,
// is a literal announcement {N}, {N+}, ~{N} or ~{N+} is followed by N raw octets and then by more of
// the same command line. The reader keeps the command's text with the literal bytes set apart (each
// tied to the offset where its announcement ends), so the tokenizer can check that every literal is
// announced exactly where the framing saw it.
//
// Resynchronisation: a too-long line is discarded to its LF and reported once; a synchronizing
// literal over a limit is refused at once (RFC 9051 7.5: the server answers instead of sending "+",
// and the client then sends neither the literal nor the rest of the line). A non-synchronizing
// literal over its limit cannot be skipped safely (its octets would be read as commands), so that
// error is fatal. Every decision depends only on the bytes, never on how they were split.
#include <algorithm>
#include <utility>

#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

using detail::ascii_upper;
using detail::upper;

constexpr std::size_t max_tail = 32;  // enough to hold "~{18446744073709551615+}"

// RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">.
bool tag_char(char c) { return detail::astring_char(c) && c != '+'; }

// Command names are atoms; kept plain (no brackets) so "UID" and the verb are easy to tell apart.
bool name_char(char c) { return detail::atom_char(c); }

struct Head {
  std::string tag = "*";
  std::string name;
};

// The tag and command name at the start of the first line, looking at no more than `max` octets so
// that the answer for a too-long line does not depend on how much of it has arrived. The end of
// `line` counts as a terminator only when all of it is within `max`.
Head read_head(std::string_view line, std::size_t max) {
  Head h;
  bool whole = line.size() <= max;
  if (!whole) line = line.substr(0, max);
  auto word = [&](std::size_t from, bool (*ok)(char), std::size_t& end) -> bool {
    end = from;
    while (end < line.size() && ok(line[end])) ++end;
    if (end == from) return false;
    return (end < line.size() && line[end] == ' ') || (end == line.size() && whole);
  };
  std::size_t e = 0;
  if (!word(0, tag_char, e)) return h;
  h.tag = std::string(line.substr(0, e));
  std::size_t n = 0;
  if (e >= line.size() || !word(e + 1, name_char, n)) return h;
  h.name = upper(line.substr(e + 1, n - e - 1));
  if (h.name == "UID") {
    std::size_t v = 0;
    if (n < line.size() && word(n + 1, name_char, v))
      h.name += " " + upper(line.substr(n + 1, v - n - 1));
    else
      h.name.clear();
  }
  return h;
}

struct Announcement {
  bool found = false;
  bool nonsync = false;
  bool literal8 = false;
  bool too_big = false;  // more digits than any limit could allow
  std::size_t size = 0;
};

// A literal announcement at the very end of `s`: ["~"] "{" digits ["+"] "}".
Announcement announcement_at_end(std::string_view s) {
  Announcement a;
  if (s.empty() || s.back() != '}') return a;
  std::size_t i = s.size() - 1;
  if (i > 0 && s[i - 1] == '+') {
    a.nonsync = true;
    --i;
  }
  std::size_t digits_end = i;
  while (i > 0 && detail::is_digit(s[i - 1])) --i;
  if (i == digits_end || i == 0 || s[i - 1] != '{') return a;
  std::string_view digits = s.substr(i, digits_end - i);
  a.literal8 = i >= 2 && s[i - 2] == '~';
  a.found = true;
  std::size_t v = 0;
  for (char c : digits) {
    if (v > (std::size_t{1} << 48)) {
      a.too_big = true;
      break;
    }
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  a.size = v;
  return a;
}

// A literal announcement ending the line segment `seg`, outside any quoted string.
Announcement segment_announcement(std::string_view seg) {
  bool quoted = false;
  for (std::size_t i = 0; i < seg.size(); ++i) {
    char c = seg[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    }
  }
  if (quoted) return {};
  return announcement_at_end(seg);
}

void keep_tail(std::string& tail, std::string_view part) {
  if (part.size() >= max_tail) {
    tail.assign(part.substr(part.size() - max_tail));
    return;
  }
  tail.append(part);
  if (tail.size() > max_tail) tail.erase(0, tail.size() - max_tail);
}

// --- Tokenizer ------------------------------------------------------------------------------------

template <typename Lit>
class Tokenizer {
 public:
  Tokenizer(std::string_view text, std::vector<Lit>& lits, const Limits& limits)
      : text_(text), lits_(lits), limits_(limits) {}

  CommandParse run() {
    CommandParse out;
    Command cmd;
    std::size_t e = 0;
    while (e < text_.size() && tag_char(text_[e])) ++e;
    if (e == 0 || (e < text_.size() && text_[e] != ' ')) return error(out, "Invalid tag");
    cmd.tag = std::string(text_.substr(0, e));
    out.tag = cmd.tag;
    pos_ = e;
    if (!space()) return error(out, "Missing command");
    std::string name;
    if (!plain_word(name)) return error(out, "Invalid command name");
    cmd.name = upper(name);
    if (cmd.name == "UID") {
      if (!space() || !plain_word(name)) return error(out, "UID needs a command");
      cmd.name += " " + upper(name);
    }
    while (pos_ < text_.size()) {
      if (!space()) return error(out, "Expected a space between arguments");
      if (pos_ >= text_.size()) break;  // trailing spaces: harmless, some clients send them
      Arg a;
      if (!token(a, 0)) return error(out, err_);
      cmd.args.push_back(std::move(a));
    }
    if (next_lit_ != lits_.size()) return error(out, "Literal in an unexpected place");
    out.command = std::move(cmd);
    return out;
  }

 private:
  CommandParse& error(CommandParse& out, std::string text) {
    out.command.reset();
    out.error = std::move(text);
    return out;
  }

  // Where the next literal's bytes sit: no token but that literal may reach past it.
  std::size_t limit() const { return next_lit_ < lits_.size() ? lits_[next_lit_].offset : text_.size(); }

  bool space() {
    if (pos_ >= text_.size() || text_[pos_] != ' ') return false;
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    return true;
  }

  bool plain_word(std::string& out) {
    std::size_t start = pos_, lim = limit();
    while (pos_ < lim && name_char(text_[pos_])) ++pos_;
    if (pos_ == start) return false;
    out = std::string(text_.substr(start, pos_ - start));
    return pos_ == text_.size() || text_[pos_] == ' ';
  }

  bool fail(const char* text) {
    err_ = text;
    return false;
  }

  bool count_item() {
    if (++items_ > limits_.max_items) return fail("Too many arguments");
    return true;
  }

  // After a token: a space, the end of a list, or the end of the command.
  bool separated(bool in_list) {
    if (pos_ >= text_.size() || text_[pos_] == ' ') return true;
    if (in_list && text_[pos_] == ')') return true;
    return fail("Expected a space after an argument");
  }

  bool token(Arg& a, std::size_t depth) {
    if (!count_item()) return false;
    char c = text_[pos_];
    if (c == '(') return list(a, depth + 1);
    if (c == '"') return quoted(a);
    if (c == '{' || (c == '~' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{')) return literal(a);
    return atom(a);
  }

  bool list(Arg& a, std::size_t depth) {
    if (depth > limits_.max_depth) return fail("Lists nested too deeply");
    a.kind = Arg::Kind::list;
    ++pos_;
    for (;;) {
      while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
      if (pos_ >= text_.size()) return fail("Unterminated list");
      if (text_[pos_] == ')') {
        ++pos_;
        return true;
      }
      Arg item;
      if (!token(item, depth)) return false;
      a.items.push_back(std::move(item));
      if (!separated(true)) return false;
    }
  }

  // RFC 9051 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; only \" and \\ may be escaped.
  bool quoted(Arg& a) {
    a.kind = Arg::Kind::string;
    std::size_t lim = limit();
    ++pos_;
    while (pos_ < lim) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= lim || (text_[pos_] != '"' && text_[pos_] != '\\')) return fail("Invalid escape in quoted string");
        c = text_[pos_++];
      } else if (c == '\0' || c == '\r' || c == '\n') {
        return fail("Invalid octet in quoted string");
      }
      a.text += c;
    }
    return fail("Unterminated quoted string");
  }

  bool literal(Arg& a) {
    a.kind = Arg::Kind::string;
    a.literal = true;
    if (text_[pos_] == '~') {
      a.literal8 = true;
      ++pos_;
    }
    std::size_t close = text_.find('}', pos_);
    if (next_lit_ >= lits_.size() || close == std::string_view::npos || close + 1 != lits_[next_lit_].offset)
      return fail("Literal not at the end of a line");
    Lit& lit = lits_[next_lit_++];
    if (lit.literal8 != a.literal8) return fail("Literal not at the end of a line");
    a.text = std::move(lit.bytes);
    pos_ = close + 1;
    return separated(true);
  }

  // An atom, lenient like Dovecot's: list-wildcards, "\" (flags) and 8-bit octets pass, and a "["
  // opens a section that runs to its "]" with spaces, parentheses and quoted strings inside, so
  // "BODY[HEADER.FIELDS (From To)]<0.100>" stays one token (RFC 9051 9 fetch-att).
  bool atom(Arg& a) {
    std::size_t start = pos_, lim = limit();
    bool bracket = false, quoted = false;
    while (pos_ < lim) {
      char c = text_[pos_];
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) return fail("Invalid octet in atom");
      if (quoted) {
        if (c == '\\') ++pos_;
        else if (c == '"') quoted = false;
      } else if (bracket) {
        if (c == ']') bracket = false;
        else if (c == '"') quoted = true;
        else if (c == '{') return fail("Literal inside a section");
      } else if (c == '[') {
        bracket = true;
      } else if (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{') {
        break;
      }
      ++pos_;
    }
    if (bracket && !quoted) {
      // No "]" before the end: not a section but a plain atom with "[" in it, which RFC 9051 allows
      // (ATOM-CHAR excludes only resp-specials "]"), e.g. a mailbox named "a[b".
      pos_ = start;
      while (pos_ < lim && text_[pos_] != ' ' && text_[pos_] != '(' && text_[pos_] != ')' && text_[pos_] != '"' &&
             text_[pos_] != '{')
        ++pos_;
    } else if (quoted) {
      return fail("Unterminated section");
    }
    if (pos_ == start) return fail("Unexpected character");
    a.text = std::string(text_.substr(start, pos_ - start));
    a.kind = detail::iequals(a.text, "NIL") ? Arg::Kind::nil : Arg::Kind::atom;
    return true;
  }

  std::string_view text_;
  std::vector<Lit>& lits_;
  const Limits& limits_;
  std::size_t pos_ = 0;
  std::size_t next_lit_ = 0;
  std::size_t items_ = 0;
  std::string err_;
};

struct NoLiteral {
  std::size_t offset;
  std::string bytes;
  bool literal8;
};

Event error_event(std::string tag, std::string name, std::string text, std::string code, bool fatal) {
  Event ev;
  ev.kind = Event::Kind::error;
  ev.command.tag = tag;
  ev.command.name = std::move(name);
  ev.tag = std::move(tag);
  ev.text = std::move(text);
  ev.code = std::move(code);
  ev.fatal = fatal;
  return ev;
}

}  // namespace

CommandParse parse_command_line(std::string_view line, const Limits& limits) {
  std::vector<NoLiteral> none;
  CommandParse out = Tokenizer<NoLiteral>(line, none, limits).run();
  if (!out.command && out.tag.empty()) out.tag = "*";
  return out;
}

Reader::Reader(Limits limits) : limits_(limits) {}

void Reader::reset() {
  state_ = State::line;
  text_.clear();
  line_start_ = 0;
  literals_.clear();
  literal_left_ = 0;
  total_ = 0;
  discard_tag_.clear();
  discard_tail_.clear();
  discard_report_ = false;
}

Event Reader::line_error(bool fatal) {
  // The first line of the command holds the tag: the whole of text_ when no literal came yet.
  std::string_view first = literals_.empty() ? std::string_view(text_) : std::string_view(text_).substr(0, literals_[0].offset);
  Head h = read_head(first, limits_.max_line);
  Event ev = error_event(h.tag, h.name, "Command too long", "TOOBIG", fatal);
  reset();
  return ev;
}

Event Reader::finish_command() {
  Tokenizer<Literal> tok(text_, literals_, limits_);
  CommandParse p = tok.run();
  Event ev;
  if (p.command) {
    ev.kind = Event::Kind::command;
    ev.tag = p.command->tag;
    ev.command = std::move(*p.command);
  } else {
    std::string_view first = literals_.empty() ? std::string_view(text_) : std::string_view(text_).substr(0, literals_[0].offset);
    Head h = read_head(first, limits_.max_line);
    bool limit = p.error == "Too many arguments" || p.error == "Lists nested too deeply";
    ev = error_event(p.tag.empty() ? std::string("*") : p.tag, h.name, p.error, limit ? "LIMIT" : "", false);
  }
  reset();
  return ev;
}

Event Reader::next(std::string& in) {
  for (;;) {
    if (state_ == State::literal) {
      std::size_t n = std::min(literal_left_, in.size());
      literals_.back().bytes.append(in, 0, n);
      in.erase(0, n);
      literal_left_ -= n;
      if (literal_left_ > 0) return {};
      state_ = State::line;
      continue;
    }

    if (state_ == State::discard) {
      std::size_t lf = in.find('\n');
      keep_tail(discard_tail_, std::string_view(in).substr(0, lf));
      if (lf == std::string::npos) {
        in.clear();
        return {};
      }
      in.erase(0, lf + 1);
      if (!discard_report_) {
        reset();
        continue;
      }
      if (!discard_tail_.empty() && discard_tail_.back() == '\r') discard_tail_.pop_back();
      Announcement a = announcement_at_end(discard_tail_);
      Event ev = error_event(discard_tag_, {}, "Command line too long", "TOOBIG", a.found && a.nonsync);
      reset();
      return ev;
    }

    // A line, or the rest of one.
    std::size_t lf = in.find('\n');
    std::size_t have = text_.size() - line_start_;
    std::size_t part = lf == std::string::npos ? in.size() : lf;
    // The line may be max_line octets plus the CR of its line end.
    if (have + part > limits_.max_line + 1) {
      std::string_view first;
      std::string joined;
      if (literals_.empty()) {
        joined = text_;
        joined.append(in, 0, std::min(part, limits_.max_line + 2));
        first = joined;
      } else {
        first = std::string_view(text_).substr(0, literals_[0].offset);
      }
      std::string tag = read_head(first, limits_.max_line).tag;
      std::string tail;
      keep_tail(tail, std::string_view(text_).substr(line_start_));
      reset();
      state_ = State::discard;
      discard_report_ = true;
      discard_tag_ = std::move(tag);
      discard_tail_ = std::move(tail);
      continue;  // the discard state reads through the LF and reports
    }
    text_.append(in, 0, part);
    if (lf == std::string::npos) {
      in.clear();
      return {};
    }
    in.erase(0, lf + 1);
    if (text_.size() > line_start_ && text_.back() == '\r') text_.pop_back();
    std::string_view seg = std::string_view(text_).substr(line_start_);
    if (seg.size() > limits_.max_line) {
      // Answered exactly as when the line is discarded in pieces (see the discard state above).
      std::string_view first = literals_.empty() ? std::string_view(text_) : std::string_view(text_).substr(0, literals_[0].offset);
      Announcement a = announcement_at_end(seg);
      Event ev = error_event(read_head(first, limits_.max_line).tag, {}, "Command line too long", "TOOBIG",
                             a.found && a.nonsync);
      reset();
      return ev;
    }
    if (text_.empty()) continue;  // an empty line between commands: nothing to answer
    total_ += seg.size() + 2;
    Announcement a = segment_announcement(seg);
    if (total_ > limits_.max_command) return line_error(a.found && a.nonsync);
    if (!a.found) return finish_command();

    std::size_t max = a.nonsync ? std::min(limits_.max_nonsync_literal, limits_.max_literal) : limits_.max_literal;
    bool too_big = a.too_big || a.size > max || total_ + a.size > limits_.max_command;
    if (too_big || literals_.size() >= limits_.max_items) {
      std::string_view first = literals_.empty() ? seg : std::string_view(text_).substr(0, literals_[0].offset);
      Head h = read_head(first, limits_.max_line);
      // A synchronizing literal is refused before the client sends it, so the stream stays in step;
      // the octets of a non-synchronizing one are already coming.
      Event ev = error_event(h.tag, h.name, too_big ? "Literal too large" : "Too many literals",
                             too_big ? "TOOBIG" : "LIMIT", a.nonsync);
      reset();
      return ev;
    }
    total_ += a.size;
    literals_.push_back(Literal{text_.size(), {}, a.literal8});
    // Reserve only what a small literal needs: a large announcement is not yet a large payload.
    literals_.back().bytes.reserve(std::min<std::size_t>(a.size, 64 * 1024));
    literal_left_ = a.size;
    line_start_ = text_.size();
    state_ = State::literal;
    if (!a.nonsync) {
      Event ev;
      ev.kind = Event::Kind::send_continuation;
      return ev;
    }
  }
}

std::optional<std::string> Reader::next_line(std::string& in, std::size_t max, bool& too_long) {
  too_long = false;
  if (state_ == State::discard && !discard_report_) {
    std::size_t lf = in.find('\n');
    if (lf == std::string::npos) {
      in.clear();
      return std::nullopt;
    }
    in.erase(0, lf + 1);
    reset();
  }
  std::size_t lf = in.find('\n');
  if (lf == std::string::npos) {
    if (in.size() > max + 1) {
      too_long = true;
      in.clear();
      reset();
      state_ = State::discard;
      discard_report_ = false;
    }
    return std::nullopt;
  }
  std::string line = in.substr(0, lf);
  in.erase(0, lf + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > max) {
    too_long = true;
    return std::nullopt;
  }
  return line;
}

}  // namespace tern::imap::proto
