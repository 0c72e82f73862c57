#include "pop3d/session.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "pop3d/replies.hpp"

namespace tern::pop3d {

using pop3::proto::Verb;
namespace proto = pop3::proto;


net::awaitable<void> run_session(std::unique_ptr<net::Stream> owned, ListenerKind kind, Services services,
                                 std::string session_id) {
  net::Stream& stream = *owned;
  Session s(stream, kind, std::move(services), session_id);
  std::string why;
  try {
    stream.start_watchdog();
    co_await s.run();
    why = s.end_reason();
  } catch (const boost::system::system_error& e) {
    why = stream.describe_end(e);
  } catch (const std::exception& e) {
    log::error("pop3 {}: internal error: {}", session_id, e.what());
    why = "internal error";
  }
  // As Dovecot does (RFC 1939 3 would allow closing silently): the client learns why.
  if (stream.timed_out()) co_await stream.send_farewell(proto::err("Disconnected: timeout"));
  // RFC 1939 6: only QUIT enters the UPDATE state; anything else leaves the maildrop as it was.
  std::string kept;
  if (auto n = s.marked()) kept = fmt::format("; {} message(s) marked for deletion kept", n);
  log::info("pop3 {}: disconnect from {}{}: {}{}", session_id, stream.peer_address(),
            s.user().empty() ? "" : " (" + s.user() + ")", why, kept);
  stream.close();
}

Session::Session(net::Stream& stream, ListenerKind kind, Services services, std::string id)
    : stream_(stream), kind_(kind), svc_(std::move(services)), cfg_(*svc_.config), id_(std::move(id)) {}

net::awaitable<void> Session::flush() {
  if (out_.empty()) co_return;  // a write has its own deadline: the read deadline stays as it was
  co_await stream_.write_pending(out_);
}

net::awaitable<bool> Session::fill() {
  co_await flush();  // never wait for input with responses unsent (RFC 2449 6.6)
  bool more = co_await stream_.read_append(in_);
  co_return more;
}

bool Session::login_allowed() const { return stream_.is_tls() || cfg_.allow_plaintext; }
bool Session::tls_offered() const { return !stream_.is_tls() && svc_.tls && kind_ == ListenerKind::pop3; }

std::size_t Session::marked() const {
  std::size_t n = 0;
  for (auto& m : messages_) n += m.deleted;
  return n;
}

std::size_t Session::maildrop_count() const { return messages_.size() - marked(); }

std::uint64_t Session::maildrop_octets() const {
  std::uint64_t n = 0;
  for (auto& m : messages_)
    if (!m.deleted) n += m.size;
  return n;
}

void Session::protocol_error() { ++errors_; }

void Session::internal_error(std::string_view what) {
  log::error("pop3 {}: {}", id_, what);
  send(proto::err(RespCode::sys_temp, fmt::format(fmt::runtime(text::internal), id_)));
}

Session::Message* Session::message_of(const Command& cmd) {
  if (cmd.msg == 0 || cmd.msg > messages_.size()) {
    send(proto::err(text::no_such_message));
    return nullptr;
  }
  auto& m = messages_[cmd.msg - 1];
  if (m.deleted) {
    send(proto::err(fmt::format("Message {} is deleted", cmd.msg)));
    return nullptr;
  }
  return &m;
}

net::awaitable<void> Session::run() {
  log::info("pop3 {}: connect from {}:{}{}", id_, stream_.peer_address(), stream_.peer_port(),
            kind_ == ListenerKind::pop3s ? " (implicit TLS)" : "");
  stream_.set_write_timeout(cfg_.limits.command_timeout);
  stream_.set_session_deadline(cfg_.limits.login_timeout);  // cleared at login
  if (kind_ == ListenerKind::pop3s) {
    stream_.set_timeout(cfg_.limits.command_timeout);
    co_await stream_.handshake_server(*svc_.tls);
  }
  send(proto::ok(fmt::format("{} Tern POP3 server ready", cfg_.hostname)));
  for (;;) {
    if (errors_ >= cfg_.limits.max_errors) {
      send(proto::err("Too many errors; closing the connection"));
      co_await flush();
      why_ = "too many protocol errors";
      co_return;
    }
    std::size_t consumed = 0;
    auto ev = reader_.feed(in_, consumed);
    in_.erase(0, consumed);
    if (ev.kind != proto::Event::need_more) {
      clock_.next_command();
      line_started_ = false;
    }
    switch (ev.kind) {
      case proto::Event::need_more:
        // RFC 1939 3's ten-minute autologout between commands; a command's line, once begun, must
        // arrive whole within command_timeout.
        line_started_ = line_started_ || consumed > 0;
        clock_.arm(line_started_, idle_timeout, cfg_.limits.command_timeout);
        if (!co_await fill()) co_return;
        break;
      case proto::Event::error:
        protocol_error();
        send(proto::err(ev.err.text));
        break;
      case proto::Event::sasl_response:  // only after expect_sasl_response(), which read_sasl_response() consumes
        break;
      case proto::Event::command:
        if (!co_await dispatch(ev.cmd)) {
          co_await flush();
          co_return;
        }
        if (state_ != State::authorization) stream_.clear_session_deadline();  // logged in
        break;
    }
  }
}

namespace {

// Which command is valid in which state (RFC 1939 4-7, RFC 2449 5 for CAPA, RFC 2595 4 for STLS,
// RFC 6856 2 for UTF8).
struct Rule {
  Verb verb;
  bool authorization;
  bool transaction;
};
constexpr Rule rules[] = {
    {Verb::user, true, false}, {Verb::pass, true, false}, {Verb::apop, true, false},
    {Verb::auth, true, false}, {Verb::stls, true, false}, {Verb::utf8, true, false},
    {Verb::capa, true, true},  {Verb::quit, true, true},  {Verb::stat, false, true},
    {Verb::list, false, true}, {Verb::uidl, false, true}, {Verb::retr, false, true},
    {Verb::top, false, true},  {Verb::dele, false, true}, {Verb::noop, false, true},
    {Verb::rset, false, true},
};

}  // namespace

net::awaitable<bool> Session::dispatch(const Command& cmd) {
  bool allowed = false;
  for (auto& r : rules)
    if (r.verb == cmd.verb) allowed = state_ == State::authorization ? r.authorization : r.transaction;
  if (!allowed) {
    protocol_error();
    send(proto::err(state_ == State::authorization ? "Not logged in" : "Not valid after login"));
    co_return true;
  }
  switch (cmd.verb) {
    case Verb::capa: cmd_capa(); break;
    case Verb::stls: co_await cmd_stls(); break;
    case Verb::utf8: cmd_utf8(); break;
    case Verb::user: cmd_user(cmd); break;
    case Verb::pass: co_await cmd_pass(cmd); break;
    case Verb::auth: co_await cmd_auth(cmd); break;
    case Verb::apop:
      // APOP needs the password in a form that can be recovered; Tern stores only crypt(3) hashes.
      protocol_error();
      send(proto::err("APOP is not supported; use USER/PASS or AUTH over TLS"));
      break;
    case Verb::stat: cmd_stat(); break;
    case Verb::list: cmd_list(cmd, false); break;
    case Verb::uidl: cmd_list(cmd, true); break;
    case Verb::retr: co_await cmd_retr(cmd, false); break;
    case Verb::top: co_await cmd_retr(cmd, true); break;
    case Verb::dele: cmd_dele(cmd); break;
    case Verb::rset: cmd_rset(); break;
    case Verb::noop: send(proto::ok("")); break;
    case Verb::quit: co_await cmd_quit(); co_return false;
    case Verb::unknown: break;  // the reader reports unknown commands as errors
  }
  co_return true;
}

}  // namespace tern::pop3d
