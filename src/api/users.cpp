// api/users: /api/v1/users and /api/v1/archives, the mailslots (api/admin does the work).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/admin.hpp"
#include "api/api.hpp"
#include "auth/password.hpp"

namespace tern::api {
namespace json = boost::json;
using http::Response;

Response Api::users_list(Call&) {
  // A user's own quota, else [limits] mailbox_quota (0: none).
  auto quota = config()->limits.mailbox_quota;
  json::array out;
  for (auto& s : svc_.directory->mailslots(store::SlotKind::mailbox)) out.push_back(user_json(s, quota));
  return http::json_response(http::status::ok, out);
}

Response Api::users_add(Call& c) {
  auto address = string_field(c.body, "address");
  return change(c, "user.add", address ? *address : "", http::status::created, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"address", "password", "admin"}); !s) return s.error();
    if (!address) return address.error();
    auto password = string_field(c.body, "password");
    if (!password) return password.error();
    if (password->empty()) return Error{"the password must not be empty", Error::Kind::invalid};
    auto admin = bool_field(c.body, "admin", false);
    if (!admin) return admin.error();
    auto hash = auth::hash_password(*password);
    if (!hash) return hash.error();
    auto done = add_mailslot(*svc_.directory, *svc_.mailstore, *address, store::SlotKind::mailbox, *hash, *admin);
    if (!done) return done.error();
    auto slot = svc_.directory->find_mailslot(*address);
    if (!slot) return Error{fmt::format("{} vanished after it was added", *address)};
    return json::value(user_json(*slot, config()->limits.mailbox_quota));
  });
}

Response Api::users_get(Call& c) {
  auto slot = svc_.directory->find_mailslot(c.params.at(0));
  if (!slot || slot->kind != store::SlotKind::mailbox)
    return error_of(Error{"no user " + store::normalize_address(c.params.at(0)), Error::Kind::not_found});
  return http::json_response(http::status::ok, user_json(*slot, config()->limits.mailbox_quota));
}

namespace {

// PATCH's body as a UserChange; an error names the field.
Result<UserChange> user_change_of(const json::object& body) {
  if (auto s = only_fields(body, {"password", "quota", "enabled", "admin"}); !s) return s.error();
  UserChange ch;
  if (body.contains("password")) {
    auto p = string_field(body, "password");
    if (!p) return p.error();
    ch.password = std::move(*p);
  }
  if (auto* q = body.if_contains("quota")) {
    if (q->is_null()) {
      ch.quota = std::optional<std::uint64_t>();
    } else if (q->is_uint64() || (q->is_int64() && q->as_int64() >= 0)) {
      ch.quota = std::optional<std::uint64_t>(q->is_uint64() ? q->as_uint64() : static_cast<std::uint64_t>(q->as_int64()));
    } else {
      return Error{"'quota' must be a number of octets (0: none) or null (the server's default)", Error::Kind::invalid};
    }
  }
  for (auto [key, field] : {std::pair{"enabled", &UserChange::enabled}, {"admin", &UserChange::admin}})
    if (body.contains(key)) {
      auto b = bool_field(body, key, false);
      if (!b) return b.error();
      ch.*field = *b;
    }
  if (body.empty()) return Error{"nothing to change: give password, quota, enabled or admin", Error::Kind::invalid};
  return ch;
}

}  // namespace

Response Api::users_patch(Call& c) {
  const auto& address = c.params.at(0);
  return change(c, "user.change", address, http::status::ok, [&]() -> Result<json::value> {
    auto ch = user_change_of(c.body);
    if (!ch) return ch.error();
    auto after = change_user(*svc_.directory, address, *ch);
    if (!after) return after.error();
    return json::value(user_json(*after, config()->limits.mailbox_quota));
  });
}

Response Api::delete_slot(Call& c, store::SlotKind kind) {
  const auto& address = c.params.at(0);
  auto purge_arg = c.req.query.find("purge");
  bool purge = purge_arg != c.req.query.end() && purge_arg->second == "true";
  auto action = fmt::format("{}.delete", kind == store::SlotKind::mailbox ? "user" : "archive");
  return change(c, action, address, http::status::ok, [&]() -> Result<json::value> {
    if (purge_arg != c.req.query.end() && purge_arg->second != "true" && purge_arg->second != "false")
      return Error{"purge must be true or false", Error::Kind::invalid};
    auto done = delete_mailslot(*svc_.directory, *svc_.mailstore, address, kind, purge);
    if (!done) return done.error();
    return json::value(json::object{{"result", *done}});
  });
}

Response Api::users_delete(Call& c) { return delete_slot(c, store::SlotKind::mailbox); }

Response Api::archives_list(Call&) {
  json::array out;
  for (auto& s : svc_.directory->mailslots(store::SlotKind::archive)) out.push_back(json::object{{"address", s.address}});
  return http::json_response(http::status::ok, out);
}

Response Api::archives_add(Call& c) {
  auto address = string_field(c.body, "address");
  return change(c, "archive.add", address ? *address : "", http::status::created, [&]() -> Result<json::value> {
    if (auto s = only_fields(c.body, {"address"}); !s) return s.error();
    if (!address) return address.error();
    auto done = add_mailslot(*svc_.directory, *svc_.mailstore, *address, store::SlotKind::archive, "");
    if (!done) return done.error();
    return json::value(json::object{{"address", store::normalize_address(*address)}});
  });
}

Response Api::archives_delete(Call& c) { return delete_slot(c, store::SlotKind::archive); }

}  // namespace tern::api
