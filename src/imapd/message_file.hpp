// imapd/message_file: a message file held open while FETCH sends it, and the one reading primitive
// the streamed literals use. The store names the file (Mailstore::path_of); message files are
// immutable and replaced or removed by rename/unlink, so an open descriptor keeps the bytes it was
// opened on even when another session expunges the message meanwhile.
//
// Error contract: open_message returns nullptr for a file that is gone (ENOENT) and throws
// std::system_error for any other failure; pread_full returns the octets read (short only at the end
// of the file) or -1 with errno set.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>

namespace tern::imapd {

struct MessageFile {
  int fd = -1;
  std::uint64_t size = 0;  // as found on disk when opened (fstat)
  MessageFile() = default;
  MessageFile(const MessageFile&) = delete;
  MessageFile& operator=(const MessageFile&) = delete;
  ~MessageFile();
};

// A message whose file does not have the size the index gives (truncated or changed on disk).
struct DamagedFile {
  std::uint32_t uid = 0;
  std::uint64_t on_disk = 0, indexed = 0;
};

std::shared_ptr<MessageFile> open_message(const std::filesystem::path& path);

// Reads up to `length` octets at `offset` into `buf`, retrying after EINTR and short reads.
ssize_t pread_full(int fd, char* buf, std::uint64_t length, std::uint64_t offset);

}  // namespace tern::imapd
