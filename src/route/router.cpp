#include "route/router.hpp"

#include <set>

namespace tern::route {

Resolution Router::resolve(std::string_view address) {
  Resolution r;
  auto start = store::normalize_address(address);
  if (!dir_.is_local_domain(store::domain_of(start))) {
    r.kind = Resolution::remote;
    r.remote_targets.push_back(std::string(address));
    return r;
  }
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
      if (dir_.find_mailslot(a)) {
        r.mailslots.push_back(a);
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
