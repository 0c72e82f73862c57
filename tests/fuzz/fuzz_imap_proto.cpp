// libFuzzer target for imap/proto.
//
// The input is used as the client side of an IMAP session: replayed through the Reader three times,
// all at once, one byte at a time, and in pieces of sizes drawn from a generator seeded by the input;
// the three transcripts must be equal (RFC 9051 framing must not depend on how TCP cuts the bytes).
// Small limits make every limit reachable. Every command that comes out is handed to every typed
// parser (FETCH, SEARCH, SORT, THREAD, STORE, STATUS, LIST, LSUB, APPEND, SELECT), whose results must
// keep their invariants. The input is also a mailbox name (modified UTF-7 round trips), a UTF-8
// string, a date and a sequence set. Any violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "imap/proto/proto.hpp"

namespace {

using namespace tern::imap::proto;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

class Splitter {
 public:
  Splitter(int mode, std::uint64_t seed) : mode_(mode), state_(seed | 1) {}
  std::size_t next(std::size_t left) {
    if (mode_ == 0) return left;
    if (mode_ == 1) return 1;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return std::min<std::size_t>(left, 1 + state_ % 64);
  }

 private:
  int mode_;
  std::uint64_t state_;
};

bool one_line(std::string_view s) { return s.find('\r') == s.npos && s.find('\n') == s.npos; }

std::string describe(const Arg& a) {
  switch (a.kind) {
    case Arg::Kind::atom: return "a:" + a.text;
    case Arg::Kind::nil: return "NIL";
    case Arg::Kind::string: return std::string(a.literal8 ? "L8" : a.literal ? "L" : "Q") + std::to_string(a.text.size()) + ":" + a.text;
    case Arg::Kind::list: {
      std::string s = "(";
      for (const auto& i : a.items) s += describe(i) + " ";
      return s + ")";
    }
  }
  return "?";
}

void check_set(const SequenceSet& s) {
  if (s.saved) return;
  for (std::uint32_t star : {0u, 1u, 7u, 4294967295u}) {
    auto r = s.resolved(star);
    for (std::size_t i = 0; i < r.size(); ++i) {
      check(r[i].lo >= 1 && r[i].lo <= r[i].hi, "resolved ranges are ordered");
      if (i) check(std::uint64_t{r[i - 1].hi} + 1 < r[i].lo, "resolved ranges are merged");
      check(s.contains(r[i].lo, star) && s.contains(r[i].hi, star), "resolved ranges are in the set");
    }
  }
}

void check_key(const SearchKey& k, std::size_t depth) {
  check(depth <= max_search_depth + 1, "search keys bounded");
  if (k.op == SearchKey::Op::seqset || k.op == SearchKey::Op::uid) check_set(k.set);
  if (k.op == SearchKey::Op::or_) check(k.children.size() == 2, "OR has two keys");
  if (k.op == SearchKey::Op::not_) check(k.children.size() == 1, "NOT has one key");
  for (const auto& c : k.children) check_key(c, depth + 1);
}

void check_parsers(const Command& cmd) {
  std::span<const Arg> args(cmd.args);
  for (bool uid : {false, true}) {
    auto f = parse_fetch(args, uid);
    if (f) {
      check(!f->atts.empty(), "FETCH has items");
      check_set(f->set);
      for (const auto& a : f->atts) {
        check(!a.name.empty() && one_line(a.name), "FETCH item name is one line");
        check(a.name.find('{') == std::string::npos, "FETCH item name holds no literal");
        // The echo carries a partial's origin only, which is no request syntax: compare without it.
        auto again = parse_fetch_att(a.partial ? a.name.substr(0, a.name.rfind('<')) : a.name);
        if (a.kind == FetchAtt::Kind::body_section || a.kind == FetchAtt::Kind::binary) {
          check(again.ok(), "echoed section parses");
          check(again->section.part == a.section.part && again->section.fields == a.section.fields,
                "echoed section is the same section");
        }
      }
      if (f->vanished) check(uid && f->changedsince, "VANISHED only with UID FETCH and CHANGEDSINCE");
    } else {
      check(!f.error.empty(), "a failure says why");
    }
  }
  if (auto s = parse_search(args)) {
    check_key(s->key, 0);
    if (!s->charset.empty()) check(s->charset == "UTF-8" || s->charset == "US-ASCII", "charset accepted");
  }
  if (auto s = parse_sort(args)) {
    check(!s->criteria.empty(), "SORT has criteria");
    check_key(s->search.key, 0);
  }
  if (auto t = parse_thread(args)) check_key(t->key, 0);
  if (auto s = parse_store(args)) {
    check_set(s->set);
    for (const auto& fl : s->flags) check(normalize_flag(fl) == fl && fl != "\\Recent", "stored flags are normal");
  }
  if (auto s = parse_status(args)) check(s->items.messages || s->items.uidnext || s->items.uidvalidity ||
                                             s->items.unseen || s->items.deleted || s->items.size ||
                                             s->items.highestmodseq || s->items.recent,
                                         "STATUS asks something");
  for (bool lsub : {false, true})
    if (auto l = parse_list(args, lsub)) {
      check(!l->patterns.empty(), "LIST has a pattern");
      if (lsub) check(l->subscribed && !l->extended, "LSUB is plain");
    }
  if (auto a = parse_append(args)) {
    check(!a->messages.empty(), "APPEND has a message");
    for (const auto& m : a->messages)
      if (m.date) check(parse_date_time(format_date_time(*m.date)) == m.date, "APPEND date round trips");
  }
  if (auto s = parse_select(args)) {
    if (s->qresync) {
      check(s->qresync->uidvalidity != 0 && s->qresync->modseq != 0, "QRESYNC numbers are non-zero");
      if (s->qresync->known_uids) check_set(*s->qresync->known_uids);
    }
  }
}

Limits small_limits() {
  Limits l;
  l.max_line = 200;
  l.max_literal = 1000;
  l.max_nonsync_literal = 100;
  l.max_depth = 8;
  l.max_command = 5000;
  l.max_items = 500;
  return l;
}

std::string run_session(std::string_view input, Splitter split, bool parse) {
  std::string transcript;
  Reader reader(small_limits());
  std::string buffer;
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t n = split.next(input.size() - pos);
    buffer.append(input.substr(pos, n));
    pos += n;
    for (;;) {
      Event ev = reader.next(buffer);
      if (ev.kind == Event::Kind::need_more) {
        check(buffer.empty(), "need_more takes everything");
        break;
      }
      if (ev.kind == Event::Kind::send_continuation) {
        transcript += "+\n";
        continue;
      }
      if (ev.kind == Event::Kind::error) {
        check(!ev.tag.empty() && one_line(ev.tag) && ev.tag.find(' ') == std::string::npos, "error tag is a word");
        check(!ev.text.empty() && one_line(ev.text) && one_line(ev.code), "error text is one line");
        transcript += "err " + ev.tag + " " + ev.code + " " + ev.text + (ev.fatal ? " fatal\n" : "\n");
        if (ev.fatal) return transcript;
        continue;
      }
      const Command& cmd = ev.command;
      check(!cmd.tag.empty() && !cmd.name.empty(), "a command has a tag and a name");
      check(one_line(cmd.tag) && one_line(cmd.name), "tag and name are one line");
      for (char c : cmd.name) check(!(c >= 'a' && c <= 'z'), "names are upper-case");
      transcript += "cmd " + cmd.tag + " " + cmd.name;
      for (const auto& a : cmd.args) transcript += " " + describe(a);
      transcript += "\n";
      if (parse) check_parsers(cmd);
    }
  }
  return transcript;
}

