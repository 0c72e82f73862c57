// api/quarantine: /api/v1/quarantine: the server's quarantine as `tern quarantine` shows it
// (spool/quarantine), and its two actions, release and delete, run by the same functions.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "spool/quarantine.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

Response Api::quarantine_list(Call&) {
  auto held = spool::Quarantine(svc_.data_dir).list();
  if (!held) return error_of(held.error());
  json::array out;
  for (const auto& h : *held) out.push_back(held_json(h));
  return http::json_response(http::status::ok, out);
}

// The held message's summary; with ?source=1 the whole file (envelope and message) as text/plain,
// since a message's octets need not be the valid UTF-8 a JSON string must hold.
Response Api::quarantine_show(Call& c) {
  auto shown = spool::Quarantine(svc_.data_dir).show(c.params.at(0));
  if (!shown) return error_of(shown.error());
  if (c.req.query.count("source")) {
    auto r = http::text_response(http::status::ok, std::move(shown->second), "text/plain; charset=us-ascii");
    r.headers.emplace_back("Content-Disposition", "inline");
    return r;
  }
  return http::json_response(http::status::ok, held_json(shown->first));
}

Response Api::quarantine_action(Call& c) {
  const auto& id = c.params.at(0);
  const auto& verb = c.params.at(1);
  if (verb != "release" && verb != "delete")
    return error_of(Error{fmt::format("unknown quarantine action '{}' (release, delete)", verb), Error::Kind::not_found});
  return change(c, "quarantine." + verb, id, http::status::ok, [&]() -> Result<json::value> {
    spool::Quarantine q(svc_.data_dir);
    auto done = verb == "release" ? q.release(id) : q.remove(id);
    if (!done) return done.error();
    return json::value(json::object{{"result", verb == "release" ? "released " + id : "deleted " + id}});
  });
}

}  // namespace tern::api
