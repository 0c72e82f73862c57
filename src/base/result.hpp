// Result<T>: a value or an Error, for expected failures that must not throw across modules.
//
// An Error carries its kind, set where the failure happens, so that each protocol maps kinds to
// replies in one place (smtpd/replies.hpp, imapd's error_reply, pop3d/replies.hpp) and nobody has to
// search an error's text for "No space left". The std::error_code, when the system refused, is kept
// for the log and for callers that need the exact errno.
#pragma once
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace tern {

struct Error {
  // What kind of expected failure, where callers answer differently:
  //  failed      anything else (an I/O error, a bug): a local error, temporary for SMTP
  //  temporary   try again later: a busy database, a lock held, a DNS timeout
  //  no_space    the disk (or a file system quota) is full: ENOSPC, EDQUOT
  //  over_quota  the user's mailbox quota would be exceeded
  //  not_found   what was named does not exist
  //  exists      what was to be created exists already
  //  invalid     the request or the data is not valid (a bad name, a damaged file)
  //  expunged    the message was expunged by another session
  //  in_use      the object is in use and cannot be changed now (a folder being deleted...)
  //  limit       over a fixed bound of the server (a name too long for the file system...)
  enum class Kind { failed, temporary, no_space, over_quota, not_found, exists, invalid, expunged, in_use, limit };

  std::string message;
  Kind kind = Kind::failed;
  std::error_code code;  // the system's reason when the system refused, else empty

  // An Error from a refused system call: the kind follows from the errno.
  static Error system(std::string message, std::error_code code) {
    return Error{std::move(message), kind_of(code), code};
  }
  static Error from(const std::system_error& e) { return system(e.what(), e.code()); }

  static Kind kind_of(std::error_code code) {
    if (code.category() != std::generic_category() && code.category() != std::system_category()) return Kind::failed;
    switch (code.value()) {
      case ENOSPC:
      case EDQUOT: return Kind::no_space;
      case ENOENT: return Kind::not_found;
      case EEXIST: return Kind::exists;
      case EBUSY:
      case ETXTBSY: return Kind::in_use;
      case EAGAIN:
      case EINTR:
      case ETIMEDOUT: return Kind::temporary;
      case ENAMETOOLONG: return Kind::limit;
      default: return Kind::failed;
    }
  }
};

inline const char* kind_name(Error::Kind k) {
  switch (k) {
    case Error::Kind::failed: return "failed";
    case Error::Kind::temporary: return "temporary";
    case Error::Kind::no_space: return "no space";
    case Error::Kind::over_quota: return "over quota";
    case Error::Kind::not_found: return "not found";
    case Error::Kind::exists: return "exists";
    case Error::Kind::invalid: return "invalid";
    case Error::Kind::expunged: return "expunged";
    case Error::Kind::in_use: return "in use";
    case Error::Kind::limit: return "limit";
  }
  return "failed";
}

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
