// filter/attachments: the attachment policy stage ([attachments], docs/spam.md), between the virus and
// the spam stages. At the end of data it looks for parts carrying a file the policy names
// (spam/attachments) and, by [attachments] action:
//
//   off         nothing (the default; the spam rules still weigh such files)
//   reject      554 5.7.1 naming the file
//   quarantine  the message is held in the server's quarantine (tern quarantine release delivers it)
//   strip       each such part is replaced by a short text part saying what was removed, and the
//               message goes on with X-Tern-Removed naming the files; a message that IS the file
//               (no multipart around it) cannot be stripped and is refused
//
// An authenticated user's own message is refused whatever the action: the user learns at once that
// the file did not go, where a stripped or held copy would leave the user believing it went.
#pragma once
#include "filter/filter.hpp"

namespace tern::filter {

class AttachmentStage : public Stage {
 public:
  std::string_view name() const override { return "attachments"; }
  net::awaitable<Verdict> data(const Context& ctx) override;
};

}  // namespace tern::filter
