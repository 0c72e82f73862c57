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
#include <utility>

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

// Limits on connections in total, per service (listener name: a flood on one service leaves slots
// for the others, as Postfix's per-service process limits and Dovecot's per-service client limits do)
// and per client address. Thread-safe.
class ConnectionLimiter {
 public:
  struct Limits {
    std::uint32_t total = 1000;
    std::uint32_t per_service = 500;
    std::uint32_t per_address = 50;
  };
  explicit ConnectionLimiter(Limits limits) : limits_(limits) {}
  class Slot {
   public:
    Slot() = default;
    Slot(ConnectionLimiter* l, std::string service, std::string addr)
        : l_(l), service_(std::move(service)), addr_(std::move(addr)) {}
    Slot(Slot&& o) noexcept
        : l_(std::exchange(o.l_, nullptr)), service_(std::move(o.service_)), addr_(std::move(o.addr_)) {}
    Slot& operator=(Slot&& o) noexcept;
    ~Slot() { release(); }
    explicit operator bool() const { return l_ != nullptr; }
    void release();  // gives the slot back now (idempotent)

   private:
    ConnectionLimiter* l_ = nullptr;
    std::string service_;
    std::string addr_;
  };
  enum class Refusal { none, total, per_service, per_address };
  // An empty Slot with the reason when over a limit.
  Slot acquire(const std::string& service, const std::string& address, Refusal& why);
  void set_limits(Limits limits);

 private:
  std::mutex mu_;
  Limits limits_;
  std::uint32_t count_ = 0;
  std::map<std::string, std::uint32_t> per_service_;
  std::map<std::string, std::uint32_t> per_address_;
};

// A TCP connection, plain or TLS, with three deadlines (DESIGN.md: every read and write has one):
//   - the read deadline, set by the session for what it reads next (set_timeout). With a minimum
//     rate, each octet read moves it 1/min_rate s later, never further than the timeout from now
//     (Postfix's smtpd_per_record_deadline with smtpd_min_data_rate): a large message at a fair rate
//     never times out, a client dripping octets does.
//   - the write deadline: each write must finish within the write timeout.
//   - the session deadline, a bound on the whole session until it is cleared (before login).
// When one passes during a read (or while the session is busy elsewhere), the pending read fails and
// every later read fails at once; the session may still write one farewell (send_farewell) within a
// short grace period. When one passes during a write, the connection is closed at once.
class Stream {
 public:
  explicit Stream(tcp::socket socket);
  ~Stream();
  // A Stream over one end of a socketpair (no listener, no TCP: for the daemons' conversation tests).
  // The session sees `peer` as the client's address; the test talks through the returned descriptor
  // (which it owns and closes). Deadlines work as on TCP.
  static std::pair<std::unique_ptr<Stream>, int> socket_pair(const asio::any_io_executor& ex, std::string peer);
  Stream(const Stream&) = delete;  // the TLS layer refers to the socket: never moved
  Stream& operator=(const Stream&) = delete;

  // Starts the watchdog; call once, from the session's coroutine.
  void start_watchdog();
  // The read deadline: `t` from now; with min_rate (octets per second, 0: none), extended by what
  // arrives (see above).
  void set_timeout(std::chrono::seconds t, std::uint32_t min_rate = 0);
  void set_write_timeout(std::chrono::seconds t);  // for each write from now on
  void set_session_deadline(std::chrono::seconds t);  // `t` from now, for the whole session
  void clear_session_deadline();
  bool timed_out() const { return watch_->timed_out; }
  // The server is stopping: a pending read fails as at a timeout (every later read too), and the
  // session may send its shutdown reply with send_farewell within the grace period. Nothing happens
  // while a write is under way (the connection is closed at the end of the stop instead).
  void interrupt();
  bool interrupted() const { return watch_->interrupted; }
  // After a timeout that came while the session was reading or busy: writes `text` (the protocol's
  // "closing for timeout" reply) within a short grace period; a failure is only logged at debug level.
  // Nothing is written when the TLS handshake had not finished.
  awaitable<void> send_farewell(std::string_view text);
  // Keeps the connection's limiter slot until close(), which releases it before closing the socket:
  // a client that saw its connection close must find the slot free for its next one.
  void hold(ConnectionLimiter::Slot slot) { watch_->slot = std::move(slot); }

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
    using clock = std::chrono::steady_clock;
    explicit Watch(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    clock::time_point read_deadline;
    clock::time_point write_deadline;
    clock::time_point session_deadline = clock::time_point::max();
    clock::duration read_timeout{};   // the cap of the rate credit
    std::uint32_t min_rate = 0;       // octets per second; 0: no credit
    tcp::socket* socket = nullptr;    // null once closed
    ConnectionLimiter::Slot slot;     // released just before the socket is closed
    bool writing = false;
    bool timed_out = false;
    bool interrupted = false;  // by interrupt(): the server is stopping
    // When the watchdog must act next.
    clock::time_point due() const { return std::min(session_deadline, writing ? write_deadline : read_deadline); }
    void credit(std::size_t octets);  // a read brought `octets`
    void rearm();                     // wakes the watchdog earlier when due() moved earlier
  };

 private:
  tcp::socket socket_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<Watch> watch_;
  std::chrono::seconds write_timeout_{300};
  bool tls_ready_ = false;  // the handshake finished: a farewell may go out inside TLS
  std::string peer_;
  std::uint16_t peer_port_ = 0;
};

// The read deadlines of a command loop. Waiting for a command may take `idle`; from its first octet,
// the whole command (its line, and an IMAP command's literals at min_rate) must arrive within
// `command`, so a client sending one octet every few seconds is cut off instead of keeping its
// connection slot forever. The writes of replies in between never move these deadlines.
class CommandClock {
 public:
  explicit CommandClock(Stream& stream) : stream_(stream) {}
  // Before each read of the command loop; `started`: octets of the next command have arrived.
  void arm(bool started, std::chrono::seconds idle, std::chrono::seconds command, std::uint32_t min_rate = 0);
  // A whole command (or a refused line) was read: the next read waits for a new command.
  void next_command() { armed_ = Armed::none; }

 private:
  enum class Armed { none, idle, command };
  Stream& stream_;
  Armed armed_ = Armed::none;
};

// A server TLS context from PEM files (TLS 1.2 and later).
Result<std::shared_ptr<ssl::context>> make_server_tls(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key);
// Makes a self-signed certificate and key (EC P-256, 10 years) for `hostname` unless both files exist.
Status ensure_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::string& hostname);

}  // namespace tern::net
