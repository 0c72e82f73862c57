#include "api/api.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/codec.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;
namespace status = http::status;

namespace {

constexpr std::string_view token_scope = "admin";

Response unauthorized(std::string_view message) {
  auto r = http::error_response(status::unauthorized, "unauthorized", message);
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"tern\", charset=\"UTF-8\", Bearer realm=\"tern\"");
  return r;
}

bool is_json(std::string_view content_type) {
  auto media = trim(content_type.substr(0, content_type.find(';')));
  return iequals(media, "application/json");
}

// The refusal of a failed login, nothing when it succeeded.
std::optional<Response> login_refusal(const auth::LoginResult& result) {
  switch (result.outcome) {
    case auth::LoginResult::Outcome::ok: return std::nullopt;
    case auth::LoginResult::Outcome::refused:
      return http::error_response(status::too_many_requests, "throttled",
                                  "too many failed logins from this address; try again later");
    case auth::LoginResult::Outcome::unavailable:
      return http::error_response(status::unavailable, "temporary", "the directory cannot be read; try again");
    default: return unauthorized("authentication failed");
  }
}

std::string cookie_header(std::string_view value, std::chrono::seconds max_age) {
  return fmt::format("{}={}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}", session_cookie, value,
                     max_age.count());
}

}  // namespace

ErrorClass classify(Error::Kind kind) {
  using K = Error::Kind;
  switch (kind) {
    case K::not_found: return {status::not_found, "not_found"};
    case K::exists: return {status::conflict, "exists"};
    case K::in_use: return {status::conflict, "conflict"};
    case K::invalid:
    case K::limit: return {status::bad_request, "invalid"};
    case K::temporary: return {status::unavailable, "temporary"};
    case K::no_space:
    case K::over_quota: return {status::insufficient_storage, "no_space"};
    default: return {status::internal_error, "internal"};
  }
}

Response error_of(const Error& e) {
  auto c = classify(e.kind);
  if (c.status == status::internal_error) log::error("api: {}", e.message);
  return http::error_response(c.status, c.code, e.message);
}

Status only_fields(const json::object& body, std::initializer_list<std::string_view> known) {
  for (auto& [k, v] : body)
    if (std::find(known.begin(), known.end(), std::string_view(k)) == known.end())
      return Error{fmt::format("unknown field '{}'", std::string_view(k)), Error::Kind::invalid};
  return ok_status();
}

Result<std::string> string_field(const json::object& body, std::string_view key) {
  auto* v = body.if_contains(key);
  if (!v || !v->is_string()) return Error{fmt::format("'{}' must be a string", key), Error::Kind::invalid};
  return std::string(v->as_string());
}

Result<bool> bool_field(const json::object& body, std::string_view key, bool fallback) {
  auto* v = body.if_contains(key);
  if (!v) return fallback;
  if (!v->is_bool()) return Error{fmt::format("'{}' must be true or false", key), Error::Kind::invalid};
  return v->as_bool();
}

Result<std::vector<std::string>> strings_field(const json::object& body, std::string_view key) {
  auto* v = body.if_contains(key);
  std::vector<std::string> out;
  if (v && v->is_array())
    for (auto& x : v->as_array()) {
      if (!x.is_string()) break;
      out.emplace_back(x.as_string());
    }
  if (!v || !v->is_array() || out.size() != v->as_array().size())
    return Error{fmt::format("'{}' must be a list of strings", key), Error::Kind::invalid};
  return out;
}

Api::Api(Services services) : svc_(std::move(services)), audit_(svc_.data_dir / "audit.log") { add_routes(); }

