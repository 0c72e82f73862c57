#include "api/sessions.hpp"

#include <openssl/crypto.h>

#include "auth/token.hpp"
#include "base/strings.hpp"

namespace tern::api {

Sessions::Session Sessions::create(const std::string& address) {
  Session s{auth::random_hex32(), auth::random_hex32(), address, Clock::now() + lifetime};
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  std::erase_if(by_id_, [now](auto& kv) { return kv.second.expires <= now; });
  by_id_[s.id] = s;
  return s;
}

std::optional<Sessions::Session> Sessions::find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  if (it->second.expires <= Clock::now()) {
    by_id_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Sessions::end(const std::string& id) {
  std::lock_guard lock(mu_);
  by_id_.erase(id);
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  for (auto part : split(header, ';')) {
    part = trim(part);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return {};
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tern::api
