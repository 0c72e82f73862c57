// http/wellknown: the documents mail software fetches from a mail domain's web site, made from the
// configuration:
//
//   /.well-known/mta-sts.txt   the MTA-STS policy (RFC 8461 3.2) when [mta_sts] is configured: the
//                              mode, the MX names (default: the hostname) and max_age
//   /mail/config-v1.1.xml      Thunderbird's autoconfig (also under /.well-known/autoconfig/): the
//                              IMAP, POP3 and submission servers of [listen], each with its port and
//                              TLS kind, the username being the whole address
//
// Both are public (no login) and cacheable for an hour.
#pragma once
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace tern::http {

// "" when [mta_sts] is not configured.
std::string mta_sts_policy(const config::Config& cfg);
// The clientConfig document for `domain` (a local domain, lower-case).
std::string autoconfig_xml(const config::Config& cfg, std::string_view domain);

}  // namespace tern::http
