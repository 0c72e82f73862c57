// config: Tern's TOML configuration (CONTRACT.md): parse, validate, defaults.
//
// Error contract: load() never throws; a problem yields an Error whose message names the file, the line,
// the key and what was expected ("tern.toml:7: listen.smtp: expected a list of \"address:port\"").
// Unknown keys are errors too, so that a typo never silently leaves a default in place.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "spam/attachments.hpp"
#include "spam/clamd.hpp"
#include "spam/lists.hpp"

namespace tern::config {

struct Endpoint {
  std::string host;  // IPv4 or IPv6 literal (without brackets) or a name
  std::uint16_t port = 0;
  std::string str() const;
  bool operator==(const Endpoint&) const = default;
};

struct RouteAuth {
  std::string user;
  std::string password;
};

struct Route {
  std::string match;  // "*", "example.test", "*.example.test"
  Endpoint relay;
  std::string tls = "none";  // none | starttls | implicit | dane
  std::optional<RouteAuth> auth;
  std::vector<std::chrono::seconds> retry;         // empty: [outbound] retry
  std::optional<std::chrono::seconds> give_up_after;
};

struct Limits {
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 50;
  // Per listener name (smtp, imap, ...), so a flood on one service leaves slots for the others;
  // 0: half of max_connections.
  std::uint32_t max_connections_per_service = 0;
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
  std::uint32_t max_recipients = 1000;
  std::uint32_t max_received_headers = 50;  // hop limit, RFC 5321 6.3
  // A whole command line (from the wait for it; IMAP and POP3: from its first octet) must arrive
  // within this; RFC 5321 4.5.3.2.7 suggests 5 minutes. Also the deadline of each reply write.
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};  // DATA/BDAT, with min_data_rate
  // Octets per second that DATA, BDAT and IMAP literals must keep up (Postfix's smtpd_min_data_rate).
  std::uint32_t min_data_rate = 500;
  // The whole session before login (SMTP: before AUTH or the first MAIL), like Dovecot's login
  // processes and Postfix's postscreen bound it.
  std::chrono::seconds login_timeout{60};
  std::uint32_t max_errors = 20;  // protocol errors before the session is closed
  std::uint64_t mailbox_quota = 0;  // octets per mailbox, all folders (IMAP QUOTA, RFC 9208; SMTP delivery); 0: none
  // Recipients an authenticated user may send to per hour (a stolen account must not send 10,000
  // messages); 0: no limit.
  std::uint32_t user_recipients_per_hour = 1000;

  // ---- Connection checks of unauthenticated SMTP clients (docs/spam.md "Connection checks") ----
  // Tarpit: once a session has made more than tarpit_after errors (protocol errors and refused
  // recipients), each later reply waits tarpit_delay per error beyond, at most tarpit_max.
  std::uint32_t tarpit_after = 3;
  std::chrono::milliseconds tarpit_delay{1000};
  std::chrono::milliseconds tarpit_max{5000};
  // Dictionary attacks: from unknown_recipients_delay_after unknown recipients in one session on, every
  // reply waits tarpit_max; at max_unknown_recipients, 421 4.7.0 and close. 0: off.
  std::uint32_t unknown_recipients_delay_after = 5;
  std::uint32_t max_unknown_recipients = 10;
  // The same across sessions, per client address (as the inbound rates count it) and hour: beyond,
  // each further unknown recipient gets 421 4.7.0 and the session is closed. 0: off.
  std::uint32_t max_unknown_recipients_per_hour = 30;
  // Inbound rates per client address (IPv6: its /64) and per envelope sender, in memory; 0: no limit.
  std::uint32_t connections_per_ip_per_minute = 60;  // MX listener; 421 4.7.0 beyond
  std::uint32_t messages_per_ip_per_hour = 1000;     // MAIL; 450 4.7.1 beyond
  std::uint32_t recipients_per_ip_per_hour = 2000;   // RCPT; 450 4.7.1 beyond
  std::uint32_t messages_per_sender_per_hour = 500;  // MAIL; 450 4.7.1 beyond
  // Clients the rates never count (Postfix's smtpd_client_event_limit_exceptions): loopback, where a
  // local content filter reinjects mail.
  spam::AddressList rate_limit_exempt = default_rate_limit_exempt();
  static spam::AddressList default_rate_limit_exempt();
  // ---- end of the connection checks ----

  std::uint32_t connections_per_service() const {
    return max_connections_per_service ? max_connections_per_service : std::max(1u, max_connections / 2);
  }
};

