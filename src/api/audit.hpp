// api/audit: the audit log of administration through the API (data_dir/audit.log): one JSON object
// per line, {"time", "who", "ip", "action", "target", "result"}, appended and flushed to disk
// (fdatasync) before the client gets its answer, for every request that changes something, whether
// it succeeded or not. Tern only appends; rotating the file is the administrator's (the file is
// opened anew for each line, so a rotation by rename needs no signal). Thread-safe.
#pragma once
#include <filesystem>
#include <mutex>
#include <string_view>

namespace tern::api {

class AuditLog {
 public:
  explicit AuditLog(std::filesystem::path file) : file_(std::move(file)) {}
  // `result`: "ok", or the error code the client got. A failure to write is logged, never thrown.
  void record(std::string_view who, std::string_view ip, std::string_view action, std::string_view target,
              std::string_view result);
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::mutex mu_;
};

}  // namespace tern::api
