// smtp/client/session: the state of one Connection, shared by client.cpp (connect, greeting, EHLO,
// STARTTLS, AUTH, QUIT) and transaction.cpp (MAIL, RCPT, DATA). Internal to smtp/client.
#pragma once
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "smtp/client/client.hpp"
#include "smtp/client/protocol.hpp"

namespace tern::smtp::client {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// The deadline of the operation in progress. Shared with the timer's handler, which may run on
// another thread than the connection's coroutine: so it touches only this struct (under its mutex)
// and the socket's file descriptor (shutdown(2), never close), never the asio socket object.
struct Deadline {
  explicit Deadline(const asio::any_io_executor& ex) : timer(ex) {}
  std::mutex mu;
  asio::steady_timer timer;
  Clock::time_point at = Clock::time_point::max();
  int fd = -1;           // -1 once the connection is closed
  bool expired = false;  // the deadline passed and the socket was shut down
  bool stopped = false;
};

struct Connection::Impl {
  Impl(asio::any_io_executor ex, Options o);
  ~Impl();

  // --- I/O with deadlines; each failure marks the session lost (usable = false) with a reason ---
  void start_deadline();
  void set_deadline(std::chrono::seconds t);
  bool timed_out();
  void close();
  void lose(std::string why);
  std::string io_error(const boost::system::error_code& ec, std::string_view what, std::chrono::seconds t);
  // Writes all of `data`; false when the session is lost.
  asio::awaitable<bool> write(std::string_view data, std::chrono::seconds t, std::string_view what);
  // The next reply; nullopt when the session is lost. A 421 is returned and also ends the session
  // (RFC 5321 3.8: the server is closing the channel).
  asio::awaitable<std::optional<ParsedReply>> read_reply(std::chrono::seconds t, std::string_view what);
  // A command and its reply.
  asio::awaitable<std::optional<ParsedReply>> command(std::string line, std::string_view what);

  // --- session set-up (client.cpp) ---
  struct Setup {
    std::string error;        // "" = ready for transactions
    bool retry_plain = false;  // opportunistic TLS handshake failed: try again without TLS
  };
  asio::awaitable<Setup> establish(asio::ip::address address, std::uint16_t port);
  asio::awaitable<std::string> connect(asio::ip::address address, std::uint16_t port);
  asio::awaitable<std::string> hello(bool after_tls);
  asio::awaitable<std::string> start_tls();
  asio::awaitable<std::string> authenticate();
  asio::awaitable<void> quit_quietly();

  // --- one transaction (transaction.cpp) ---
  asio::awaitable<void> transaction(const Envelope& env, std::string_view message, TransactionResult& res);
  asio::awaitable<void> pipelined(const Envelope& env, const std::vector<std::size_t>& to_send, std::string mail,
                                  std::string_view content, TransactionResult& res);
  asio::awaitable<void> lockstep(const Envelope& env, const std::vector<std::size_t>& to_send, std::string mail,
                                 std::string_view content, TransactionResult& res);
  asio::awaitable<void> send_content(std::string_view content, TransactionResult& res);
  asio::awaitable<void> reset();
  void mark_lost(TransactionResult& res);

  asio::any_io_executor ex;
  Options opt;
  tcp::socket socket;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  std::shared_ptr<Deadline> deadline;
  SessionInfo info;
  Extensions ext;
  ReplyParser parser;
  std::string inbuf;  // received, not yet parsed
  std::array<char, 8192> rbuf{};
  bool usable = false;
  std::string lost;  // why the session ended
  bool verify_failed = false;
  std::string verify_error;
};

}  // namespace tern::smtp::client
