// api/logs: the live log of the console, from the server's ring of recent lines (base/log_ring):
//
//   GET /api/v1/logs?q=&level=&protocol=&since=&until=&limit=   the newest matching lines, oldest first
//   GET /api/v1/logs/stream?q=&level=&protocol=                 Server-Sent Events (http/events)
//
// A stream sends each new matching line as `id: N` / `event: log` / `data: {line}`; a subscriber's
// queue is bounded (log::Subscriber), so a client slower than the log gets `event: dropped` with the
// number of lines it missed instead of holding the server's memory. A client that reconnects with
// Last-Event-ID (EventSource does it by itself) first gets the lines after that id still in the ring.
// Both are read-only; the filters are checked (400 naming the parameter) before anything is sent.
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/api.hpp"
#include "base/log_ring.hpp"
#include "base/strings.hpp"
#include "http/events.hpp"

namespace tern::api {
namespace json = boost::json;
namespace asio = boost::asio;
using http::Response;

namespace {

constexpr std::size_t default_lines = 100;
constexpr std::size_t max_lines = log::Ring::default_lines;
constexpr std::size_t max_query = 256;  // q and protocol

json::object line_json(const log::Line& l) {
  return {{"id", l.id}, {"time", l.time}, {"level", log::level_name(l.level)}, {"protocol", l.protocol}, {"text", l.text}};
}

std::string_view param(const http::Request& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string_view() : std::string_view(it->second);
}

Error invalid(std::string message) { return Error{std::move(message), Error::Kind::invalid}; }

// q, level and protocol; an empty parameter filters nothing.
Result<log::Filter> filter_of(const http::Request& req) {
  log::Filter f;
  f.q = param(req, "q");
  if (f.q.size() > max_query) return invalid(fmt::format("q must be at most {} characters", max_query));
  if (auto level = param(req, "level"); !level.empty()) {
    auto l = log::parse_level(level);
    if (!l) return invalid("level must be debug, info, warn or error");
    f.min_level = *l;
  }
  if (auto protocol = param(req, "protocol"); !protocol.empty()) {
    if (protocol.size() > max_query) return invalid("protocol is too long");
    f.protocol = std::string(protocol);
  }
  return f;
}

// A Unix time parameter (since, until), or `fallback` when absent.
Result<std::int64_t> time_param(const http::Request& req, const std::string& name, std::int64_t fallback) {
  auto v = param(req, name);
  if (v.empty()) return fallback;
  auto n = parse_u64(v);
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return invalid(fmt::format("{} must be a Unix time in seconds", name));
  return static_cast<std::int64_t>(*n);
}

// The subscriber of one stream. It joins the ring at its first next(), on the connection's executor
// (its wake-up posts there), from the line after `after`: the newest line when the request arrived,
// or the client's Last-Event-ID.
class LogEvents : public http::EventSource {
 public:
  LogEvents(log::Filter filter, std::uint64_t after) : filter_(std::move(filter)), after_(after) {}
  ~LogEvents() override {
    if (sub_) log::ring().unsubscribe(sub_.get());
  }

  net::awaitable<std::string> next(std::chrono::seconds wait) override {
    if (!sub_) {
      auto ex = co_await asio::this_coro::executor;
      timer_ = std::make_shared<asio::steady_timer>(ex);
      std::weak_ptr<asio::steady_timer> weak = timer_;
      // Called with the ring's lock held, from any thread: only posts.
      auto wake = [weak, ex] {
        asio::post(ex, [weak] {
          if (auto t = weak.lock()) t->cancel();
        });
      };
      sub_ = std::make_shared<log::Subscriber>(filter_, std::move(wake));
      log::ring().subscribe(sub_, after_);
    }
    auto batch = sub_->take();
    if (batch.empty()) {
      timer_->expires_after(wait);
      boost::system::error_code ec;
      co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      batch = sub_->take();
    }
    co_return format(batch);
  }

  static std::string format(const log::Subscriber::Batch& batch) {
    std::string out;
    for (auto& l : batch.lines)
      out += fmt::format("id: {}\nevent: log\ndata: {}\n\n", l.id, json::serialize(line_json(l)));
    // The lines dropped came after those kept (a full queue refuses the newest).
    if (batch.dropped) out += fmt::format("event: dropped\ndata: {{\"count\":{}}}\n\n", batch.dropped);
    return out;
  }

 private:
  log::Filter filter_;
  std::uint64_t after_;
  std::shared_ptr<asio::steady_timer> timer_;
  std::shared_ptr<log::Subscriber> sub_;
};

}  // namespace

Response Api::logs_search(Call& c) {
  auto f = filter_of(c.req);
  if (!f) return error_of(f.error());
  auto since = time_param(c.req, "since", 0);
  if (!since) return error_of(since.error());
  auto until = time_param(c.req, "until", std::numeric_limits<std::int64_t>::max());
  if (!until) return error_of(until.error());
  f->since = *since;
  f->until = *until;
  std::size_t limit = default_lines;
  if (auto v = param(c.req, "limit"); !v.empty()) {
    auto n = parse_u64(v);
    if (!n || *n == 0 || *n > max_lines) return error_of(invalid(fmt::format("limit must be a number from 1 to {}", max_lines)));
    limit = static_cast<std::size_t>(*n);
  }
  json::array lines;
  for (auto& l : log::ring().search(*f, limit)) lines.push_back(line_json(l));
  return http::json_response(http::status::ok, json::object{{"lines", std::move(lines)}});
}

Response Api::logs_stream(Call& c) {
  auto f = filter_of(c.req);
  if (!f) return error_of(f.error());
  std::uint64_t after = log::ring().last_id();
  if (auto last = c.req.header("Last-Event-ID"); !last.empty()) {
    auto id = parse_u64(trim(last));
    if (!id) return error_of(invalid("Last-Event-ID must be the id of a log line"));
    after = std::min(*id, after);
  }
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.events = std::make_shared<LogEvents>(std::move(*f), after);
  return r;
}

}  // namespace tern::api
