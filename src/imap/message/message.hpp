// imap/message: what IMAP says about one stored message, computed from its raw bytes.
//
// RFC 9051 7.5.2 / RFC 3501 7.4.2 (ENVELOPE, BODY, BODYSTRUCTURE), RFC 9051 6.4.5 (BODY[section]),
// RFC 3516 (BINARY), RFC 9051 6.4.4 (SEARCH), RFC 5256 (SORT keys, base subject, THREAD),
// RFC 5957 (DISPLAYFROM/DISPLAYTO), RFC 2045/2046 (MIME structure), RFC 2047 (encoded words).
//
// Pure: bytes in, strings out; no files, sockets or databases. The raw message always has CRLF line
// ends (the store normalises them). Nothing here throws and nothing fails: a malformed message gets
// the structure of whatever could be read (a missing part is an empty section, RFC 9051 6.4.5).
// Every function may be called from several threads at once (GMime is initialised once, its objects
// are per call).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap::message {

// Everything FETCH/SORT/THREAD/SEARCH need about a message that does not require reading it again;
// computed once when the message is stored and cached in the mailbox index as one BLOB (encode()).
struct Summary {
  std::string envelope;        // ENVELOPE value as sent after "ENVELOPE " (8-bit strings as literals)
  std::string body_structure;  // BODYSTRUCTURE value (extensible form)
  std::string body;            // BODY value (non-extensible form)
  // (Sizes are octets as stored; lines are line ends, counted as Dovecot does. The output matches
  // Dovecot 2.3 byte for byte except: an unparseable Content-Type is text/plain (RFC 2045 5.2), an
  // unquoted parameter value runs to the next ';', a quoted-pair string may be sent quoted.)
  std::int64_t sent_date = 0;  // Date: as unix seconds; 0 when missing or unparseable
  std::int32_t sent_day = 0;   // Date:'s calendar day in its own zone, YYYYMMDD; 0 when unknown
  std::string base_subject;    // RFC 5256 2.1, UTF-8, case kept (compare with i;unicode-casemap)
  std::string sort_from;       // RFC 5256 3: addr-mailbox of the first From/To/Cc address, raw
  std::string sort_to;
  std::string sort_cc;
  std::string display_from;    // RFC 5957: decoded display name of the first address, else addr-spec
                               // (a leading group gives the group's name)
  std::string display_to;
  std::string message_id;      // "<...>" or ""
  std::string in_reply_to;     // the first msg-id of In-Reply-To: "<...>" or ""
  std::vector<std::string> references;  // References: msg-ids in order, each "<...>"
  bool reply_or_forward = false;  // RFC 5256 2.1: base subject extraction removed Re:, Fwd:, (fwd)

  // A compact serialisation starting with a version byte; decode() gives nullopt for anything
  // it does not recognise (another version, truncated data): the caller then summarizes again.
  std::string encode() const;
  static std::optional<Summary> decode(std::string_view blob);

  bool operator==(const Summary&) const = default;
};

Summary summarize(std::string_view raw);

// RFC 5256 2.1 base subject of a raw Subject: value (RFC 2047 words decoded to UTF-8 first).
std::string base_subject(std::string_view raw_subject);

// RFC 9051 6.4.5 BODY[<part>.<text>]. `part` empty means the whole message.
enum class SectionText { none, header, header_fields, header_fields_not, text, mime };

// RFC 3516 BINARY[<part>].
struct Binary {
  bool ok = true;    // false: unknown Content-Transfer-Encoding (the daemon answers NO [UNKNOWN-CTE])
  std::string data;  // the decoded content (the whole message as is when `part` is empty)
};

// One message parsed once, for FETCH of several sections or SEARCH with several keys. Holds a view of
// `raw`: the bytes must outlive the object. Not for concurrent use; separate objects are independent.
class Parsed {
 public:
  explicit Parsed(std::string_view raw);
  explicit Parsed(std::string&&) = delete;  // would dangle: keep the bytes alive yourself
  ~Parsed();
  Parsed(Parsed&&) noexcept;
  Parsed& operator=(Parsed&&) noexcept;

  Summary summary() const;

  // Exact raw bytes of a section; "" when it does not exist. `fields` for header_fields(_not).
  // Part 1 of a leaf is the leaf itself (BODY[1] of a single-part message is its body, as Dovecot
  // also answers BODY[1.1.1] when 1.1 is text); HEADER/TEXT after a part number need message/rfc822.
  std::string section(const std::vector<std::uint32_t>& part, SectionText text,
                      const std::vector<std::string>& fields = {}) const;
  // A part that does not exist gives ok and "".
  Binary binary(const std::vector<std::uint32_t>& part) const;
  // BINARY.SIZE: nullopt for an unknown transfer encoding.
  std::optional<std::uint64_t> binary_size(const std::vector<std::uint32_t>& part) const;

  // SEARCH HEADER/FROM/SUBJECT...: every top-level field named `name` (case-insensitive), unfolded,
  // RFC 2047 decoded and converted to UTF-8. An existing empty field gives one "".
  std::vector<std::string> header_values(std::string_view name) const;
  // SEARCH BODY: every text/* part (also inside message/rfc822), transfer-decoded, in UTF-8, parts
  // separated by "\n". Computed on first use.
  const std::string& body_text() const;
  // SEARCH TEXT: the top-level header unfolded and decoded ("Name: value\n" per field), then body_text.
  // header_text is the first half, computed on first use (NeedleSet::find reads both without a copy).
  std::string text() const;
  const std::string& header_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot forms of the Parsed methods.
std::string section(std::string_view raw, const std::vector<std::uint32_t>& part, SectionText text,
                    const std::vector<std::string>& fields = {});
Binary binary(std::string_view raw, const std::vector<std::uint32_t>& part);
std::optional<std::uint64_t> binary_size(std::string_view raw, const std::vector<std::uint32_t>& part);
std::vector<std::string> header_values(std::string_view raw, std::string_view name);
std::string body_text(std::string_view raw);

// SEARCH string match (RFC 9051 6.4.4): substring, case-insensitive (ASCII always; Unicode case
// folding, g_utf8_casefold, when the needle is non-ASCII UTF-8). An empty needle always matches.
bool contains(std::string_view haystack, std::string_view needle);

// RFC 5256 THREAD input: one message of the search result. `id` is what the response shows (a
// sequence number or a UID; equal sent dates are ordered by it, RFC 5256 2.2); the rest as in Summary.
struct ThreadMessage {
  std::uint32_t id = 0;
  std::string base_subject;
  std::int64_t sent_date = 0;  // the caller substitutes the internal date when Date: is missing
  std::string message_id;
  std::vector<std::string> references;
  std::string in_reply_to;
  bool reply_or_forward = false;  // as in Summary (RFC 5256 4 step 5 prefers the original message)
};

// A THREAD input from a cached Summary; RFC 5256 2.2: the internal date when Date: is missing.
ThreadMessage thread_message(std::uint32_t id, const Summary& summary, std::int64_t internal_date);

// The text after "* THREAD ", e.g. "(2)(3 6 (4 23)(44 7 96))"; "" for no messages.
std::string thread_orderedsubject(std::vector<ThreadMessage> messages);  // RFC 5256 3
std::string thread_references(std::vector<ThreadMessage> messages);      // RFC 5256 4

}  // namespace tern::imap::message
