// Summary: ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2), BODY and BODYSTRUCTURE (RFC 9051 7.5.2 and
// the body grammar of section 9), SORT keys (RFC 5256 3, RFC 5957) and THREAD keys (RFC 5256 4),
// and their serialisation for the mailbox index.
#include "imap/message/summary.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "mime/address.hpp"
#include "mime/text.hpp"
#include "imap/message/subject.hpp"
#include "imap/proto/write.hpp"

namespace tern::imap::message {

namespace detail {

namespace {

using proto::append_nstring;
using proto::append_string;

// Header values are sent as stored: 8-bit bytes make a literal, valid for every client.
constexpr bool kUtf8 = false;

std::string value_of(const std::vector<FieldView>& fields, std::string_view name) {
  auto* f = find_field(fields, name);
  return f ? unfold(f->value) : std::string();
}

void append_addresses(std::string& out, const std::vector<Address>& list) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (auto& a : list) {
    switch (a.kind) {
      case Address::Kind::group_start:
        out += "(NIL NIL ";
        append_string(out, a.name, kUtf8);  // never NIL: that would read as the group's end
        out += " NIL)";
        break;
      case Address::Kind::group_end:
        out += "(NIL NIL NIL NIL)";
        break;
      case Address::Kind::mailbox:
        out += '(';
        append_nstring(out, a.name, kUtf8);
        out += ' ';
        append_nstring(out, a.adl, kUtf8);
        out += ' ';
        append_nstring(out, a.mailbox, kUtf8);
        out += ' ';
        append_nstring(out, a.host, kUtf8);
        out += ')';
        break;
    }
  }
  out += ')';
}

std::vector<Address> addresses(const std::vector<FieldView>& fields, std::string_view name) {
  auto* f = find_field(fields, name);
  return f ? parse_addresses(unfold(f->value)) : std::vector<Address>{};
}

void append_params(std::string& out, const std::vector<Param>& params, bool default_charset) {
  bool has_charset = false;
  for (auto& p : params) has_charset = has_charset || iequals(p.name, "charset");
  if (params.empty() && !(default_charset && !has_charset)) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  // RFC 2046 4.1.2: text without a charset is us-ascii.
  if (default_charset && !has_charset) {
    out += "\"charset\" \"us-ascii\"";
    first = false;
  }
  for (auto& p : params) {
    if (!first) out += ' ';
    first = false;
    append_string(out, p.name, kUtf8);
    out += ' ';
    append_string(out, p.value, kUtf8);
  }
  out += ')';
}

// body-fld-dsp, body-fld-lang, body-fld-loc: the tail shared by both body-ext forms.
void append_ext_tail(std::string& out, const Part& p) {
  out += ' ';
  auto dsp = value_of(p.fields, "Content-Disposition");
  auto hp = parse_params(dsp, false);
  if (hp.valid) {
    out += '(';
    append_string(out, hp.type, kUtf8);
    out += ' ';
    append_params(out, hp.params, false);
    out += ')';
  } else {
    out += "NIL";
  }
  out += ' ';
  // RFC 3282: Content-Language is a comma-separated list of language tags.
  std::vector<std::string> langs;
  auto language = value_of(p.fields, "Content-Language");
  for (auto tag : split(language, ',')) {
    auto t = trim(tag);
    if (auto c = t.find('('); c != std::string_view::npos) t = trim(t.substr(0, c));
    if (!t.empty()) langs.emplace_back(t);
  }
  if (langs.empty()) {
    out += "NIL";
  } else if (langs.size() == 1) {
    append_string(out, langs[0], kUtf8);
  } else {
    out += '(';
    for (std::size_t i = 0; i < langs.size(); ++i) {
      if (i) out += ' ';
      append_string(out, langs[i], kUtf8);
    }
    out += ')';
  }
  out += ' ';
  append_nstring(out, value_of(p.fields, "Content-Location"), kUtf8);
}

// Dovecot's answer for a multipart with no parts: the grammar needs at least one body.
constexpr std::string_view kEmptyBody = R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))";
constexpr std::string_view kEmptyBodyStructure =
    R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))";

}  // namespace

std::string transfer_encoding_name(const Part& p) {
  auto v = value_of(p.fields, "Content-Transfer-Encoding");
  if (auto c = v.find('('); c != std::string::npos) v = std::string(trim(std::string_view(v).substr(0, c)));
  return v;
}

