// http/message: a parsed HTTP/1.1 request and the response a handler returns, apart from I/O.
//
// Every response leaves through serialize(), which adds the headers every page must carry (issue 15):
// a strict Content-Security-Policy (no inline script, no framing), X-Frame-Options, Referrer-Policy,
// X-Content-Type-Options, and HSTS on HTTPS. Nothing a client sent is ever copied into a header
// without being checked (a redirect's host) or coming from Beast's parser, which refuses CR and LF.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace tern::http {

class EventSource;  // http/events

// Status codes Tern sends, by name (STYLE.md: no bare numbers).
namespace status {
inline constexpr unsigned ok = 200, created = 201, permanent_redirect = 308, bad_request = 400,
                          unauthorized = 401, forbidden = 403, not_found = 404, method_not_allowed = 405,
                          request_timeout = 408, conflict = 409, payload_too_large = 413,
                          unsupported_media_type = 415, too_many_requests = 429, header_fields_too_large = 431,
                          internal_error = 500, not_implemented = 501, unavailable = 503, insufficient_storage = 507;
}  // namespace status

struct Request {
  std::string method;                        // as sent: "GET"
  std::string target;                        // the request-target as sent: "/api/v1/queue?limit=10"
  std::vector<std::string> path;             // its path's segments, percent-decoded
  std::map<std::string, std::string> query;  // its query's parameters, decoded (the last of a repeated key)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;
  // Set by the session:
  std::string peer;        // the client's IP address
  std::string session_id;  // for logs
  bool tls = false;

  // The value of the first header named `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
  // The path as one string, for logs: "/api/v1/users".
  std::string path_text() const;
};

struct Response {
  unsigned status = status::ok;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond those serialize() adds
  bool close = false;  // end the connection after this response
  // A stream of events instead of `body` (http/events): sent without Content-Length, then the
  // connection ends.
  std::shared_ptr<EventSource> events;
};

// `value` serialized, with a final newline.
Response json_response(unsigned status, const boost::json::value& value);
// {"error": {"code": CODE, "message": MESSAGE}} (CONTRACT.md "HTTP API").
Response error_response(unsigned status, std::string_view code, std::string_view message);
Response text_response(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");

// The response as octets on the wire: status line, the caller's headers, the security headers
// (HSTS when `tls`), Content-Length, Connection; no body for HEAD (`head_only`). An event stream's
// head has no Content-Length and says Connection: close.
std::string serialize(const Response& response, bool tls, bool keep_alive, bool head_only = false);

// Splits a request-target in origin form ("/a/b%40c?x=1") into decoded segments and parameters;
// false when it is not in origin form or not valid.
bool parse_target(std::string_view target, std::vector<std::string>& path, std::map<std::string, std::string>& query);

}  // namespace tern::http
