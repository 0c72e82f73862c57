// api/domains: /api/v1/domains and /api/v1/aliases, on store::Directory as `tern domain|alias` are.
#include <boost/json.hpp>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "base/strings.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

Response Api::domains_list(Call&) {
  json::array out;
  for (auto& d : svc_.directory->domains()) out.push_back(json::object{{"name", d}});
  return http::json_response(http::status::ok, out);
}

Response Api::domains_add(Call& c) {
  auto name = string_field(c.body, "name");
  return change(c, "domain.add", name ? *name : "", http::status::created, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"name"}); !s) return s.error();
    if (!name) return name.error();
    if (auto s = svc_.directory->add_domain(*name); !s) return s.error();
    return json::value(json::object{{"name", to_lower(*name)}});
  });
}

Response Api::domains_delete(Call& c) {
  const auto& name = c.params.at(0);
  return change(c, "domain.delete", name, http::status::ok, [&]() -> Result<json::value> {
    if (auto s = svc_.directory->del_domain(name); !s) return s.error();
    return json::value(json::object{{"result", "deleted domain " + to_lower(name)}});
  });
}

Response Api::domains_dns(Call& c) {
  auto records = dns_records(*svc_.directory, svc_.data_dir, svc_.config()->hostname, c.params.at(0));
  if (!records) return error_of(records.error());
  static constexpr const char* kinds[] = {"MX", "TXT", "SRV"};
  json::array out;
  for (const auto& r : *records)
    out.push_back(json::object{{"type", kinds[static_cast<int>(r.kind)]}, {"name", r.name}, {"value", r.text}, {"zone", r.line}});
  return http::json_response(http::status::ok, json::object{{"domain", to_lower(c.params.at(0))}, {"records", std::move(out)}});
}

Response Api::aliases_list(Call&) {
  json::array out;
  for (auto& [address, targets] : svc_.directory->aliases()) out.push_back(alias_json(address, targets));
  return http::json_response(http::status::ok, out);
}

Response Api::aliases_add(Call& c) {
  auto address = string_field(c.body, "address");
  return change(c, "alias.add", address ? *address : "", http::status::created, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"address", "targets"}); !s) return s.error();
    if (!address) return address.error();
    auto targets = strings_field(c.body, "targets");
    if (!targets) return targets.error();
    if (auto s = svc_.directory->add_alias(*address, *targets); !s) return s.error();
    auto a = store::normalize_address(*address);
    return json::value(alias_json(a, svc_.directory->alias_targets(a)));
  });
}

Response Api::aliases_patch(Call& c) {
  const auto& address = c.params.at(0);
  return change(c, "alias.change", address, http::status::ok, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"targets"}); !s) return s.error();
    auto targets = strings_field(c.body, "targets");
    if (!targets) return targets.error();
    if (auto s = svc_.directory->set_alias(address, *targets); !s) return s.error();
    auto a = store::normalize_address(address);
    return json::value(alias_json(a, svc_.directory->alias_targets(a)));
  });
}

Response Api::aliases_delete(Call& c) {
  const auto& address = c.params.at(0);
  return change(c, "alias.delete", address, http::status::ok, [&]() -> Result<json::value> {
    if (auto s = svc_.directory->del_alias(address); !s) return s.error();
    return json::value(json::object{{"result", "deleted alias " + store::normalize_address(address)}});
  });
}

}  // namespace tern::api
