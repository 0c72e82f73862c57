// filter/spam: the spam stage (docs/spam.md), after mail authentication.
//
//   RCPT         the deny list ([spam] deny: client networks, senders, sender domains) refuses with
//                554 5.7.1, except for postmaster@ and abuse@ (RFC 5321 4.5.1, RFC 2142), which take
//                mail from anyone
//   end of data  the allow lists end the check (accepted, "tests=ALLOWLISTED"); otherwise the rules
//                score the message: the connection (reverse DNS confirmed or not, the HELO name, DNS
//                lists), the authentication results the auth stage left, the header and the body
//                (spam/content). At [spam] junk_score the message is accepted into the recipients'
//                Junk, at reject_score refused with 554 5.7.1 (never when a recipient is postmaster@
//                or abuse@); the most lenient thresholds of the recipients ([[spam.threshold]]) apply,
//                since one reply answers them all. X-Spam-Status (SpamAssassin's form) says why, and
//                one log line gives the score, the verdict and the heaviest rules. Fields named
//                X-Spam-* that came with the message are removed first.
// Mail from authenticated users is scored too (a stolen account sending spam), never put into Junk
// and never given the fields; it is refused at reject_score.
#pragma once
#include <boost/asio/ip/address.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dns/resolver.hpp"
#include "filter/filter.hpp"
#include "spam/bayes.hpp"
#include "spam/report.hpp"

namespace tern::filter {

class SpamStage : public Stage {
 public:
  // learner: the statistical classifier (null: none)
  SpamStage(dns::Resolver* resolver, boost::asio::thread_pool& pool, const spam::Learner* learner = nullptr)
      : resolver_(resolver), pool_(pool), learner_(learner) {}
  std::string_view name() const override { return "spam"; }
  net::awaitable<Verdict> rcpt(const Context& ctx) override;
  net::awaitable<Verdict> data(const Context& ctx) override;

 private:
  // Reverse DNS, HELO and DNS-list rules; kept in the session notes (one client, one answer).
  net::awaitable<void> connection_rules(const Context& ctx, spam::Report& out);
  // From a trusted relay: the same rules for the first client its Received fields name that is not
  // one of the trusted relays, as the relay recorded it (its HELO and reverse name; DNS lists asked).
  net::awaitable<void> relay_rules(const Context& ctx, spam::Report& out);
  // The configured IP lists (RBL_...) asked for `client`; `via` is added to the details. Needs resolver_.
  net::awaitable<void> ip_lists(const Context& ctx, boost::asio::ip::address client, std::string via, spam::Report& out);
  net::awaitable<void> domain_lists(const Context& ctx, const std::vector<std::string>& domains, spam::Report& out);
  dns::Resolver* resolver_;  // null: no DNS rules
  boost::asio::thread_pool& pool_;
  const spam::Learner* learner_;
};

// postmaster@ or abuse@ any domain: these take mail from anyone.
bool always_accepted(std::string_view address);

}  // namespace tern::filter
