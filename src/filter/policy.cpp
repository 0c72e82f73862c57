#include "filter/policy.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "filter/authentication.hpp"
#include "filter/attachments.hpp"
#include "filter/spam.hpp"
#include "filter/virus.hpp"
#include "filter/connection.hpp"  // the connection checks (inbound rates, greylisting)
#include "filter/greylist.hpp"
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

bool RateWindows::take(std::string_view key, std::uint32_t limit, Clock::duration window, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (max_keys_ == 0) return true;
    if (entries_.size() >= max_keys_) {
      entries_.erase(entries_.find(order_.front()));
      order_.pop_front();
    }
    order_.emplace_back(key);
    it = entries_.emplace(std::string(key), Entry{now, 0, std::prev(order_.end())}).first;
  } else if (now - it->second.start >= window) {
    it->second.start = now;  // a new window: the newest start now
    it->second.count = 0;
    order_.splice(order_.end(), order_, it->second.order);
  }
  if (it->second.count >= limit) return false;
  ++it->second.count;
  return true;
}

std::size_t RateWindows::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

net::awaitable<Verdict> UserRateStage::rcpt(const Context& ctx) {
  const auto limit = ctx.config->limits.user_recipients_per_hour;
  if (ctx.user.empty() || limit == 0) co_return Verdict::next();
  if (windows_.take(ctx.user, limit, std::chrono::hours(1))) co_return Verdict::next();
  co_return Verdict::refuse({smtp::code::mailbox_busy, "4.7.1",
                             fmt::format("Too many recipients from {} this hour; try again later", ctx.user)},
                            fmt::format("{} reached {} recipients this hour", ctx.user, limit));
}

std::string rate_key(const Context& ctx) {
  if (!ctx.user.empty() || !ctx.mx) return {};
  boost::system::error_code ec;
  auto client = boost::asio::ip::make_address(ctx.client_address, ec);
  if (ec || !ctx.config->limits.rate_limit_exempt.match_ip(client).empty()) return {};
  return client_network(client, 32, 64);
}

namespace {

Verdict too_many(std::string_view what, std::string_view who, std::uint32_t limit, std::string_view per) {
  return Verdict::refuse({smtp::code::mailbox_busy, "4.7.1", fmt::format("Too many {} from {}; try again later", what, who)},
                         fmt::format("{} reached {} {} per {}", who, limit, what, per));
}

}  // namespace

net::awaitable<Verdict> InboundRateStage::connect(const Context& ctx) {
  const auto limit = ctx.config->limits.connections_per_ip_per_minute;
  auto key = limit ? rate_key(ctx) : std::string();
  if (key.empty() || connections_.take(key, limit, std::chrono::minutes(1))) co_return Verdict::next();
  // RFC 5321 3.8: 421 and close.
  co_return Verdict::refuse({smtp::code::unavailable, "4.7.0", fmt::format("Too many connections from {}; try again later", key)},
                            fmt::format("{} reached {} connections per minute", key, limit));
}

net::awaitable<Verdict> InboundRateStage::mail(const Context& ctx) {
  const auto& l = ctx.config->limits;
  auto key = rate_key(ctx);
  if (key.empty() || !ctx.mail) co_return Verdict::next();
  if (l.messages_per_ip_per_hour && !ip_messages_.take(key, l.messages_per_ip_per_hour, std::chrono::hours(1)))
    co_return too_many("messages", key, l.messages_per_ip_per_hour, "hour");
  std::string sender = ctx.mail->sender ? to_lower(ctx.mail->sender->str()) : "<> from " + key;
  if (l.messages_per_sender_per_hour &&
      !sender_messages_.take(sender, l.messages_per_sender_per_hour, std::chrono::hours(1)))
    co_return too_many("messages", log_safe(sender), l.messages_per_sender_per_hour, "hour");
  co_return Verdict::next();
}

net::awaitable<Verdict> InboundRateStage::rcpt(const Context& ctx) {
  const auto limit = ctx.config->limits.recipients_per_ip_per_hour;
  auto key = limit ? rate_key(ctx) : std::string();
  if (key.empty() || ip_recipients_.take(key, limit, std::chrono::hours(1))) co_return Verdict::next();
  co_return too_many("recipients", key, limit, "hour");
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
  p->add(std::make_unique<InboundRateStage>());
  p->add(std::make_unique<HopStage>());
  if (resolver) p->add(std::make_unique<AuthenticationStage>(*resolver, pool, dmarc_reports));
  p->add(std::make_unique<VirusStage>());  // before spam: its allow lists end the round
  p->add(std::make_unique<AttachmentStage>());
  p->add(std::make_unique<SpamStage>(resolver, pool, learner));
  p->add(std::make_unique<GreylistStage>(resolver, pool));
  return p;
}

}  // namespace tern::filter
