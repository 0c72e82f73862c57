// auth/password: password hashes through crypt(3) (libxcrypt).
//
// New hashes are yescrypt ("$y$"), the Debian default. verify() accepts every scheme libxcrypt knows,
// so hashes moved from Dovecot (bcrypt "$2b$", sha512-crypt "$6$", also with a "{BLF-CRYPT}" /
// "{SHA512-CRYPT}" / "{CRYPT}" scheme prefix) keep working. Hashing is slow on purpose: call it off the
// event loop.
#pragma once
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::auth {

Result<std::string> hash_password(std::string_view password);
// Constant-time comparison of the recomputed hash; false for malformed hashes.
bool verify_password(std::string_view password, std::string_view hash);

}  // namespace tern::auth
