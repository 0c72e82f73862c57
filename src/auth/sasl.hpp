// auth/sasl: the SASL mechanisms PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login), shared by
// SMTP, IMAP and POP3. Pure: base64 in, credentials out.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tern::auth {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

struct Credentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// PLAIN: base64("authzid\0authcid\0password"). nullopt when malformed.
std::optional<Credentials> decode_plain(std::string_view b64);

}  // namespace tern::auth
