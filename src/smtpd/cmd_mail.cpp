// MAIL (RFC 5321 4.1.1.2):  "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
// RCPT (RFC 5321 4.1.1.3):  "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//                           [SP Rcpt-parameters] CRLF
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {

net::awaitable<void> Session::cmd_mail(const std::string& arg) {
  if (helo_.empty()) {
    protocol_error();
    reply(replies::helo_first);
    co_return;
  }
  if (tx_) {
    protocol_error();
    reply(replies::nested_mail);
    co_return;
  }
  if (kind_ != ListenerKind::smtp && user_.empty()) {
    reply(replies::auth_required);
    co_return;
  }
  auto parsed = smtp::proto::parse_mail(arg);
  if (!parsed.value) {
    protocol_error();
    reply(parsed.err.reply);
    co_return;
  }
  auto& mail = *parsed.value;
  if (!esmtp_ && (mail.size || mail.body != smtp::proto::Body::unspecified || mail.smtputf8 || !mail.ret.empty() ||
                  !mail.envid.empty() || !mail.auth.empty())) {
    protocol_error();
    reply(replies::params_need_ehlo);
    co_return;
  }
  if (mail.body == smtp::proto::Body::binary_mime) {
    // BINARYMIME (RFC 3030) is not advertised.
    reply(replies::no_binarymime);
    co_return;
  }
  filter_notes_.transaction.clear();  // a new transaction
  {
    auto ctx = filter_context();  // size, sender ownership, ... (filter/policy)
    ctx.mail = &mail;
    if (!co_await filter_allows(filter::Step::mail, ctx)) co_return;
  }
  tx_.emplace();
  tx_->mail = std::move(mail);
  reply(replies::sender_ok);
}

net::awaitable<void> Session::cmd_rcpt(const std::string& arg) {
  if (!tx_) {
    protocol_error();
    reply(replies::need_mail);
    co_return;
  }
  auto parsed = smtp::proto::parse_rcpt(arg, tx_->mail.smtputf8);
  if (!parsed.value) {
    protocol_error();
    reply(parsed.err.reply);
    co_return;
  }
  auto rcpt = std::move(*parsed.value);
  if (!esmtp_ && (!rcpt.notify.empty() || !rcpt.orcpt.empty())) {
    protocol_error();
    reply(replies::params_need_ehlo);
    co_return;
  }
  if (tx_->rcpts.size() >= cfg_.limits.max_recipients) {
    // RFC 5321 4.5.3.1.10: 452 tells the client to send the rest in a later transaction.
    reply(replies::too_many_recipients);
    co_return;
  }
  auto* dir = svc_.directory;
  // The directory never throws into the session: a database that cannot be read is a temporary
  // failure (451 4.3.0), never a dropped connection.
  struct Routed {
    std::string domain;  // the recipient's, filled in for a bare <postmaster>
    route::Resolution res;
    std::string error;
    bool full = false;  // one mailbox, already at its quota (or past it with the declared SIZE)
  };
  auto* ms = svc_.mailstore;
  const std::uint64_t default_quota = cfg_.limits.mailbox_quota, declared = tx_->mail.size.value_or(0);
  auto job = [dir, ms, default_quota, declared, recipient = rcpt.recipient, host = cfg_.hostname,
              postmaster = cfg_.postmaster]() mutable -> Routed {
    try {
      route::Router router(*dir);
      // RFC 5321 4.1.1.3: <postmaster> without a domain is this host's postmaster: one of our domains.
      if (recipient.domain.empty()) recipient.domain = router.postmaster_domain(host);
      Routed out{recipient.domain, router.resolve(recipient.str(), postmaster), {}};
      // A full mailbox refuses at RCPT, as Dovecot's LMTP with lmtp_rcpt_check_quota: the sender learns
      // now instead of by a bounce. Only a recipient that is one mailbox: an alias with a full member
      // still reaches the others (the full one bounces at delivery, spool/local_delivery).
      const auto& slots = out.res.mailslots;
      if (ms && out.res.kind == route::Resolution::local && slots.size() == 1) {
        if (const std::uint64_t quota = slots[0].quota_or(default_quota)) {
          auto used = ms->usage(slots[0].address);
          out.full = used && (*used >= quota || *used + declared > quota);
        }
      }
      return out;
    } catch (const std::exception& e) {
      return {{}, {}, e.what()};
    }
  };
  auto routed = *co_await net::offload(*svc_.pool, std::move(job));
  if (routed.error.empty()) rcpt.recipient.domain = routed.domain;
  auto address = rcpt.recipient.str();
  if (!routed.error.empty()) {
    log::error("smtp {}: RCPT <{}>: the directory cannot be read: {}", id_, log_safe(address), routed.error);
    reply(replies::lookup_failed);
    co_return;
  }
  const auto& res = routed.res;
  switch (res.kind) {
    case route::Resolution::unknown_user:
      ++refused_rcpts_;
      if (user_.empty()) ++unknown_rcpts_;
      if (user_.empty() && cfg_.limits.max_unknown_recipients && unknown_rcpts_ >= cfg_.limits.max_unknown_recipients) {
        // A dictionary attack: RFC 5321 3.8 lets the server close with 421.
        log::warn("smtp {}: {} unknown recipients from {}: closing (dictionary attack)", id_, unknown_rcpts_,
                  stream_.peer_address());
        reply(code::unavailable, "4.7.0", fmt::format("<{}>: Too many unknown recipients; closing connection", address));
        quit_ = true;
        co_return;
      }
      if (user_.empty() && svc_.unknown_recipients && cfg_.limits.max_unknown_recipients_per_hour) {
        // The same attack spread over sessions: counted per client address and hour.
        auto key = filter::rate_key(filter_context());
        if (!key.empty() &&
            !svc_.unknown_recipients->take(key, cfg_.limits.max_unknown_recipients_per_hour, std::chrono::hours(1))) {
          log::warn("smtp {}: {} reached {} unknown recipients this hour: closing (dictionary attack)", id_, key,
                    cfg_.limits.max_unknown_recipients_per_hour);
          reply(code::unavailable, "4.7.0", fmt::format("<{}>: Too many unknown recipients; closing connection", address));
          quit_ = true;
          co_return;
        }
      }
      reply(code::mailbox_unavailable, "5.1.1", fmt::format("<{}>: Recipient address rejected: User unknown", address));
      co_return;
    case route::Resolution::loop:
      reply(code::mailbox_unavailable, "5.4.6", fmt::format("<{}>: Alias loop", address));
      co_return;
    case route::Resolution::remote:
    case route::Resolution::local:
      break;
  }
  if (routed.full) {
    // RFC 3463 5.2.2 mailbox full; permanent, as at delivery (Dovecot's quota_full_tempfail = no).
    log::info("smtp {}: RCPT <{}>: mailbox full", id_, log_safe(address));
    reply(code::exceeded_storage, "5.2.2", fmt::format("<{}>: Mailbox full", address));
    co_return;
  }
  {
    auto ctx = filter_context();  // relay policy, ... (filter/policy)
    ctx.rcpt = &rcpt;
    ctx.route = &res;
    filter::Verdict verdict;
    if (!co_await filter_allows(filter::Step::rcpt, ctx, &verdict)) {
      if (verdict.action == filter::Verdict::Action::reject) ++refused_rcpts_;  // tarpit (not a 4xx: no fault of the client)
      co_return;
    }
  }
  tx_->rcpts.push_back(std::move(rcpt));
  reply(replies::recipient_ok);
}

}  // namespace tern::smtpd
