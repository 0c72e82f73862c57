// pop3d/guards: what POP3 sessions share across the process, apart from sockets so it can be tested
// alone:
//   MaildropLocks  one session per maildrop at a time (RFC 1939 8: the server locks the maildrop for
//                  the duration of the session); a second login gets -ERR [IN-USE] (RFC 2449 8.1.2).
// Thread-safe (sessions run on several threads) and bounded in memory. (Failed logins are counted by
// auth::Authenticator, for every protocol.)
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>


namespace tern::pop3d {

class MaildropLocks {
 public:
  // Held while a session is in the TRANSACTION or UPDATE state; releases on destruction.
  class Hold {
   public:
    Hold() = default;
    Hold(MaildropLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Hold(Hold&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
    Hold& operator=(Hold&& o) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    MaildropLocks* owner_ = nullptr;
    std::string key_;
  };

  // An empty Hold when another session holds the maildrop. `address` is compared as given: pass the
  // directory's normalised address.
  Hold try_lock(const std::string& address);
  bool locked(const std::string& address);

 private:
  std::mutex mu_;
  std::set<std::string> held_;
};

}  // namespace tern::pop3d
