// store/message_stream: one message's bytes, open for reading at any offset, as the store holds them.
// Protocol modules (imapd, pop3d) read messages through this, never through a path: a later
// PostgreSQL + blob store hands out the same object. With files, it is an open descriptor: message
// files are immutable and replaced or removed by rename/unlink, so an open stream keeps the bytes it
// was opened on even when another session expunges the message meanwhile.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace tern::store {

class MessageStream {
 public:
  ~MessageStream();
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;

  // The octets the message has (as found when it was opened).
  std::uint64_t size() const { return size_; }
  // Reads up to `length` octets at `offset` into `buf` (retrying after EINTR and short reads): the octets
  // read, short only at the end; -1 with errno set on an I/O error. Thread-safe.
  ssize_t read_at(char* buf, std::uint64_t length, std::uint64_t offset) const;
  // Exactly `length` octets from `offset`: throws std::system_error on an I/O error, std::runtime_error
  // when the message ends sooner (changed since it was measured).
  std::string read(std::uint64_t offset, std::uint64_t length) const;

  // For the store: opens a message file; nullptr when it does not exist, throws std::system_error on any
  // other failure.
  static std::shared_ptr<MessageStream> open_file(const std::filesystem::path& path);

 private:
  MessageStream() = default;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace tern::store
