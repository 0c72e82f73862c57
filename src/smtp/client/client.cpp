// smtp/client/client.cpp: a session's set-up and end: connect, greeting, EHLO (HELO fallback),
// STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), QUIT; and the I/O primitives with deadlines.
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/codec.hpp"
#include "base/log.hpp"
#include "smtp/client/session.hpp"

namespace tern::smtp::client {

namespace {

void on_deadline(const std::shared_ptr<Deadline>& d) {
  std::lock_guard lock(d->mu);
  if (d->stopped || d->expired) return;
  if (Clock::now() >= d->at) {
    // shutdown(2) wakes the pending read, write or connect with an error; the coroutine sees
    // `expired` and reports a timeout. The fd stays open until the owner closes it.
    d->expired = true;
    if (d->fd >= 0) ::shutdown(d->fd, SHUT_RDWR);
    return;
  }
  d->timer.expires_at(d->at);
  std::shared_ptr<Deadline> keep = d;
  d->timer.async_wait([keep](boost::system::error_code) { on_deadline(keep); });
}

// Records the first certificate problem and lets the handshake go on (client.hpp, TLS).
struct VerifyRecorder {
  bool* failed;
  std::string* error;
  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    if (!preverified && !*failed) {
      *failed = true;
      *error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.native_handle()));
    }
    return true;
  }
};

const std::shared_ptr<ssl::context>& default_tls_context() {
  static const std::shared_ptr<ssl::context> ctx = make_client_tls_context();
  return ctx;
}

std::string with_port(const asio::ip::address& a, std::uint16_t port) {
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(port);
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);  // no system trust store: nothing verifies, TLS still works
  if (!ca_file.empty()) ctx->load_verify_file(ca_file, ec);
  return ctx;
}

Connection::Impl::Impl(asio::any_io_executor e, Options o)
    : ex(std::move(e)), opt(std::move(o)), socket(ex), deadline(std::make_shared<Deadline>(ex)) {}

Connection::Impl::~Impl() { close(); }

void Connection::Impl::start_deadline() {
  std::lock_guard lock(deadline->mu);
  deadline->timer.expires_at(deadline->at);
  std::shared_ptr<Deadline> keep = deadline;
  deadline->timer.async_wait([keep](boost::system::error_code) { on_deadline(keep); });
}

void Connection::Impl::set_deadline(std::chrono::seconds t) {
  std::lock_guard lock(deadline->mu);
  auto at = Clock::now() + t;
  bool sooner = at < deadline->at;
  deadline->at = at;
  if (sooner) deadline->timer.cancel();  // its handler re-arms for the new time
}

bool Connection::Impl::timed_out() {
  std::lock_guard lock(deadline->mu);
  return deadline->expired;
}

void Connection::Impl::close() {
  {
    std::lock_guard lock(deadline->mu);
    deadline->stopped = true;
    deadline->fd = -1;
    deadline->timer.cancel();
  }
  boost::system::error_code ec;
  socket.close(ec);
  usable = false;
}

void Connection::Impl::lose(std::string why) {
  usable = false;
  if (lost.empty()) lost = std::move(why);
}

std::string Connection::Impl::io_error(const boost::system::error_code& ec, std::string_view what,
                                       std::chrono::seconds t) {
  if (timed_out()) return "timeout (" + std::to_string(t.count()) + " s) " + std::string(what);
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
    return "connection closed by the server " + std::string(what);
  return ec.message() + " " + std::string(what);
}

