// route/router: from a recipient address to where it goes: local mailslots (after alias expansion) or
// remote addresses (left to the outbox), or "unknown" for a local domain without such a user.
//
// Alias expansion follows nested aliases breadth-first, at most max_alias_depth levels; a target seen
// before is skipped, so loops terminate; an alias whose expansion yields nothing deliverable (a pure
// loop) resolves to `loop`.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "store/directory.hpp"

namespace tern::route {

inline constexpr int max_alias_depth = 10;

struct Resolution {
  enum Kind { local, remote, unknown_user, loop } kind = unknown_user;
  std::vector<std::string> mailslots;  // local: mailslot addresses to store into
  std::vector<std::string> remote_targets;     // addresses outside the local domains (aliases may point there)
};

class Router {
 public:
  explicit Router(store::Directory& dir) : dir_(dir) {}
  // Blocking (SQLite): call off the event loop.
  Resolution resolve(std::string_view address);
  bool is_local_domain(std::string_view domain) { return dir_.is_local_domain(domain); }

 private:
  store::Directory& dir_;
};

}  // namespace tern::route