void Api::add_routes() {
  auto on = [this](std::string_view method, std::string_view pattern, Response (Api::*fn)(Call&)) {
    router_.add(method, pattern, [this, fn](Call& c) { return (this->*fn)(c); });
  };
  on("GET", "/api/v1/users", &Api::users_list);
  on("POST", "/api/v1/users", &Api::users_add);
  on("GET", "/api/v1/users/{address}", &Api::users_get);
  on("PATCH", "/api/v1/users/{address}", &Api::users_patch);
  on("DELETE", "/api/v1/users/{address}", &Api::users_delete);
  on("GET", "/api/v1/archives", &Api::archives_list);
  on("POST", "/api/v1/archives", &Api::archives_add);
  on("DELETE", "/api/v1/archives/{address}", &Api::archives_delete);
  on("GET", "/api/v1/domains", &Api::domains_list);
  on("POST", "/api/v1/domains", &Api::domains_add);
  on("DELETE", "/api/v1/domains/{name}", &Api::domains_delete);
  on("GET", "/api/v1/domains/{name}/dns", &Api::domains_dns);
  on("GET", "/api/v1/aliases", &Api::aliases_list);
  on("POST", "/api/v1/aliases", &Api::aliases_add);
  on("PATCH", "/api/v1/aliases/{address}", &Api::aliases_patch);
  on("DELETE", "/api/v1/aliases/{address}", &Api::aliases_delete);
  on("GET", "/api/v1/queue", &Api::queue_list);
  on("POST", "/api/v1/queue/retry", &Api::queue_retry_all);
  on("GET", "/api/v1/queue/{id}", &Api::queue_show);
  on("POST", "/api/v1/queue/{id}/{action}", &Api::queue_action);
  on("GET", "/api/v1/quarantine", &Api::quarantine_list);
  on("GET", "/api/v1/quarantine/{id}", &Api::quarantine_show);
  on("POST", "/api/v1/quarantine/{id}/{action}", &Api::quarantine_action);
  on("GET", "/api/v1/lost-found", &Api::lost_list);
  on("GET", "/api/v1/lost-found/{name}", &Api::lost_show);
  on("POST", "/api/v1/lost-found/{name}/{action}", &Api::lost_action);
  on("POST", "/api/v1/check", &Api::check);
  on("POST", "/api/v1/spam/train", &Api::spam_train);
  on("GET", "/api/v1/spam/{address}", &Api::spam_show);
  on("GET", "/api/v1/dkim", &Api::dkim_list);
  on("POST", "/api/v1/dkim/{domain}/{action}", &Api::dkim_action);
  on("GET", "/api/v1/openapi.json", &Api::openapi);
  on("GET", "/api/v1/stats", &Api::stats_show);
  on("GET", "/api/v1/logs", &Api::logs_search);
  on("GET", "/api/v1/logs/stream", &Api::logs_stream);
}

net::awaitable<bool> Api::is_admin(const std::string& address) {
  auto* dir = svc_.directory;
  auto check = [dir, address] {
    auto slot = dir->find_mailslot(address);
    return slot && slot->admin && slot->enabled;  // a console session ends when its user is disabled
  };
  co_return *co_await net::offload(*svc_.pool, std::move(check));
}

net::awaitable<std::optional<Response>> Api::authenticate(http::Request& req, Caller& caller) {
  auto header = req.header("Authorization");
  auto space = header.find(' ');
  auto scheme = header.substr(0, space);
  auto value = space == std::string_view::npos ? std::string_view() : trim(header.substr(space + 1));
  auth::LoginAttempt attempt{"http", req.session_id, "", req.peer};
  auth::LoginResult result;
  auto cookie = cookie_value(req.header("Cookie"), session_cookie);
  if (header.empty() && !cookie.empty()) {
    // The console: its session cookie, and for a change the CSRF token the login gave it.
    auto session = sessions_.find(std::string(cookie));
    if (!session) co_return unauthorized("the session has ended; log in again");
    if (req.method != "GET" && req.method != "HEAD" && !same_secret(req.header("X-CSRF-Token"), session->csrf))
      co_return http::error_response(status::forbidden, "csrf", "missing or wrong X-CSRF-Token");
    result.outcome = auth::LoginResult::Outcome::ok;
    result.address = session->address;
  } else if (iequals(scheme, "Basic")) {
    // RFC 7617 2: base64 of "user-id:password"; the user-id cannot hold a colon, the password can.
    auto decoded = base64_decode(value);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) co_return unauthorized("malformed Basic credentials");
    auth::Credentials credentials{"", decoded->substr(0, colon), decoded->substr(colon + 1)};
    attempt.mechanism = "BASIC";
    result = co_await svc_.authenticator->login(credentials, attempt);
  } else if (iequals(scheme, "Bearer")) {
    const std::string token(value);
    const std::string scope(token_scope);
    attempt.mechanism = "BEARER";
    result = co_await svc_.authenticator->login_token(token, scope, attempt);
  } else {
    co_return unauthorized("authentication required (HTTP Basic or Bearer, or the console's session)");
  }
  if (auto refusal = login_refusal(result)) co_return refusal;
  auto address = result.address;
  bool admin = co_await is_admin(address);
  if (!admin) co_return http::error_response(status::forbidden, "forbidden", address + " is not an administrator");
  caller.address = address;
  caller.who = result.token_id ? fmt::format("{} (token {})", address, result.token_id) : address;
  co_return std::nullopt;
}

