// base/codec: RFC 4648 base64 and SHA-256 (OpenSSL), shared by SASL, the SMTP client's AUTH and DKIM;
// gzip (zlib), for DMARC reports and the HTTP service's compressed assets.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tern {

std::string base64_encode(std::string_view in);
// Strict: no white space, padding only at the end (RFC 4648 4); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view in);
// Lower-case hex, two digits per octet.
std::string hex_encode(std::string_view raw);
// The 32 raw octets of SHA-256(in).
std::string sha256(std::string_view in);
// RFC 1952 gzip of `in` at the best compression (for what is compressed once and sent many times).
std::string gzip(std::string_view in);

}  // namespace tern
