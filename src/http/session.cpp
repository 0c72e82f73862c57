#include "http/session.hpp"

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/strings.hpp"
#include "http/events.hpp"
#include "http/reader.hpp"

namespace tern::http {
namespace {

// A request that broke a limit or the grammar is answered, then what the client still sends is read
// and dropped for this long (at most drain_limit octets) before the close, so that the client reads
// the answer instead of a connection reset (the lingering close of RFC 9112 9.6).
constexpr std::chrono::seconds drain_time{2};
constexpr std::size_t drain_limit = 4 * 1024 * 1024;

constexpr std::string_view timeout_reply =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

bool is_under(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
  return path.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// A Host header's host part when it is a plain name, IPv4 or bracketed IPv6 literal; "" otherwise.
std::string host_of(std::string_view host) {
  if (host.starts_with('[')) {
    auto end = host.find(']');
    if (end == std::string_view::npos) return {};
    auto inside = host.substr(1, end - 1);
    for (unsigned char c : inside)
      if (!(std::isxdigit(c) || c == ':' || c == '.')) return {};
    return std::string(host.substr(0, end + 1));
  }
  host = host.substr(0, host.find(':'));
  if (host.empty() || host.size() > 253) return {};
  for (unsigned char c : host)
    if (!(std::isalnum(c) || c == '-' || c == '.')) return {};
  return std::string(host);
}

class Session {
 public:
  Session(net::Stream& stream, ListenerKind kind, Services services, std::string id)
      : stream_(stream), kind_(kind), svc_(std::move(services)), cfg_(*svc_.config), id_(std::move(id)),
        site_(kind_, svc_) {}

  net::awaitable<void> run();
  bool request_started() const { return reader_.started() || !in_.empty(); }
  std::size_t requests() const { return requests_; }

 private:
  net::awaitable<void> answer(Request& req);
  net::awaitable<void> stream_events(EventSource& source);
  net::awaitable<void> client_gone();
  net::awaitable<void> refuse_and_drain();
  bool stopping() const { return svc_.stopping && *svc_.stopping; }

  net::Stream& stream_;
  net::CommandClock clock_{stream_};
  ListenerKind kind_;
  Services svc_;
  const config::Config& cfg_;
  std::string id_;
  Site site_;
  RequestReader reader_;
  std::string in_;
  std::size_t requests_ = 0;
};

net::awaitable<void> Session::run() {
  stream_.set_write_timeout(request_timeout(cfg_));
  if (kind_ == ListenerKind::https) {
    stream_.set_timeout(request_timeout(cfg_));
    co_await stream_.handshake_server(*svc_.tls);
  }
  for (;;) {
    clock_.arm(request_started(), idle_timeout(cfg_), request_timeout(cfg_), cfg_.limits.min_data_rate);
    auto state = reader_.feed(in_);
    if (state == RequestReader::State::need_more) {
      bool more = co_await stream_.read_append(in_);
      if (!more) co_return;
      continue;
    }
    clock_.next_command();
    if (state == RequestReader::State::error) {
      co_await refuse_and_drain();
      co_return;
    }
    Request req = reader_.take();
    ++requests_;
    co_await answer(req);
    if (!req.keep_alive || (svc_.stopping && *svc_.stopping)) co_return;
  }
}

net::awaitable<void> Session::answer(Request& req) {
  metrics::Timer timer(metrics::http_request_seconds);
  req.peer = stream_.peer_address();
  req.session_id = id_;
  req.tls = stream_.is_tls();
  Response res;
  if (!parse_target(req.target, req.path, req.query))
    res = error_response(status::bad_request, "bad_request", "the request target is not a path");
  else
    res = co_await site_.respond(req);
  bool keep = req.keep_alive && !res.close && !res.events && !stopping();
  req.keep_alive = keep;
  metrics::http_requests.add(fmt::format("{}xx", res.status / 100));
  auto what = res.events ? std::string("event stream") : fmt::format("{} octets", res.body.size());
  log::info("http {}: {} {} {} {} ({})", id_, req.peer, log_safe(req.method, 16), log_safe(req.target, 200), res.status,
            what);
  bool head_only = req.method == "HEAD";
  auto out = serialize(res, req.tls, keep, head_only);
  co_await stream_.write(out);
  if (res.events) timer.dismiss();  // a stream lasts as long as its client: no request time
  timer.stop();
  if (res.events && !head_only) co_await stream_events(*res.events);
}

net::awaitable<void> Session::stream_events(EventSource& source) {
  using namespace boost::asio::experimental::awaitable_operators;
  // No request deadline while the stream lasts (each write keeps its write timeout).
  stream_.set_timeout(std::chrono::hours(24 * 365));
  while (!stopping()) {
    auto either = source.next(keepalive_interval) || client_gone();
    auto r = co_await std::move(either);
    if (r.index() == 1) co_return;
    auto text = std::get<0>(std::move(r));
    if (text.empty()) text = ": keepalive\n\n";
    co_await stream_.write(text);
  }
}

// Ends when the client closes its side, sends anything (a stream takes no further request), or the
// server interrupts the connection at its stop (which cancels this wait).
net::awaitable<void> Session::client_gone() {
  boost::system::error_code ec;
  co_await stream_.socket().async_wait(net::tcp::socket::wait_read, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

net::awaitable<void> Session::refuse_and_drain() {
  log::info("http {}: {}: {} (closing)", id_, stream_.peer_address(), reader_.error_text());
  metrics::http_requests.add(fmt::format("{}xx", reader_.error_status() / 100));
  auto code = reader_.error_status() == status::payload_too_large        ? "too_large"
              : reader_.error_status() == status::header_fields_too_large ? "header_too_large"
                                                                          : "bad_request";
  auto res = error_response(reader_.error_status(), code, reader_.error_text());
  auto out = serialize(res, stream_.is_tls(), false);
  co_await stream_.write(out);
  stream_.set_timeout(drain_time);
  std::size_t dropped = 0;
  std::string scratch;
  while (dropped < drain_limit) {
    scratch.clear();
    bool more = co_await stream_.read_append(scratch);
    if (!more) break;
    dropped += scratch.size();
  }
}

}  // namespace

std::chrono::seconds idle_timeout(const config::Config& cfg) {
  return std::min(cfg.limits.command_timeout, std::chrono::seconds(60));
}

std::chrono::seconds request_timeout(const config::Config& cfg) {
  return std::min(cfg.limits.command_timeout, std::chrono::seconds(30));
}

Response Site::redirect(const Request& req) const {
  auto host = host_of(req.header("Host"));
  if (host.empty()) host = svc_.config->hostname;
  std::uint16_t port = 443;
  if (auto it = svc_.config->listen.find("https"); it != svc_.config->listen.end() && !it->second.empty())
    port = it->second.front().port;
  Response r = error_response(status::permanent_redirect, "use_https", "this service is served over HTTPS");
  r.headers.emplace_back("Location", fmt::format("https://{}{}{}", host, port == 443 ? "" : fmt::format(":{}", port),
                                                 req.target));
  return r;
}

net::awaitable<Response> Site::respond(Request& req) const {
  auto& path = req.path;
  bool well_known = !path.empty() && path.front() == ".well-known";
  bool health = path.size() == 1 && path.front() == "healthz";
  if (kind_ == ListenerKind::http && !well_known && !health) co_return redirect(req);
  bool get = req.method == "GET" || req.method == "HEAD";
  if (health || (path.size() == 1 && path.front() == "metrics" && svc_.metrics)) {
    if (!get) {
      auto r = error_response(status::method_not_allowed, "method_not_allowed", "only GET and HEAD");
      r.headers.emplace_back("Allow", "GET, HEAD");
      co_return r;
    }
    if (health) co_return text_response(status::ok, "ok\n");
    co_return text_response(status::ok, svc_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  }
  for (auto& m : svc_.mounts)
    if (is_under(path, m.prefix)) co_return co_await m.handler(req);
  co_return error_response(status::not_found, "not_found", "nothing here");
}

net::awaitable<void> run_session(std::unique_ptr<net::Stream> owned, ListenerKind kind, Services services,
                                 std::string session_id) {
  net::Stream& stream = *owned;
  Session s(stream, kind, std::move(services), session_id);
  std::string why = "client closed the connection";
  try {
    stream.start_watchdog();
    co_await s.run();
  } catch (const boost::system::system_error& e) {
    why = stream.describe_end(e);
  } catch (const std::exception& e) {
    log::error("http {}: internal error: {}", session_id, e.what());
    why = "internal error";
  }
  // A request cut off by its deadline is told so (RFC 9110 15.5.9); an idle keep-alive connection is
  // just closed (RFC 9112 9.5).
  if (stream.timed_out() && s.request_started() && !stream.interrupted()) co_await stream.send_farewell(timeout_reply);
  log::debug("http {}: disconnect from {} after {} request(s): {}", session_id, stream.peer_address(), s.requests(), why);
  stream.close();
}

}  // namespace tern::http
