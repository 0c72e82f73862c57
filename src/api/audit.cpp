#include "api/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "base/log.hpp"

namespace tern::api {

void AuditLog::record(std::string_view who, std::string_view ip, std::string_view action, std::string_view target,
                      std::string_view result) {
  boost::json::object line{{"time", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)))},
                           {"who", who},
                           {"ip", ip},
                           {"action", action},
                           {"target", target},
                           {"result", result}};
  auto text = boost::json::serialize(line) + "\n";
  std::lock_guard lock(mu_);
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  bool written = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fdatasync(fd) == 0;
  int e = errno;
  if (fd >= 0) ::close(fd);
  if (!written) log::error("{}: cannot append to the audit log: {}; the entry was: {}", file_.string(), std::strerror(e), text);
}

}  // namespace tern::api
