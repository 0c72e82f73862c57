#include "net/net.hpp"

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
  watch_->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
}

Stream::~Stream() { close(); }

namespace {

// Wakes at the deadline; if it has not moved meanwhile, closes the socket so the pending I/O fails.
// A free coroutine taking its state by value (not a capturing lambda: see offload in net.hpp).
awaitable<void> watchdog(std::shared_ptr<Stream::Watch> w) {
  while (w->socket) {
    w->timer.expires_at(w->deadline);
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!w->socket) break;
    if (std::chrono::steady_clock::now() >= w->deadline) {
      w->timed_out = true;
      boost::system::error_code ignored;
      w->socket->close(ignored);
      w->socket = nullptr;
      break;
    }
  }
}

}  // namespace

void Stream::start_watchdog() { asio::co_spawn(socket_.get_executor(), watchdog(watch_), asio::detached); }

void Stream::set_timeout(std::chrono::seconds t) { watch_->deadline = std::chrono::steady_clock::now() + t; }

awaitable<std::size_t> Stream::read_some(char* buf, std::size_t len) {
  if (tls_) co_return co_await tls_->async_read_some(asio::buffer(buf, len), asio::use_awaitable);
  co_return co_await socket_.async_read_some(asio::buffer(buf, len), asio::use_awaitable);
}

awaitable<void> Stream::write(std::string_view data) {
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(data), asio::use_awaitable);
  else
    co_await asio::async_write(socket_, asio::buffer(data), asio::use_awaitable);
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
}

std::string Stream::tls_description() const {
  if (!tls_) return {};
  auto* s = const_cast<ssl::stream<tcp::socket&>&>(*tls_).native_handle();
  return std::string(SSL_get_version(s)) + " " + SSL_get_cipher_name(s);
}

void Stream::close() {
  boost::system::error_code ec;
  watch_->socket = nullptr;
  watch_->timer.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

ConnectionLimiter::Slot::~Slot() {
  if (!l_) return;
  std::lock_guard lock(l_->mu_);
  --l_->count_;
  if (--l_->per_[addr_] == 0) l_->per_.erase(addr_);
}

ConnectionLimiter::Slot ConnectionLimiter::acquire(const std::string& address, Refusal& why) {
  std::lock_guard lock(mu_);
  why = Refusal::none;
  if (count_ >= total_) {
    why = Refusal::total;
    return {};
  }
  auto& n = per_[address];
  if (n >= per_address_) {
    why = Refusal::per_address;
    return {};
  }
  ++n;
  ++count_;
  return Slot(this, address);
}

void ConnectionLimiter::set_limits(std::uint32_t total, std::uint32_t per_address) {
  std::lock_guard lock(mu_);
  total_ = total;
  per_address_ = per_address;
}

}  // namespace tern::net
