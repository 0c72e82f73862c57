// IDLE (RFC 2177; RFC 9051 6.3.13):  idle = "IDLE" CRLF "DONE"
//
// While the client idles, a ticker coroutine on the session's strand looks at the mailslot's change
// counter every half second and sends what changed (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS) at once, so
// mail delivered by SMTP reaches an idling client within a second. The session's own read waits for
// "DONE" meanwhile; only the ticker writes until the client has said it (the strand keeps the two
// from running at the same time, and cmd_idle waits for the ticker to finish before it returns).
#include <fmt/format.h>

#include "base/strings.hpp"
#include "imapd/session.hpp"

namespace tern::imapd {

namespace {
constexpr std::chrono::milliseconds tick{500};
}  // namespace

net::awaitable<void> Session::idle_ticker() {
  try {
    while (idling_) {
      // kick() (shutdown) cancels this wait so that BYE goes out at once.
      boost::asio::steady_timer timer(stream_.socket().get_executor(), tick);
      tick_timer_ = &timer;
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      tick_timer_ = nullptr;
      if (!idling_) break;
      if (svc_.stopping && svc_.stopping->load()) {
        // RFC 9051 7.1.5: a server going down says BYE first; the read of DONE then ends.
        send("* BYE Server shutting down\r\n");
        co_await flush();
        why_ = "server shutting down";
        stream_.close();
        break;
      }
      co_await refresh(true);
      if (!out_.empty()) {
        co_await flush();
        stream_.set_timeout(idle_timeout);  // flush() set the shorter write deadline
      }
    }
  } catch (const std::exception&) {
    // The connection failed; the session's read sees that too and ends the session.
  }
  ticker_running_ = false;
}

net::awaitable<void> Session::cmd_idle(const Command& cmd) {
  send("+ idling\r\n");
  co_await flush();
  idling_ = true;
  ticker_running_ = true;  // before the spawn: cmd_idle must wait for it however soon DONE comes
  boost::asio::co_spawn(stream_.socket().get_executor(), idle_ticker(), boost::asio::detached);
  std::optional<std::string> line;
  std::exception_ptr failure;
  try {
    line = co_await read_line(1024);
  } catch (...) {
    failure = std::current_exception();
  }
  idling_ = false;
  // The ticker may be in the middle of a store query or a write: let it finish (it holds `this`).
  while (ticker_running_) co_await pause(std::chrono::milliseconds(20));
  if (failure) std::rethrow_exception(failure);
  if (!line || !iequals(trim(*line), "DONE")) {
    bad(cmd, "Expected DONE");
    co_return;
  }
  ok(cmd, "IDLE terminated");
}

}  // namespace tern::imapd
