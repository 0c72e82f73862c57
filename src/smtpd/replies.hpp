// smtpd/replies: the reply codes of RFC 5321 4.2.3 by name (smtp/proto/codes), the fixed replies
// (smtp/proto/replies, shared with the filter stages), and the one place that maps an internal failure
// to what the client sees.
#pragma once
#include <string_view>

#include <fmt/format.h>

#include "base/result.hpp"
#include "smtp/proto/codes.hpp"
#include "smtp/proto/proto.hpp"
#include "smtp/proto/replies.hpp"

namespace tern::smtpd {
namespace code = smtp::code;

namespace replies = smtp::replies;  // the fixed replies, whole (smtp/proto/replies)

// The one place that turns an internal error (queueing a message, a lookup) into a reply, by the
// error's kind (set where it happened): no space is 452 4.3.1 (RFC 3463 "mail system full"), anything
// else 451 4.3.0; both temporary, so the client keeps the message and tries again.
inline smtp::proto::Reply error_reply(const Error& e, std::string_view session) {
  switch (e.kind) {
    case Error::Kind::no_space:
    case Error::Kind::over_quota:
      return {code::insufficient_storage, "4.3.1", fmt::format("Insufficient system storage (session {})", session)};
    default: return {code::local_error, "4.3.0", fmt::format("Local error in processing (session {})", session)};
  }
}

}  // namespace tern::smtpd
