// mailauth/authres: the Authentication-Results header field (RFC 8601) that the SMTP server adds to
// every message it receives, and the test that an incoming one claims our authserv-id (such a field
// is removed first, RFC 8601 5, so nobody can forge our verdicts).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::mailauth {

// One resinfo: "dkim=pass reason=\"...\" header.d=example.test".
struct MethodResult {
  std::string method;  // spf, dkim, dmarc, arc, auth, iprev
  std::string result;  // pass, fail, none, ...
  std::string reason;  // "" when none
  std::vector<std::pair<std::string, std::string>> properties;  // "header.d", "example.test"
};

// The whole field, folded, ending in CRLF. With no results: "<id>; none" (RFC 8601 2.2).
std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results);
// The authserv-id of an Authentication-Results field value (comments skipped), lower-case.
std::string authserv_id_of(std::string_view value);
// A property value as a token where it can be one, else a quoted string (RFC 8601 2.2, RFC 2045 token).
std::string pvalue(std::string_view v);

}  // namespace tern::mailauth
