// api/keys: the mail filters' keys and training. /api/v1/spam: `tern spam train` and `tern spam stats`
// (api::train_folder, api::spam_stats); /api/v1/dkim: `tern dkim list`, `generate` and `rotate` on the
// keys the signer reads (Services::dkim).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "base/strings.hpp"
#include "mailauth/keys.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

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