asio::awaitable<bool> Connection::Impl::write(std::string_view data, std::chrono::seconds t, std::string_view what) {
  if (!usable) co_return false;
  set_deadline(t);
  boost::system::error_code ec;
  if (tls)
    co_await asio::async_write(*tls, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
  else
    co_await asio::async_write(socket, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    lose(io_error(ec, "sending " + std::string(what), t));
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<ParsedReply>> Connection::Impl::read_reply(std::chrono::seconds t, std::string_view what) {
  if (!usable) co_return std::nullopt;
  set_deadline(t);
  for (;;) {
    if (!inbuf.empty()) {
      std::size_t consumed = 0;
      auto ev = parser.feed(inbuf, consumed);
      inbuf.erase(0, consumed);
      if (ev.kind == ReplyParser::Event::failed) {
        lose("bad reply to " + std::string(what) + ": " + ev.error);
        co_return std::nullopt;
      }
      if (ev.kind == ReplyParser::Event::complete) {
        if (ev.reply.code == 421) lose(ev.reply.to_server_reply().str());
        co_return std::move(ev.reply);
      }
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls)
      n = co_await tls->async_read_some(asio::buffer(rbuf), asio::redirect_error(asio::use_awaitable, ec));
    else
      n = co_await socket.async_read_some(asio::buffer(rbuf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      lose(io_error(ec, "waiting for the reply to " + std::string(what), t));
      co_return std::nullopt;
    }
    inbuf.append(rbuf.data(), n);
  }
}

asio::awaitable<std::optional<ParsedReply>> Connection::Impl::command(std::string line, std::string_view what) {
  bool sent = co_await write(line, opt.command_timeout, what);
  if (!sent) co_return std::nullopt;
  std::optional<ParsedReply> reply = co_await read_reply(opt.command_timeout, what);
  co_return reply;
}

asio::awaitable<std::string> Connection::Impl::connect(asio::ip::address address, std::uint16_t port) {
  tcp::endpoint ep(address, port);
  info.peer = with_port(address, port);
  boost::system::error_code ec;
  socket.open(ep.protocol(), ec);
  if (ec) co_return "cannot open a socket: " + ec.message();
  {
    std::lock_guard lock(deadline->mu);
    deadline->fd = socket.native_handle();
  }
  start_deadline();
  set_deadline(opt.connect_timeout);
  co_await socket.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (timed_out()) co_return "connect to " + info.peer + ": timeout (" + std::to_string(opt.connect_timeout.count()) + " s)";
    co_return "connect to " + info.peer + ": " + ec.message();
  }
  socket.set_option(tcp::no_delay(true), ec);
  usable = true;
  co_return std::string();
}

// RFC 5321 4.1.1.1; HELO when the server does not know EHLO (a 5xx), never after STARTTLS.
asio::awaitable<std::string> Connection::Impl::hello(bool after_tls) {
  auto r = co_await command("EHLO " + opt.helo + "\r\n", "EHLO");
  if (!r) co_return lost;
  if (r->code / 100 == 2) {
    ext = parse_ehlo(*r);
  } else if (r->code / 100 == 5 && !after_tls) {
    auto h = co_await command("HELO " + opt.helo + "\r\n", "HELO");
    if (!h) co_return lost;
    if (h->code / 100 != 2) co_return h->to_server_reply().str();
    ext = Extensions{};
  } else {
    co_return r->to_server_reply().str();
  }
  info.pipelining = ext.pipelining;
  info.eight_bit_mime = ext.eight_bit_mime;
  info.smtputf8 = ext.smtputf8;
  info.dsn = ext.dsn;
  info.chunking = ext.chunking;
  info.size_limit = ext.size;
  co_return std::string();
}

asio::awaitable<std::string> Connection::Impl::start_tls() {
  ssl::context& ctx = opt.tls_context ? *opt.tls_context : *default_tls_context();
  tls = std::make_unique<ssl::stream<tcp::socket&>>(socket, ctx);
  SSL* s = tls->native_handle();
  const std::string& name = opt.tls_name;
  if (!name.empty()) {
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    X509_VERIFY_PARAM* param = SSL_get0_param(s);
    if (not_ip) {
      SSL_set_tlsext_host_name(s, name.c_str());  // SNI (RFC 6066 3: never an IP literal)
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    }
  }
  tls->set_verify_mode(ssl::verify_peer);
  tls->set_verify_callback(VerifyRecorder{&verify_failed, &verify_error});
  set_deadline(opt.command_timeout);
  boost::system::error_code ec;
  co_await tls->async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    std::string why = io_error(ec, "in the TLS handshake", opt.command_timeout);
    lose(why);
    co_return "TLS handshake with " + info.peer + " failed: " + why;
  }
  info.tls = true;
  info.tls_description = std::string(SSL_get_version(s)) + " " + SSL_get_cipher_name(s);
  if (!SSL_get0_peer_certificate(s)) {
    verify_failed = true;
    verify_error = "no certificate";
  }
  info.tls_verified = !verify_failed;
  // RFC 3207 4.2: forget everything learnt before TLS; the EHLO after it tells anew.
  ext = Extensions{};
  co_return std::string();
}

// RFC 4954: PLAIN (RFC 4616) when offered, else LOGIN.
asio::awaitable<std::string> Connection::Impl::authenticate() {
  const auto& [user, password] = *opt.auth;
  bool plain = false, login = false;
  std::string offered;
  for (const auto& m : ext.auth) {
    plain = plain || m == "PLAIN";
    login = login || m == "LOGIN";
    offered += " " + m;
  }
  if (plain) {
    std::string token;
    token += '\0';
    token += user;
    token += '\0';
    token += password;
    auto r = co_await command("AUTH PLAIN " + base64_encode(token) + "\r\n", "AUTH PLAIN");
    if (!r) co_return lost;
    if (r->code != 235) co_return "AUTH PLAIN refused: " + r->to_server_reply().str();
    co_return std::string();
  }
  if (login) {
    auto r = co_await command("AUTH LOGIN\r\n", "AUTH LOGIN");
    if (!r) co_return lost;
    if (r->code != 334) co_return "AUTH LOGIN refused: " + r->to_server_reply().str();
    r = co_await command(base64_encode(user) + "\r\n", "AUTH LOGIN (user name)");
    if (!r) co_return lost;
    if (r->code != 334) co_return "AUTH LOGIN refused: " + r->to_server_reply().str();
    r = co_await command(base64_encode(password) + "\r\n", "AUTH LOGIN (password)");
    if (!r) co_return lost;
    if (r->code != 235) co_return "AUTH LOGIN refused: " + r->to_server_reply().str();
    co_return std::string();
  }
  co_return ext.auth.empty() ? "AUTH required, but " + info.peer + " offers no AUTH"
                             : "AUTH required, but " + info.peer + " offers neither PLAIN nor LOGIN (offers" + offered + ")";
}

asio::awaitable<void> Connection::Impl::quit_quietly() {
  auto t = std::min(opt.command_timeout, std::chrono::seconds(10));
  bool sent = co_await write("QUIT\r\n", t, "QUIT");
  if (sent) co_await read_reply(t, "QUIT");
  lose("closed");
  close();
}

asio::awaitable<Connection::Impl::Setup> Connection::Impl::establish(asio::ip::address address, std::uint16_t port) {
  Setup out;
  out.error = co_await connect(address, port);
  if (!out.error.empty()) co_return out;
  if (opt.tls == TlsMode::implicit) {
    out.error = co_await start_tls();
    if (!out.error.empty()) co_return out;
  }
  auto greeting = co_await read_reply(opt.command_timeout, "the greeting");
  if (!greeting) {
    out.error = lost;
    co_return out;
  }
  info.greeting = greeting->to_server_reply().str();
  if (greeting->code != 220) {
    out.error = info.greeting;
    co_await quit_quietly();  // RFC 5321 3.1: QUIT after a 554 greeting
    co_return out;
  }
  out.error = co_await hello(false);
  if (!out.error.empty()) co_return out;

  bool want_tls = opt.tls == TlsMode::starttls || (opt.tls == TlsMode::opportunistic && ext.starttls);
  if (want_tls) {
    if (!ext.starttls) {
      out.error = "STARTTLS required, but " + info.peer + " does not offer it";
      co_await quit_quietly();
      co_return out;
    }
    auto r = co_await command("STARTTLS\r\n", "STARTTLS");
    if (!r) {
      out.error = lost;
      co_return out;
    }
    if (r->code == 220) {
      out.error = co_await start_tls();
      if (!out.error.empty()) {
        out.retry_plain = opt.tls == TlsMode::opportunistic;
        co_return out;
      }
      out.error = co_await hello(true);
      if (!out.error.empty()) co_return out;
    } else if (opt.tls == TlsMode::starttls || !usable) {
      out.error = usable ? "STARTTLS refused: " + r->to_server_reply().str() : lost;
      co_await quit_quietly();
      co_return out;
    }
    // Opportunistic, and STARTTLS refused: the session goes on as it was (RFC 3207 4).
  }
  if (tls && opt.require_verified_tls && !info.tls_verified) {
    out.error = "TLS certificate of " + info.peer + " not verified: " + verify_error;
    co_await quit_quietly();
    co_return out;
  }
  if (opt.auth) {
    out.error = co_await authenticate();
    if (!out.error.empty()) {
      co_await quit_quietly();
      co_return out;
    }
  }
  co_return out;
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

boost::asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::open(boost::asio::any_io_executor ex,
                                                                             boost::asio::ip::address address,
                                                                             std::uint16_t port, Options options) {
  std::string error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto impl = std::make_unique<Impl>(ex, options);
    if (attempt == 1) impl->opt.tls = TlsMode::none;
    Impl::Setup setup;
    try {
      setup = co_await impl->establish(address, port);
    } catch (const std::exception& e) {
      setup.error = std::string("internal error: ") + e.what();
      setup.retry_plain = false;
    }
    if (setup.error.empty()) co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
    impl->close();
    error = attempt == 0 ? setup.error : error + "; then without TLS: " + setup.error;
    if (!setup.retry_plain) break;
  }
  co_return Error{error};
}

boost::asio::awaitable<void> Connection::quit() {
  try {
    if (impl_->usable) co_await impl_->quit_quietly();
  } catch (const std::exception& e) {
    // The transactions are over; a QUIT that fails changes no outcome, only the log says so.
    log::debug("smtp client: QUIT to {} failed: {}", impl_->info.peer, e.what());
  }
  impl_->lose("closed");
  impl_->close();
}

const SessionInfo& Connection::info() const { return impl_->info; }
bool Connection::usable() const { return impl_->usable; }

}  // namespace tern::smtp::client
