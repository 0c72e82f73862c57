// route/router: from a recipient address to where it goes: local mailslots (after alias expansion) or
// remote addresses (left to the outbox), or "unknown" for a local domain without such a user.
//
// Alias expansion follows nested aliases breadth-first, at most max_alias_depth levels; a target seen
// before is skipped, so loops terminate; an alias whose expansion yields nothing deliverable (a pure
// loop) resolves to `loop`.
//
// Postmaster (RFC 5321 4.5.1: every domain accepts "postmaster", case-insensitive): when a local
// domain has no mailbox or alias named postmaster (those win), postmaster@domain goes to the configured
// `postmaster` address, and without one (or when it leads nowhere) to the domain's first mailbox by
// creation order, or, for a domain without mailboxes, to the first mailbox created at all. Postfix
// instead requires an alias and warns when it is missing; Tern never refuses mail for postmaster.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "store/directory.hpp"

namespace tern::route {

inline constexpr int max_alias_depth = 10;

struct Resolution {
  enum Kind { local, remote, unknown_user, loop } kind = unknown_user;
  std::vector<store::Mailslot> mailslots;  // local: the mailslots to store into (address and kind)
  std::vector<std::string> remote_targets;     // addresses outside the local domains (aliases may point there)
};

// The addresses of r.mailslots, in order.
std::vector<std::string> slot_addresses(const Resolution& r);

class Router {
 public:
  explicit Router(store::Directory& dir) : dir_(dir) {}
  // Blocking (SQLite): call off the event loop. `postmaster`: the configured postmaster address ("" if
  // none).
  Resolution resolve(std::string_view address, std::string_view postmaster = {});
  // The domain that "postmaster" without a domain (RFC 5321 4.1.1.3) belongs to: `hostname` when it is
  // a local domain, else the first local domain by name (hostname when there is none).
  std::string postmaster_domain(std::string_view hostname);
  bool is_local_domain(std::string_view domain) { return dir_.is_local_domain(domain); }

 private:
  Resolution expand(const std::string& start);
  Resolution postmaster_fallback(const std::string& start, std::string_view postmaster);

  store::Directory& dir_;
};

}  // namespace tern::route
