// mime/address: RFC 5322 3.4 address lists as IMAP's ENVELOPE shows them (RFC 9051 7.5.2).
//
// Values stay raw: encoded words are not decoded (the client does that), quoting is removed from
// display names and local parts. Groups become a start marker (NIL NIL "name" NIL), their members and
// an end marker (NIL NIL NIL NIL). Lenient with what real mail holds (obsolete routes, a comment as
// the name, missing parts): a missing local part or domain becomes MISSING_MAILBOX / MISSING_DOMAIN,
// the placeholders Dovecot uses, since only a group marker may have a NIL host.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Address {
  enum class Kind { mailbox, group_start, group_end };
  Kind kind = Kind::mailbox;
  std::string name;     // display name (or the group's name for group_start)
  std::string adl;      // obsolete source route "@a,@b"
  std::string mailbox;  // local part
  std::string host;     // domain
};

inline constexpr std::string_view kMissingMailbox = "MISSING_MAILBOX";
inline constexpr std::string_view kMissingDomain = "MISSING_DOMAIN";

// `value`: an unfolded header value (From, To, ...).
std::vector<Address> parse_addresses(std::string_view value);

}  // namespace tern::mime
