// mailauth/arc: verification of an Authenticated Received Chain (RFC 8617): the ARC sets a message
// carries (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal, instances 1 to N), checked as
// RFC 8617 5.2 says: the structure (every instance once, N at most 50, cv=none at 1 and pass after),
// the newest ARC-Message-Signature (DKIM's algorithm), and every ARC-Seal from N down to 1.
//
// Pure, like mailauth/dkim: prepare() says which keys to look up, validate() decides with the answers.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mailauth/dkim.hpp"

namespace tern::mailauth::arc {

inline constexpr int max_instances = 50;

enum class Result { none, pass, fail };
std::string_view result_name(Result r);

struct Seal {
  int instance = 0;
  dkim::Algorithm algorithm = dkim::Algorithm::rsa_sha256;
  std::string cv;  // none, pass, fail
  std::string domain, selector;
  std::string data;  // b=, decoded
};
tern::Result<Seal> parse_seal(std::string_view value);

struct Prepared {
  Result result = Result::none;  // none (no ARC field), fail (a broken structure), or pass: go on
  std::string reason;
  int instances = 0;
  std::vector<std::string> aar, ams, seals;  // raw fields, index instance - 1
  dkim::Signature message_signature;         // the newest ARC-Message-Signature
  std::vector<Seal> parsed_seals;            // index instance - 1
  std::vector<std::string> key_names;        // every key validate() needs
};
Prepared prepare(std::string_view message);

struct Chain {
  Result result = Result::none;
  int instances = 0;
  std::string reason;      // why not pass
  std::string sealer;      // d= of the newest ARC-Seal
};
// `keys`: the TXT answers for prepared.key_names (missing ones count as no record).
Chain validate(std::string_view message, const Prepared& prepared, const std::map<std::string, dkim::KeyAnswer>& keys);

// --- sealing (RFC 8617 5.1) -----------------------------------------------------------------------

// The ARC set Tern adds when it forwards `message` (an alias to a remote address): instance N+1 after
// the chain the message carries, the ARC-Authentication-Results copied from Tern's own
// Authentication-Results (authserv-id `authserv_id`), an ARC-Message-Signature over the same fields
// DKIM signs, and the ARC-Seal with cv= from what Tern found at receipt (none for a message without a
// chain, pass or fail as its arc= result said). Three fields, each ending in CRLF, to put on top; ""
// when the chain is at its 50th instance or the key cannot sign.
std::string seal(std::string_view message, const dkim::Signer& signer, std::string_view authserv_id, std::int64_t now);

}  // namespace tern::mailauth::arc