void check_strings(std::string_view input) {
  if (auto d = mutf7_decode(input)) {
    check(valid_utf8(*d), "decoded names are UTF-8");
    check(mutf7_encode(*d) == input, "decoding accepts only the canonical form");
  }
  std::string e = mutf7_encode(input);
  for (char c : e) check(c >= 0x20 && c <= 0x7e, "encoded names are printable ASCII");
  auto back = mutf7_decode(e);
  check(back.has_value(), "encoded names decode");
  if (valid_utf8(input)) check(*back == input, "UTF-8 names round trip");

  std::string_view head = input.substr(0, 40);
  if (auto t = parse_date_time(head)) check(parse_date_time(format_date_time(*t)) == t, "date-time round trips");
  if (auto d = parse_date(head)) check(*d >= 101 && *d <= 99991231, "search dates are YYYYMMDD");
  if (auto s = parse_sequence_set(input.substr(0, 200))) {
    check_set(*s);
    if (!s->saved) {
      std::vector<std::uint32_t> nums;
      for (const auto& r : s->resolved(50))
        for (std::uint64_t n = r.lo; n <= r.hi && nums.size() < 1000; ++n) nums.push_back(static_cast<std::uint32_t>(n));
      std::string f = format_sequence_set(nums);
      if (!f.empty()) {
        auto again = parse_sequence_set(f);
        check(again.ok(), "formatted sets parse");
        for (auto n : nums) check(again->contains(n, 50), "formatted sets keep their numbers");
      }
    }
  }
  std::string w;
  append_astring(w, input.substr(0, 100), false);
  check(!w.empty(), "astrings are written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  std::uint64_t h = fnv1a(input);

  std::string whole = run_session(input, Splitter(0, h), true);
  check(run_session(input, Splitter(1, h), false) == whole, "byte by byte gives the same transcript");
  check(run_session(input, Splitter(2, h), false) == whole, "random pieces give the same transcript");

  // Raw lines (AUTHENTICATE, IDLE): never longer than asked, never holding a line end.
  Reader raw;
  std::string buffer(input);
  for (int i = 0; i < 64 && !buffer.empty(); ++i) {
    bool too_long = false;
    std::size_t before = buffer.size();
    auto line = raw.next_line(buffer, 16, too_long);
    if (line) check(line->size() <= 16 && line->find('\n') == std::string::npos, "raw line within its limit");
    if (!line && !too_long && buffer.size() == before) break;
  }

  check_strings(input);
  return 0;
}
