// DATA (RFC 5321 4.1.1.4):  "DATA" CRLF, then the message ending with CRLF "." CRLF
// BDAT (RFC 3030):          "BDAT" SP chunk-size [SP "LAST"] CRLF, then chunk-size octets
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/strings.hpp"
#include "mime/address.hpp"
#include "mime/headers.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {

net::awaitable<void> Session::cmd_data() {
  if (!tx_ || tx_->rcpts.empty() || tx_->bdat_started) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", !tx_ ? "Need MAIL command" : tx_->bdat_started ? "DATA after BDAT" : "Need RCPT command");
    co_return;
  }
  reply(replies::start_data);
  co_await flush();
  smtp::proto::DataReader reader(cfg_.limits.max_message_size);
  // One deadline for the whole message, extended only while min_data_rate keeps up.
  stream_.set_timeout(cfg_.limits.data_timeout, cfg_.limits.min_data_rate);
  for (;;) {
    auto n = reader.feed(in_);
    in_.erase(0, n);
    if (reader.done()) break;
    if (!co_await fill()) throw boost::system::system_error(boost::asio::error::eof);
  }
  co_await finish_message(reader.take_message(), reader.bare_line_end(), reader.too_big());
}

net::awaitable<void> Session::cmd_bdat(const std::string& arg) {
  auto parsed = smtp::proto::parse_bdat(arg);
  if (!parsed.value) {
    // Without a valid size the chunk cannot be skipped: the stream is out of sync, so close.
    reply(parsed.err.reply);
    quit_ = true;
    co_return;
  }
  auto args = *parsed.value;
  // RFC 3030 2: the chunk is read off even when the command is refused.
  bool refused = !tx_ || tx_->rcpts.empty();
  std::string sink;
  std::string& target = refused ? sink : tx_->bdat_message;
  if (!refused) tx_->bdat_started = true;
  smtp::proto::BdatReader reader(args.size, target, refused ? 0 : cfg_.limits.max_message_size);
  bool deadline_set = false;  // one deadline for the whole chunk, as for DATA
  for (;;) {
    auto n = reader.feed(in_);
    in_.erase(0, n);
    if (reader.done()) break;
    co_await flush();
    if (!std::exchange(deadline_set, true)) stream_.set_timeout(cfg_.limits.data_timeout, cfg_.limits.min_data_rate);
    if (!co_await fill()) throw boost::system::system_error(boost::asio::error::eof);
    if (refused) sink.clear();
  }
  if (refused) {
    protocol_error();
    reply(code::bad_sequence, "5.5.1", !tx_ ? "Need MAIL command" : "Need RCPT command");
    co_return;
  }
  if (reader.too_big()) tx_->bdat_failed = true;
  if (!args.last) {
    reply(code::ok, "2.0.0", fmt::format("{} octets received", args.size));
    co_return;
  }
  std::string message;
  message.swap(tx_->bdat_message);
  bool bare = smtp::proto::has_bare_line_end(message);
  co_await finish_message(std::move(message), bare, tx_->bdat_failed);
}