// An ENVELOPE string field: NIL when the field is absent, "" when it is present but empty.
static void append_field(std::string& out, const std::vector<FieldView>& fields, std::string_view name) {
  if (auto* f = find_field(fields, name)) append_string(out, unfold(f->value), kUtf8);
  else out += "NIL";
}

void append_envelope(std::string& out, const Part& message) {
  auto& f = message.fields;
  out += '(';
  append_field(out, f, "Date");
  out += ' ';
  append_field(out, f, "Subject");
  auto from = addresses(f, "From");
  auto sender = addresses(f, "Sender");
  auto reply_to = addresses(f, "Reply-To");
  out += ' ';
  append_addresses(out, from);
  out += ' ';
  // RFC 3501 7.4.2: Sender and Reply-To default to From when absent or empty.
  append_addresses(out, sender.empty() ? from : sender);
  out += ' ';
  append_addresses(out, reply_to.empty() ? from : reply_to);
  for (auto name : {"To", "Cc", "Bcc"}) {
    out += ' ';
    append_addresses(out, addresses(f, name));
  }
  out += ' ';
  append_field(out, f, "In-Reply-To");
  out += ' ';
  append_field(out, f, "Message-ID");
  out += ')';
}

void append_body(std::string& out, std::string_view raw, const Part& p, bool extensible) {
  out += '(';
  if (p.is_multipart()) {
    if (p.children.empty()) out += extensible ? kEmptyBodyStructure : kEmptyBody;
    for (auto& c : p.children) append_body(out, raw, c, extensible);
    out += ' ';
    append_string(out, p.subtype, kUtf8);
    if (extensible) {
      out += ' ';
      append_params(out, p.params, false);
      append_ext_tail(out, p);
    }
    out += ')';
    return;
  }
  append_string(out, p.type, kUtf8);
  out += ' ';
  append_string(out, p.subtype, kUtf8);
  out += ' ';
  append_params(out, p.params, p.is_text());
  out += ' ';
  append_nstring(out, value_of(p.fields, "Content-ID"), kUtf8);
  out += ' ';
  append_nstring(out, value_of(p.fields, "Content-Description"), kUtf8);
  out += ' ';
  auto cte = transfer_encoding_name(p);
  append_string(out, cte.empty() ? std::string("7bit") : cte, kUtf8);
  out += fmt::format(" {}", p.body_end - p.body_begin);
  if (p.is_text()) {
    out += fmt::format(" {}", p.lines(raw));
  } else if (p.is_message() && p.message) {
    out += ' ';
    append_envelope(out, *p.message);
    out += ' ';
    append_body(out, raw, *p.message, extensible);
    out += fmt::format(" {}", p.lines(raw));
  }
  if (extensible) {
    out += ' ';
    append_nstring(out, value_of(p.fields, "Content-MD5"), kUtf8);
    append_ext_tail(out, p);
  }
  out += ')';
}

std::vector<std::string> msg_ids(std::string_view value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    auto lt = value.find('<', pos);
    if (lt == std::string_view::npos) break;
    auto gt = value.find('>', lt + 1);
    if (gt == std::string_view::npos) break;
    // "<junk <id>": the id starts at the last '<' before the '>' (found from the '>', not by searching
    // for the '>' again from each inner '<': a field of many '<' made that quadratic).
    lt = value.rfind('<', gt);
    std::string id = "<";
    for (char c : value.substr(lt + 1, gt - lt - 1))
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id += c;
    id += '>';
    if (id.size() > 2) out.push_back(std::move(id));
    pos = gt + 1;
  }
  return out;
}

