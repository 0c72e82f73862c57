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

// POST /api/v1/spam/train {address, folder, as: "spam"|"ham"}: `tern spam train` (api/admin).
Response Api::spam_train(Call& c) {
  auto address = string_field(c.body, "address");
  return change(c, "spam.train", address ? *address : "", http::status::ok, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"address", "folder", "as"}); !s) return s.error();
    if (!address) return address.error();
    auto folder = string_field(c.body, "folder");
    if (!folder) return folder.error();
    auto as = string_field(c.body, "as");
    if (!as) return as.error();
    if (*as != "spam" && *as != "ham") return Error{"'as' must be \"spam\" or \"ham\"", Error::Kind::invalid};
    if (!svc_.learner) return Error{"the spam classifier is not available in this server", Error::Kind::temporary};
    auto done = train_folder(*svc_.directory, *svc_.mailstore, *svc_.learner, *address, *folder, *as == "spam");
    if (!done) return done.error();
    return json::value(json::object{{"learnt", done->learnt}, {"already", done->already}});
  });
}

// GET /api/v1/spam/{address}: what the mailslot's classifier and the shared one have learnt.
Response Api::spam_show(Call& c) {
  if (!svc_.learner) return error_of(Error{"the spam classifier is not available in this server", Error::Kind::temporary});
  auto stats = spam_stats(*svc_.directory, *svc_.learner, c.params.at(0), config()->spam.classifier_min_samples);
  if (!stats) return error_of(stats.error());
  return http::json_response(http::status::ok, *stats);
}

// GET /api/v1/dkim[?domain=]: `tern dkim list --json`.
Response Api::dkim_list(Call& c) {
  if (!svc_.dkim) return error_of(Error{"DKIM keys are not available in this server", Error::Kind::temporary});
  auto q = c.req.query.find("domain");
  auto list = svc_.dkim->list(q == c.req.query.end() ? std::string() : to_lower(q->second));
  if (!list) return error_of(list.error());
  json::array out;
  for (const auto& k : *list) out.push_back(dkim_json(k));
  return http::json_response(http::status::ok, out);
}

// POST /api/v1/dkim/{domain}/generate|rotate: `tern dkim generate|rotate`, for a local domain.
Response Api::dkim_action(Call& c) {
  const std::string domain = to_lower(c.params.at(0)), action = c.params.at(1);
  return change(c, "dkim." + action, domain, http::status::ok, [&]() -> Result<json::value> {
    if (action != "generate" && action != "rotate")
      return Error{fmt::format("no action '{}': generate or rotate", action), Error::Kind::not_found};
    if (!svc_.dkim) return Error{"DKIM keys are not available in this server", Error::Kind::temporary};
    if (!svc_.directory->is_local_domain(domain)) return Error{fmt::format("{} is not a local domain", domain), Error::Kind::not_found};
    auto made = action == "generate" ? svc_.dkim->generate(domain) : svc_.dkim->rotate(domain);
    if (!made) return made.error();
    json::array out;
    for (const auto& k : *made) out.push_back(dkim_json(k));
    return json::value(std::move(out));
  });
}

}  // namespace tern::api
