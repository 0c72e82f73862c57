#include "smtpd/session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/strings.hpp"
#include "smtpd/replies.hpp"

namespace tern::smtpd {

using smtp::proto::Verb;

net::awaitable<void> run_session(std::unique_ptr<net::Stream> owned, ListenerKind kind, Services services,
                                 std::string session_id) {
  net::Stream& stream = *owned;
  const char* why = "client quit";
  // RFC 5321 4.5.3.2.7: a server that times out should say so (421) before it closes, as Postfix does.
  auto hostname = services.config->hostname;
  auto timeout_reply =
      smtp::proto::Reply{code::unavailable, "4.4.2", fmt::format("{} Error: timeout exceeded", hostname)}.format();
  try {
    stream.start_watchdog();
    Session s(stream, kind, std::move(services), session_id);
    co_await s.run();
  } catch (const boost::system::system_error& e) {
    why = stream.timed_out() ? "timeout" : e.code() == boost::asio::error::eof ? "client closed the connection" : nullptr;
    if (stream.interrupted()) why = "server stopping";
    if (!why) log::info("smtp {}: connection ended: {}", session_id, e.code().message());
  } catch (const std::exception& e) {
    why = nullptr;
    log::error("smtp {}: internal error: {}", session_id, e.what());
  }
  if (stream.interrupted()) {
    // RFC 5321 3.8: a server shutting down answers 421 (a message in DATA was not accepted). A named
    // string, never a temporary inside the co_await: GCC 12 destroys such temporaries twice.
    auto stopping_reply =
        smtp::proto::Reply{code::unavailable, "4.3.2", fmt::format("{} Service shutting down", hostname)}.format();
    co_await stream.send_farewell(stopping_reply);
    log::info("smtp {}: disconnect from {}: server stopping", session_id, stream.peer_address());
  } else if (stream.timed_out()) {
    co_await stream.send_farewell(timeout_reply);
    log::info("smtp {}: disconnect from {}: timeout", session_id, stream.peer_address());
  } else if (why) {
    log::debug("smtp {}: disconnect from {}: {}", session_id, stream.peer_address(), why);
  }
  stream.close();
}

Session::Session(net::Stream& stream, ListenerKind kind, Services services, std::string id)
    : stream_(stream), kind_(kind), svc_(std::move(services)), cfg_(*svc_.config), id_(std::move(id)) {}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  reply(Reply{code, std::string(enhanced), std::string(text)});
}
void Session::reply(const Reply& r) {
  if (r.code >= 400 && !verb_.empty()) log_reject(r);
  out_ += r.format();
}

// Every refused transaction step, one line as Postfix's "NOQUEUE: reject:" (client, command, reply,
// sender, recipient, protocol, HELO name), so an administrator finds why a message never arrived.
void Session::log_reject(const Reply& r) {
  std::string from = tx_ && tx_->mail.sender ? tx_->mail.sender->str() : verb_ == "MAIL" ? arg_address_ : "";
  std::string to = verb_ == "RCPT" ? arg_address_ : "";
  if (to.empty() && tx_ && !tx_->rcpts.empty()) to = tx_->rcpts.front().recipient.str();
  if (!tx_ && (verb_ == "DATA" || verb_ == "BDAT") && r.code != code::bad_sequence) {  // ended: its copy
    from = data_from_;
    to = data_to_;
    metrics::messages_rejected.add();
  }
  metrics::smtp_rejects.add(verb_);
  log::info("smtp {}: NOQUEUE: reject: {} from {}: {} {} {}; from=<{}> to=<{}> proto={} helo=<{}>", id_, verb_,
            stream_.peer_address(), r.code, r.enhanced, log_safe(r.text), log_safe(from), log_safe(to),
            with_protocol(false), log_safe(helo_));
}

