#include "route/router.hpp"

#include <set>

namespace tern::route {

namespace {

constexpr std::string_view postmaster_local_part = "postmaster";

bool is_postmaster(const std::string& normalized) {
  return normalized.size() > postmaster_local_part.size() &&
         normalized.compare(0, postmaster_local_part.size(), postmaster_local_part) == 0 &&
         normalized[postmaster_local_part.size()] == '@';
}

}  // namespace

std::vector<std::string> slot_addresses(const Resolution& r) {
  std::vector<std::string> out;
  for (auto& s : r.mailslots) out.push_back(s.address);
  return out;
}

Resolution Router::resolve(std::string_view address, std::string_view postmaster) {
  auto start = store::normalize_address(address);
  if (!dir_.is_local_domain(store::domain_of(start))) {
    Resolution r;
    r.kind = Resolution::remote;
    r.remote_targets.push_back(std::string(address));
    return r;
  }
  auto r = expand(start);
  if (r.kind == Resolution::unknown_user && is_postmaster(start)) return postmaster_fallback(start, postmaster);
  return r;
}

// RFC 5321 4.5.1: postmaster@ a local domain with no mailbox or alias of that name.
Resolution Router::postmaster_fallback(const std::string& start, std::string_view postmaster) {
  if (!postmaster.empty()) {
    auto target = store::normalize_address(postmaster);
    if (target != start) {
      auto r = resolve(target, {});  // remote, or expanded here (with no second fallback)
      if (r.kind == Resolution::local || r.kind == Resolution::remote) return r;
    }
  }
  auto slot = dir_.first_mailbox(store::domain_of(start));
  if (!slot) slot = dir_.first_mailbox("");
  Resolution r;
  if (slot) {
    r.kind = Resolution::local;
    r.mailslots.push_back(store::Mailslot{*slot, store::SlotKind::mailbox, {}});
  }
  return r;
}

std::string Router::postmaster_domain(std::string_view hostname) {
  auto host = store::normalize_address(hostname);
  if (dir_.is_local_domain(host)) return host;
  auto domains = dir_.domains();
  return domains.empty() ? host : domains.front();
}

// Alias expansion of a local address (see the head comment of router.hpp).
Resolution Router::expand(const std::string& start) {
  Resolution r;
  std::set<std::string> seen{start};
  std::vector<std::string> level{start};
  bool any_alias = false;
  for (int depth = 0; depth <= max_alias_depth && !level.empty(); ++depth) {
    std::vector<std::string> next;
    for (auto& a : level) {
      if (!dir_.is_local_domain(store::domain_of(a))) {
        r.remote_targets.push_back(a);
        continue;
      }
      if (auto slot = dir_.find_mailslot(a)) {
        slot->password_hash.clear();  // routing needs the address and the kind only
        r.mailslots.push_back(std::move(*slot));
        continue;
      }
      auto targets = dir_.alias_targets(a);
      if (targets.empty()) continue;  // a local address that is neither: dropped from an alias's list
      any_alias = true;
      for (auto& t : targets)
        if (seen.insert(t).second) next.push_back(t);
    }
    level = std::move(next);
  }
  if (!r.mailslots.empty() || !r.remote_targets.empty())
    r.kind = r.mailslots.empty() ? Resolution::remote : Resolution::local;
  else
    r.kind = any_alias ? Resolution::loop : Resolution::unknown_user;
  return r;
}

}  // namespace tern::route
