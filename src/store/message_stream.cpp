#include "store/message_stream.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tern::store {

MessageStream::~MessageStream() {
  if (fd_ >= 0) ::close(fd_);
}

std::shared_ptr<MessageStream> MessageStream::open_file(const std::filesystem::path& path) {
  std::shared_ptr<MessageStream> m(new MessageStream());
  m->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m->fd_ < 0) {
    if (errno == ENOENT) return nullptr;
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  struct stat st {};
  if (::fstat(m->fd_, &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + path.string());
  m->size_ = static_cast<std::uint64_t>(st.st_size);
  return m;
}

ssize_t MessageStream::read_at(char* buf, std::uint64_t length, std::uint64_t offset) const {
  std::uint64_t got = 0;
  while (got < length) {
    auto n = ::pread(fd_, buf + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  return static_cast<ssize_t>(got);
}

std::string MessageStream::read(std::uint64_t offset, std::uint64_t length) const {
  std::string out(length, '\0');
  auto got = read_at(out.data(), length, offset);
  if (got < 0) throw std::system_error(errno, std::generic_category(), "read of a message");
  if (static_cast<std::uint64_t>(got) != length) throw std::runtime_error("a message shrank while being read");
  return out;
}

}  // namespace tern::store
