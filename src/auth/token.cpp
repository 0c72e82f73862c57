#include "auth/token.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "base/codec.hpp"

namespace tern::auth {

std::string make_api_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no random octets for an API token");
  return std::string(api_token_prefix) + hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string api_token_hash(std::string_view token) { return hex_encode(sha256(token)); }

}  // namespace tern::auth
