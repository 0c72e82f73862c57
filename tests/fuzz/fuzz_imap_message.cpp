// libFuzzer target for imap/message (and mime/headers): the parsing of a stored message's bytes, which
// come from anyone who can send mail. summarize() runs on every message the store indexes; Parsed serves
// FETCH sections, BINARY and SEARCH.
//
// The input is a message. The tree must be well formed (every part's offsets nested inside its
// parent's body, at most kMaxParts parts, at most kMaxDepth levels); the summary must survive encode()
// and decode() and equal Parsed's; every part that exists (the first 64 in tree order, with part
// numbers past the end too) gives sections that are the octets the tree names, HEADER.FIELDS within
// the header, BINARY.SIZE equal to the BINARY data's size; the SEARCH texts must be computed; and the
// input cut at NULs into up to 16 messages (whose Message-ID/References/In-Reply-To may form cycles)
// must THREAD both ways with every message shown once. The input is read as stored (the store gives
// CRLF line ends) and, when it has bare LFs, as given too (nothing in the module may fail on it). Any
// violation aborts; a hang is a timeout for libFuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.hpp"
#include "imap/message/message.hpp"
#include "mime/tree.hpp"
#include "mime/headers.hpp"
#include "mime/text.hpp"

namespace {

using namespace tern::imap::message;
namespace mime = tern::mime;
using mime::Part;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

struct TreeStats {
  std::size_t parts = 0;  // children of multiparts: what kMaxParts bounds (an encapsulated message is
                          // one more node, bounded by the octets its header takes)
  int depth = 0;
};

void check_part(std::string_view raw, const Part& p, std::size_t lo, std::size_t hi, int depth, TreeStats& st) {
  st.parts += p.children.size();
  st.depth = std::max(st.depth, depth);
  check(lo <= p.begin && p.begin <= p.body_begin && p.body_begin <= p.body_end && p.body_end <= hi,
        "a part lies within its parent's body");
  for (const auto& f : p.fields) {
    check(f.raw.data() >= raw.data() + p.begin && f.raw.data() + f.raw.size() <= raw.data() + p.body_begin,
          "a field lies in its part's header");
    check(f.name.empty() || f.raw.starts_with(f.name), "a field's raw text starts with its name");
  }
  check(!(p.children.size() && p.message), "a part is multipart or a message, not both");
  std::size_t prev_end = p.body_begin;
  for (const auto& c : p.children) {
    check(c.begin >= prev_end, "children in order, not overlapping");
    check_part(raw, c, p.body_begin, p.body_end, depth + 1, st);
    prev_end = c.body_end;
  }
  if (p.message) check_part(raw, *p.message, p.body_begin, p.body_end, depth + 1, st);
}

// Part numbers of the first `limit` parts in tree order, each followed by one past its parent's end.
void collect_paths(const Part& p, std::vector<std::uint32_t>& path, std::vector<std::vector<std::uint32_t>>& out,
                   std::size_t limit) {
  const Part* m = p.message ? p.message.get() : &p;
  if (!m->children.empty()) {
    for (std::uint32_t i = 0; i < m->children.size() && out.size() < limit; ++i) {
      path.push_back(i + 1);
      out.push_back(path);
      collect_paths(m->children[i], path, out, limit);
      path.pop_back();
    }
    path.push_back(static_cast<std::uint32_t>(m->children.size() + 1));
    out.push_back(path);  // does not exist
    path.pop_back();
  } else if (out.size() < limit) {
    path.push_back(1);  // a leaf's part 1 is the leaf itself, once
    out.push_back(path);
    path.push_back(1);
    out.push_back(path);
    path.pop_back();
    path.pop_back();
  }
}

void check_sections(std::string_view raw, const Parsed& parsed, const Part& root) {
  std::vector<std::vector<std::uint32_t>> paths{{}};
  std::vector<std::uint32_t> path;
  collect_paths(root, path, paths, 64);
  paths.push_back({0});
  paths.push_back({1, 0, 1});
  static const std::vector<std::string> fields{"From", "Subject", "Content-Type"};
  for (const auto& pth : paths) {
    const Part* p = mime::find_part(root, pth);
    auto whole = parsed.section(pth, SectionText::none);
    if (!p) {
      check(whole.empty(), "a part that does not exist is empty");
      check(parsed.binary(pth).ok && parsed.binary(pth).data.empty(), "BINARY of no part is empty");
      check(parsed.binary_size(pth) == 0u, "BINARY.SIZE of no part is 0");
      continue;
    }
    check(whole == (pth.empty() ? raw : p->body(raw)), "a section is the octets the tree names");
    auto mime = parsed.section(pth, SectionText::mime);
    check(pth.empty() ? mime.empty() : mime == p->header(raw), "MIME is the part's header");
    // HEADER, HEADER.FIELDS and TEXT: of the message itself or of a message/rfc822 part, else empty.
    const Part* m = pth.empty() ? p : p->is_message() && p->message ? p->message.get() : nullptr;
    auto header = parsed.section(pth, SectionText::header);
    check(m ? header == m->header(raw) : header.empty(), "HEADER is the message's header");
    auto text = parsed.section(pth, SectionText::text);
    check(m ? text == m->body(raw) : text.empty(), "TEXT is the message's body");
    for (auto t : {SectionText::header_fields, SectionText::header_fields_not}) {
      auto s = parsed.section(pth, t, fields);
      check(m ? s.size() <= header.size() + 4 && s.ends_with("\r\n") : s.empty(),
            "HEADER.FIELDS takes from the header and ends with the empty line");
    }
    auto bin = parsed.binary(pth);
    auto bin_size = parsed.binary_size(pth);
    check(bin.ok == bin_size.has_value(), "BINARY and BINARY.SIZE agree on the encoding");
    if (bin.ok) check(*bin_size == bin.data.size(), "BINARY.SIZE is the size of BINARY");
  }
}

void check_message(std::string_view raw) {
  Part root = mime::parse_tree(raw);
  TreeStats st;
  check_part(raw, root, 0, raw.size(), 0, st);
  check(root.begin == 0 && root.body_end == raw.size(), "the root is the whole message");
  check(st.parts <= mime::kMaxParts, "parts bounded");
  check(st.depth <= mime::kMaxDepth, "nesting bounded");

  Summary s = summarize(raw);
  auto decoded = Summary::decode(s.encode());
  check(decoded.has_value() && *decoded == s, "a summary decodes to itself");
  Parsed parsed(raw);
  check(parsed.summary() == s, "Parsed gives the same summary");
  check(!s.envelope.empty() && s.envelope.front() == '(' && s.envelope.back() == ')', "ENVELOPE is a list");
  check(!s.body_structure.empty() && s.body_structure.front() == '(', "BODYSTRUCTURE is a list");
  check(!s.body.empty() && s.body.front() == '(', "BODY is a list");

  check_sections(raw, parsed, root);
  const auto& body = parsed.body_text();
  auto text = parsed.text();
  check(text.size() == parsed.header_text().size() + body.size(), "TEXT is the header then the body");
  auto subjects = parsed.header_values("Subject");
  check(subjects == header_values(raw, "Subject"), "header_values agree");
  for (auto& v : subjects) check(base_subject(v).size() <= 4 * v.size() + 16, "a base subject is bounded");
  contains(text, "caf\xc3\xa9");
  contains(body, "=?utf-8?");

  // mime/headers, the store's quick reader of the same header.
  auto fields = tern::mime::parse_header(raw);
  check(fields.size() <= 1000, "parse_header stops at max_fields");
  tern::mime::count_received(raw);
  for (auto& f : fields) tern::mime::decode_header(f.value);  // the index decodes From and Subject so
}

// The input cut at each NUL into at most 16 messages, threaded both ways.
void check_threads(std::string_view raw) {
  std::vector<ThreadMessage> msgs;
  std::size_t pos = 0;
  while (pos <= raw.size() && msgs.size() < 16) {
    auto cut = raw.find('\0', pos);
    auto piece = raw.substr(pos, cut == std::string_view::npos ? std::string_view::npos : cut - pos);
    auto id = static_cast<std::uint32_t>(msgs.size() + 1);
    msgs.push_back(thread_message(id, summarize(piece), 1700000000 + id % 3));
    if (cut == std::string_view::npos) break;
    pos = cut + 1;
  }
  for (auto* algo : {&thread_orderedsubject, &thread_references}) {
    auto out = algo(msgs);
    // Every message appears once: count the numbers in the response.
    std::size_t numbers = 0;
    for (std::size_t i = 0; i < out.size(); ++i)
      if (out[i] >= '0' && out[i] <= '9' && (i == 0 || out[i - 1] < '0' || out[i - 1] > '9')) ++numbers;
    check(numbers == msgs.size(), "THREAD shows every message once");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  std::string stored = tern::to_crlf(input);  // as the store keeps it
  check_message(stored);
  if (stored != input) check_message(input);
  check_threads(input);
  return 0;
}
