#include "net/net.hpp"

#include <sys/socket.h>

#include <system_error>

#include "base/log.hpp"

namespace tern::net {

Stream::Stream(tcp::socket socket)
    : socket_(std::move(socket)), watch_(std::make_shared<Watch>(socket_.get_executor())) {
  watch_->socket = &socket_;
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    peer_ = addr.to_string();
    peer_port_ = ep.port();
  }
  socket_.set_option(tcp::no_delay(true), ec);
  // Until the session sets its own: RFC 5321 4.5.3.2.7's five minutes.
  watch_->read_timeout = std::chrono::seconds(300);
  watch_->read_deadline = Watch::clock::now() + watch_->read_timeout;
}

Stream::~Stream() { close(); }

std::pair<std::unique_ptr<Stream>, int> Stream::socket_pair(const asio::any_io_executor& ex, std::string peer) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  // Asio's TCP socket drives any stream socket's descriptor: reads, writes, shutdown and close are the
  // same calls (TCP_NODELAY and the peer's endpoint fail, and are ignored, on a Unix socket).
  tcp::socket socket(ex);
  socket.assign(tcp::v4(), fds[0]);
  auto stream = std::make_unique<Stream>(std::move(socket));
  stream->peer_ = std::move(peer);
  return {std::move(stream), fds[1]};
}

namespace {

// After a timeout, the session's farewell must go out within this, or the connection is closed.
constexpr std::chrono::seconds farewell_grace{5};

// Wakes when the earliest deadline is due. The first time: marks the stream timed out and cancels
// the pending read, so the session ends its read with an error and may say goodbye; if a write was
// in progress (a reply cut in the middle cannot be followed by a farewell) or the farewell's grace
// has passed too, closes the socket. A free coroutine taking its state by value (not a capturing
// lambda: see offload in net.hpp).
awaitable<void> watchdog(std::shared_ptr<Stream::Watch> w) {
  while (w->socket) {
    w->timer.expires_at(w->due());
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!w->socket) break;
    auto now = Stream::Watch::clock::now();
    if (now < w->due()) continue;  // moved later meanwhile, or re-armed earlier (a cancelled wait)
    boost::system::error_code ignored;
    if (w->timed_out || w->writing) {
      w->timed_out = true;
      w->slot.release();
      w->socket->close(ignored);
      w->socket = nullptr;
      break;
    }
    w->timed_out = true;
    w->session_deadline = Stream::Watch::clock::time_point::max();
    w->read_deadline = w->write_deadline = now + farewell_grace;
    w->socket->cancel(ignored);
  }
}

}  // namespace

void Stream::Watch::credit(std::size_t octets) {
  if (min_rate == 0 || timed_out) return;
  auto gained = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(double(octets) / min_rate));
  read_deadline = std::min(read_deadline + gained, clock::now() + read_timeout);
}

void Stream::Watch::rearm() {
  if (socket && due() < timer.expiry()) timer.expires_at(due());  // the watchdog's wait ends now
}

void Stream::start_watchdog() { asio::co_spawn(socket_.get_executor(), watchdog(watch_), asio::detached); }

void Stream::set_timeout(std::chrono::seconds t, std::uint32_t min_rate) {
  if (watch_->timed_out) return;  // the farewell's grace is not the session's to extend
  watch_->read_timeout = t;
  watch_->min_rate = min_rate;
  watch_->read_deadline = Watch::clock::now() + t;
  watch_->rearm();
}

void Stream::set_write_timeout(std::chrono::seconds t) { write_timeout_ = t; }

void Stream::set_session_deadline(std::chrono::seconds t) {
  if (watch_->timed_out) return;
  watch_->session_deadline = Watch::clock::now() + t;
  watch_->rearm();
}

void Stream::clear_session_deadline() {
  if (!watch_->timed_out) watch_->session_deadline = Watch::clock::time_point::max();
}

void Stream::interrupt() {
  auto& w = *watch_;
  if (!w.socket || w.timed_out || w.writing) return;
  w.interrupted = w.timed_out = true;
  w.session_deadline = Watch::clock::time_point::max();
  w.read_deadline = w.write_deadline = Watch::clock::now() + farewell_grace;
  w.rearm();
  boost::system::error_code ignored;
  w.socket->cancel(ignored);
}

awaitable<void> Stream::send_farewell(std::string_view text) {
  if (!watch_->socket || (tls_ && !tls_ready_)) co_return;
  try {
    co_await write(text);
  } catch (const boost::system::system_error& e) {
    // The client is gone or does not read; the connection is closed next anyway.
    log::debug("{}: the timeout reply was not delivered: {}", peer_, e.code().message());
  }
}

namespace {

// Every read after a timeout fails at once: the session ends even if the deadline passed while it
// was busy with something else (a store query, a password hash).
void throw_if_timed_out(const Stream::Watch& w) {
  if (w.timed_out) throw boost::system::system_error(asio::error::timed_out);
}

}  // namespace

