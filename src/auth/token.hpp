// auth/token: API tokens for scripts (`tern token add`, `Authorization: Bearer TOKEN`).
//
// A token is "tern_" and 64 hex digits of 32 random octets from OpenSSL's CSPRNG: unguessable, so a
// fast hash is enough at rest (SHA-256, as GitHub and mox store theirs); only the hash goes into the
// directory, and the token is shown once, when it is made.
#pragma once
#include <string>
#include <string_view>

namespace tern::auth {

inline constexpr std::string_view api_token_prefix = "tern_";

// 64 hex digits of 32 random octets from OpenSSL's CSPRNG (tokens, the console's session ids).
std::string random_hex32();
std::string make_api_token();
// The hex SHA-256 of a token, as the directory stores it.
std::string api_token_hash(std::string_view token);

}  // namespace tern::auth
