// imap/proto/write: how the server writes IMAP data items (RFC 9051 4.3, 9).
//
// Strings go out quoted when they can (no CR, LF, NUL; no 8-bit unless the session may send UTF-8)
// and as literals otherwise, so any value, however odd, is always sent correctly.
#pragma once
#include <string>
#include <string_view>

namespace tern::imap::proto {

// `s` as an IMAP string: "quoted" (with \" and \\ escaped) or {n}\r\n<bytes>.
// utf8: 8-bit bytes may appear in quoted strings (IMAP4rev2, or UTF8=ACCEPT enabled).
void append_string(std::string& out, std::string_view s, bool utf8);
std::string string(std::string_view s, bool utf8);

// NIL when empty (nstring for optional values such as ENVELOPE fields), else as append_string.
void append_nstring(std::string& out, std::string_view s, bool utf8);

// An astring: an atom when every byte is an atom char (mailbox names in LIST), else a string.
void append_astring(std::string& out, std::string_view s, bool utf8);

}  // namespace tern::imap::proto
