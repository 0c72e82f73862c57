#include "http/message.hpp"

#include <algorithm>

#include <boost/beast/http/status.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::http {
namespace json = boost::json;

namespace {

// The console and webmail load nothing from elsewhere and run no inline script; no page may be framed
// (clickjacking), and no link tells another site where the user came from.
constexpr std::string_view security_headers =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Content-Type-Options: nosniff\r\n";
// RFC 6797: only over HTTPS; a year, as browsers' preload lists ask.
constexpr std::string_view hsts = "Strict-Transport-Security: max-age=31536000\r\n";

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::string Request::path_text() const {
  std::string out;
  for (auto& s : path) out += "/" + s;
  return out.empty() ? "/" : out;
}

Response json_response(unsigned status, const json::value& value) {
  Response r;
  r.status = status;
  r.body = json::serialize(value) + "\n";
  return r;
}

Response error_response(unsigned status, std::string_view code, std::string_view message) {
  return json_response(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

Response text_response(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

std::string serialize(const Response& response, bool tls, bool keep_alive, bool head_only) {
  auto reason = boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(response.status));
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", response.status, std::string_view(reason.data(), reason.size()));
  out += fmt::format("Content-Type: {}\r\n", response.content_type);
  for (auto& [k, v] : response.headers) out += fmt::format("{}: {}\r\n", k, v);
  // Nothing may be cached unless the response says so (the console's hashed assets): API answers and
  // metrics change from one request to the next.
  bool cache_control = std::any_of(response.headers.begin(), response.headers.end(),
                                   [](auto& h) { return iequals(h.first, "Cache-Control"); });
  if (!cache_control) out += "Cache-Control: no-store\r\n";
  out += security_headers;
  if (tls) out += hsts;
  if (response.events) {
    out += "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";  // no proxy may hold events back
    return out;
  }
  out += fmt::format("Content-Length: {}\r\n", response.body.size());
  out += keep_alive && !response.close ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

bool parse_target(std::string_view target, std::vector<std::string>& path, std::map<std::string, std::string>& query) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return false;
  path.clear();
  query.clear();
  for (auto seg : u->segments()) path.push_back(seg);
  // "/" has one empty segment in Boost.URL's view; a trailing slash another: both are dropped, so
  // "/api/v1/users/" routes as "/api/v1/users".
  while (!path.empty() && path.back().empty()) path.pop_back();
  for (auto p : u->params()) query[p.key] = p.value;
  return true;
}

}  // namespace tern::http
