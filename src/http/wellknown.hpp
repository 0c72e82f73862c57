// http/wellknown: the documents mail software fetches from a mail domain's web site, made from the
// configuration:
//
//   /.well-known/mta-sts.txt   the MTA-STS policy (RFC 8461 3.2) when [mta_sts] is configured: the
//                              mode, the MX names (default: the hostname) and max_age
//   /mail/config-v1.1.xml      Thunderbird's autoconfig (also under /.well-known/autoconfig/): the
//                              IMAP, POP3 and submission servers of [listen], each with its port and
//                              TLS kind, the username being the whole address
//   /autodiscover/autodiscover.xml  Microsoft Autodiscover, the "POX" form Outlook and others POST to
//                              (also /Autodiscover/Autodiscover.xml): the request names an address,
//                              the answer is an "Account" with the same servers as autoconfig's, the
//                              login name being the address; an address of another domain gets an
//                              error document (ErrorCode 500, HTTP 404), a request that names none or
//                              is over autodiscover_max_request octets one with ErrorCode 600 (400, 413)
//
// All are public (no login); the first two are cacheable for an hour. Everything taken from the
// request or the configuration is XML-escaped.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace tern::http {

// "" when [mta_sts] is not configured.
std::string mta_sts_policy(const config::Config& cfg);
// The clientConfig document for `domain` (a local domain, lower-case).
std::string autoconfig_xml(const config::Config& cfg, std::string_view domain);

inline constexpr std::size_t autodiscover_max_request = 16 * 1024;
// The address an Autodiscover request asks about (its EMailAddress element); nullopt when the request
// is too large, names none, or names something that is not an address.
std::optional<std::string> autodiscover_address(std::string_view request);
// The answer for `address` (of a local domain).
std::string autodiscover_xml(const config::Config& cfg, std::string_view address);
// Exchange's error codes (MS-OXDSCLI 2.2.4.1.1.2.3).
enum class AutodiscoverError { address_not_found = 500, invalid_request = 600 };
std::string autodiscover_error(AutodiscoverError code, std::string_view message);

}  // namespace tern::http
