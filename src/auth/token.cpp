#include "auth/token.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "base/codec.hpp"

namespace tern::auth {

std::string random_hex32() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no random octets");
  return hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string make_api_token() { return std::string(api_token_prefix) + random_hex32(); }

std::string api_token_hash(std::string_view token) { return hex_encode(sha256(token)); }

}  // namespace tern::auth
