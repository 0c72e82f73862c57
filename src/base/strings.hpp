// Small string helpers shared by every module.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

std::string to_lower(std::string_view s);
std::string to_upper_ascii(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);

// "30s", "5m", "4h", "4d" (a bare number is seconds).
std::optional<std::chrono::seconds> parse_duration(std::string_view s);

// A short unique id, safe in file names: time-ordered, then random ("1b2c3d4e5f60-7g8h9i").
std::string make_unique_id();
// Client-chosen text for a log line: control octets shown as '?', cut at `max` octets.
std::string log_safe(std::string_view s, std::size_t max = 100);
// The same for a reply or a header field, where only ASCII may go: every octet outside printable
// ASCII (space included) shown as '?'.
std::string ascii_safe(std::string_view s, std::size_t max = 100);
// Text for an XML element or attribute: & < > " escaped, control characters (but tab) left out.
std::string xml_escape(std::string_view s);

// Decimal without sign; nullopt on overflow or non-digits.
std::optional<std::uint64_t> parse_u64(std::string_view s);

// True when `s` holds a LF not preceded by CR.
bool has_bare_lf(std::string_view s);
// `s` with every bare LF turned into CRLF (stored and sent messages always use CRLF).
std::string to_crlf(std::string_view s);

// RFC 5322 3.3 date-time for now (or a given time), e.g. "Sat, 28 Nov 2026 13:20:05 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

}  // namespace tern
