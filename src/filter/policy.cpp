#include "filter/policy.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "filter/authentication.hpp"
#include "filter/attachments.hpp"
#include "filter/spam.hpp"
#include "filter/virus.hpp"
#include "base/strings.hpp"
#include "mime/headers.hpp"
#include "smtp/proto/codes.hpp"
#include "smtp/proto/replies.hpp"

namespace tern::filter {
namespace code = smtp::code;

net::awaitable<Verdict> SizeStage::mail(const Context& ctx) {
  if (ctx.mail && ctx.mail->size && *ctx.mail->size > ctx.config->limits.max_message_size)
    co_return Verdict::refuse(smtp::replies::too_big,
                              fmt::format("SIZE={} above {}", *ctx.mail->size, ctx.config->limits.max_message_size));
  co_return Verdict::next();
}

net::awaitable<Verdict> SenderStage::mail(const Context& ctx) {
  if (ctx.user.empty() || !ctx.mail) co_return Verdict::next();
  if (!ctx.mail->sender)
    co_return Verdict::refuse(smtp::replies::null_sender_refused,
                              "null sender from an authenticated user");
  auto sender = store::normalize_address(ctx.mail->sender->str());
  std::string user(ctx.user);
  if (sender == user) co_return Verdict::next();
  struct Owned {
    bool yes = false;
    std::string error;  // the directory could not be read
  };
  auto* dir = &directory_;
  auto job = [dir, sender, user]() -> Owned {
    try {
      for (auto& t : dir->alias_targets(sender))
        if (t == user) return {true, {}};
      return {};
    } catch (const std::exception& e) {
      return {false, e.what()};
    }
  };
  Owned owned = *co_await net::offload(pool_, std::move(job));
  if (!owned.error.empty()) {
    log::error("smtp {}: the directory cannot be read: {}", ctx.session_id, owned.error);
    co_return Verdict::refuse(smtp::replies::lookup_failed,
                              "directory unavailable");
  }
  if (owned.yes) co_return Verdict::next();
  co_return Verdict::refuse(
      {code::bad_mailbox_name, "5.7.1", fmt::format("Sender address <{}> not owned by user {}", sender, user)},
      fmt::format("<{}> not owned by {}", log_safe(sender), user));
}

net::awaitable<Verdict> RelayStage::rcpt(const Context& ctx) {
  if (!ctx.user.empty() || !ctx.route || !ctx.rcpt) co_return Verdict::next();
  const auto& res = *ctx.route;
  auto address = ctx.rcpt->recipient.str();
  // Only a recipient that leads nowhere but itself elsewhere is relaying; a local alias that points
  // to other domains is this server's own forwarding.
  if (res.kind == route::Resolution::remote && res.mailslots.empty() && res.remote_targets.size() == 1 &&
      res.remote_targets.front() == address)
    co_return Verdict::refuse({code::transaction_failed, "5.7.1", fmt::format("<{}>: Relay access denied", address)},
                              "relay access denied");
  co_return Verdict::next();
}

net::awaitable<Verdict> UserRateStage::rcpt(const Context& ctx) {
  const auto limit = ctx.config->limits.user_recipients_per_hour;
  if (ctx.user.empty() || limit == 0) co_return Verdict::next();
  const auto now = std::chrono::steady_clock::now();
  bool over = false;
  {
    std::lock_guard lock(mu_);
    if (windows_.size() > 100000) std::erase_if(windows_, [&](const auto& w) { return now - w.second.start >= std::chrono::hours(1); });
    auto& w = windows_[std::string(ctx.user)];
    if (w.count == 0 || now - w.start >= std::chrono::hours(1)) w = {now, 0};
    over = w.count >= limit;
    if (!over) ++w.count;
  }
  if (!over) co_return Verdict::next();
  co_return Verdict::refuse({smtp::code::mailbox_busy, "4.7.1",
                             fmt::format("Too many recipients from {} this hour; try again later", ctx.user)},
                            fmt::format("{} reached {} recipients this hour", ctx.user, limit));
}

net::awaitable<Verdict> HopStage::data(const Context& ctx) {
  auto hops = mime::count_received(ctx.message);
  if (hops >= ctx.config->limits.max_received_headers)
    co_return Verdict::refuse(smtp::replies::too_many_hops,
                              fmt::format("{} Received fields", hops));
  co_return Verdict::next();
}

std::unique_ptr<Pipeline> default_pipeline(store::Directory& directory, boost::asio::thread_pool& pool,
                                           dns::Resolver* resolver, mailauth::dmarc::Recorder* dmarc_reports,
                                           const spam::Learner* learner) {
  auto p = std::make_unique<Pipeline>();
  p->add(std::make_unique<SizeStage>());
  p->add(std::make_unique<SenderStage>(directory, pool));
  p->add(std::make_unique<RelayStage>());
  p->add(std::make_unique<UserRateStage>());
  p->add(std::make_unique<HopStage>());
  if (resolver) p->add(std::make_unique<AuthenticationStage>(*resolver, pool, dmarc_reports));
  p->add(std::make_unique<VirusStage>());  // before spam: its allow lists end the round
  p->add(std::make_unique<AttachmentStage>());
  p->add(std::make_unique<SpamStage>(resolver, pool, learner));
  return p;
}

}  // namespace tern::filter
