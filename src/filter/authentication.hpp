// filter/authentication: the mail-authentication stage (RFC 8601).
//   MAIL         SPF (RFC 7208) for the MAIL FROM identity (HELO's for the null sender) of mail from
//                outside (the MX listener, no AUTH); the result is kept with the transaction
//   end of data  removes any Authentication-Results field that claims our authserv-id (the hostname),
//                verifies every DKIM signature (keys from the application's resolver, the hashing on
//                the worker pool) and adds one Authentication-Results field (spf, dkim, arc, dmarc) to
//                mail from outside; none to what an authenticated user submits (it would show remote
//                recipients the user's login name)
// It refuses nothing yet: DMARC's policy is what will turn these results into a verdict.
#pragma once
#include <boost/asio/thread_pool.hpp>

#include "dns/resolver.hpp"
#include "filter/filter.hpp"
#include "mailauth/dmarc_report.hpp"

namespace tern::filter {

class AuthenticationStage : public Stage {
 public:
  // `reports`: where DMARC evaluations are recorded for the aggregate reports (null: not recorded).
  AuthenticationStage(dns::Resolver& resolver, boost::asio::thread_pool& pool, mailauth::dmarc::Recorder* reports)
      : resolver_(resolver), pool_(pool), reports_(reports) {}
  std::string_view name() const override { return "auth"; }
  net::awaitable<Verdict> mail(const Context& ctx) override;
  net::awaitable<Verdict> data(const Context& ctx) override;

 private:
  net::awaitable<void> record(const mailauth::dmarc::Evaluation& e);
  dns::Resolver& resolver_;
  boost::asio::thread_pool& pool_;
  mailauth::dmarc::Recorder* reports_;
};

}  // namespace tern::filter
