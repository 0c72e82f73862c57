// base/checksum: the content checksum Tern keeps beside stored bytes (queue files, mailbox indexes) to
// notice a file that was damaged or changed on disk at the same size. CRC-32 (zlib's, the IEEE
// polynomial): made to detect accidental damage cheaply; it is not a defence against an attacker who
// can write the data directory (who could rewrite the checksum too).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern {

std::uint32_t crc32_of(std::string_view data);
// Continues a running CRC-32 (start with 0) over the next block.
std::uint32_t crc32_update(std::uint32_t crc, std::string_view data);
// "crc32:1a2b3c4d", the form written in queue files.
std::string checksum_text(std::uint32_t crc);
// The CRC of "crc32:1a2b3c4d"; nullopt for another form.
std::optional<std::uint32_t> parse_checksum(std::string_view text);

}  // namespace tern
