#include "pop3d/guards.hpp"

#include <algorithm>

namespace tern::pop3d {

MaildropLocks::Hold& MaildropLocks::Hold::operator=(Hold&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
    key_ = std::move(o.key_);
  }
  return *this;
}

void MaildropLocks::Hold::release() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mu_);
  owner_->held_.erase(key_);
  owner_ = nullptr;
}

MaildropLocks::Hold MaildropLocks::try_lock(const std::string& address) {
  std::lock_guard lock(mu_);
  if (!held_.insert(address).second) return {};
  return Hold(this, address);
}

bool MaildropLocks::locked(const std::string& address) {
  std::lock_guard lock(mu_);
  return held_.count(address) != 0;
}

}  // namespace tern::pop3d
