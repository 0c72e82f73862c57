#include "auth/password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <string>

namespace tern::auth {

Result<std::string> hash_password(std::string_view password) {
  if (password.empty()) return Error{"the password is empty"};
  if (password.find('\0') != std::string_view::npos) return Error{"the password holds a NUL byte"};
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting)) return Error{"crypt_gensalt failed"};
  crypt_data data{};
  std::string pw(password);
  const char* h = crypt_rn(pw.c_str(), setting, &data, sizeof data);
  if (!h || h[0] == '*') return Error{"crypt failed"};
  return std::string(h);
}

namespace {

// yescrypt takes ~16 MB per check: a burst of logins (20 clients reconnecting at once) would take
// 20 x 16 MB at the same moment. Checks beyond the machine's cores gain no speed anyway, so at most
// that many run at once; the others wait their turn.
class HashSlots {
 public:
  HashSlots() : free_(std::max(2u, std::thread::hardware_concurrency())) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned free_;
};

HashSlots& hash_slots() {
  static HashSlots slots;
  return slots;
}

}  // namespace

bool verify_password(std::string_view password, std::string_view hash) {
  // Dovecot's scheme prefixes name crypt(3) formats that libxcrypt reads directly.
  for (std::string_view prefix : {"{BLF-CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{CRYPT}", "{YESCRYPT}"}) {
    if (hash.starts_with(prefix)) {
      hash.remove_prefix(prefix.size());
      break;
    }
  }
  if (hash.empty() || hash.front() != '$') return false;
  auto data = std::make_unique<crypt_data>();
  std::string pw(password), h(hash);
  hash_slots().acquire();
  const char* out = crypt_rn(pw.c_str(), h.c_str(), data.get(), sizeof *data);
  hash_slots().release();
  if (!out || out[0] == '*') return false;
  std::string_view got(out);
  return got.size() == hash.size() && CRYPTO_memcmp(got.data(), hash.data(), hash.size()) == 0;
}

}  // namespace tern::auth
