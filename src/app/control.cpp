#include "app/control.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "net/net.hpp"

namespace tern::app {
namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

constexpr std::size_t max_request = 65536;

asio::awaitable<void> serve_one(local::socket sock, asio::thread_pool* pool, std::shared_ptr<Admin> admin) {
  try {
    std::string line;
    co_await asio::async_read_until(sock, asio::dynamic_buffer(line, max_request), '\n', asio::use_awaitable);
    line = std::string(trim(line.substr(0, line.find('\n'))));
    auto job = [admin, line] { return execute_control(*admin, line); };
    auto result = *co_await net::offload(*pool, std::move(job));
    auto reply = result ? "ok " + *result + "\n" : "error " + result.error().message + "\n";
    co_await asio::async_write(sock, asio::buffer(reply), asio::use_awaitable);
  } catch (const std::exception& e) {
    log::warn("control: {}", e.what());
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<local::acceptor> acc, asio::thread_pool* pool,
                                  std::shared_ptr<Admin> admin) {
  for (;;) {
    boost::system::error_code ec;
    auto sock = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acc->get_executor(), serve_one(std::move(sock), pool, admin), asio::detached);
  }
}

}  // namespace

bool server_running(const std::filesystem::path& data_dir) {
  int fd = ::open((data_dir / "tern.lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

int lock_data_dir(const std::filesystem::path& data_dir, std::string* why) {
  auto file = data_dir / "tern.lock";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (why) *why = fmt::format("{}: cannot open the lock file: {}", file.string(), std::strerror(errno));
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (why) {
      if (e == EWOULDBLOCK) {
        char buf[32] = {};
        auto n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(trim(std::string_view(buf, static_cast<std::size_t>(n)))) : "";
        *why = fmt::format("another tern serve{} is running on {}", pid.empty() ? "" : " (pid " + pid + ")",
                           data_dir.string());
      } else {
        *why = fmt::format("{}: cannot lock: {}", file.string(), std::strerror(e));
      }
    }
    ::close(fd);
    return -1;
  }
  return fd;
}

Status start_control(asio::io_context& io, asio::thread_pool& pool, Admin admin,
                     const std::filesystem::path& data_dir) {
  auto path = (data_dir / "control.sock").string();
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return Error{fmt::format("{}: path too long for a unix socket; use a shorter data_dir", path)};
  ::unlink(path.c_str());  // a stale socket of an earlier run (the data_dir lock is ours)
  try {
    auto acc = std::make_shared<local::acceptor>(io, local::endpoint(path));
    ::chmod(path.c_str(), 0600);
    asio::co_spawn(io, accept_loop(acc, &pool, std::make_shared<Admin>(admin)), asio::detached);
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: {}", path, e.what())};
  }
  return ok_status();
}

Result<std::string> execute_control(Admin& admin, const std::string& line) {
  std::vector<std::string> words;
  for (auto w : split(line, ' '))
    if (!w.empty()) words.emplace_back(w);
  if (words.empty()) return Error{"empty request"};
  auto verb = words[0];
  std::vector<std::string> ids(words.begin() + 1, words.end());
  try {
    if (verb == "user-add" && (ids.size() == 2 || (ids.size() == 3 && ids[2] == "admin")))
      return api::add_mailslot(admin.directory, admin.mailstore, ids[0], store::SlotKind::mailbox, ids[1],
                               ids.size() == 3);
    if (verb == "archive-add" && ids.size() == 1)
      return api::add_mailslot(admin.directory, admin.mailstore, ids[0], store::SlotKind::archive, "");
    if (verb == "user-del" || verb == "archive-del") {
      if (ids.size() != 2 || (ids[1] != "keep" && ids[1] != "purge"))
        return Error{fmt::format("{} takes an address and keep|purge", verb)};
      return api::delete_mailslot(admin.directory, admin.mailstore, ids[0],
                                  verb == "user-del" ? store::SlotKind::mailbox : store::SlotKind::archive,
                                  ids[1] == "purge");
    }
    if (api::is_queue_verb(verb)) return api::queue_action(admin.spool, verb, ids);
    if (verb == "lost-requeue" && !ids.empty()) {  // the name is the rest of the line (it may hold spaces)
      auto id = admin.spool.requeue_lost(line.substr(line.find(' ') + 1));
      if (!id) return id.error();
      return "queued as " + *id;
    }
  } catch (const std::exception& e) {
    return Error{e.what()};
  }
  return Error{fmt::format("unknown request '{}'", verb)};
}

std::optional<Result<std::string>> control_request(const std::filesystem::path& data_dir, const std::string& line) {
  auto path = (data_dir / "control.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return std::nullopt;
  }
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string req = line + "\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return Result<std::string>(Error{"the server closed the control socket"});
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  ::close(fd);
  reply = std::string(trim(reply));
  if (reply.starts_with("ok ")) return Result<std::string>(reply.substr(3));
  if (reply.starts_with("error ")) return Result<std::string>(Error{reply.substr(6)});
  return Result<std::string>(Error{"no answer from the server's control socket"});
}

}  // namespace tern::app
