// spam/clamd: a client of ClamAV's clamd (docs/virus.md), one scan per connection with the INSTREAM
// command, over a Unix socket ("/run/clamav/clamd.ctl", Debian's clamav-daemon) or TCP ("127.0.0.1:3310"):
//
//   -> "zINSTREAM\0", then chunks, each a 4-octet big-endian length and that many octets, then a chunk
//      of length 0 (the end of the stream)
//   <- "stream: OK\0", "stream: <signature> FOUND\0" or "<what went wrong> ERROR\0"
//
// clamd decodes the message itself (MIME parts, base64, quoted-printable, archives), so the whole raw
// message is sent. A stream longer than clamd's StreamMaxLength is answered with "INSTREAM size limit
// exceeded. ERROR" and the connection closed: an error like any other, never a clean result.
//
// Error contract: scan() never throws. A connection refused, a deadline passed, a reply in no known
// form: an error result with the reason. Only `clean` means that clamd read the whole message and
// found nothing.
#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/result.hpp"

namespace tern::spam::clamd {

struct ScanResult {
  enum class Kind { clean, found, error };
  Kind kind = Kind::error;
  std::string text;  // found: the signature's name ("Eicar-Test-Signature"); error: what went wrong
};

// Where clamd listens: an absolute socket path, or an IP address and port ("[::1]:3310" for IPv6).
// No host names: a scan never waits for DNS.
struct Address {
  std::variant<std::string, boost::asio::ip::tcp::endpoint> where;
  std::string str() const;
};
Result<Address> parse_address(std::string_view text);

// clamd's reply without its terminating '\0'.
ScanResult parse_reply(std::string_view reply);

// Octets of message per INSTREAM chunk; far below any StreamMaxLength clamd allows.
inline constexpr std::size_t chunk_size = 64 * 1024;
// The longest reply read; a real one is a line.
inline constexpr std::size_t max_reply = 4096;

// Scans `message` within `timeout` (from connect to the reply), on the caller's executor. `message`
// and `where` must outlive the call.
boost::asio::awaitable<ScanResult> scan(const Address& where, std::string_view message, std::chrono::milliseconds timeout);

}  // namespace tern::spam::clamd
