// smtpd/replies: the reply codes of RFC 5321 4.2.3 by name (smtp/proto/codes), and the one place that
// maps an internal failure to what the client sees.
#pragma once
#include "smtp/proto/codes.hpp"

namespace tern::smtpd {
namespace code = smtp::code;
}  // namespace tern::smtpd