// The address of "FROM:<addr> ..." or "TO:<addr> ..." as the client wrote it, for the reject log line.
static std::string address_in(std::string_view arg) {
  auto open = arg.find('<');
  auto close = arg.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::string(arg.substr(0, 200));
  return std::string(arg.substr(open + 1, std::min<std::size_t>(close - open - 1, 200)));
}

filter::Context Session::filter_context() const {
  filter::Context ctx;
  ctx.notes = &filter_notes_;
  ctx.config = &cfg_;
  ctx.session_id = id_;
  ctx.client_address = stream_.peer_address();
  ctx.helo = helo_;
  ctx.tls = stream_.is_tls();
  ctx.user = user_;
  ctx.mx = kind_ == ListenerKind::smtp;
  if (tx_) {
    ctx.mail = &tx_->mail;
    ctx.recipients = &tx_->rcpts;
  }
  return ctx;
}

net::awaitable<bool> Session::filter_allows(filter::Step step, const filter::Context& ctx, filter::Verdict* verdict) {
  filter::Verdict v = co_await svc_.pipeline->run(step, ctx);
  if (!v.reasons.empty())
    // The stages' own words (the spam stage's rules, the authentication results) in full; what a
    // client wrote inside them is already cut short by the stages.
    log::info("smtp {}: filter at {}: {}", id_, filter::step_name(step),
              log_safe(fmt::format("{}", fmt::join(v.reasons, "; ")), 2000));
  bool allowed = !v.refused();
  if (!allowed) reply(*v.reply);
  if (verdict) *verdict = std::move(v);
  co_return allowed;
}

net::awaitable<void> Session::flush() {
  if (out_.empty()) co_return;  // a write has its own deadline: the read deadline stays as it was
  co_await stream_.write_pending(out_);
}

net::awaitable<bool> Session::fill() {
  co_await flush();  // never wait for input with replies unsent (RFC 2920 3.1)
  bool more = co_await stream_.read_append(in_);
  co_return more;
}

bool Session::tls_offered() const { return !stream_.is_tls() && svc_.tls && kind_ != ListenerKind::submissions; }
bool Session::auth_offered() const { return user_.empty() && (stream_.is_tls() || cfg_.allow_plaintext); }

std::string Session::with_protocol(bool smtputf8) const {
  std::string p = smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
  if (stream_.is_tls()) p += "S";
  if (!user_.empty()) p += "A";
  return p;
}

void Session::protocol_error() { ++errors_; }

std::chrono::milliseconds tarpit_delay(const config::Limits& l, std::uint32_t errors, std::uint32_t unknown) {
  std::chrono::milliseconds d{0};
  if (errors > l.tarpit_after) d = l.tarpit_delay * (errors - l.tarpit_after);
  // A dictionary attack (many unknown recipients): the longest delay at once.
  if (l.unknown_recipients_delay_after && unknown >= l.unknown_recipients_delay_after) d = l.tarpit_max;
  return std::min(d, l.tarpit_max);
}

