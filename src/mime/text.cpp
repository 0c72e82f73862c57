// GMime glue (see text.hpp): RFC 2047 words, RFC 5322 3.3 dates, RFC 2045 6 transfer decoding,
// charset conversion, Unicode case folding. Thread-safe: GMime initialised once, no shared GObject.
#include "mime/text.hpp"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "base/strings.hpp"

namespace tern::mime {

namespace {

// g_mime_init is not thread-safe: run it once. The options are written here and only read later.
GMimeParserOptions* options() {
  static std::once_flag once;
  static GMimeParserOptions* opts = nullptr;
  std::call_once(once, [] {
    g_mime_init();
    opts = g_mime_parser_options_new();
    // Real mail has encoded words glued to text and inside quoted strings: decode them anyway.
    g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    static const char* fallback[] = {"UTF-8", "windows-1252", nullptr};
    g_mime_parser_options_set_fallback_charsets(opts, fallback);
  });
  return opts;
}

struct GFree {
  void operator()(char* p) const { g_free(p); }
};
using GChars = std::unique_ptr<char, GFree>;

std::string take(char* p) {
  GChars owned(p);
  return p ? std::string(p) : std::string();
}

bool valid_utf8(std::string_view s) { return g_utf8_validate_len(s.data(), s.size(), nullptr); }

std::string decode_8bit(std::string_view s) {
  return take(g_mime_utils_decode_8bit(options(), s.data(), s.size()));
}

}  // namespace

std::string decode_header(std::string_view value, bool phrase) {
  auto* opts = options();
  std::string z(value);
  char* out = phrase ? g_mime_utils_header_decode_phrase(opts, z.c_str())
                     : g_mime_utils_header_decode_text(opts, z.c_str());
  if (!out) return z;
  return take(out);
}

std::optional<Date> parse_date(std::string_view value) {
  options();
  std::string z(value);
  GDateTime* dt = g_mime_utils_header_decode_date(z.c_str());
  if (!dt) return std::nullopt;
  Date d;
  d.unix_seconds = g_date_time_to_unix(dt);
  int y = 0, m = 0, day = 0;
  g_date_time_get_ymd(dt, &y, &m, &day);
  g_date_time_unref(dt);
  // GMime gives the epoch for dates it could not read at all.
  if (d.unix_seconds == 0 && y == 1970) return std::nullopt;
  d.day = y * 10000 + m * 100 + day;
  return d;
}

std::optional<Cte> cte_from_name(std::string_view name) {
  auto n = trim(name);
  if (n.empty() || iequals(n, "7bit") || iequals(n, "8bit") || iequals(n, "binary")) return Cte::identity;
  if (iequals(n, "base64")) return Cte::base64;
  if (iequals(n, "quoted-printable")) return Cte::quoted_printable;
  return std::nullopt;
}

namespace {

// RFC 2045 6.7 rule (3): white space at the end of an encoded line is transport padding that a
// decoder must delete (an "=20" before the line end stays), which also turns "= " + CRLF into a
// soft line break. GMime's decoder keeps the padding, so it goes first.
std::string without_transport_padding(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t start = 0;
  while (start <= body.size()) {
    auto lf = body.find('\n', start);
    auto end = lf == std::string_view::npos ? body.size() : lf;
    auto content_end = end > start && body[end - 1] == '\r' ? end - 1 : end;
    auto trimmed = content_end;
    while (trimmed > start && (body[trimmed - 1] == ' ' || body[trimmed - 1] == '\t')) --trimmed;
    out.append(body.substr(start, trimmed - start));
    out.append(body.substr(content_end, end - content_end));  // the CR, if any
    if (lf == std::string_view::npos) break;
    out += '\n';
    start = lf + 1;
  }
  return out;
}

}  // namespace

std::string transfer_decode(std::string_view body, Cte cte) {
  if (cte == Cte::identity) return std::string(body);
  options();
  std::string unpadded;
  if (cte == Cte::quoted_printable) body = unpadded = without_transport_padding(body);
  GMimeEncoding state;
  g_mime_encoding_init_decode(&state, cte == Cte::base64 ? GMIME_CONTENT_ENCODING_BASE64
                                                          : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  std::string out(g_mime_encoding_outlen(&state, body.size()) + 16, '\0');
  auto n = g_mime_encoding_flush(&state, body.data(), body.size(), out.data());
  out.resize(n);
  return out;
}

std::string to_utf8(std::string_view text, std::string_view charset) {
  options();
  auto cs = trim(charset);
  if (cs.empty() || iequals(cs, "utf-8") || iequals(cs, "utf8") || iequals(cs, "us-ascii")) {
    if (valid_utf8(text)) return std::string(text);
    return decode_8bit(text);
  }
  std::string name(cs);
  iconv_t cd = g_mime_iconv_open("UTF-8", g_mime_charset_iconv_name(name.c_str()));
  if (cd == reinterpret_cast<iconv_t>(-1)) return valid_utf8(text) ? std::string(text) : decode_8bit(text);
  char* out = g_mime_iconv_strndup(cd, text.data(), text.size());
  g_mime_iconv_close(cd);
  if (!out) return decode_8bit(text);
  return take(out);
}

std::string casefold(std::string_view s) {
  if (valid_utf8(s)) {
    bool ascii = true;
    for (unsigned char c : s) ascii = ascii && c < 0x80;
    if (!ascii) return take(g_utf8_casefold(s.data(), static_cast<gssize>(s.size())));
  }
  return to_lower(s);
}

}  // namespace tern::mime
