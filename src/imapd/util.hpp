// imapd/util: small pieces the command files share.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.hpp"

namespace tern::imapd {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Words of a space-separated list (stored flags).
std::vector<std::string_view> split_words(std::string_view s);
using tern::log_safe;  // base/strings
// Whether the stored flags hold `flag` (case-insensitive).
bool has_flag(std::string_view flags, std::string_view flag);

}  // namespace tern::imapd