net::awaitable<void> Session::tarpit() {
  if (!user_.empty()) co_return;  // never an authenticated session
  auto delay = tarpit_delay(cfg_.limits, errors_ + refused_rcpts_, unknown_rcpts_);
  if (delay.count() == 0) co_return;
  if (delay != tarpitted_) {
    tarpitted_ = delay;
    log::info("smtp {}: tarpit: {} error(s), {} unknown recipient(s) from {}: each reply delayed {} ms", id_,
              errors_ + refused_rcpts_, unknown_rcpts_, stream_.peer_address(), delay.count());
  }
  co_await flush();  // what was answered so far goes out now; the next reply waits
  boost::asio::steady_timer timer(stream_.socket().get_executor(), delay);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

net::awaitable<void> Session::run() {
  log::info("smtp {}: connect from {}:{}{}", id_, stream_.peer_address(), stream_.peer_port(),
            kind_ == ListenerKind::submissions ? " (implicit TLS)" : "");
  stream_.set_write_timeout(cfg_.limits.command_timeout);
  stream_.set_session_deadline(cfg_.limits.login_timeout);  // cleared by AUTH or the first MAIL
  if (kind_ == ListenerKind::submissions) {
    stream_.set_timeout(cfg_.limits.command_timeout);
    co_await stream_.handshake_server(*svc_.tls);
  }
  {
    auto ctx = filter_context();
    if (!co_await filter_allows(filter::Step::connect, ctx)) {  // its reply replaced the greeting
      co_await flush();
      co_return;
    }
  }
  reply(code::ready, "", fmt::format("{} ESMTP Tern", cfg_.hostname));
  while (!quit_) {
    if (errors_ >= cfg_.limits.max_errors) {
      reply(replies::too_many_errors);
      co_await flush();
      log::info("smtp {}: closed after {} protocol errors", id_, errors_);
      co_return;
    }
    std::size_t consumed = 0;
    auto ev = reader_.feed(in_, consumed);
    in_.erase(0, consumed);
    if (ev.kind != smtp::proto::CommandEvent::need_more) co_await tarpit();
    switch (ev.kind) {
      case smtp::proto::CommandEvent::need_more:
        // SMTP has no idle wait apart: RFC 5321 4.5.3.2.7's timeout covers waiting for and reading
        // the whole line, however it trickles in.
        co_await flush();
        clock_.arm(false, cfg_.limits.command_timeout, cfg_.limits.command_timeout);
        if (!co_await fill()) co_return;
        break;
      case smtp::proto::CommandEvent::error:
        clock_.next_command();
        protocol_error();
        reply(ev.err.reply);
        break;
      case smtp::proto::CommandEvent::command:
        clock_.next_command();
        if (!co_await dispatch(ev.cmd)) {
          co_await flush();
          co_return;
        }
        if (!user_.empty() || tx_) stream_.clear_session_deadline();  // logged in, or mail under way
        break;
    }
  }
  co_await flush();
}

net::awaitable<bool> Session::dispatch(const smtp::proto::Command& cmd) {
  // The transaction commands whose refusals are logged (log_reject).
  verb_ = cmd.verb == Verb::mail ? "MAIL" : cmd.verb == Verb::rcpt ? "RCPT" : cmd.verb == Verb::data ? "DATA"
        : cmd.verb == Verb::bdat ? "BDAT" : "";
  arg_address_ = cmd.verb == Verb::rcpt || cmd.verb == Verb::mail ? address_in(cmd.arg) : "";
  struct Done {
    std::string_view& verb;
    ~Done() { verb = {}; }
  } done{verb_};
  switch (cmd.verb) {
    case Verb::ehlo: co_await cmd_ehlo(cmd, true); break;
    case Verb::helo: co_await cmd_ehlo(cmd, false); break;
    case Verb::starttls: co_await cmd_starttls(); break;
    case Verb::auth: co_await cmd_auth(cmd.arg); break;
    case Verb::mail: co_await cmd_mail(cmd.arg); break;
    case Verb::rcpt: co_await cmd_rcpt(cmd.arg); break;
    case Verb::data: co_await cmd_data(); break;
    case Verb::bdat: co_await cmd_bdat(cmd.arg); break;
    case Verb::rset:
      tx_.reset();
      reply(replies::ok);
      break;
    case Verb::noop: reply(replies::ok); break;
    case Verb::quit:
      reply(replies::bye);
      quit_ = true;
      co_return false;
    case Verb::vrfy:
      // RFC 5321 3.5.3: 252 when we will not say whether the user exists (no address harvesting).
      reply(replies::cannot_vrfy);
      break;
    case Verb::expn: reply(replies::no_expn); break;
    case Verb::help:
      reply(replies::help);
      break;
    case Verb::unknown:
      protocol_error();
      reply(replies::unrecognized);
      break;
  }
  co_return true;
}

}  // namespace tern::smtpd
