// mime/tree: the MIME structure of a raw message as byte offsets (RFC 2045, RFC 2046 5.1).
//
// The tree is read from the raw bytes, not rebuilt from a parsed object, so that every section
// (RFC 9051 6.4.5) and every size in BODYSTRUCTURE are exact octets of the stored message and agree
// with each other. Lenient like real servers: a header ends at the first empty line (or the end),
// a multipart without a closing delimiter runs to the end of its parent, nesting deeper than
// kMaxDepth is read as a leaf, delimiters after kMaxParts parts are read as content (so a hostile
// message costs at most kMaxDepth passes over its bytes and kMaxParts nodes). Never fails.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

inline constexpr int kMaxDepth = 64;              // multipart / message/rfc822 nesting read as structure
inline constexpr std::size_t kMaxParts = 10000;  // MIME parts read as structure per message

// One header field (RFC 5322 2.2): `raw` is every line of it with their line ends.
struct FieldView {
  std::string_view name;   // before the colon, trailing white space removed; "" for a malformed line
  std::string_view value;  // after the colon, still folded, without the final line end
  std::string_view raw;
};

// The fields of a header block (the bytes before the empty line).
std::vector<FieldView> parse_fields(std::string_view header);
// RFC 5322 2.2.3 unfolding (CRLF before white space removed), then leading/trailing WSP removed.
std::string unfold(std::string_view value);
// The first field named `name`, or nullptr.
const FieldView* find_field(const std::vector<FieldView>& fields, std::string_view name);

struct Param {
  std::string name;
  std::string value;
};

// RFC 2045 5.1 Content-Type / RFC 2183 Content-Disposition value: a token (type/subtype for
// Content-Type) and parameters. RFC 2231 continuations are joined; an extended value keeps its
// charset'language'%XX form under the name "name*" (as Dovecot sends it in BODYSTRUCTURE).
struct HeaderParams {
  std::string type;
  std::string subtype;  // Content-Type only
  std::vector<Param> params;
  bool valid = false;   // type (and subtype when asked for) present
};
HeaderParams parse_params(std::string_view value, bool with_subtype);
std::string param(const std::vector<Param>& params, std::string_view name);  // "" when absent

struct Part {
  std::size_t begin = 0;       // the header's first byte
  std::size_t body_begin = 0;  // after the empty line ending the header
  std::size_t body_end = 0;    // the body's end (a multipart child stops before the CRLF of "--b")
  std::vector<FieldView> fields;
  bool has_content_type = false;  // a valid Content-Type field (else the RFC 2045 5.2 default)
  std::string type;               // as written ("text" when defaulted)
  std::string subtype;
  std::vector<Param> params;
  std::vector<Part> children;      // multipart
  std::unique_ptr<Part> message;   // message/rfc822 (and message/global): the encapsulated message

  bool is_multipart() const;
  bool is_message() const;  // message/rfc822 or message/global
  bool is_text() const;
  std::size_t lines(std::string_view raw) const;
  std::string_view header(std::string_view raw) const { return raw.substr(begin, body_begin - begin); }
  std::string_view body(std::string_view raw) const { return raw.substr(body_begin, body_end - body_begin); }
};

Part parse_tree(std::string_view raw);

// Calls fn with each leaf of `root`, depth-first in order; an encapsulated message's leaves count as
// the message's own. At most kMaxParts parts are visited; fn returns false to stop early.
void for_each_leaf(const Part& root, const std::function<bool(const Part&)>& fn);

// RFC 9051 6.4.5 part numbers: the part `path` names in `root` (a message), or nullptr. An empty
// path is the message itself. Part 1 of a non-multipart message is its body: the message itself;
// likewise part 1 of a leaf part is that part (one level only: 1.1.1 of a text part in a multipart
// is the text, 1.1 of a single-part message is nothing).
const Part* find_part(const Part& root, const std::vector<std::uint32_t>& path);

}  // namespace tern::mime
