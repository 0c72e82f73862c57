// imapd/util: small pieces the command files share.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imapd {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Words of a space-separated list (stored flags).
std::vector<std::string_view> split_words(std::string_view s);
// Whether `name` is a command Tern implements in some state (for "Log in first" vs "Unknown command").
bool known_command(std::string_view name);
// Client-chosen text for a log line: control octets shown as '?', cut at 100 octets.
std::string log_safe(std::string_view s);
// Whether the stored flags hold `flag` (case-insensitive).
bool has_flag(std::string_view flags, std::string_view flag);

}  // namespace tern::imapd
