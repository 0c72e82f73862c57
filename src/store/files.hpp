// store/files: the durable file steps every store and the spool use, written out once.
//
// Durability (DESIGN.md principle 1): a file is durable when its content was fsync'd, it was renamed
// into place, and its directory was fsync'd (the rename itself is then on disk). The helpers here throw
// std::system_error naming the path; callers map that to a temporary failure.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

namespace tern::store {

// Creates `dir` (and parents) if missing.
void ensure_dir(const std::filesystem::path& dir);
// Writes `data` to `tmp` (created exclusively), fsyncs it, and renames it to `final`. The directory is
// NOT fsync'd (callers batch that: one fsync_dir for many renames is the group commit). `mode`: 0600
// for secrets (private keys).
void write_file_synced(const std::filesystem::path& tmp, const std::filesystem::path& final,
                       std::string_view data, unsigned mode = 0640);
// Creates `file` (exclusively), writes `data` and fsyncs it; removes it again on failure. For files
// in a scratch folder whose next step is a rename into place (the mailstore's tmp/).
void write_new_file_synced(const std::filesystem::path& file, std::string_view data);
void fsync_dir(const std::filesystem::path& dir);
// Whole file into memory; throws std::system_error.
std::string read_file(const std::filesystem::path& file);
// Group commit of a directory's fsync: sync() returns once a directory fsync that STARTED after the
// call has completed, so every rename made before the call is durable. Concurrent callers share one
// fsync instead of paying one each. Thread-safe; blocking.
class DirSyncer {
 public:
  explicit DirSyncer(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void sync();

 private:
  std::filesystem::path dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t requested_ = 0, done_ = 0;
  bool syncing_ = false;
};

// Moves `what` (a file or a folder) into `lost_found` with a .why note beside it saying why (principle
// 2: set aside, never deleted): note written and fsync'd first, then the rename, then both folders
// fsync'd. Returns where it went. The one way the spool and the mailstore quarantine.
std::filesystem::path set_aside_in_lost_found(const std::filesystem::path& lost_found, const std::filesystem::path& what,
                                              std::string_view why);

// Overwrites `len` bytes at `offset` and fsyncs (used to mark a recipient done in place).
void patch_file_synced(const std::filesystem::path& file, std::size_t offset, std::string_view bytes);

}  // namespace tern::store
