// http/events: a long-lived response body, for Server-Sent Events (HTML Living Standard 9.2,
// text/event-stream): the console's live log (api/logs).
//
// A handler answers with Response::events set; the session writes the head (no Content-Length, the
// body ends with the connection), then asks the source for text again and again and writes it. While
// the source has nothing for keepalive_interval, the session writes a comment line (": keepalive")
// so proxies and the browser keep the connection. The stream has no request deadline: it ends when
// the client closes the connection (or sends anything at all), when a write does not finish within
// the write timeout (a client that stopped reading), or when the server stops.
#pragma once
#include <chrono>
#include <string>

#include "net/net.hpp"

namespace tern::http {

inline constexpr std::chrono::seconds keepalive_interval{15};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Waits at most `wait` for events and returns them in the text/event-stream format, "" when none
  // came. Runs on the connection's executor; must return soon when its wait is cancelled.
  virtual net::awaitable<std::string> next(std::chrono::seconds wait) = 0;
};

}  // namespace tern::http
