// imap/proto/fetch: FETCH arguments (RFC 9051 6.4.5, 7.5.2 and 9 fetch-att, section; RFC 3501 RFC822.*
// items; RFC 3516 BINARY; RFC 7162 3.1.4.1 CHANGEDSINCE, 3.2.6 VANISHED; RFC 8514 SAVEDATE).
//
// The tokenizer hands a fetch-att over as one atom ("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
// here it is taken apart and given the name the response must echo (RFC 9051 7.5.2: the section as
// requested, upper-cased, without .PEEK, a partial with its origin only).
#include <algorithm>

#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

using detail::fail;
using detail::upper;

struct Simple {
  const char* name;
  FetchAtt::Kind kind;
  bool peek;
};

// Items without a section.
constexpr Simple simple_atts[] = {
    {"FLAGS", FetchAtt::Kind::flags, false},
    {"UID", FetchAtt::Kind::uid, false},
    {"INTERNALDATE", FetchAtt::Kind::internaldate, false},
    {"RFC822.SIZE", FetchAtt::Kind::rfc822_size, false},
    {"ENVELOPE", FetchAtt::Kind::envelope, false},
    {"BODYSTRUCTURE", FetchAtt::Kind::body_structure, false},
    {"BODY", FetchAtt::Kind::body, false},
    {"RFC822", FetchAtt::Kind::rfc822, false},
    // RFC 3501 6.4.5: RFC822.HEADER is BODY.PEEK[HEADER]; RFC822.TEXT is BODY[TEXT] (sets \Seen).
    {"RFC822.HEADER", FetchAtt::Kind::rfc822_header, true},
    {"RFC822.TEXT", FetchAtt::Kind::rfc822_text, false},
    {"MODSEQ", FetchAtt::Kind::modseq, false},
    {"SAVEDATE", FetchAtt::Kind::save_date, false},
};

// RFC 5322 3.6.8: a field name is printable ASCII but the colon.
bool field_name_ok(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")", each an astring (atom or quoted; a
// literal cannot sit inside a section).
bool parse_header_list(std::string_view s, std::vector<std::string>& out) {
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return false;
  s = s.substr(1, s.size() - 2);
  std::size_t i = 0;
  while (i < s.size()) {
    std::string name;
    if (s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= s.size() || (s[i] != '"' && s[i] != '\\')) return false;
          c = s[i++];
        }
        name += c;
      }
      if (!closed) return false;
    } else {
      while (i < s.size() && detail::astring_char(s[i])) name += s[i++];
    }
    if (!field_name_ok(name)) return false;
    out.push_back(upper(name));
    if (i < s.size()) {
      if (s[i] != ' ') return false;
      ++i;
      if (i >= s.size()) return false;
    }
  }
  return !out.empty();
}

