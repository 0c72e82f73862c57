// mailauth/dmarc: DMARC (RFC 7489) evaluation: the policy record, the organizational domain (the
// Public Suffix List of Debian's `publicsuffix` package, through libpsl), identifier alignment of the
// SPF and DKIM results with the From domain, and the policy to apply (p, sp, pct).
//
// Pure but for the policy lookup, which the caller does (lookup_names() says which names to ask, in
// order), so the decision is testable with strings alone.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dns/resolver.hpp"

namespace tern::mailauth::dmarc {

enum class Policy { none, quarantine, reject };
std::string_view policy_name(Policy p);

struct Record {
  Policy p = Policy::none;
  std::optional<Policy> sp;
  bool strict_dkim = false;  // adkim=s
  bool strict_spf = false;   // aspf=s
  int pct = 100;
  std::vector<std::string> rua;  // mailto: URIs as written
  std::vector<std::string> ruf;
};
// RFC 7489 6.3: "v=DMARC1" first, then tags; unknown tags are ignored, a bad p= is an error (unless a
// valid rua= exists: then p=none, 6.6.3).
Result<Record> parse_record(std::string_view text);

// The organizational domain (RFC 7489 3.2): the registrable domain by the Public Suffix List; the
// domain itself when it is a public suffix or unknown to the list.
std::string organizational_domain(std::string_view domain);
bool aligned(std::string_view a, std::string_view b, bool strict);

// The inputs of a decision.
struct Inputs {
  std::string from_domain;  // RFC5322.From's domain, lower-case ("" when there is not exactly one)
  std::string spf_result;   // "pass", "fail", ... of the MAIL FROM (or HELO) check
  std::string spf_domain;   // the domain SPF checked
  struct Dkim {
    std::string result;
    std::string domain;
  };
  std::vector<Dkim> dkim;
};

enum class Status { none, pass, fail, temperror, permerror };
std::string_view status_name(Status s);

struct Decision {
  Status status = Status::none;
  Policy policy = Policy::none;       // p= or sp= of the record that applies
  Policy disposition = Policy::none;  // what to do after pct (and only when status is fail)
  std::string record_domain;          // where the record was found
  Record record;                      // that record (for the aggregate report)
  std::string reason;                 // for the header and the log
  bool spf_aligned = false, dkim_aligned = false;
  bool dkim_temperror = false;        // an unaligned result might have been an aligned pass
};

// The names to look up, in order: _dmarc.<From domain>, then _dmarc.<organizational domain> when
// different.
std::vector<std::string> lookup_names(std::string_view from_domain);
// `answers`: the TXT answers of lookup_names(), in order (the caller may stop at the first with a
// record). `sample`: a number in [0, 100) for pct.
Decision evaluate(const Inputs& in, const std::vector<dns::TxtAnswer>& answers, int sample);

}  // namespace tern::mailauth::dmarc
