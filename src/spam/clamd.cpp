// spam/clamd.cpp: the INSTREAM exchange with clamd (see clamd.hpp) and the deadline of a whole scan.
#include "spam/clamd.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <memory>
#include <mutex>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::spam::clamd {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;

namespace {

// The deadline of one scan. The timer's handler may run on another thread than the scanning coroutine
// (when the caller's executor is not a strand), so it touches only this struct, under its mutex, and
// the socket's descriptor with shutdown(2), which fails the pending connect, write or read at once.
// Only the coroutine closes the descriptor, after clearing `fd` (Armed).
struct Deadline {
  std::mutex mu;
  int fd = -1;  // -1: no socket, or closed
  bool expired = false;
};

// Gives the deadline the socket's descriptor for as long as it lives: declared after the socket, so it
// is destroyed first.
struct Armed {
  Armed(std::shared_ptr<Deadline> deadline, int fd) : d(std::move(deadline)) {
    std::lock_guard lock(d->mu);
    d->fd = fd;
  }
  ~Armed() {
    std::lock_guard lock(d->mu);
    d->fd = -1;
  }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
  std::shared_ptr<Deadline> d;
};

ScanResult error(std::string text) { return {ScanResult::Kind::error, std::move(text)}; }

// What ended an exchange, in words for the log: the deadline's shutdown looks like any I/O error.
ScanResult io_failure(Deadline& d, const boost::system::error_code& ec, std::string_view doing) {
  std::lock_guard lock(d.mu);
  if (d.expired) return error(fmt::format("timeout {}", doing));
  if (ec == asio::error::eof) return error(fmt::format("connection closed {}", doing));
  return error(fmt::format("{} {}", ec.message(), doing));
}

// Connects, streams the message, reads the reply. A write that fails is followed by a read all the
// same: clamd answers a stream over its StreamMaxLength with an ERROR reply, then closes.
template <typename Socket, typename Endpoint>
asio::awaitable<ScanResult> exchange(Socket& socket, const Endpoint& endpoint, std::string_view message,
                                     Deadline& d) {
  boost::system::error_code ec;
  {
    std::lock_guard lock(d.mu);
    if (d.expired) co_return error("timeout before connecting");  // the descriptor came too late to be shut down
  }
  co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return io_failure(d, ec, "connecting");

  static constexpr char command[] = "zINSTREAM";  // with its '\0': the z form of the command
  co_await asio::async_write(socket, asio::buffer(command, sizeof command), asio::redirect_error(asio::use_awaitable, ec));
  for (std::size_t off = 0; !ec;) {
    std::size_t n = std::min(chunk_size, message.size() - off);
    const std::array<unsigned char, 4> length{static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                                              static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
    const std::array<asio::const_buffer, 2> chunk{asio::buffer(length), asio::buffer(message.data() + off, n)};
    co_await asio::async_write(socket, chunk, asio::redirect_error(asio::use_awaitable, ec));
    off += n;
    if (n == 0) break;  // the zero-length chunk has gone: the end of the stream
  }
  const auto write_error = ec;

  std::string reply;
  std::array<char, 512> buf{};
  while (reply.find('\0') == std::string::npos && reply.size() < max_reply) {
    std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    reply.append(buf.data(), n);
    if (ec) break;
  }
  if (reply.empty()) co_return write_error ? io_failure(d, write_error, "sending the message")
                                           : io_failure(d, ec, "waiting for the reply");
  co_return parse_reply(reply.substr(0, reply.find('\0')));
}

}  // namespace

std::string Address::str() const {
  if (const auto* path = std::get_if<std::string>(&where)) return *path;
  const auto& ep = std::get<tcp::endpoint>(where);
  auto a = ep.address();
  if (a.is_v6()) return fmt::format("[{}]:{}", a.to_string(), ep.port());
  return fmt::format("{}:{}", a.to_string(), ep.port());
}

Result<Address> parse_address(std::string_view text) {
  if (text.starts_with('/')) {
    if (text.size() >= sizeof(sockaddr_un{}.sun_path)) return Error{"socket path too long", Error::Kind::invalid};
    return Address{std::string(text)};
  }
  const char* expected = "expected an absolute socket path or \"address:port\" with an IP address";
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return Error{expected, Error::Kind::invalid};
  auto host = text.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  auto port = parse_u64(text.substr(colon + 1));
  // An IPv6 address only in brackets ("[::1]:3310"), as in every "address:port" of the configuration.
  if (ec || address.is_v6() != bracketed || !port || *port == 0 || *port > 65535)
    return Error{expected, Error::Kind::invalid};
  return Address{tcp::endpoint(address, static_cast<std::uint16_t>(*port))};
}

ScanResult parse_reply(std::string_view reply) {
  reply = trim(reply);
  constexpr std::string_view found = " FOUND";
  if (reply.ends_with(found)) {
    // "stream: Eicar-Test-Signature FOUND"; signature names have no ": ".
    auto what = reply.substr(0, reply.size() - found.size());
    auto colon = what.find(": ");
    auto name = colon == std::string_view::npos ? std::string_view() : trim(what.substr(colon + 2));
    if (!name.empty()) return {ScanResult::Kind::found, std::string(name)};
  } else if (reply.ends_with("ERROR")) {
    return error(std::string(reply));
  } else if (reply.ends_with(": OK")) {
    return {ScanResult::Kind::clean, {}};
  }
  return error(fmt::format("unexpected reply \"{}\"", reply.substr(0, 200)));
}

asio::awaitable<ScanResult> scan(const Address& where, std::string_view message, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto d = std::make_shared<Deadline>();
  asio::steady_timer timer(ex, timeout);
  timer.async_wait([d](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the scan ended in time
    std::lock_guard lock(d->mu);
    d->expired = true;
    if (d->fd >= 0) ::shutdown(d->fd, SHUT_RDWR);
  });

  ScanResult out;
  boost::system::error_code ec;
  if (const auto* path = std::get_if<std::string>(&where.where)) {
    local::socket socket(ex);
    socket.open(local(), ec);
    if (ec) co_return error("cannot open a socket: " + ec.message());
    Armed armed(d, socket.native_handle());
    const local::endpoint endpoint(*path);
    out = co_await exchange(socket, endpoint, message, *d);
  } else {
    const auto& endpoint = std::get<tcp::endpoint>(where.where);
    tcp::socket socket(ex);
    socket.open(endpoint.protocol(), ec);
    if (ec) co_return error("cannot open a socket: " + ec.message());
    Armed armed(d, socket.native_handle());
    out = co_await exchange(socket, endpoint, message, *d);
  }
  timer.cancel();
  co_return out;
}

}  // namespace tern::spam::clamd
