#include "spool/lost_found.hpp"

#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/log.hpp"
#include "store/files.hpp"

namespace tern::spool {
namespace fs = std::filesystem;

bool valid_lost_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && !name.starts_with(".") && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && !name.ends_with(".why") && !name.ends_with(".why.tmp");
}

LostFound::LostFound(const fs::path& data_dir) : dir_(data_dir / "mail" / "lost+found") {}

LostFile LostFound::entry(const fs::path& file) const {
  LostFile f;
  f.name = file.filename().string();
  std::error_code ec;
  f.size = fs::file_size(file, ec);
  auto note = file.string() + ".why";
  struct stat st {};
  if (::stat(note.c_str(), &st) == 0 || ::stat(file.c_str(), &st) == 0) f.time = st.st_mtim.tv_sec;
  try {
    auto text = store::read_file(note);
    f.why = text.substr(0, text.find('\n'));
  } catch (const std::exception&) {
    f.why = "(no note)";
  }
  return f;
}

Result<std::vector<LostFile>> LostFound::list() const {
  std::vector<LostFile> out;
  try {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) return out;
    for (auto& de : fs::directory_iterator(dir_)) {
      auto name = de.path().filename().string();
      if (!valid_lost_name(name) || !de.is_regular_file()) continue;
      out.push_back(entry(de.path()));
    }
  } catch (const std::exception& e) {
    return Error{fmt::format("lost+found: {}", e.what())};
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return std::tie(a.time, a.name) < std::tie(b.time, b.name); });
  return out;
}

Result<fs::path> LostFound::file_of(const std::string& name) const {
  if (!valid_lost_name(name)) return Error{fmt::format("'{}' is not a lost+found file name", name), Error::Kind::invalid};
  auto file = dir_ / name;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Error{fmt::format("lost+found has no file {}", name), Error::Kind::not_found};
  return file;
}

Result<std::pair<LostFile, std::string>> LostFound::show(const std::string& name) const {
  auto file = file_of(name);
  if (!file) return file.error();
  try {
    return std::make_pair(entry(*file), store::read_file(*file));
  } catch (const std::exception& e) {
    return Error{fmt::format("lost+found/{}: {}", name, e.what())};
  }
}

Status LostFound::remove(const std::string& name) {
  auto file = file_of(name);
  if (!file) return file.error();
  try {
    fs::remove(*file);
    std::error_code ec;
    fs::remove(file->string() + ".why", ec);
    store::fsync_dir(dir_);
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
  log::info("lost+found: deleted {}", name);
  return ok_status();
}

}  // namespace tern::spool
