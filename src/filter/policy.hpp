// filter/policy: the stages every Tern server runs, in this order (default_pipeline):
//
//   size       MAIL: a SIZE= above [limits] max_message_size is refused at once (RFC 1870 6.1)
//   sender     MAIL: an authenticated session may only send as its user or an alias that leads to the
//              user, never with the null sender (Postfix's reject_sender_login_mismatch)
//   relay      RCPT: an unauthenticated session may only send to local recipients (never an open relay)
//   rate       RCPT: an authenticated user's recipients per hour
//   inbound    connect, MAIL, RCPT: unauthenticated mail's rates per client address and per sender
//   hops       end of data: too many Received fields is a mail loop (RFC 5321 6.3)
//   auth       end of data: DKIM (and next SPF, DMARC, ARC), one Authentication-Results field
//              (filter/authentication); only with a resolver
//   virus      end of data: clamd scans every message, inbound and submitted ([virus]; filter/virus);
//              before spam, whose allow lists end the round
//   spam       RCPT: the deny list; end of data: the allow lists, then the score and its verdict
//              (filter/spam)
//   greylist   RCPT: an unknown (client network, sender, recipient) is deferred once ([filter]
//              greylisting; filter/greylist); after the deny list, so a denied client gets its 554
#pragma once
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include <boost/asio/thread_pool.hpp>

#include "dns/resolver.hpp"
#include "filter/filter.hpp"
#include "mailauth/dmarc_report.hpp"
#include "spam/bayes.hpp"
#include "store/directory.hpp"

namespace tern::filter {

class SizeStage : public Stage {
 public:
  std::string_view name() const override { return "size"; }
  net::awaitable<Verdict> mail(const Context& ctx) override;
};

class SenderStage : public Stage {
 public:
  SenderStage(store::Directory& directory, boost::asio::thread_pool& pool) : directory_(directory), pool_(pool) {}
  std::string_view name() const override { return "sender"; }
  net::awaitable<Verdict> mail(const Context& ctx) override;

 private:
  store::Directory& directory_;
  boost::asio::thread_pool& pool_;
};

class RelayStage : public Stage {
 public:
  std::string_view name() const override { return "relay"; }
  net::awaitable<Verdict> rcpt(const Context& ctx) override;
};

// Counts of events per key (a user, a client address, a sender) in fixed windows, in memory: a restart
// starts every count again. Bounded: at most max_keys keys; a new key beyond evicts the key whose
// window started first. Thread-safe (sessions run on several threads).
class RateWindows {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateWindows(std::size_t max_keys = 100000) : max_keys_(max_keys) {}
  // Counts one event for `key` and returns true, unless `limit` were counted in its current window
  // (which starts at its first event and lasts `window`): false, and nothing counted.
  bool take(std::string_view key, std::uint32_t limit, Clock::duration window, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Entry {
    Clock::time_point start;
    std::uint32_t count = 0;
    std::list<std::string>::iterator order;
  };
  mutable std::mutex mu_;
  std::size_t max_keys_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::list<std::string> order_;  // keys by the start of their window, oldest first
};

// The client's address as the inbound rates count it: its IPv6 /64 ("" when they do not count it:
// authenticated, not on the MX listener, or [limits] rate_limit_exempt).
std::string rate_key(const Context& ctx);

// RCPT: an authenticated user's recipients are counted per hour ([limits] user_recipients_per_hour);
// beyond, 450 4.7.1 until the hour is over. In memory: a restart starts the count again.
class UserRateStage : public Stage {
 public:
  std::string_view name() const override { return "rate"; }
  net::awaitable<Verdict> rcpt(const Context& ctx) override;

 private:
  RateWindows windows_;
};

// Unauthenticated mail on the MX listener, per client address (IPv6: its /64) and per envelope sender
// (the null sender: per client address), except [limits] rate_limit_exempt: connections per minute
// (421 4.7.0 and close), messages (MAIL) and recipients (RCPT) per hour (450 4.7.1, try later).
class InboundRateStage : public Stage {
 public:
  std::string_view name() const override { return "inbound"; }
  net::awaitable<Verdict> connect(const Context& ctx) override;
  net::awaitable<Verdict> mail(const Context& ctx) override;
  net::awaitable<Verdict> rcpt(const Context& ctx) override;

 private:
  RateWindows connections_, ip_messages_, ip_recipients_, sender_messages_;
};

class HopStage : public Stage {
 public:
  std::string_view name() const override { return "hops"; }
  net::awaitable<Verdict> data(const Context& ctx) override;
};

// The stages above, in order.
std::unique_ptr<Pipeline> default_pipeline(store::Directory& directory, boost::asio::thread_pool& pool,
                                           dns::Resolver* resolver, mailauth::dmarc::Recorder* dmarc_reports = nullptr,
                                           const spam::Learner* learner = nullptr);

}  // namespace tern::filter
