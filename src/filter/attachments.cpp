#include "filter/attachments.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "smtp/proto/codes.hpp"
#include "spam/attachments.hpp"

namespace tern::filter {

net::awaitable<Verdict> AttachmentStage::data(const Context& ctx) {
  using Action = config::Config::Attachments::Action;
  const auto& cfg = ctx.config->attachments;
  Verdict v;
  if (cfg.action == Action::off) co_return v;
  auto blocked = spam::blocked_attachments(ctx.message, cfg.rules);
  if (blocked.empty()) co_return v;

  std::string names;
  for (const auto& b : blocked) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", ascii_safe(b.name, 80), b.kind);
  bool whole = false;
  for (const auto& b : blocked) whole = whole || b.whole_message;
  Action action = ctx.user.empty() ? cfg.action : Action::reject;
  if (action == Action::strip && whole) action = Action::reject;

  switch (action) {
    case Action::quarantine:
      v.action = Verdict::Action::quarantine;
      v.quarantine = names;
      v.reasons.push_back("held: " + names);
      co_return v;
    case Action::strip: {
      std::string removed;
      for (const auto& b : blocked) {
        v.replace.push_back({b.begin, b.end - b.begin, spam::removal_note(b, ctx.config->hostname)});
        removed += fmt::format("{}{} ({})", removed.empty() ? "" : ", ", ascii_safe(b.name, 80), b.kind);
      }
      v.headers = fmt::format("X-Tern-Removed: {}\r\n", removed);
      v.reasons.push_back("removed: " + names);
      co_return v;
    }
    case Action::off:
    case Action::reject: break;
  }
  const auto& first = blocked.front();
  Verdict refused = Verdict::refuse({smtp::code::transaction_failed, "5.7.1",
                                     fmt::format("Message refused: attachment \"{}\" not accepted ({})",
                                                 ascii_safe(first.name, 80), first.kind)},
                                    "refused: " + names);
  co_return refused;
}

}  // namespace tern::filter
