// mime/text: the text services of GMime (and GLib) that Tern uses, behind plain C++: RFC 2047 header
// decoding with every charset GMime and iconv know, dates, transfer decoding, charset conversion,
// case folding. The index (store), IMAP (imap/message) and next DKIM, Sieve, the webmail and the lists
// use these; GMime is linked here only.
//
// GMime's FAQ: functions in gmime-charset, gmime-iconv and gmime-utils are thread-safe, GObjects are
// not. So GMime is initialised once (std::call_once), the shared parser options are set up there and
// only read afterwards, and no GObject outlives the call that made it: every function here may run
// on several threads at once. Nothing throws; a failure gives the input back or an empty value.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::mime {

// RFC 2047 encoded words decoded and the text converted to UTF-8 (8-bit bytes outside encoded words
// are read as UTF-8, else windows-1252). `phrase`: the value is a display name (RFC 5322 phrase).
std::string decode_header(std::string_view value, bool phrase = false);

// RFC 5322 3.3 date-time (lenient, obsolete forms too).
struct Date {
  std::int64_t unix_seconds = 0;
  std::int32_t day = 0;  // YYYYMMDD in the date's own zone
};
std::optional<Date> parse_date(std::string_view value);

// RFC 2045 6: content-transfer-encoding names GMime decodes; nullopt for an unknown one.
enum class Cte { identity, base64, quoted_printable };
std::optional<Cte> cte_from_name(std::string_view name);  // "" is 7bit
std::string transfer_decode(std::string_view body, Cte cte);

// `text` in `charset` converted to UTF-8 (invalid sequences replaced); unknown charsets and "" are
// read as UTF-8 when valid, else as windows-1252.
std::string to_utf8(std::string_view text, std::string_view charset);

// Unicode case folding of valid UTF-8 (g_utf8_casefold); other input is folded for ASCII only.
std::string casefold(std::string_view s);

}  // namespace tern::mime
