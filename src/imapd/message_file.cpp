#include "imapd/message_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tern::imapd {

MessageFile::~MessageFile() {
  if (fd >= 0) ::close(fd);
}

std::shared_ptr<MessageFile> open_message(const std::filesystem::path& path) {
  auto f = std::make_shared<MessageFile>();
  f->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    if (errno == ENOENT) return nullptr;
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  struct stat st {};
  if (::fstat(f->fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + path.string());
  f->size = static_cast<std::uint64_t>(st.st_size);
  return f;
}

ssize_t pread_full(int fd, char* buf, std::uint64_t length, std::uint64_t offset) {
  std::uint64_t got = 0;
  while (got < length) {
    auto n = ::pread(fd, buf + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace tern::imapd
