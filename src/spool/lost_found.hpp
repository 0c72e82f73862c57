// spool/lost_found: data_dir/mail/lost+found/, the files Tern could not read (a damaged queue file, a
// pending file that does not parse, a damaged quarantine file), each with a "<name>.why" note beside
// it (store::set_aside_in_lost_found). Tern never deletes them by itself; an administrator looks at
// them (`tern lost-found list|show`, GET /api/v1/lost-found), puts a corrected one back into the
// queue (Spool::requeue_lost) or deletes it (remove, the one deletion, asked for by name).
//
// Names are checked: no '/', no leading '.', never a ".why" note itself, so a request can reach
// nothing outside the folder. A note without its file (left by a crash during a requeue) is skipped.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::spool {

struct LostFile {
  std::string name;
  std::uintmax_t size = 0;
  std::int64_t time = 0;  // unix seconds: when it was set aside (the note's modification time)
  std::string why;        // the note's first line
};

class LostFound {
 public:
  explicit LostFound(const std::filesystem::path& data_dir);
  // Every file, oldest first (then by name).
  Result<std::vector<LostFile>> list() const;
  // One file's entry and its whole content.
  Result<std::pair<LostFile, std::string>> show(const std::string& name) const;
  // Deletes the file, then its note (a crash between leaves only the note, which is skipped).
  Status remove(const std::string& name);

 private:
  Result<std::filesystem::path> file_of(const std::string& name) const;
  LostFile entry(const std::filesystem::path& file) const;
  std::filesystem::path dir_;
};

// Whether `name` may name a file of lost+found (see the head comment).
bool valid_lost_name(std::string_view name);

}  // namespace tern::spool