struct Config {
  std::filesystem::path file;      // the configuration file itself
  std::string hostname = "localhost";
  std::string postmaster;  // "" = the first mailbox of the domain (route/router)
  std::filesystem::path data_dir;  // absolute, resolved against the file's folder
  std::map<std::string, std::vector<Endpoint>> listen;  // service -> endpoints
  std::optional<std::filesystem::path> tls_cert, tls_key;  // absolute when set
  bool allow_plaintext = false;
  std::vector<Endpoint> dns_servers;
  std::uint16_t mx_port = 25;
  std::vector<std::chrono::seconds> retry{std::chrono::minutes(1), std::chrono::minutes(5),
                                          std::chrono::minutes(15), std::chrono::minutes(30),
                                          std::chrono::hours(1)};
  std::chrono::seconds give_up_after{4 * 86400};
  std::chrono::seconds delay_warning_after{4 * 3600};
  std::string copy_delivered_to;
  std::vector<Route> routes;
  Limits limits;
  std::string log_level = "info";
  // [spam] (docs/spam.md): the score thresholds, the lists that override the score, DNS lists.
  struct DnsList {
    std::string zone;
    double weight = 0;                                  // an answer in 127.0.0.0/8 that codes does not name
    std::vector<std::pair<std::string, double>> codes;  // an answer address and its weight
    bool domains = false;  // a domain list (sender domain, link hosts); else client addresses
    bool block = false;    // from [filter] dnsbl: a listing weighs spam.reject_score
  };
  struct SpamThreshold {
    std::string match;  // a local domain, or an address (lower-case)
    double junk_score = 0, reject_score = 0;
  };
  struct Spam {
    bool enabled = true;
    double junk_score = 5.0;    // at or above: accepted into the recipients' Junk
    double reject_score = 15.0;  // at or above: refused (550 5.7.1)
    spam::AddressList allow, deny, allow_recipients;
    // Relays of this site (addresses, networks): from them the connection rules judge the client the
    // Received fields name (spam/received), not the relay (SpamAssassin's trusted_networks).
    spam::AddressList trusted_relays;
    std::vector<DnsList> dnsbl;
    std::vector<SpamThreshold> thresholds;
    std::int64_t classifier_min_samples = 20;  // of each class before the classifier votes
  } spam;
  // [virus] (docs/virus.md): every message is scanned by clamd when its address is set.
  struct Virus {
    std::optional<spam::clamd::Address> clamd;  // absent: no scanning
    // reject: 554 5.7.1; quarantine: held in the server's quarantine; junk: into the recipients' Junk.
    enum class OnVirus { reject, quarantine, junk } on_virus = OnVirus::reject;
    enum class WhenDown { tempfail, accept } when_down = WhenDown::tempfail;  // accept: marked Unscanned
    std::chrono::seconds timeout{30};  // the whole scan, from connect to the reply
  } virus;
  // [attachments] (docs/spam.md): what happens to a message carrying a file the rules name.
  struct Attachments {
    enum class Action { off, reject, quarantine, strip } action = Action::off;
    spam::AttachmentRules rules;
  } attachments;
  // [mta_sts] (RFC 8461): the policy served at /.well-known/mta-sts.txt; absent: none served.
  struct MtaSts {
    bool enabled = false;
    std::string mode = "testing";  // enforce | testing | none
    std::chrono::seconds max_age{7 * 86400};
    std::vector<std::string> mx;  // the MX names the policy allows; empty: the hostname
  } mta_sts;
  // [filter] greylisting (CONTRACT.md): unknown senders' first attempts are deferred.
  bool greylisting = false;
  // [mailauth] verify: SPF, DKIM, ARC and DMARC of mail arriving on the MX listener, and the
  // Authentication-Results field; false when a filter in front of Tern does them.
  bool mailauth_verify = true;
  // [dmarc]: a failing message whose sender's policy is reject is refused (550 5.7.1), quarantine is
  // filed into Junk; enforce = false, or every recipient in a report_only domain: only reported.
  bool dmarc_enforce = true;
  std::vector<std::string> dmarc_report_only;  // local domains, lower-case
  // ---- [greylist] (docs/spam.md "Greylisting"); on with [filter] greylisting ----
  struct Greylist {
    std::chrono::seconds delay{300};                 // a triplet's retry passes this long after its first try
    std::chrono::seconds expire{86400};              // a triplet never retried is forgotten after this
    std::chrono::seconds retention{35 * 86400};      // a passed triplet or client unseen this long is forgotten
    std::uint32_t auto_allow = 5;                    // messages passed from a client network + sender domain
                                                     // before it skips greylisting; 0: never
    std::vector<std::string> skip_if{"fcrdns", "spf"};  // checks that must all pass to skip; []: none skip
    unsigned ipv4_prefix = 24, ipv6_prefix = 64;     // the client network of a triplet (as postgrey)
  } greylist;
  // ---- end of [greylist] ----

  std::filesystem::path cert_path() const;  // [tls] cert, or data_dir/cert.pem
  std::filesystem::path key_path() const;
};

// The services a [listen] table may name.
const std::vector<std::string>& known_services();

Result<Config> load(const std::filesystem::path& file);
Result<Config> parse(const std::string& text, const std::filesystem::path& file);

// The commented default configuration that `make run` writes on first run.
std::string default_config_text();

Result<Endpoint> parse_endpoint(std::string_view s);

}  // namespace tern::config
