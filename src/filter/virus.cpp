#include "filter/virus.hpp"

#include <chrono>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "mime/tree.hpp"
#include "smtp/proto/codes.hpp"
#include "spam/clamd.hpp"

namespace tern::filter {

namespace {

using Kind = spam::clamd::ScanResult::Kind;

}  // namespace

net::awaitable<Verdict> VirusStage::data(const Context& ctx) {
  Verdict v;
  const auto& cfg = ctx.config->virus;
  if (!cfg.clamd) co_return v;
  auto end = ctx.message.find("\r\n\r\n");
  std::string_view header = ctx.message.substr(0, end == std::string_view::npos ? ctx.message.size() : end + 2);
  for (const auto& f : mime::parse_fields(header)) {
    if (iequals(f.name, "X-Virus-Status"))
      v.drop.emplace_back(static_cast<std::size_t>(f.raw.data() - ctx.message.data()), f.raw.size());
  }

  const std::chrono::milliseconds timeout = cfg.timeout;
  spam::clamd::ScanResult result = co_await spam::clamd::scan(*cfg.clamd, ctx.message, timeout);
  switch (result.kind) {
    case Kind::clean:
      v.headers = "X-Virus-Status: Clean\r\n";
      co_return v;
    case Kind::found: {
      // A signature's name as it may appear in a reply and a header field: printable ASCII, bounded.
      std::string name = ascii_safe(result.text);
      using OnVirus = config::Config::Virus::OnVirus;
      // A user's own virus is always refused: its remote recipients would get it otherwise.
      const OnVirus action = ctx.user.empty() ? cfg.on_virus : OnVirus::reject;
      const char* outcome = action == OnVirus::junk ? "into Junk" : action == OnVirus::quarantine ? "quarantined" : "refused";
      // A line of its own: the session's filter line is cut at 100 characters.
      log::warn("smtp {}: virus {} found in a message from <{}>{}: {}", ctx.session_id, name,
                log_safe(ctx.mail && ctx.mail->sender ? ctx.mail->sender->str() : ""),
                ctx.user.empty() ? "" : fmt::format(" (user {})", ctx.user), outcome);
      if (action != OnVirus::reject) {
        v.action = action == OnVirus::junk ? Verdict::Action::junk : Verdict::Action::quarantine;
        (action == OnVirus::junk ? v.junk : v.quarantine) = fmt::format("virus {}", name);
        v.headers = fmt::format("X-Virus-Status: Infected ({})\r\n", name);
        v.reasons.push_back(fmt::format("found {}: {}", name, outcome));
        co_return v;
      }
      Verdict refused = Verdict::refuse(
          {smtp::code::transaction_failed, "5.7.1", fmt::format("Message refused: virus found ({})", name)},
          fmt::format("found {}", name));
      co_return refused;
    }
    case Kind::error: break;
  }
  // clamd could not say: never a silent pass.
  const std::string why = log_safe(result.text);
  if (cfg.when_down == config::Config::Virus::WhenDown::accept) {
    log::warn("smtp {}: clamd at {} did not scan the message ({}): accepted unscanned", ctx.session_id,
              cfg.clamd->str(), why);
    v.headers = "X-Virus-Status: Unscanned\r\n";
    v.reasons.push_back(fmt::format("unscanned: {}", why));
    co_return v;
  }
  log::warn("smtp {}: clamd at {} did not scan the message ({}): deferred", ctx.session_id, cfg.clamd->str(), why);
  Verdict deferred = Verdict::refuse(
      {smtp::code::local_error, "4.7.0", "Virus scanner unavailable, try again later"}, fmt::format("unscanned: {}", why));
  co_return deferred;
}

}  // namespace tern::filter
