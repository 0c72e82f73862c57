// The MIME tree as offsets (see tree.hpp): RFC 5322 2.2 header fields, RFC 2045 5.1 Content-Type,
// RFC 2231 parameter continuations, RFC 2046 5.1.1 boundaries, RFC 9051 6.4.5 part numbers.
#include "mime/tree.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "base/strings.hpp"

namespace tern::mime {

namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }

// The end of the line starting at `pos` (after its LF), within [pos, end).
std::size_t line_end(std::string_view raw, std::size_t pos, std::size_t end) {
  auto eol = raw.find('\n', pos);
  return eol == std::string_view::npos || eol >= end ? end : eol + 1;
}

// The line's content without CR/LF.
std::string_view line_text(std::string_view raw, std::size_t pos, std::size_t next) {
  auto s = raw.substr(pos, next - pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// --- RFC 2045 5.1 / RFC 822 3.3 lexical tokens for parameters ---

struct Lexer {
  std::string_view s;
  std::size_t i = 0;

  // RFC 822 comments nest; skipped with white space.
  void skip_cfws() {
    while (i < s.size()) {
      char c = s[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i;
      } else if (c == '(') {
        int depth = 0;
        while (i < s.size()) {
          if (s[i] == '\\') {
            i += 2;
            continue;
          }
          if (s[i] == '(') ++depth;
          if (s[i] == ')' && --depth == 0) {
            ++i;
            break;
          }
          ++i;
        }
        if (i > s.size()) i = s.size();
      } else {
        break;
      }
    }
  }
  bool at(char c) {
    skip_cfws();
    return i < s.size() && s[i] == c;
  }
  // RFC 2045 token: anything but CTLs, SPACE and tspecials. Lenient: stops only at ; = and space.
  std::string token(bool stop_at_slash) {
    skip_cfws();
    auto start = i;
    while (i < s.size()) {
      char c = s[i];
      if (c == ';' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '(' ||
          (stop_at_slash && c == '/'))
        break;
      ++i;
    }
    return std::string(s.substr(start, i - start));
  }
  std::string quoted() {  // at the opening quote
    std::string out;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      if (s[i] != '\r' && s[i] != '\n') out += s[i];
      ++i;
    }
    if (i < s.size()) ++i;
    return out;
  }
  std::string value() {
    skip_cfws();
    if (i < s.size() && s[i] == '"') return quoted();
    // Lenient: an unquoted value runs to the next ';' (unquoted file names with spaces are common),
    // less a trailing comment.
    auto start = i;
    while (i < s.size() && s[i] != ';') ++i;
    auto v = trim(s.substr(start, i - start));
    if (auto c = v.find(" ("); c != std::string_view::npos && v.back() == ')') v = trim(v.substr(0, c));
    std::string out;
    for (char c : v)
      if (c != '\r' && c != '\n') out += c;
    return out;
  }
};

struct RawParam {
  std::string name;
  std::string value;
};

bool attribute_char(unsigned char c) {
  // RFC 2231 7: attribute-char, minus '%' which starts an escape.
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("*'%()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

std::string percent_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (attribute_char(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// RFC 2231 3 and 4: name*0=, name*1*=, name*= joined into one parameter per name.
std::vector<Param> join_rfc2231(std::vector<RawParam> raw) {
  struct Segment {
    unsigned index;
    bool extended;
    std::string value;
  };
  struct Joined {
    std::string name;
    std::vector<Segment> segments;
  };
  std::vector<Param> out;
  std::vector<Joined> joined;  // in order of first appearance
  std::unordered_map<std::string, std::size_t> by_name;  // lower-case name -> index in joined
  std::vector<std::pair<std::size_t, bool>> slots;  // (index into out or joined, is_joined)
  for (auto& p : raw) {
    auto star = p.name.find('*');
    if (star == std::string::npos || star == 0) {
      slots.emplace_back(out.size(), false);
      out.push_back(Param{p.name, p.value});
      continue;
    }
    std::string base = p.name.substr(0, star);
    std::string_view rest = std::string_view(p.name).substr(star + 1);
    Segment seg{0, false, p.value};
    if (rest.empty()) {
      seg.extended = true;  // name*=
    } else {
      bool ext = rest.back() == '*';
      if (ext) rest.remove_suffix(1);
      auto n = parse_u64(rest);
      if (!n || *n > 999) {  // not RFC 2231 after all: keep it as written
        slots.emplace_back(out.size(), false);
        out.push_back(Param{p.name, p.value});
        continue;
      }
      seg.index = static_cast<unsigned>(*n);
      seg.extended = ext;
    }
    // A map, not a search of `joined`: a hostile header has hundreds of thousands of names.
    auto [at, added] = by_name.try_emplace(to_lower(base), joined.size());
    if (added) {
      slots.emplace_back(joined.size(), true);
      joined.push_back(Joined{base, {}});
    }
    joined[at->second].segments.push_back(std::move(seg));
  }
  std::vector<Param> result;
  for (auto [index, is_joined] : slots) {
    if (!is_joined) {
      result.push_back(std::move(out[index]));
      continue;
    }
    auto& j = joined[index];
    std::stable_sort(j.segments.begin(), j.segments.end(), [](auto& a, auto& b) { return a.index < b.index; });
    bool any_ext = std::any_of(j.segments.begin(), j.segments.end(), [](auto& s) { return s.extended; });
    std::string value;
    bool first = true;
    for (auto& s : j.segments) {
      // RFC 2231 4.1: only an extended first segment carries charset'language'.
      if (any_ext && !s.extended) {
        if (first) value += "''";
        value += percent_encode(s.value);
      } else {
        value += s.value;
      }
      first = false;
    }
    result.push_back(Param{any_ext ? j.name + "*" : j.name, std::move(value)});
  }
  return result;
}

}  // namespace

std::vector<FieldView> parse_fields(std::string_view header) {
  std::vector<FieldView> out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto next = line_end(header, pos, header.size());
    auto text = line_text(header, pos, next);
    if (text.empty()) break;  // the empty line ending the header
    if (wsp(text.front()) && !out.empty()) {
      // A continuation line (RFC 5322 2.2.3): extend the previous field.
      auto& f = out.back();
      auto start = static_cast<std::size_t>(f.raw.data() - header.data());
      f.raw = header.substr(start, next - start);
      auto vstart = static_cast<std::size_t>(f.value.data() - header.data());
      f.value = header.substr(vstart, pos + text.size() - vstart);
    } else {
      FieldView f;
      f.raw = header.substr(pos, next - pos);
      auto colon = text.find(':');
      if (colon != std::string_view::npos && colon > 0) {
        auto name = text.substr(0, colon);
        while (!name.empty() && wsp(name.back())) name.remove_suffix(1);
        bool ok = !name.empty();
        for (unsigned char c : name) ok = ok && c > 0x20 && c < 0x7f;
        if (ok) {
          f.name = name;
          f.value = text.substr(colon + 1);
        } else {
          f.value = text.substr(text.size());
        }
      } else {
        f.value = text.substr(text.size());
      }
      out.push_back(f);
    }
    pos = next;
  }
  return out;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r' || c == '\n') continue;  // RFC 5322 2.2.3: the line break goes, the WSP stays
    out += c;
  }
  return std::string(trim(out));
}

const FieldView* find_field(const std::vector<FieldView>& fields, std::string_view name) {
  for (auto& f : fields)
    if (!f.name.empty() && iequals(f.name, name)) return &f;
  return nullptr;
}

HeaderParams parse_params(std::string_view value, bool with_subtype) {
  HeaderParams out;
  Lexer lx{value};
  out.type = lx.token(with_subtype);
  if (with_subtype) {
    if (lx.at('/')) {
      ++lx.i;
      out.subtype = lx.token(true);
    }
    out.valid = !out.type.empty() && !out.subtype.empty();
  } else {
    out.valid = !out.type.empty();
  }
  std::vector<RawParam> raw;
  while (lx.i < lx.s.size()) {
    // Skip to the next ';' (lenient about junk between parameters).
    lx.skip_cfws();
    while (lx.i < lx.s.size() && lx.s[lx.i] != ';') {
      if (lx.s[lx.i] == '"') lx.quoted();
      else ++lx.i;
    }
    if (lx.i >= lx.s.size()) break;
    ++lx.i;  // ';'
    auto name = lx.token(false);
    if (name.empty()) continue;
    if (!lx.at('=')) continue;
    ++lx.i;
    raw.push_back(RawParam{name, lx.value()});
  }
  out.params = join_rfc2231(std::move(raw));
  return out;
}

std::string param(const std::vector<Param>& params, std::string_view name) {
  for (auto& p : params)
    if (iequals(p.name, name)) return p.value;
  return {};
}

bool Part::is_multipart() const { return iequals(type, "multipart"); }
bool Part::is_message() const {
  return iequals(type, "message") && (iequals(subtype, "rfc822") || iequals(subtype, "global"));
}
bool Part::is_text() const { return iequals(type, "text"); }

std::size_t Part::lines(std::string_view raw) const {
  auto b = body(raw);
  // Line ends, as Dovecot counts: a part's last line before "--boundary" has none of its own
  // (RFC 2046 5.1.1 gives that CRLF to the delimiter), so "text" then a delimiter is 0 lines.
  return static_cast<std::size_t>(std::count(b.begin(), b.end(), '\n'));
}

namespace {

// RFC 2046 5.1.1: "--" boundary, then transport padding (or "--" for the close delimiter).
// Returns 0 for no match, 1 for a delimiter, 2 for the close delimiter.
int delimiter(std::string_view line, std::string_view boundary) {
  if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') return 0;
  if (line.substr(2, boundary.size()) != boundary) return 0;
  auto rest = line.substr(2 + boundary.size());
  if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-') return 2;
  for (char c : rest)
    if (!wsp(c)) return 0;
  return 1;
}

// The end of content just before the delimiter line at `pos` (RFC 2046 5.1.1: the CRLF before
// "--boundary" belongs to the delimiter), never before `start`.
std::size_t before_delimiter(std::string_view raw, std::size_t start, std::size_t pos) {
  auto end = pos;
  if (end > start && raw[end - 1] == '\n') {
    --end;
    if (end > start && raw[end - 1] == '\r') --end;
  }
  return end;
}

struct Budget {
  std::size_t parts = 0;  // parts made so far, against kMaxParts
};

void parse_part(std::string_view raw, std::size_t begin, std::size_t end, bool digest_child, int depth,
                Budget& budget, Part& p);

void split_multipart(std::string_view raw, Part& p, int depth, Budget& budget) {
  auto boundary = param(p.params, "boundary");
  if (boundary.empty()) return;
  bool digest = iequals(p.subtype, "digest");
  std::size_t pos = p.body_begin;
  std::optional<std::size_t> child_start;
  auto add_child = [&](std::size_t b, std::size_t e) {
    p.children.emplace_back();
    parse_part(raw, b, e, digest, depth + 1, budget, p.children.back());
  };
  while (pos < p.body_end) {
    auto next = line_end(raw, pos, p.body_end);
    auto text = line_text(raw, pos, next);
    int d = delimiter(text, boundary);
    // Past the part limit, further delimiters are content of the last part.
    if (d == 1 && budget.parts >= kMaxParts) d = 0;
    if (d) {
      if (child_start) add_child(*child_start, before_delimiter(raw, *child_start, pos));
      if (d == 2) return;
      child_start = next;
      ++budget.parts;
    }
    pos = next;
  }
  if (child_start) add_child(*child_start, p.body_end);  // no close delimiter: runs to the end
}

void parse_part(std::string_view raw, std::size_t begin, std::size_t end, bool digest_child, int depth,
                Budget& budget, Part& p) {
  p.begin = begin;
  // The header: up to and including the first empty line.
  std::size_t pos = begin;
  p.body_begin = end;
  while (pos < end) {
    auto next = line_end(raw, pos, end);
    if (line_text(raw, pos, next).empty()) {
      p.body_begin = next;
      break;
    }
    pos = next;
  }
  if (pos >= end) p.body_begin = end;
  p.body_end = end;
  p.fields = parse_fields(raw.substr(begin, p.body_begin - begin));

  if (auto* ct = find_field(p.fields, "Content-Type")) {
    auto hp = parse_params(unfold(ct->value), true);
    if (hp.valid) {
      p.has_content_type = true;
      p.type = std::move(hp.type);
      p.subtype = std::move(hp.subtype);
      p.params = std::move(hp.params);
    }
  }
  if (!p.has_content_type) {
    // RFC 2045 5.2 default; RFC 2046 5.1.5: in a digest the default is message/rfc822.
    p.type = digest_child ? "message" : "text";
    p.subtype = digest_child ? "rfc822" : "plain";
    if (!digest_child) p.params.push_back(Param{"charset", "us-ascii"});
  }
  if (depth >= kMaxDepth) {
    if (p.is_multipart() || p.is_message()) {
      p.type = "application";
      p.subtype = "octet-stream";
      p.params.clear();
    }
    return;
  }
  if (p.is_multipart()) {
    split_multipart(raw, p, depth, budget);
  } else if (p.is_message()) {
    p.message = std::make_unique<Part>();
    parse_part(raw, p.body_begin, p.body_end, false, depth + 1, budget, *p.message);
  }
}

}  // namespace

Part parse_tree(std::string_view raw) {
  Part root;
  Budget budget;
  parse_part(raw, 0, raw.size(), false, 0, budget, root);
  return root;
}

const Part* find_part(const Part& root, const std::vector<std::uint32_t>& path) {
  const Part* cur = &root;
  bool message_context = true;  // `cur` is a message: its part 1 is itself unless multipart
  const Part* stayed = nullptr;  // the leaf already taken as its own part 1 (once, like Dovecot)
  for (auto n : path) {
    if (n == 0) return nullptr;
    if (!message_context && cur->is_message() && cur->message) {
      cur = cur->message.get();
      message_context = true;
    }
    if (cur->is_multipart()) {
      if (n > cur->children.size()) return nullptr;
      cur = &cur->children[n - 1];
    } else if (n != 1 || stayed == cur) {
      return nullptr;
    } else {
      stayed = cur;  // a leaf's part 1 is the leaf itself (as Dovecot answers BODY[1.1.1])
    }
    message_context = false;
  }
  return cur;
}

void for_each_leaf(const Part& root, const std::function<bool(const Part&)>& fn) {
  std::vector<const Part*> stack{&root};
  std::size_t visited = 0;
  while (!stack.empty() && ++visited <= kMaxParts) {
    const Part* p = stack.back();
    stack.pop_back();
    if (p->is_multipart()) {
      for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
    } else if (p->is_message() && p->message) {
      stack.push_back(p->message.get());
    } else if (!fn(*p)) {
      return;
    }
  }
}

}  // namespace tern::mime
