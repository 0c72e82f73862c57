#include "base/checksum.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace tern {

std::uint32_t crc32_update(std::uint32_t crc, std::string_view data) {
  uLong c = crc;
  // zlib takes uInt lengths: feed very large inputs in pieces.
  while (!data.empty()) {
    auto n = std::min<std::size_t>(data.size(), std::numeric_limits<uInt>::max());
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<std::uint32_t>(c);
}

std::uint32_t crc32_of(std::string_view data) { return crc32_update(0, data); }

std::string checksum_text(std::uint32_t crc) { return fmt::format("crc32:{:08x}", crc); }

std::optional<std::uint32_t> parse_checksum(std::string_view text) {
  constexpr std::string_view prefix = "crc32:";
  if (!text.starts_with(prefix) || text.size() != prefix.size() + 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : text.substr(prefix.size())) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint32_t>(d);
  }
  return v;
}

}  // namespace tern
