// net: what every daemon needs from the network: a stream that may turn into TLS midway (STARTTLS),
// a deadline on every read and write, connection limits, TLS contexts, and a way to run blocking work
// (fsync, SQLite, password hashing) off the event loop.
//
// Threading: a session's socket, timer and coroutine all live on one strand, so the deadline watchdog
// and the session never race.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "base/result.hpp"

namespace tern::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
template <typename T>
using awaitable = asio::awaitable<T>;

// Runs f() on the blocking-work pool and resumes the caller on its own executor with the result (or
// rethrows f's exception there), as a std::optional that is always set when no exception was thrown:
// `auto r = *co_await offload(pool, [..] { return blocking(); });`
// GCC 12 miscopies closure objects passed by value into coroutines (the frame's copy keeps pointers
// into the original: a std::string capture then frees a foreign buffer), so f travels to the pool
// behind a plain pointer, never as a coroutine parameter.
template <typename F>
auto offload(asio::thread_pool& pool, F f) {
  using R = decltype(f());
  // Only trivially copyable values (two pointers) enter Asio's initiation coroutine.
  F* fp = new F(std::move(f));
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<R>)>(
      [pool_ptr = &pool, fp](auto handler) {
        asio::post(*pool_ptr, [fp, handler = std::move(handler)]() mutable {
          std::unique_ptr<F> owned(fp);
          std::optional<R> out;
          std::exception_ptr err;
          try {
            out.emplace((*owned)());
          } catch (...) {
            err = std::current_exception();
          }
          owned.reset();
          auto ex = asio::get_associated_executor(handler);
          asio::post(ex, [handler = std::move(handler), err, out = std::move(out)]() mutable {
            std::move(handler)(err, std::move(out));
          });
        });
      },
      asio::use_awaitable);
}

// A TCP connection, plain or TLS, with a deadline that closes it when it passes.
class Stream {
 public:
  explicit Stream(tcp::socket socket);
  ~Stream();
  Stream(const Stream&) = delete;  // the TLS layer refers to the socket: never moved
  Stream& operator=(const Stream&) = delete;

  // Starts the watchdog; call once, from the session's coroutine.
  void start_watchdog();
  void set_timeout(std::chrono::seconds t);  // the deadline for the next reads and writes
  bool timed_out() const { return watch_->timed_out; }

  awaitable<std::size_t> read_some(char* buf, std::size_t len);
  awaitable<void> write(std::string_view data);
  // For line protocols: appends what arrives (at most 16 KB) to `in`; false at the end of the stream
  // (EOF, or a TLS peer that closed without close_notify).
  awaitable<bool> read_append(std::string& in);
  // Writes `out` and clears it (nothing when empty).
  awaitable<void> write_pending(std::string& out);
  // Server-side TLS handshake (implicit TLS at connect, or after STARTTLS's 220).
  awaitable<void> handshake_server(ssl::context& ctx);
  bool is_tls() const { return tls_ != nullptr; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384" or ""
  void close();

  // Why an I/O error ended a session, in words for the disconnect log line.
  std::string describe_end(const boost::system::system_error& e) const;

  const std::string& peer_address() const { return peer_; }
  std::uint16_t peer_port() const { return peer_port_; }
  tcp::socket& socket() { return socket_; }

 public:
  // Shared with the watchdog coroutine, which may outlive the Stream by one wake-up.
  struct Watch {
    explicit Watch(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point deadline;
    tcp::socket* socket = nullptr;  // null once closed
    bool timed_out = false;
  };

 private:
  tcp::socket socket_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<Watch> watch_;
  std::string peer_;
  std::uint16_t peer_port_ = 0;
};

// Limits on connections in total and per client address. Thread-safe.
class ConnectionLimiter {
 public:
  ConnectionLimiter(std::uint32_t total, std::uint32_t per_address) : total_(total), per_address_(per_address) {}
  class Slot {
   public:
    Slot() = default;
    Slot(ConnectionLimiter* l, std::string addr) : l_(l), addr_(std::move(addr)) {}
    Slot(Slot&& o) noexcept : l_(std::exchange(o.l_, nullptr)), addr_(std::move(o.addr_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot();
    explicit operator bool() const { return l_ != nullptr; }

   private:
    ConnectionLimiter* l_ = nullptr;
    std::string addr_;
  };
  enum class Refusal { none, total, per_address };
  // An empty Slot with the reason when over a limit.
  Slot acquire(const std::string& address, Refusal& why);
  void set_limits(std::uint32_t total, std::uint32_t per_address);

 private:
  std::mutex mu_;
  std::uint32_t total_, per_address_;
  std::uint32_t count_ = 0;
  std::map<std::string, std::uint32_t> per_;
};

// A server TLS context from PEM files (TLS 1.2 and later).
Result<std::shared_ptr<ssl::context>> make_server_tls(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key);
// Makes a self-signed certificate and key (EC P-256, 10 years) for `hostname` unless both files exist.
Status ensure_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::string& hostname);

}  // namespace tern::net
