// api/queue: /api/v1/queue: the outbox as `tern queue list --json` shows it (spool/admin's views, read
// from the files, safe beside deliveries), and the administrator's actions (api/admin: the same as the
// control socket's).
#include <ctime>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "base/strings.hpp"
#include "spool/admin.hpp"
#include "store/directory.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

namespace {

// The filters of GET /api/v1/queue; a message passes when it matches every one given.
struct QueueFilter {
  std::string state, domain, sender;  // "" when not given; domain and sender lower-cased
  std::int64_t min_age = 0;           // seconds since arrival; 0 when not given
  bool any() const { return !state.empty() || !domain.empty() || !sender.empty() || min_age > 0; }

  bool matches(const spool::QueueView& q, std::int64_t now) const {
    if (min_age > 0 && (q.arrived == 0 || now - q.arrived < min_age)) return false;
    if (!sender.empty() && to_lower(q.from).find(sender) == std::string::npos) return false;
    if (state.empty() && domain.empty()) return true;
    for (auto& r : q.recipients)  // one recipient must have both the state and the domain
      if ((state.empty() || r.state == state) && (domain.empty() || to_lower(store::domain_of(r.address)) == domain))
        return true;
    return false;
  }
};

// The filter from the query; an error names the bad parameter.
Result<QueueFilter> queue_filter(const http::Request& req) {
  QueueFilter f;
  auto get = [&](const char* name) { return req.query.count(name) ? req.query.at(name) : std::string(); };
  f.state = get("state");
  if (!f.state.empty() && f.state != "queued" && f.state != "held" && f.state != "delivered" && f.state != "failed")
    return Error{"state must be queued, held, delivered or failed", Error::Kind::invalid};
  f.domain = to_lower(get("domain"));
  f.sender = to_lower(get("sender"));
  if (f.domain.size() > 255 || f.sender.size() > 320)
    return Error{"domain or sender is too long", Error::Kind::invalid};
  if (auto age = get("min_age"); !age.empty()) {
    auto n = parse_u64(age);
    if (!n || *n > (std::uint64_t(1) << 40)) return Error{"min_age must be a number of seconds", Error::Kind::invalid};
    f.min_age = static_cast<std::int64_t>(*n);
  }
  return f;
}

}  // namespace

std::optional<std::size_t> count_param(const http::Request& req, const std::string& name, std::size_t fallback,
                                       std::size_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return fallback;
  auto n = parse_u64(it->second);
  if (!n || *n > max) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

// `s` with each octet that is not part of valid UTF-8 replaced by U+FFFD: a JSON string must be UTF-8.
std::string as_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size() && !(n == 2 && c < 0xC2);
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}


Response Api::queue_list(Call& c) {
  auto filter = queue_filter(c.req);
  if (!filter) return error_of(filter.error());
  auto limit = count_param(c.req, "limit", default_page, max_page);
  auto offset = count_param(c.req, "offset", 0, std::numeric_limits<std::uint32_t>::max());
  if (!limit || *limit == 0)
    return error_of(Error{fmt::format("limit must be a number from 1 to {}", max_page), Error::Kind::invalid});
  if (!offset) return error_of(Error{"offset must be a number", Error::Kind::invalid});
  std::size_t total = 0;
  json::array page;
  if (!filter->any()) {  // only the page's files are read, whatever the queue's length
    for (auto& q : spool::list_queue_page(spool::Paths(svc_.data_dir), *offset, *limit, &total))
      page.push_back(queue_json(q));
  } else {  // what the filters look at is in the files: every one is read
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (auto& q : spool::list_queue(spool::Paths(svc_.data_dir))) {
      if (!filter->matches(q, now)) continue;
      if (total >= *offset && page.size() < *limit) page.push_back(queue_json(q));
      ++total;
    }
  }
  auto r = http::json_response(http::status::ok, page);
  r.headers.emplace_back("X-Total-Count", std::to_string(total));
  return r;
}

// ?source=1 adds "source": the whole queue file (envelope and message), invalid UTF-8 replaced.
Response Api::queue_show(Call& c) {
  auto q = spool::show_queue(spool::Paths(svc_.data_dir), c.params.at(0));
  if (!q) return error_of(q.error());
  auto obj = queue_json(*q);
  if (auto it = c.req.query.find("source"); it != c.req.query.end() && it->second != "0" && it->second != "false") {
    auto text = spool::show_queue_file(spool::Paths(svc_.data_dir), c.params.at(0));
    if (!text) return error_of(text.error());
    obj["source"] = as_utf8(*text);
  }
  return http::json_response(http::status::ok, obj);
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
