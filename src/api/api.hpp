// api: the JSON API under /api/v1 (docs/api.md, CONTRACT.md "HTTP API"), mounted on the http
// service. Everything it changes goes through the same functions as the command line (api/admin,
// store::Directory, spool::Spool's administration), so the two never disagree.
//
// Each request: authentication first (HTTP Basic with an administrator's address and password through
// the shared auth::Authenticator, so failures are throttled with IMAP's and SMTP's; or `Bearer TOKEN`,
// an API token of scope "admin"), then the administrator role (403 without it), then the route table
// (404, 405), then the handler on the worker pool (it reads SQLite and files). Answers are JSON; errors
// are {"error": {"code", "message"}} with a 4xx/5xx status, the code following the Error's kind
// (error_of). A POST or PATCH must say Content-Type: application/json (415 otherwise), which a
// cross-site form cannot send. GET /api/v1/openapi.json (docs/openapi.json) needs no authentication.
// Every change is written to the audit log (api/audit) before the answer.
//
// The browser console logs in at /api/v1/session (api/sessions): a session cookie, and a CSRF token
// that every change it asks for must carry as X-CSRF-Token (403 otherwise).
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "api/audit.hpp"
#include "api/sessions.hpp"
#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "net/net.hpp"
#include "spam/bayes.hpp"
#include "spool/spool.hpp"
#include "stats/stats.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::api {

// What `tern check` found (app/check), for POST /api/v1/check.
struct CheckReport {
  std::vector<std::string> problems;  // "path: problem"
  std::vector<std::string> notes;
};

struct Services {
  store::Directory* directory = nullptr;
  store::Mailstore* mailstore = nullptr;
  spool::Spool* spool = nullptr;
  auth::Authenticator* authenticator = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  std::filesystem::path data_dir;  // audit.log, the outbox
  std::function<std::shared_ptr<const config::Config>()> config;  // the configuration of now
  std::function<Result<CheckReport>(bool repair)> check;           // `tern check`, set by app
  stats::Recorder* stats = nullptr;  // the counters over time (stats.cpp); none: the graphs are zeros
  spam::Learner* learner = nullptr;  // the spam classifiers (spam training and counts); none: 503
  mailauth::DkimKeys* dkim = nullptr;  // data_dir/dkim, shared with the signer; none: 503
};

// Paging of list answers: ?limit= (default, at most max) and ?offset=.
inline constexpr std::size_t default_page = 100;
inline constexpr std::size_t max_page = 1000;

// The answer for an Error, by its kind: not_found 404, exists and in_use 409, invalid and limit 400,
// temporary 503, no_space and over_quota 507, anything else 500 ("internal"), each with its code.
struct ErrorClass {
  unsigned status;
  std::string_view code;
};
ErrorClass classify(Error::Kind kind);
http::Response error_of(const Error& e);

class Api {
 public:
  explicit Api(Services services);
  // Answers a request whose path is under /api.
  net::awaitable<http::Response> handle(http::Request& req);

  // One request as a handler sees it.
  struct Call {
    const http::Request& req;
    const std::vector<std::string>& params;  // the route's "{...}" segments
    std::string who;                         // for the audit log: "admin@x" or "admin@x (token 3)"
    boost::json::object body;                // a POST's JSON object (empty without a body)
  };
  using Handler = std::function<http::Response(Call&)>;

 private:
  struct Caller {
    std::string address;
    std::string who;
  };
  // Empty when `caller` was filled in; else the refusal to send.
  net::awaitable<http::Response> respond(http::Request& req);
  net::awaitable<std::optional<http::Response>> authenticate(http::Request& req, Caller& caller);
  net::awaitable<bool> is_admin(const std::string& address);
  // /api/v1/session: POST logs in, GET tells who and the CSRF token, DELETE logs out.
  net::awaitable<http::Response> session_endpoint(http::Request& req);
  void add_routes();
  // Runs a change, records it in the audit log, and answers `status` with its value, or the error.
  http::Response change(Call& c, std::string_view action, const std::string& target, unsigned status,
                        const std::function<Result<boost::json::value>()>& f);
  std::shared_ptr<const config::Config> config() const { return svc_.config(); }

  // Handlers (users.cpp, directory_routes.cpp, queue.cpp)
  http::Response users_list(Call& c);
  http::Response users_add(Call& c);
  http::Response users_delete(Call& c);
  http::Response archives_list(Call& c);
  http::Response archives_add(Call& c);
  http::Response archives_delete(Call& c);
  http::Response domains_list(Call& c);
  http::Response domains_add(Call& c);
  http::Response domains_delete(Call& c);
  http::Response aliases_list(Call& c);
  http::Response aliases_add(Call& c);
  http::Response aliases_delete(Call& c);
  http::Response queue_list(Call& c);
  http::Response queue_show(Call& c);
  http::Response queue_action(Call& c);
  http::Response queue_retry_all(Call& c);
  http::Response quarantine_list(Call& c);
  http::Response quarantine_show(Call& c);
  http::Response quarantine_action(Call& c);
  http::Response delete_slot(Call& c, store::SlotKind kind);
  http::Response users_get(Call& c);
  http::Response domains_dns(Call& c);
  http::Response users_patch(Call& c);
  http::Response aliases_patch(Call& c);
  http::Response lost_list(Call& c);
  http::Response lost_show(Call& c);
  http::Response lost_action(Call& c);
  http::Response check(Call& c);
  http::Response spam_train(Call& c);
  http::Response spam_show(Call& c);
  http::Response dkim_list(Call& c);
  http::Response dkim_action(Call& c);
  http::Response openapi(Call& c);
  // Statistics and the live log (stats.cpp, logs.cpp)
  http::Response stats_show(Call& c);
  http::Response logs_search(Call& c);
  http::Response logs_stream(Call& c);

  Services svc_;
  AuditLog audit_;
  Sessions sessions_;
  http::Router<Handler> router_;
};

// Fields of a POST body, checked: a field of another type, or one the endpoint does not know, is an
// `invalid` error naming it.
Status only_fields(const boost::json::object& body, std::initializer_list<std::string_view> known);
Result<std::string> string_field(const boost::json::object& body, std::string_view key);  // required
Result<bool> bool_field(const boost::json::object& body, std::string_view key, bool fallback);
Result<std::vector<std::string>> strings_field(const boost::json::object& body, std::string_view key);  // required
// ?name=N as a count; `fallback` when absent; nullopt when not a number or above `max` (queue.cpp).
std::optional<std::size_t> count_param(const http::Request& req, const std::string& name, std::size_t fallback,
                                       std::size_t max);
// `s` with each octet that is not part of valid UTF-8 replaced by U+FFFD: a JSON string must be UTF-8.
std::string as_utf8(std::string_view s);

}  // namespace tern::api
