// Result<T>: a value or an Error, for expected failures that must not throw across modules.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace tern {

// An expected failure: a human sentence, and the errno when the system refused.
struct Error {
  std::string message;
  int sys_errno = 0;  // the errno behind a system failure (ENOSPC: disk full), else 0
  // What kind of expected failure, where callers answer differently (IMAP's NONEXISTENT, ALREADYEXISTS,
  // LIMIT). limit: over a fixed bound of the server (a name too long for the file system...).
  enum class Kind { failed, not_found, exists, invalid, limit } kind = Kind::failed;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace tern