awaitable<std::size_t> Stream::read_some(char* buf, std::size_t len) {
  throw_if_timed_out(*watch_);
  std::size_t n = 0;
  if (tls_)
    n = co_await tls_->async_read_some(asio::buffer(buf, len), asio::use_awaitable);
  else
    n = co_await socket_.async_read_some(asio::buffer(buf, len), asio::use_awaitable);
  watch_->credit(n);
  co_return n;
}

awaitable<void> Stream::write(std::string_view data) {
  auto w = watch_;
  w->write_deadline = Watch::clock::now() + (w->timed_out ? farewell_grace : write_timeout_);
  w->writing = true;
  w->rearm();
  try {
    if (tls_)
      co_await asio::async_write(*tls_, asio::buffer(data), asio::use_awaitable);
    else
      co_await asio::async_write(socket_, asio::buffer(data), asio::use_awaitable);
  } catch (...) {
    w->writing = false;
    throw;
  }
  w->writing = false;
  w->rearm();  // back to the read deadline, which may be due before the write deadline was
}

std::string Stream::describe_end(const boost::system::system_error& e) const {
  if (timed_out()) return "timeout";
  if (e.code() == asio::error::eof || e.code() == ssl::error::stream_truncated) return "client closed the connection";
  if (e.code().category() == asio::error::get_ssl_category()) return "TLS failure: " + e.code().message();
  // The server closed the socket itself: the grace period after SIGTERM ended.
  if (e.code() == asio::error::operation_aborted || e.code() == asio::error::bad_descriptor)
    return "closed by the server (shutting down)";
  return "connection ended: " + e.code().message();
}

awaitable<bool> Stream::read_append(std::string& in) {
  // Memory of an idle connection: the buffer is grown only once data is there to read (plain TCP:
  // wait for readability first; TLS keeps its own record buffers, so read at once), and it lives in
  // `in`, not in the coroutine frame.
  constexpr std::size_t chunk = 16384;
  auto old = in.size();
  try {
    throw_if_timed_out(*watch_);
    if (!tls_) co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable);
    in.resize(old + chunk);
    auto n = co_await read_some(in.data() + old, chunk);
    in.resize(old + n);
  } catch (const boost::system::system_error& e) {
    in.resize(old);
    if (e.code() == asio::error::eof || e.code() == ssl::error::stream_truncated) co_return false;
    throw;
  }
  co_return true;
}

awaitable<void> Stream::write_pending(std::string& out) {
  if (out.empty()) co_return;
  std::string data;
  data.swap(out);
  co_await write(data);
}

awaitable<void> Stream::handshake_server(ssl::context& ctx) {
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, ctx);
  co_await tls_->async_handshake(ssl::stream_base::server, asio::use_awaitable);
  tls_ready_ = true;
}

std::string Stream::tls_description() const {
  if (!tls_) return {};
  auto* s = const_cast<ssl::stream<tcp::socket&>&>(*tls_).native_handle();
  return std::string(SSL_get_version(s)) + " " + SSL_get_cipher_name(s);
}

void Stream::close() {
  boost::system::error_code ec;
  watch_->slot.release();  // before the client can see the close (see hold())
  watch_->socket = nullptr;
  watch_->timer.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    release();
    l_ = std::exchange(o.l_, nullptr);
    service_ = std::move(o.service_);
    addr_ = std::move(o.addr_);
  }
  return *this;
}

void ConnectionLimiter::Slot::release() {
  if (!l_) return;
  std::lock_guard lock(l_->mu_);
  --l_->count_;
  if (--l_->per_service_[service_] == 0) l_->per_service_.erase(service_);
  if (--l_->per_address_[addr_] == 0) l_->per_address_.erase(addr_);
  l_ = nullptr;
}

ConnectionLimiter::Slot ConnectionLimiter::acquire(const std::string& service, const std::string& address,
                                                   Refusal& why) {
  std::lock_guard lock(mu_);
  why = Refusal::none;
  auto service_it = per_service_.find(service);
  auto address_it = per_address_.find(address);
  if (count_ >= limits_.total)
    why = Refusal::total;
  else if (service_it != per_service_.end() && service_it->second >= limits_.per_service)
    why = Refusal::per_service;
  else if (address_it != per_address_.end() && address_it->second >= limits_.per_address)
    why = Refusal::per_address;
  if (why != Refusal::none) return {};
  ++count_;
  ++per_service_[service];
  ++per_address_[address];
  return Slot(this, service, address);
}

void ConnectionLimiter::set_limits(Limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

void CommandClock::arm(bool started, std::chrono::seconds idle, std::chrono::seconds command, std::uint32_t min_rate) {
  if (!started && armed_ == Armed::none) {
    stream_.set_timeout(idle);
    armed_ = Armed::idle;
  } else if (started && armed_ != Armed::command) {
    stream_.set_timeout(command, min_rate);
    armed_ = Armed::command;
  }
}

}  // namespace tern::net