net::awaitable<void> Session::finish_message(std::string message, bool bare_line_end, bool too_big) {
  metrics::Timer timer(metrics::smtp_transaction_seconds);  // until the reply (learning after it is not counted)
  auto tx = std::move(*tx_);
  tx_.reset();
  data_from_ = tx.mail.sender ? tx.mail.sender->str() : "";
  data_to_ = tx.rcpts.empty() ? "" : tx.rcpts.front().recipient.str();
  if (too_big) {
    reply(replies::too_big);
    co_return;
  }
  if (bare_line_end) {
    // SMTP smuggling defence: a message with a bare CR or LF is refused whole, never reinterpreted.
    log::warn("smtp {}: refused a message with a bare CR or LF from {}", id_, stream_.peer_address());
    reply(replies::bare_line_end);
    co_return;
  }
  filter::Verdict verdict;
  {
    auto ctx = filter_context();  // hop limit, authentication, ... (filter/policy)
    ctx.mail = &tx.mail;
    ctx.recipients = &tx.rcpts;
    ctx.message = message;
    if (!co_await filter_allows(filter::Step::data, ctx, &verdict)) co_return;
  }
  // Fields the filters remove (a forged Authentication-Results) and parts they replace (a stripped
  // attachment), from the last one up so that each offset still holds.
  for (const auto& [offset, length] : verdict.drop) verdict.replace.push_back({offset, length, {}});
  if (!verdict.replace.empty()) message = filter::edited(message, std::move(verdict.replace));

  spool::Envelope env;
  env.from = tx.mail.sender ? tx.mail.sender->str() : "";
  for (auto& r : tx.rcpts) {
    spool::Recipient rr;
    rr.address = r.recipient.str();
    rr.notify = r.notify;
    rr.orcpt = r.orcpt;
    env.recipients.push_back(std::move(rr));
  }
  env.envid = tx.mail.envid;
  env.ret = tx.mail.ret;
  env.body = tx.mail.body == smtp::proto::Body::eight_bit_mime ? "8BITMIME"
             : tx.mail.body == smtp::proto::Body::seven_bit    ? "7BIT"
                                                                : "";
  env.smtputf8 = tx.mail.smtputf8;
  env.auth = user_;
  env.client = stream_.peer_address();
  if (verdict.action == filter::Verdict::Action::junk) env.junk = log_safe(verdict.junk);
  const std::string env_junk = env.junk;  // env moves into the job below

  // RFC 5321 4.4: the trace field; "for" only with a single recipient (privacy of Bcc).
  auto queue_id = make_unique_id();
  std::string received = fmt::format("Received: from {} ([{}])\r\n\tby {} (Tern) with {} id {}", helo_,
                                     stream_.peer_address(), cfg_.hostname, with_protocol(tx.mail.smtputf8), queue_id);
  if (stream_.is_tls()) received += fmt::format("\r\n\t(using {})", stream_.tls_description());
  if (env.recipients.size() == 1) received += fmt::format("\r\n\tfor <{}>", env.recipients.front().address);
  received += fmt::format(";\r\n\t{}\r\n", rfc5322_date());
  // RFC 6409 8.2, 8.3: a submission server adds the Date and Message-ID an authenticated client left
  // out (Postfix's always_add_missing_headers for submission); at the end of the header block.
  std::string missing;
  if (!user_.empty()) {
    auto fields = mime::parse_header(message);
    if (mime::first_value(fields, "Date").empty()) missing += "Date: " + rfc5322_date() + "\r\n";
    if (mime::first_value(fields, "Message-ID").empty())
      missing += fmt::format("Message-ID: <{}@{}>\r\n", queue_id, cfg_.hostname);
  }
  if (!missing.empty()) {
    auto end = message.starts_with("\r\n") ? 0 : message.find("\r\n\r\n");  // no header at all: first
    auto at = end == std::string::npos ? message.size() : end == 0 && message.starts_with("\r\n") ? 0 : end + 2;
    if (end == std::string::npos && !message.empty() && !message.ends_with("\r\n")) missing = "\r\n" + missing;
    message.insert(at, missing);
  }
  // The filters' fields (Authentication-Results, spam scores) go right below Tern's Received field,
  // as RFC 8601 5 asks of Authentication-Results; the signatures of what the user sends below them.
  received += verdict.headers;
  if (!user_.empty()) received += co_await dkim_sign(message);
  // Mail from outside that reaches the INBOX counts toward its sender's reputation with each local
  // recipient (docs/spam.md); its From address as the spam stage read it.
  std::string from_address;
  if (user_.empty() && svc_.learner && verdict.action != filter::Verdict::Action::junk &&
      verdict.action != filter::Verdict::Action::quarantine) {
    if (auto it = filter_notes_.transaction.find("from"); it != filter_notes_.transaction.end()) from_address = it->second;
  }
  std::string full;
  full.reserve(received.size() + message.size());
  full += received;
  full += message;
  message.clear();
  message.shrink_to_fit();

  // Held by the filters: into the server's quarantine, as durably as into the outbox, and the client is
  // told the same as for a queued message (a sender is not told which of its mail was held).
  const bool hold = verdict.action == filter::Verdict::Action::quarantine;
  if (hold && !svc_.quarantine) {  // never a silent pass of what a filter meant to hold
    log::error("smtp {}: a filter held the message, but no quarantine is set up", id_);
    reply(code::local_error, "4.3.0", "Cannot take the message now, try again later");
    co_return;
  }
  auto* spool = svc_.spool;
  auto* quarantine = svc_.quarantine;
  std::string why = hold ? verdict.quarantine : std::string();
  // A named job, never a temporary inside the co_await: GCC 12 corrupts closures built there.
  auto job = [spool, quarantine, hold, why, env = std::move(env), full = std::move(full), queue_id]() mutable {
    return hold ? quarantine->hold(std::move(env), full, why, queue_id) : spool->enqueue(std::move(env), full, queue_id);
  };
  auto result = *co_await net::offload(*svc_.pool, std::move(job));
  if (!result) {
    log::error("smtp {}: could not queue the message: {}", id_, result.error().message);
    reply(error_reply(result.error(), id_));
    co_return;
  }
  if (hold) metrics::messages_quarantined.add();
  else if (!env_junk.empty()) metrics::messages_junk.add();
  if (hold)
    log::info("smtp {}: quarantined {} from <{}> for {} recipient(s): {}", id_, *result,
              tx.mail.sender ? tx.mail.sender->str() : "", tx.rcpts.size(), log_safe(why, 2000));
  else
    log::info("smtp {}: queued {} from <{}> for {} recipient(s)", id_, *result,
              tx.mail.sender ? tx.mail.sender->str() : "", tx.rcpts.size());
  reply(code::ok, "2.0.0", fmt::format("Ok: queued as {}", *result));
  timer.stop();
  // A user who writes to someone wants that person's mail (replies included): their reputation with
  // the user, recorded off the session's path (docs/spam.md).
  if (!user_.empty() && svc_.learner) {
    std::vector<std::string> to;
    for (const auto& r : tx.rcpts) to.push_back(r.recipient.str());
    auto* learner = svc_.learner;
    boost::asio::post(*svc_.pool, [learner, user = user_, to = std::move(to)] { learner->record_sent(user, to); });
  }
  if (!from_address.empty()) {
    std::vector<std::string> to;
    for (const auto& r : tx.rcpts)
      if (to.size() < 5) to.push_back(r.recipient.str());
    auto* learner = svc_.learner;
    boost::asio::post(*svc_.pool, [learner, from = std::move(from_address), to = std::move(to)] { learner->record_inbox(to, from); });
  }
}

namespace {
std::size_t count_fields(std::string_view fields, std::string_view name) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = fields.find(name, pos)) != std::string_view::npos; pos += name.size()) ++n;
  return n;
}
}  // namespace

net::awaitable<std::string> Session::dkim_sign(const std::string& message) {
  if (!svc_.dkim) co_return std::string();
  const std::string* m = &message;
  auto* keys = svc_.dkim;
  auto job = [m, keys] {
    std::pair<std::string, std::string> out;  // fields, signer
    out.first = keys->sign(*m, &out.second);
    return out;
  };
  auto [fields, signer] = *co_await net::offload(*svc_.pool, std::move(job));
  if (!fields.empty())
    log::info("smtp {}: signed for {} with {} key(s)", id_, signer, count_fields(fields, "DKIM-Signature:"));
  co_return fields;
}

}  // namespace tern::smtpd
