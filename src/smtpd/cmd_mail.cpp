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
    reply(code::bad_sequence, "5.5.1", "Send EHLO or HELO first");
    co_return;
  }
  if (tx_) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", "Nested MAIL command");
    co_return;
  }
  if (kind_ != ListenerKind::smtp && user_.empty()) {
    reply(code::auth_required, "5.7.0", "Authentication required");
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
    reply(code::params_not_recognized, "5.5.4", "Parameters need EHLO");
    co_return;
  }
  if (mail.size && *mail.size > cfg_.limits.max_message_size) {
    reply(code::exceeded_storage, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  if (mail.body == smtp::proto::Body::binary_mime) {
    // BINARYMIME (RFC 3030) is not advertised.
    reply(code::param_not_implemented, "5.5.4", "BODY=BINARYMIME is not supported");
    co_return;
  }
  if (!user_.empty() && !co_await sender_owned(mail)) co_return;
  tx_.emplace();
  tx_->mail = std::move(mail);
  reply(code::ok, "2.1.0", "Ok");
}

// An authenticated session, on any listener (submission, or smtp after AUTH), may only send as the user
// or one of the aliases that lead to the user: no forged senders (Postfix's
// reject_sender_login_mismatch). Otherwise the refusal is queued and false returned.
net::awaitable<bool> Session::sender_owned(const smtp::proto::MailFrom& mail) {
  if (!mail.sender) {
    reply(code::bad_mailbox_name, "5.7.1", "The null sender is not allowed for authenticated users");
    co_return false;
  }
  auto sender = store::normalize_address(mail.sender->str());
  bool owned = sender == user_;
  if (!owned) {
    auto* dir = svc_.directory;
    auto user = user_;
    auto job = [dir, sender, user] {
      for (auto& t : dir->alias_targets(sender))
        if (t == user) return true;
      return false;
    };
    owned = *co_await net::offload(*svc_.pool, std::move(job));
  }
  if (!owned) {
    log::info("smtp {}: MAIL FROM <{}> refused: not owned by {}", id_, log_safe(sender), user_);
    reply(code::bad_mailbox_name, "5.7.1", fmt::format("Sender address <{}> not owned by user {}", sender, user_));
  }
  co_return owned;
}

net::awaitable<void> Session::cmd_rcpt(const std::string& arg) {
  if (!tx_) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", "Need MAIL command");
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
    reply(code::params_not_recognized, "5.5.4", "Parameters need EHLO");
    co_return;
  }
  if (tx_->rcpts.size() >= cfg_.limits.max_recipients) {
    // RFC 5321 4.5.3.1.10: 452 tells the client to send the rest in a later transaction.
    reply(code::insufficient_storage, "4.5.3", "Too many recipients");
    co_return;
  }
  auto* dir = svc_.directory;
  if (rcpt.recipient.domain.empty()) {
    // RFC 5321 4.1.1.3: <postmaster> without a domain is this host's postmaster: one of our domains.
    auto host = cfg_.hostname;
    auto job = [dir, host] { return route::Router(*dir).postmaster_domain(host); };
    rcpt.recipient.domain = *co_await net::offload(*svc_.pool, std::move(job));
  }
  auto address = rcpt.recipient.str();
  auto job = [dir, address, postmaster = cfg_.postmaster] { return route::Router(*dir).resolve(address, postmaster); };
  auto res = *co_await net::offload(*svc_.pool, std::move(job));
  switch (res.kind) {
    case route::Resolution::unknown_user:
      reply(code::mailbox_unavailable, "5.1.1", fmt::format("<{}>: Recipient address rejected: User unknown", address));
      co_return;
    case route::Resolution::loop:
      reply(code::mailbox_unavailable, "5.4.6", fmt::format("<{}>: Alias loop", address));
      co_return;
    case route::Resolution::remote:
      if (res.mailslots.empty() && res.remote_targets.size() == 1 && res.remote_targets.front() == address && user_.empty()) {
        // Never an open relay: only authenticated users may send to other domains.
        reply(code::transaction_failed, "5.7.1", fmt::format("<{}>: Relay access denied", address));
        co_return;
      }
      break;
    case route::Resolution::local:
      break;
  }
  tx_->rcpts.push_back(std::move(rcpt));
  reply(code::ok, "2.1.5", "Ok");
}

}  // namespace tern::smtpd
