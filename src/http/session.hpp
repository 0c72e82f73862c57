// http: the HTTP service (DESIGN.md): listeners `http` and `https`, one coroutine per connection on the
// server's event loop, HTTP/1.1 with keep-alive and pipelining (answered in order).
//
// What is served: /healthz, /metrics (Prometheus), and whatever the application mounts under a
// path prefix (the JSON API under /api/). The `http` listener answers /healthz and /.well-known/
// itself and redirects everything else to HTTPS (308, keeping the method and body, RFC 9110 15.4.9).
//
// Security posture: requests are parsed by Beast (http/reader) with a 16 KiB header and a 1 MiB
// body limit (431 and 413, then the connection is closed after the rest of the client's sending is
// read and dropped for a moment, so the client sees the answer instead of a reset); every read has a
// deadline: an idle keep-alive connection is closed after `idle_timeout`, a request that has begun
// must arrive within `request_timeout` (extended while the body arrives at [limits] min_data_rate), so
// a client dripping octets is cut off (with 408); every response carries the security headers of
// http/message. Authentication is the mounted handler's business (api/).
//
// An answer may be an event stream (http/events, the live log): after its head the connection carries
// only that stream, without the request deadline, until the client closes or sends anything, a write
// does not finish within the write timeout, or the server stops (Stream::interrupt cancels the wait).
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "net/net.hpp"

namespace tern::http {

enum class ListenerKind { http, https };

using Handler = std::function<net::awaitable<Response>(Request&)>;

// A handler for every path under `prefix` (its segments: {"api"}).
struct Mount {
  std::vector<std::string> prefix;
  Handler handler;
};

// What sessions use; owned by the application.
struct Services {
  std::shared_ptr<const config::Config> config;  // replaced on reload; sessions keep their snapshot
  std::shared_ptr<net::ssl::context> tls;
  std::function<std::string()> metrics;  // the text of /metrics
  std::vector<Mount> mounts;
  const std::atomic<bool>* stopping = nullptr;  // the server is stopping: no more keep-alive
};

// The deadlines of a connection (see above), from [limits] command_timeout, capped.
std::chrono::seconds idle_timeout(const config::Config& cfg);
std::chrono::seconds request_timeout(const config::Config& cfg);

net::awaitable<void> run_session(std::unique_ptr<net::Stream> stream, ListenerKind kind, Services services,
                                 std::string session_id);

// The answer of the site itself to a request (no I/O): health, metrics, the redirect, the mounts'
// prefixes. Public for the unit tests.
class Site {
 public:
  Site(ListenerKind kind, const Services& services) : kind_(kind), svc_(services) {}
  net::awaitable<Response> respond(Request& req) const;
  // The redirect of the http listener: https://HOST[:PORT]/target, HOST from the request's Host
  // header when it is a plain host name or address (else the configured hostname), PORT the first
  // https listener's (none when 443).
  Response redirect(const Request& req) const;

 private:
  ListenerKind kind_;
  const Services& svc_;
};

}  // namespace tern::http