net::awaitable<Response> Api::session_endpoint(http::Request& req) {
  if (req.method == "POST") {
    if (!is_json(req.header("Content-Type")))
      co_return http::error_response(status::unsupported_media_type, "unsupported_media_type",
                                     "a POST must have Content-Type: application/json");
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object())
      co_return http::error_response(status::bad_request, "invalid", "the body must be a JSON object");
    auto& body = v.as_object();
    auto address = string_field(body, "address");
    auto password = string_field(body, "password");
    if (!address || !password) co_return error_of(!address ? address.error() : password.error());
    auth::Credentials credentials{"", *address, *password};
    auth::LoginAttempt attempt{"http", req.session_id, "SESSION", req.peer};
    auto result = co_await svc_.authenticator->login(credentials, attempt);
    if (auto refusal = login_refusal(result)) co_return std::move(*refusal);
    bool admin = co_await is_admin(result.address);
    if (!admin)
      co_return http::error_response(status::forbidden, "forbidden", result.address + " is not an administrator");
    // A cookie the browser already had is forgotten: the new session never reuses an id.
    if (auto old = cookie_value(req.header("Cookie"), session_cookie); !old.empty()) sessions_.end(std::string(old));
    auto s = sessions_.create(result.address);
    audit_.record(result.address, req.peer, "session.login", result.address, "ok");
    auto r = http::json_response(status::created, json::object{{"address", s.address}, {"csrf_token", s.csrf}});
    r.headers.emplace_back("Set-Cookie", cookie_header(s.id, std::chrono::duration_cast<std::chrono::seconds>(
                                                                 Sessions::lifetime)));
    co_return r;
  }
  if (req.method != "GET" && req.method != "HEAD" && req.method != "DELETE") {
    auto r = http::error_response(status::method_not_allowed, "method_not_allowed", "/api/v1/session takes POST, GET, DELETE");
    r.headers.emplace_back("Allow", "POST, GET, HEAD, DELETE");
    co_return r;
  }
  Caller caller;
  if (auto refusal = co_await authenticate(req, caller)) co_return std::move(*refusal);
  auto id = std::string(cookie_value(req.header("Cookie"), session_cookie));
  auto session = sessions_.find(id);
  if (!session || req.header("Authorization").size())
    co_return http::error_response(status::bad_request, "invalid", "this request has no console session");
  if (req.method == "DELETE") {
    sessions_.end(id);
    audit_.record(caller.who, req.peer, "session.logout", caller.address, "ok");
    auto r = http::json_response(status::ok, json::object{{"address", caller.address}});
    r.headers.emplace_back("Set-Cookie", cookie_header("", std::chrono::seconds(0)));
    co_return r;
  }
  // GET: who is logged in, and the CSRF token again (a reloaded page has lost it; a page of another
  // site cannot read this answer, there being no CORS).
  co_return http::json_response(status::ok, json::object{{"address", session->address}, {"csrf_token", session->csrf}});
}

net::awaitable<Response> Api::handle(http::Request& req) {
  auto r = co_await respond(req);
  // A browser that sees "Basic" in a 401 asks the user for a password in its own dialog, over the
  // console's login page: the console says who it is, and is offered Bearer alone (RFC 9110 11.6.1).
  if (r.status == status::unauthorized && !req.header("X-Requested-With").empty())
    for (auto& [k, v] : r.headers)
      if (k == "WWW-Authenticate") v = "Bearer realm=\"tern\"";
  co_return r;
}

net::awaitable<Response> Api::respond(http::Request& req) {
  if (req.path.size() == 3 && req.path[1] == "v1" && req.path[2] == "session") co_return co_await session_endpoint(req);
  auto m = router_.match(req.method, req.path);
  // The API's description is public (it holds no data), as the console's files are.
  bool public_route = m.handler && req.path.size() == 3 && req.path[2] == "openapi.json";
  Caller caller;
  if (!public_route)
    if (auto refusal = co_await authenticate(req, caller)) co_return std::move(*refusal);
  if (!m.handler) {
    if (m.allow.empty()) co_return http::error_response(status::not_found, "not_found", "no such endpoint");
    auto r = http::error_response(status::method_not_allowed, "method_not_allowed",
                                  fmt::format("{} takes {}", req.path_text(), m.allow));
    r.headers.emplace_back("Allow", m.allow);
    co_return r;
  }
  Call call{req, m.params, caller.who, {}};
  if (req.method == "POST" || req.method == "PATCH") {
    if (!is_json(req.header("Content-Type")))
      co_return http::error_response(status::unsupported_media_type, "unsupported_media_type",
                                     fmt::format("a {} must have Content-Type: application/json", req.method));
    if (!trim(req.body).empty()) {
      boost::system::error_code ec;
      auto v = json::parse(req.body, ec);
      if (ec || !v.is_object())
        co_return http::error_response(status::bad_request, "invalid", "the body must be a JSON object");
      call.body = std::move(v.as_object());
    }
  }
  const Handler* handler = m.handler;
  auto job = [handler, &call]() -> Response {
    try {
      return (*handler)(call);
    } catch (const std::exception& e) {
      return error_of(Error{e.what()});
    }
  };
  co_return *co_await net::offload(*svc_.pool, std::move(job));
}

Response Api::change(Call& c, std::string_view action, const std::string& target, unsigned status,
                     const std::function<Result<json::value>()>& f) {
  auto r = f();
  auto res = r ? http::json_response(status, *r) : error_of(r.error());
  audit_.record(c.who, c.req.peer, action, target, r ? "ok" : classify(r.error().kind).code);
  return res;
}

}  // namespace tern::api
