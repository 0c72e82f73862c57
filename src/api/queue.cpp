// api/queue: /api/v1/queue: the outbox as `tern queue list --json` shows it (spool/admin's views, read
// from the files, safe beside deliveries), and the administrator's actions (api/admin: the same as the
// control socket's).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "base/strings.hpp"
#include "spool/admin.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

namespace {

// ?name=N as a count; `fallback` when absent; nullopt when not a number or above `max`.
std::optional<std::size_t> count_param(const http::Request& req, const std::string& name, std::size_t fallback,
                                       std::size_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return fallback;
  auto n = parse_u64(it->second);
  if (!n || *n > max) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

bool has_state(const spool::QueueView& q, std::string_view state) {
  for (auto& r : q.recipients)
    if (r.state == state) return true;
  return false;
}

}  // namespace

Response Api::queue_list(Call& c) {
  auto state = c.req.query.count("state") ? c.req.query.at("state") : std::string();
  if (!state.empty() && state != "queued" && state != "held" && state != "delivered" && state != "failed")
    return error_of(Error{"state must be queued, held, delivered or failed", Error::Kind::invalid});
  auto limit = count_param(c.req, "limit", default_page, max_page);
  auto offset = count_param(c.req, "offset", 0, std::numeric_limits<std::uint32_t>::max());
  if (!limit || *limit == 0)
    return error_of(Error{fmt::format("limit must be a number from 1 to {}", max_page), Error::Kind::invalid});
  if (!offset) return error_of(Error{"offset must be a number", Error::Kind::invalid});
  std::size_t total = 0;
  json::array page;
  if (state.empty()) {  // only the page's files are read, whatever the queue's length
    for (auto& q : spool::list_queue_page(spool::Paths(svc_.data_dir), *offset, *limit, &total))
      page.push_back(queue_json(q));
  } else {  // a state is in the files: every one is read
    for (auto& q : spool::list_queue(spool::Paths(svc_.data_dir))) {
      if (!has_state(q, state)) continue;
      if (total >= *offset && page.size() < *limit) page.push_back(queue_json(q));
      ++total;
    }
  }
  auto r = http::json_response(http::status::ok, page);
  r.headers.emplace_back("X-Total-Count", std::to_string(total));
  return r;
}

Response Api::queue_show(Call& c) {
  auto q = spool::show_queue(spool::Paths(svc_.data_dir), c.params.at(0));
  if (!q) return error_of(q.error());
  return http::json_response(http::status::ok, queue_json(*q));
}

Response Api::queue_action(Call& c) {
  const auto& id = c.params.at(0);
  const auto& verb = c.params.at(1);
  if (!is_queue_verb(verb))
    return error_of(Error{fmt::format("unknown queue action '{}' (retry, hold, release, delete, bounce)", verb),
                          Error::Kind::not_found});
  return change(c, "queue." + verb, id, http::status::ok, [&]() -> Result<json::value> {
    auto done = api::queue_action(*svc_.spool, verb, {id});
    if (!done) return done.error();
    return json::value(json::object{{"result", *done}});
  });
}

Response Api::queue_retry_all(Call& c) {
  return change(c, "queue.retry", "*", http::status::ok, [&]() -> Result<json::value> {
    auto done = api::queue_action(*svc_.spool, "retry", {});
    if (!done) return done.error();
    return json::value(json::object{{"result", *done}});
  });
}

}  // namespace tern::api