// section-part = nz-number *("." nz-number); consumes the part numbers and the dot after them.
bool parse_part(std::string_view& s, std::vector<std::uint32_t>& part) {
  while (!s.empty() && detail::is_digit(s[0])) {
    std::size_t end = 0;
    while (end < s.size() && detail::is_digit(s[end])) ++end;
    auto n = parse_nz_number(s.substr(0, end));
    if (!n) return false;
    part.push_back(*n);
    s.remove_prefix(end);
    if (s.empty()) return true;
    if (s[0] != '.') return false;
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  return true;
}

// section-spec (RFC 9051 9), the text between the brackets.
bool parse_section(std::string_view s, Section& sec) {
  if (!parse_part(s, sec.part)) return false;
  if (s.empty()) return true;
  std::string word = upper(s.substr(0, s.find(' ')));
  if (word == "HEADER" && word.size() == s.size()) {
    sec.text = Section::Text::header;
  } else if (word == "TEXT" && word.size() == s.size()) {
    sec.text = Section::Text::text;
  } else if (word == "MIME" && word.size() == s.size()) {
    if (sec.part.empty()) return false;  // MIME only of a part
    sec.text = Section::Text::mime;
  } else if (word == "HEADER.FIELDS" || word == "HEADER.FIELDS.NOT") {
    sec.text = word == "HEADER.FIELDS" ? Section::Text::header_fields : Section::Text::header_fields_not;
    if (s.size() <= word.size() + 1) return false;
    return parse_header_list(s.substr(word.size() + 1), sec.fields);
  } else {
    return false;
  }
  return true;
}

std::string section_name(const Section& sec) {
  std::string out;
  for (std::size_t i = 0; i < sec.part.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(sec.part[i]);
  }
  const char* text = nullptr;
  switch (sec.text) {
    case Section::Text::none: break;
    case Section::Text::header: text = "HEADER"; break;
    case Section::Text::header_fields: text = "HEADER.FIELDS"; break;
    case Section::Text::header_fields_not: text = "HEADER.FIELDS.NOT"; break;
    case Section::Text::text: text = "TEXT"; break;
    case Section::Text::mime: text = "MIME"; break;
  }
  if (text) {
    if (!out.empty()) out += '.';
    out += text;
  }
  if (!sec.fields.empty()) {
    out += " (";
    for (std::size_t i = 0; i < sec.fields.size(); ++i) {
      if (i) out += ' ';
      append_astring(out, sec.fields[i], false);
    }
    out += ')';
  }
  return out;
}

// partial = "<" number "." nz-number ">". The origin must fit 32 bits (no message is larger); a
// larger count means "to the end" and is clamped.
bool parse_partial(std::string_view s, std::pair<std::uint32_t, std::uint32_t>& out) {
  if (s.size() < 5 || s.front() != '<' || s.back() != '>') return false;
  s = s.substr(1, s.size() - 2);
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos) return false;
  std::string_view origin = s.substr(0, dot), count = s.substr(dot + 1);
  auto o = parse_number64(origin);
  auto c = parse_number64(count);
  if (!o || !c || *c == 0 || *o > 0xffffffffu) return false;
  out = {static_cast<std::uint32_t>(*o), static_cast<std::uint32_t>(std::min<std::uint64_t>(*c, 0xffffffffu))};
  return true;
}

}  // namespace

