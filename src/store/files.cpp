#include "store/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <system_error>

#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::store {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& p) {
  throw std::system_error(errno, std::generic_category(), what + " " + p.string());
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, std::string_view data, const std::filesystem::path& p) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", p);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void ensure_dir(const std::filesystem::path& dir) {
  if (std::filesystem::is_directory(dir)) return;
  // Create each missing level and fsync its parent, so the new directory entry itself is durable
  // (a message acknowledged into a new mailbox must not vanish with its folder after a power loss).
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) ensure_dir(parent);
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) fail("mkdir", dir);
  fsync_dir(parent.empty() ? std::filesystem::path(".") : parent);
}

void write_file_synced(const std::filesystem::path& tmp, const std::filesystem::path& final,
                       std::string_view data, unsigned mode) {
  Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode))};
  if (f.fd < 0) fail("create", tmp);
  try {
    write_all(f.fd, data, tmp);
    if (::fsync(f.fd) != 0) fail("fsync", tmp);
  } catch (...) {
    ::unlink(tmp.c_str());  // never leave a partial file behind (disk full, I/O error)
    throw;
  }
  if (::rename(tmp.c_str(), final.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail("rename", final);
  }
}

void write_new_file_synced(const std::filesystem::path& file, std::string_view data) {
  Fd f{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)};
  if (f.fd < 0) fail("create", file);
  try {
    write_all(f.fd, data, file);
    if (::fsync(f.fd) != 0) fail("fsync", file);
  } catch (...) {
    ::unlink(file.c_str());  // never leave a partial file behind (disk full, I/O error)
    throw;
  }
}

void fsync_dir(const std::filesystem::path& dir) {
  Fd f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (f.fd < 0) fail("open", dir);
  if (::fsync(f.fd) != 0) fail("fsync", dir);
}

std::string read_file(const std::filesystem::path& file) {
  Fd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail("open", file);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail("stat", file);
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read", file);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

void DirSyncer::sync() {
  std::unique_lock lock(mu_);
  auto mine = ++requested_;
  while (done_ < mine) {
    if (syncing_) {
      cv_.wait(lock);
      continue;
    }
    // This fsync covers every request made before it starts, including other threads'.
    syncing_ = true;
    auto target = requested_;
    lock.unlock();
    std::exception_ptr err;
    try {
      fsync_dir(dir_);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    syncing_ = false;
    if (!err) done_ = std::max(done_, target);
    cv_.notify_all();
    if (err) std::rethrow_exception(err);
  }
}

void patch_file_synced(const std::filesystem::path& file, std::size_t offset, std::string_view bytes) {
  Fd f{::open(file.c_str(), O_WRONLY | O_CLOEXEC)};
  if (f.fd < 0) fail("open", file);
  while (!bytes.empty()) {
    auto n = ::pwrite(f.fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", file);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::size_t>(n);
  }
  if (::fdatasync(f.fd) != 0) fail("fsync", file);
}

std::filesystem::path set_aside_in_lost_found(const std::filesystem::path& lost_found, const std::filesystem::path& what, std::string_view why) {
  ensure_dir(lost_found);
  auto name = what.filename().string();
  auto target = lost_found / name;
  for (int i = 1; std::filesystem::exists(target) || std::filesystem::exists(target.string() + ".why"); ++i)
    target = lost_found / fmt::format("{}.{}", name, i);
  auto note = fmt::format("{}\nfrom: {}\nwhen: {}\n", why, what.string(), rfc5322_date());
  write_file_synced(target.string() + ".why.tmp", target.string() + ".why", note);
  std::filesystem::rename(what, target);
  fsync_dir(lost_found);
  fsync_dir(what.parent_path());
  return target;
}

}  // namespace tern::store
