// spam/received: who handed a message to a relay, as the relay wrote it in its Received field
// (RFC 5321 4.4: "from" the client's HELO name and address, "by" the relay), for the spam stage's
// trusted relays: when Tern receives from a relay of the same site (a gateway, a backup MX, a
// collector), the client worth judging is the one that relay names, not the relay.
//
// The "from" clause as the common MTAs write it:
//   Postfix    from HELO (RDNS [IP]) by ...          RDNS "unknown" when it has none
//   Sendmail   from HELO (RDNS [IP]) by ...          "from HELO ([IP])" when none; "(may be forged)"
//   Exim       from RDNS ([IP] helo=HELO) by ...     "from [IP] (helo=HELO)" when none; "from RDNS ([IP])"
//                                                    when the HELO was the name itself
//   qmail      from RDNS (HELO HELO) (IP) by ...     RDNS "unknown" when none
//   Tern       from HELO ([IP]) by HOST (Tern) ...   no reverse name written: not known
// Anything else (no address in brackets or parentheses, no "from") reads as nothing: the caller then
// judges no relay. Limits: the field is read up to its first 4 KiB; names at most 255 octets.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tern::spam {

struct Relay {
  std::string ip;    // the address the client connected from (IPv6 without "IPv6:")
  std::string helo;  // the name it gave in HELO or EHLO, "" when the field does not say
  std::string rdns;  // its reverse DNS name as the relay found it, lower-case; "" when it had none
  bool rdns_known = true;  // false: the field does not say (Tern writes no reverse name)
};

// The client of one Received field's value (unfolded), or nullopt when the field cannot be read.
std::optional<Relay> parse_received(std::string_view value);

}  // namespace tern::spam