Parsed<FetchAtt> parse_fetch_att(std::string_view text) {
  FetchAtt att;
  std::size_t open = text.find('[');
  if (open == std::string_view::npos) {
    std::string word = upper(text);
    for (const auto& s : simple_atts) {
      if (word == s.name) {
        att.kind = s.kind;
        att.peek = s.peek;
        att.name = s.name;
        return detail::done(std::move(att));
      }
    }
    return fail<FetchAtt>("Unknown FETCH item");
  }
  std::string word = upper(text.substr(0, open));
  // The "]" that closes the section: one inside a quoted field name does not.
  std::size_t close = std::string_view::npos;
  for (std::size_t i = open + 1, quoted = 0; i < text.size(); ++i) {
    if (quoted) {
      if (text[i] == '\\') ++i;
      else if (text[i] == '"') quoted = 0;
    } else if (text[i] == '"') {
      quoted = 1;
    } else if (text[i] == ']') {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return fail<FetchAtt>("Invalid FETCH section");
  std::string_view inside = text.substr(open + 1, close - open - 1);
  std::string_view after = text.substr(close + 1);
  bool binary = false;
  if (word == "BODY" || word == "BODY.PEEK") {
    att.kind = FetchAtt::Kind::body_section;
    att.peek = word == "BODY.PEEK";
    if (!parse_section(inside, att.section)) return fail<FetchAtt>("Invalid FETCH section");
  } else if (word == "BINARY" || word == "BINARY.PEEK" || word == "BINARY.SIZE") {
    // RFC 3516 4.2: section-binary = "[" [section-part] "]".
    binary = true;
    att.kind = word == "BINARY.SIZE" ? FetchAtt::Kind::binary_size : FetchAtt::Kind::binary;
    att.peek = word == "BINARY.PEEK";
    std::string_view rest = inside;
    if (!parse_part(rest, att.section.part) || !rest.empty()) return fail<FetchAtt>("Invalid BINARY section");
    if (!inside.empty() && inside.back() == '.') return fail<FetchAtt>("Invalid BINARY section");
  } else {
    return fail<FetchAtt>("Unknown FETCH item");
  }
  if (!after.empty()) {
    if (att.kind == FetchAtt::Kind::binary_size) return fail<FetchAtt>("BINARY.SIZE takes no partial");
    std::pair<std::uint32_t, std::uint32_t> p;
    if (!parse_partial(after, p)) return fail<FetchAtt>("Invalid partial range");
    att.partial = p;
  }
  att.name = att.kind == FetchAtt::Kind::binary_size ? "BINARY.SIZE[" : binary ? "BINARY[" : "BODY[";
  att.name += section_name(att.section);
  att.name += ']';
  if (att.partial) att.name += "<" + std::to_string(att.partial->first) + ">";
  return detail::done(std::move(att));
}

Parsed<FetchRequest> parse_fetch(std::span<const Arg> args, bool uid) {
  if (args.size() < 2 || args.size() > 3) return fail<FetchRequest>("FETCH needs a sequence set and items");
  FetchRequest req;
  if (args[0].kind != Arg::Kind::atom) return fail<FetchRequest>("Invalid sequence set");
  auto set = parse_sequence_set(args[0].text);
  if (!set) return fail<FetchRequest>(set.error);
  req.set = std::move(*set);

  auto add = [&](std::string_view text) -> std::string {
    auto att = parse_fetch_att(text);
    if (!att) return att.error;
    req.atts.push_back(std::move(*att));
    return {};
  };
  const Arg& items = args[1];
  if (items.kind == Arg::Kind::atom) {
    // RFC 9051 6.4.5: the macros stand alone, never inside a list.
    std::string word = upper(items.text);
    const char* macro = word == "ALL"    ? "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE"
                        : word == "FAST" ? "FLAGS INTERNALDATE RFC822.SIZE"
                        : word == "FULL" ? "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY"
                                         : nullptr;
    if (macro) {
      std::string_view m = macro;
      while (!m.empty()) {
        std::size_t sp = m.find(' ');
        add(m.substr(0, sp));
        m = sp == std::string_view::npos ? std::string_view() : m.substr(sp + 1);
      }
    } else if (auto e = add(items.text); !e.empty()) {
      return fail<FetchRequest>(std::move(e));
    }
  } else if (items.kind == Arg::Kind::list && !items.items.empty()) {
    for (const auto& it : items.items) {
      if (it.kind != Arg::Kind::atom) return fail<FetchRequest>("Invalid FETCH item");
      if (auto e = add(it.text); !e.empty()) return fail<FetchRequest>(std::move(e));
    }
  } else {
    return fail<FetchRequest>("Invalid FETCH items");
  }

  if (args.size() == 3) {
    // RFC 7162 3.1.4.1 / 3.2.6: fetch-modifiers.
    const Arg& mods = args[2];
    if (mods.kind != Arg::Kind::list || mods.items.empty()) return fail<FetchRequest>("Invalid FETCH modifiers");
    for (std::size_t i = 0; i < mods.items.size(); ++i) {
      const Arg& m = mods.items[i];
      if (detail::is_word(m, "CHANGEDSINCE") && !req.changedsince && i + 1 < mods.items.size() &&
          mods.items[i + 1].kind == Arg::Kind::atom) {
        auto n = parse_number64(mods.items[++i].text);
        if (!n) return fail<FetchRequest>("Invalid CHANGEDSINCE value");
        req.changedsince = *n;
      } else if (detail::is_word(m, "VANISHED") && !req.vanished) {
        req.vanished = true;
      } else {
        return fail<FetchRequest>("Invalid FETCH modifier");
      }
    }
    if (req.vanished && !uid) return fail<FetchRequest>("VANISHED needs UID FETCH");
    if (req.vanished && !req.changedsince) return fail<FetchRequest>("VANISHED needs CHANGEDSINCE");
  }
  return detail::done(std::move(req));
}

}  // namespace tern::imap::proto
