// mailauth/spf: the Sender Policy Framework (RFC 7208): check_host() for the MAIL FROM and HELO
// identities, on the application's resolver (TXT records only: the SPF RR type is obsolete).
//
// Limits (RFC 7208 4.6.4): at most 10 terms that cause DNS queries (include, a, mx, ptr, exists,
// redirect) per check, at most 2 void lookups (an answer with no records, or NXDOMAIN), at most 10 MX
// names per mx and 10 PTR names per ptr; each beyond is permerror. A record longer than 4096 octets is
// refused. The grammar is checked whole before anything is evaluated (an error late in a record is a
// permerror even when an earlier mechanism would match).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "dns/resolver.hpp"

namespace tern::mailauth::spf {

enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view result_name(Result r);

struct Outcome {
  Result result = Result::none;
  std::string domain;       // the domain checked (MAIL FROM's, or HELO's)
  std::string mechanism;    // the directive that matched ("-all", "include:_spf.example.test"), or ""
  std::string explanation;  // fail: the domain's exp= text, expanded; else ""
  std::string problem;      // permerror / temperror / none: why, for the log and the header's reason
};

struct Request {
  boost::asio::ip::address ip;  // the client
  std::string sender;           // MAIL FROM's address ("" for the null sender: then postmaster@helo)
  std::string helo;             // the HELO/EHLO name
  std::string receiver;         // our host name (the %{r} macro)
};

// check_host() for the MAIL FROM identity (or, with an empty sender, for HELO's: RFC 7208 2.4).
boost::asio::awaitable<Outcome> check_mail_from(dns::Resolver& resolver, Request request);
// check_host() for the HELO identity (RFC 7208 2.3).
boost::asio::awaitable<Outcome> check_helo(dns::Resolver& resolver, Request request);

// The syntax check alone, for tests and the fuzz target: "" when `record` is a valid SPF record, else why.
std::string syntax_error(std::string_view record);

}  // namespace tern::mailauth::spf
