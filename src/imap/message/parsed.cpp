// Parsed: sections (RFC 9051 6.4.5), BINARY (RFC 3516) and SEARCH text (RFC 9051 6.4.4) of one
// message, all read from the offsets of the tree so the bytes are exactly the stored ones.
#include <optional>

#include "base/strings.hpp"
#include "mime/text.hpp"
#include "imap/message/message.hpp"
#include "imap/message/summary.hpp"
#include "mime/tree.hpp"

namespace tern::imap::message {

using mime::Part;

struct Parsed::Impl {
  std::string_view raw;
  Part root;
  // Computed on first use, so a SEARCH with many keys decodes each field and part once.
  mutable std::optional<std::string> body_text;
  mutable std::optional<std::string> header_text;
  mutable std::optional<std::vector<std::pair<std::string_view, std::string>>> decoded_fields;  // name, value
};

Parsed::Parsed(std::string_view raw) : impl_(std::make_unique<Impl>()) {
  impl_->raw = raw;
  impl_->root = mime::parse_tree(raw);
}
Parsed::~Parsed() = default;
Parsed::Parsed(Parsed&&) noexcept = default;
Parsed& Parsed::operator=(Parsed&&) noexcept = default;

Summary Parsed::summary() const { return detail::summarize(impl_->raw, impl_->root); }

namespace {

bool listed(std::string_view name, const std::vector<std::string>& names) {
  for (auto& n : names)
    if (iequals(trim(n), name)) return true;
  return false;
}

// HEADER.FIELDS / HEADER.FIELDS.NOT: the chosen fields as stored (folding kept), then the empty line.
std::string header_subset(std::string_view header, const std::vector<std::string>& names, bool keep_listed) {
  std::string out;
  for (auto& f : mime::parse_fields(header)) {
    if (f.name.empty()) continue;  // a malformed line is no field
    if (listed(f.name, names) != keep_listed) continue;
    out += f.raw;
    if (out.back() != '\n') out += "\r\n";  // the last field of a header with no empty line
  }
  out += "\r\n";
  return out;
}

}  // namespace

std::string Parsed::section(const std::vector<std::uint32_t>& path, SectionText text,
                            const std::vector<std::string>& fields) const {
  auto raw = impl_->raw;
  const Part* p = mime::find_part(impl_->root, path);
  if (!p) return {};
  if (text == SectionText::none) return std::string(path.empty() ? raw : p->body(raw));
  if (text == SectionText::mime) return path.empty() ? std::string() : std::string(p->header(raw));
  // HEADER, HEADER.FIELDS, TEXT: of the message itself, or of a message/rfc822 part.
  const Part* m = p;
  if (!path.empty()) {
    if (!p->is_message() || !p->message) return {};
    m = p->message.get();
  }
  switch (text) {
    case SectionText::header:
      return std::string(m->header(raw));
    case SectionText::header_fields:
      return header_subset(m->header(raw), fields, true);
    case SectionText::header_fields_not:
      return header_subset(m->header(raw), fields, false);
    case SectionText::text:
      return std::string(m->body(raw));
    default:
      return {};
  }
}

Binary Parsed::binary(const std::vector<std::uint32_t>& path) const {
  Binary out;
  auto raw = impl_->raw;
  if (path.empty()) {
    out.data = std::string(raw);
    return out;
  }
  const Part* p = mime::find_part(impl_->root, path);
  if (!p) return out;
  auto cte = mime::cte_from_name(detail::transfer_encoding_name(*p));
  if (!cte) {
    out.ok = false;
    return out;
  }
  out.data = mime::transfer_decode(p->body(raw), *cte);
  return out;
}

std::optional<std::uint64_t> Parsed::binary_size(const std::vector<std::uint32_t>& path) const {
  if (path.empty()) return impl_->raw.size();
  const Part* p = mime::find_part(impl_->root, path);
  if (!p) return 0;
  auto cte = mime::cte_from_name(detail::transfer_encoding_name(*p));
  if (!cte) return std::nullopt;
  if (*cte == mime::Cte::identity) return p->body_end - p->body_begin;
  return mime::transfer_decode(p->body(impl_->raw), *cte).size();
}

std::vector<std::string> Parsed::header_values(std::string_view name) const {
  if (!impl_->decoded_fields) {
    std::vector<std::pair<std::string_view, std::string>> all;
    for (auto& f : impl_->root.fields)
      if (!f.name.empty()) all.emplace_back(f.name, mime::decode_header(mime::unfold(f.value)));
    impl_->decoded_fields = std::move(all);
  }
  std::vector<std::string> out;
  for (auto& [n, v] : *impl_->decoded_fields)
    if (iequals(n, name)) out.push_back(v);
  return out;
}

namespace {

void append_header_text(std::string& out, const std::vector<mime::FieldView>& fields) {
  for (auto& f : fields) {
    if (f.name.empty()) continue;
    out += f.name;
    out += ": ";
    out += mime::decode_header(mime::unfold(f.value));
    out += '\n';
  }
}

// SEARCH BODY: text parts decoded; an encapsulated message's header is part of its parent's body.
void append_body_text(std::string& out, std::string_view raw, const Part& p) {
  if (p.is_multipart()) {
    for (auto& c : p.children) append_body_text(out, raw, c);
    return;
  }
  if (p.is_message() && p.message) {
    append_header_text(out, p.message->fields);
    append_body_text(out, raw, *p.message);
    return;
  }
  if (!p.is_text()) return;
  auto cte = mime::cte_from_name(detail::transfer_encoding_name(p));
  auto body = p.body(raw);
  auto decoded = cte ? mime::transfer_decode(body, *cte) : std::string(body);
  out += mime::to_utf8(decoded, mime::param(p.params, "charset"));
  out += '\n';
}

}  // namespace

const std::string& Parsed::body_text() const {
  if (!impl_->body_text) {
    std::string out;
    append_body_text(out, impl_->raw, impl_->root);
    impl_->body_text = std::move(out);
  }
  return *impl_->body_text;
}

const std::string& Parsed::header_text() const {
  if (!impl_->header_text) {
    std::string out;
    append_header_text(out, impl_->root.fields);
    impl_->header_text = std::move(out);
  }
  return *impl_->header_text;
}

std::string Parsed::text() const { return header_text() + body_text(); }

std::string section(std::string_view raw, const std::vector<std::uint32_t>& part, SectionText text,
                    const std::vector<std::string>& fields) {
  if (part.empty() && text == SectionText::none) return std::string(raw);
  return Parsed(raw).section(part, text, fields);
}

Binary binary(std::string_view raw, const std::vector<std::uint32_t>& part) { return Parsed(raw).binary(part); }

std::optional<std::uint64_t> binary_size(std::string_view raw, const std::vector<std::uint32_t>& part) {
  return Parsed(raw).binary_size(part);
}

std::vector<std::string> header_values(std::string_view raw, std::string_view name) {
  // Only the header is needed: no need to read the MIME structure.
  std::vector<std::string> out;
  for (auto& f : mime::parse_fields(raw))  // stops at the empty line
    if (!f.name.empty() && iequals(f.name, name)) out.push_back(mime::decode_header(mime::unfold(f.value)));
  return out;
}

std::string body_text(std::string_view raw) { return Parsed(raw).body_text(); }

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool ascii_contains(std::string_view h, std::string_view n) {
  if (n.size() > h.size()) return false;
  auto first = lower(n[0]);
  for (std::size_t i = 0; i + n.size() <= h.size(); ++i) {
    if (lower(h[i]) != first) continue;
    std::size_t k = 1;
    while (k < n.size() && lower(h[i + k]) == lower(n[k])) ++k;
    if (k == n.size()) return true;
  }
  return false;
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace

bool contains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (ascii_contains(haystack, needle)) return true;
  // Unicode case folding only for a non-ASCII needle (folding a large body for every ASCII miss
  // would cost more than the rare match it finds).
  if (!has_8bit(needle)) return false;
  return mime::casefold(haystack).find(mime::casefold(needle)) != std::string::npos;
}

}  // namespace tern::imap::message