Summary summarize(std::string_view raw, const Part& root) {
  Summary s;
  append_envelope(s.envelope, root);
  append_body(s.body_structure, raw, root, true);
  append_body(s.body, raw, root, false);
  auto& f = root.fields;
  if (auto d = mime::parse_date(value_of(f, "Date"))) {
    s.sent_date = d->unix_seconds;
    s.sent_day = d->day;
  }
  auto subject = extract_base_subject(value_of(f, "Subject"));
  s.base_subject = std::move(subject.text);
  s.reply_or_forward = subject.reply_or_forward;

  auto first_mailbox = [](const std::vector<Address>& list) -> const Address* {
    for (auto& a : list)
      if (a.kind == Address::Kind::mailbox) return &a;
    return nullptr;
  };
  auto sort_key = [&](std::string_view name) {
    auto list = addresses(f, name);
    auto* a = first_mailbox(list);
    return a && a->mailbox != kMissingMailbox ? a->mailbox : std::string();
  };
  // RFC 5957 2: the decoded display name, else the addr-spec; for a group, its name.
  auto display = [&](std::string_view name) -> std::string {
    auto list = addresses(f, name);
    if (list.empty()) return {};
    if (list[0].kind == Address::Kind::group_start) return mime::decode_header(list[0].name, true);
    auto* a = first_mailbox(list);
    if (!a) return {};
    if (!a->name.empty()) return mime::decode_header(a->name, true);
    std::string spec = a->mailbox == kMissingMailbox ? std::string() : a->mailbox;
    if (a->host != kMissingDomain) spec += "@" + a->host;
    return spec;
  };
  s.sort_from = sort_key("From");
  s.sort_to = sort_key("To");
  s.sort_cc = sort_key("Cc");
  s.display_from = display("From");
  s.display_to = display("To");

  auto ids = msg_ids(value_of(f, "Message-ID"));
  if (!ids.empty()) s.message_id = ids[0];
  auto irt = msg_ids(value_of(f, "In-Reply-To"));
  if (!irt.empty()) s.in_reply_to = irt[0];
  s.references = msg_ids(value_of(f, "References"));
  // Trimmed as Netnews trims a long References field (RFC 5537 3.4.4): the first, then the most recent.
  if (s.references.size() > kMaxReferences)
    s.references.erase(s.references.begin() + 1,
                       s.references.end() - static_cast<std::ptrdiff_t>(kMaxReferences - 1));
  return s;
}

}  // namespace detail

Summary summarize(std::string_view raw) { return detail::summarize(raw, mime::parse_tree(raw)); }

// --- serialisation: version byte, then varint-prefixed strings and zigzag varints ---

namespace {

constexpr unsigned char kVersion = 1;
using detail::kMaxReferences;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_signed(std::string& out, std::int64_t v) {
  put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out += s;
}

struct Reader {
  std::string_view in;
  bool ok = true;

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto b = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::int64_t signed_varint() {
    auto u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string string() {
    auto n = varint();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string Summary::encode() const {
  std::string out;
  out += static_cast<char>(kVersion);
  for (auto* s : {&envelope, &body_structure, &body}) put_string(out, *s);
  put_signed(out, sent_date);
  put_signed(out, sent_day);
  for (auto* s : {&base_subject, &sort_from, &sort_to, &sort_cc, &display_from, &display_to, &message_id,
                  &in_reply_to})
    put_string(out, *s);
  put_varint(out, references.size());
  for (auto& r : references) put_string(out, r);
  put_varint(out, reply_or_forward ? 1 : 0);
  return out;
}

std::optional<Summary> Summary::decode(std::string_view blob) {
  if (blob.empty() || static_cast<unsigned char>(blob[0]) != kVersion) return std::nullopt;
  Reader r{blob.substr(1)};
  Summary s;
  for (auto* f : {&s.envelope, &s.body_structure, &s.body}) *f = r.string();
  s.sent_date = r.signed_varint();
  auto day = r.signed_varint();
  if (day < 0 || day > 99999999) return std::nullopt;
  s.sent_day = static_cast<std::int32_t>(day);
  for (auto* f : {&s.base_subject, &s.sort_from, &s.sort_to, &s.sort_cc, &s.display_from, &s.display_to,
                  &s.message_id, &s.in_reply_to})
    *f = r.string();
  auto n = r.varint();
  if (!r.ok || n > kMaxReferences || n > r.in.size()) return std::nullopt;
  for (std::uint64_t i = 0; i < n && r.ok; ++i) s.references.push_back(r.string());
  auto flags = r.varint();
  if (!r.ok || !r.in.empty() || flags > 1) return std::nullopt;
  s.reply_or_forward = flags == 1;
  return s;
}

ThreadMessage thread_message(std::uint32_t id, const Summary& summary, std::int64_t internal_date) {
  ThreadMessage m;
  m.id = id;
  m.base_subject = summary.base_subject;
  m.sent_date = summary.sent_date != 0 ? summary.sent_date : internal_date;
  m.message_id = summary.message_id;
  m.references = summary.references;
  m.in_reply_to = summary.in_reply_to;
  m.reply_or_forward = summary.reply_or_forward;
  return m;
}

}  // namespace tern::imap::message
