#include "api/admin.hpp"

#include <algorithm>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "auth/password.hpp"

namespace tern::api {
namespace json = boost::json;

Result<std::string> delete_mailslot(store::Directory& dir, store::Mailstore& ms, const std::string& address,
                                    store::SlotKind kind, bool purge) {
  auto a = store::normalize_address(address);
  if (auto s = dir.del_mailslot(a, kind); !s) return s.error();
  // A crash here leaves the mail under the address with no mailslot: `user add` of the address later
  // takes it out of service the same way before the new mailslot is made (add_mailslot).
  auto where = ms.retire(a, !purge);
  if (!where) return Error{fmt::format("deleted {} {}, but {}", store::kind_name(kind), a, where.error().message)};
  if (!where->empty()) return fmt::format("deleted {} {}; its mail was moved to {}", store::kind_name(kind), a, *where);
  return fmt::format("deleted {} {}{}", store::kind_name(kind), a, purge ? " and its mail" : "");
}

Result<std::string> add_mailslot(store::Directory& dir, store::Mailstore& ms, const std::string& address,
                                 store::SlotKind kind, const std::string& password_hash, bool admin) {
  auto a = store::normalize_address(address);
  std::string leftover;
  if (!dir.find_mailslot(a) && dir.alias_targets(a).empty() && std::filesystem::exists(ms.slot_dir(a))) {
    // Mail under this address without a mailslot: a previous owner's (deleted by an older Tern, or a
    // crash during `user del`). The new owner must never read it.
    auto where = ms.retire(a, true);
    if (!where) return where.error();
    leftover = fmt::format("; mail left by a previous mailslot of this address was moved to {}", *where);
  }
  if (auto s = dir.add_mailslot(a, kind, password_hash, admin); !s) return s.error();
  return fmt::format("added {}{} {}{}", admin ? "administrator " : "",
                     kind == store::SlotKind::mailbox ? "user" : "archive", a, leftover);
}

Result<store::Mailslot> change_user(store::Directory& dir, const std::string& address, const UserChange& change) {
  auto a = store::normalize_address(address);
  auto slot = dir.find_mailslot(a);
  if (!slot || slot->kind != store::SlotKind::mailbox) return Error{fmt::format("no user {}", a), Error::Kind::not_found};
  std::optional<std::string> hash;
  if (change.password) {
    if (change.password->empty()) return Error{"password: must not be empty", Error::Kind::invalid};
    if (change.password->size() > 1024) return Error{"password: longer than 1024 octets", Error::Kind::invalid};
    auto h = auth::hash_password(*change.password);
    if (!h) return h.error();
    hash = std::move(*h);
  }
  if (change.quota && *change.quota && **change.quota > (std::uint64_t(1) << 50))
    return Error{"quota: at most 2^50 octets (null: the server's [limits] mailbox_quota)", Error::Kind::invalid};
  // One statement: every field changes or none does.
  if (auto s = dir.change_mailbox(a, {hash, change.quota, change.enabled, change.admin}); !s) return s.error();
  auto after = dir.find_mailslot(a);
  if (!after) return Error{fmt::format("{} vanished while it was changed", a), Error::Kind::not_found};
  return *after;
}

json::object dkim_json(const mailauth::DkimKeyInfo& k) {
  json::object obj{{"domain", k.domain},
                   {"selector", k.selector},
                   {"algorithm", std::string(mailauth::dkim::algorithm_name(k.algorithm))},
                   {"bits", k.bits},
                   {"created", k.created},
                   {"signing", k.signing()},
                   {"record", k.public_record}};
  if (k.retired) obj["retired"] = *k.retired;
  return obj;
}

Result<Trained> train_folder(store::Directory& dir, store::Mailstore& mailstore, spam::Learner& learner,
                             const std::string& address, const std::string& folder, bool spam) {
  auto slot = dir.find_mailslot(address);
  if (!slot) return Error{fmt::format("no mailbox or archive {}", store::normalize_address(address)), Error::Kind::not_found};
  if (auto f = mailstore.folder(slot->address, folder); !f) {
    if (f.error().kind == Error::Kind::not_found)
      return Error{fmt::format("{} has no folder {}", slot->address, folder), Error::Kind::not_found};
    return f.error();
  }
  auto list = mailstore.list(slot->address, folder);
  if (!list) return list.error();
  Trained out;
  for (std::size_t i = 0; i < list->size(); i += 500) {
    std::vector<std::string> batch;
    for (std::size_t j = i; j < list->size() && j < i + 500; ++j) {
      auto text = mailstore.read(slot->address, folder, (*list)[j].uid);
      if (!text) return text.error();
      batch.push_back(std::move(*text));
    }
    auto r = learner.train(slot->address, batch, spam);
    if (!r) return r.error();
    out.learnt += *r;
  }
  out.already = list->size() - out.learnt;
  return out;
}

Result<json::object> spam_stats(store::Directory& dir, const spam::Learner& learner, const std::string& address,
                                std::int64_t min_samples) {
  auto slot = dir.find_mailslot(address);
  if (!slot) return Error{fmt::format("no mailbox or archive {}", store::normalize_address(address)), Error::Kind::not_found};
  auto own = learner.user(slot->address).file().empty() ? Result<spam::Counts>(spam::Counts{})
                                                         : learner.user(slot->address).counts();
  if (!own) return own.error();
  auto shared = learner.shared().counts();
  if (!shared) return shared.error();
  auto obj = [](const spam::Counts& c) { return json::object{{"spam", c.spam}, {"ham", c.ham}, {"tokens", c.tokens}}; };
  return json::object{{"address", slot->address}, {"user", obj(*own)}, {"shared", obj(*shared)}, {"min_samples", min_samples}};
}

json::object user_json(const store::Mailslot& s, std::uint64_t default_quota) {
  json::value own = nullptr;
  if (s.quota) own = *s.quota;
  return json::object{{"address", s.address},
                      {"admin", s.admin},
                      {"enabled", s.enabled},
                      {"quota", s.quota.value_or(default_quota)},
                      {"own_quota", own}};
}

json::object lost_json(const spool::LostFile& f) {
  return json::object{{"name", f.name}, {"size", f.size}, {"time", f.time}, {"why", f.why}};
}

bool is_queue_verb(std::string_view verb) {
  for (auto v : {"retry", "hold", "release", "delete", "bounce"})
    if (verb == v) return true;
  return false;
}

Result<std::string> queue_action(spool::Spool& spool, std::string_view verb, const std::vector<std::string>& ids) {
  if (verb == "retry") return spool.retry(ids);
  if (!is_queue_verb(verb)) return Error{fmt::format("unknown queue action '{}'", verb), Error::Kind::invalid};
  if (ids.size() != 1) return Error{fmt::format("{} takes one queue id", verb), Error::Kind::invalid};
  const auto& id = ids.front();
  if (verb == "hold") return spool.hold(id);
  if (verb == "release") return spool.release(id);
  if (verb == "delete") return spool.remove(id);
  return spool.bounce(id);
}

json::object queue_json(const spool::QueueView& q) {
  json::array rs;
  for (auto& r : q.recipients)
    rs.push_back(json::object{{"address", r.address}, {"state", r.state}, {"attempts", r.attempts},
                              {"next_attempt", r.next_attempt}, {"last_error", r.last_error}});
  json::object obj{{"id", q.id}, {"from", q.from},  {"arrived", q.arrived},
                   {"size", q.size}, {"held", q.held}, {"recipients", std::move(rs)}};
  if (!q.problem.empty()) obj["problem"] = q.problem;
  return obj;
}

json::object alias_json(const std::string& address, const std::vector<std::string>& targets) {
  json::array t;
  for (auto& x : targets) t.emplace_back(x);
  return json::object{{"address", address}, {"targets", std::move(t)}};
}

boost::json::object held_json(const spool::Held& h) {
  boost::json::array rs;
  for (const auto& r : h.recipients) rs.emplace_back(r);
  boost::json::object o{{"id", h.id},       {"held", h.held_at},     {"why", h.why},  {"from", h.from},
                        {"recipients", rs}, {"client", h.client}, {"size", h.size}};
  if (!h.problem.empty()) o["problem"] = h.problem;
  return o;
}

}  // namespace tern::api
