// api/lost_found: /api/v1/lost-found, the files Tern set aside (spool/lost_found), as
// `tern lost-found` shows them; requeue and delete run the same functions (Spool::requeue_lost,
// LostFound::remove). Also /api/v1/check: `tern check` (app/check, reached through Services::check).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "base/strings.hpp"
#include "spool/lost_found.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

Response Api::lost_list(Call& c) {
  auto limit = count_param(c.req, "limit", default_page, max_page);
  auto offset = count_param(c.req, "offset", 0, std::numeric_limits<std::uint32_t>::max());
  if (!limit || *limit == 0)
    return error_of(Error{fmt::format("limit must be a number from 1 to {}", max_page), Error::Kind::invalid});
  if (!offset) return error_of(Error{"offset must be a number", Error::Kind::invalid});
  auto files = spool::LostFound(svc_.data_dir).list();
  if (!files) return error_of(files.error());
  json::array items;
  for (std::size_t i = *offset; i < files->size() && items.size() < *limit; ++i) items.push_back(lost_json((*files)[i]));
  auto r = http::json_response(http::status::ok, json::object{{"items", std::move(items)}});
  r.headers.emplace_back("X-Total-Count", std::to_string(files->size()));
  return r;
}

// The file's entry and "source": its whole content, invalid UTF-8 replaced (a JSON string is UTF-8).
Response Api::lost_show(Call& c) {
  auto shown = spool::LostFound(svc_.data_dir).show(c.params.at(0));
  if (!shown) return error_of(shown.error());
  auto obj = lost_json(shown->first);
  obj["source"] = as_utf8(shown->second);
  return http::json_response(http::status::ok, obj);
}

Response Api::lost_action(Call& c) {
  const auto& name = c.params.at(0);
  const auto& verb = c.params.at(1);
  if (verb != "requeue" && verb != "delete")
    return error_of(Error{fmt::format("unknown lost+found action '{}' (requeue, delete)", verb), Error::Kind::not_found});
  return change(c, "lost-found." + verb, name, http::status::ok, [&]() -> Result<json::value> {
    if (verb == "requeue") {
      auto id = svc_.spool->requeue_lost(name);
      if (!id) return id.error();
      return json::value(json::object{{"id", *id}});
    }
    if (auto s = spool::LostFound(svc_.data_dir).remove(name); !s) return s.error();
    return json::value(json::object{{"result", "deleted " + name}});
  });
}

// {"repair": bool}: repair only when asked. Not a change unless repairing, but audited either way.
Response Api::check(Call& c) {
  return change(c, "check", "", http::status::ok, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"repair"}); !s) return s.error();
    auto repair = bool_field(c.body, "repair", false);
    if (!repair) return repair.error();
    if (!svc_.check) return Error{"the check is not available in this server"};
    auto report = svc_.check(*repair);
    if (!report) return report.error();
    json::array problems;
    for (auto& p : report->problems) {
      // "outbox/X: why" -> path and problem
      auto colon = p.find(": ");
      problems.push_back(colon == std::string::npos
                             ? json::object{{"path", ""}, {"problem", p}}
                             : json::object{{"path", p.substr(0, colon)}, {"problem", p.substr(colon + 2)}});
    }
    json::array notes;
    for (auto& n : report->notes) notes.emplace_back(n);
    return json::value(json::object{{"ok", report->problems.empty()}, {"problems", std::move(problems)},
                                    {"notes", std::move(notes)}});
  });
}

}  // namespace tern::api
