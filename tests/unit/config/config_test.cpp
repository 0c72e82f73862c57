// config: CONTRACT.md's example, defaults, and every error naming file, line and key.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "base/strings.hpp"
#include "config/config.hpp"

namespace tern::config {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// CONTRACT.md's example, verbatim (comments included), plus a second route without the optional keys.
constexpr const char* contract_example = R"(hostname = "mx.example.test"        # EHLO name and Received: host
data_dir = "data"                   # relative to the config file's folder

[listen]                            # each a list of "address:port"; an absent key = service off
smtp        = ["127.0.0.1:2525"]    # MX: mail for local domains; relay only for authenticated users
submission  = ["127.0.0.1:2587"]    # STARTTLS, AUTH required
submissions = ["127.0.0.1:2465"]    # implicit TLS, AUTH required
imap        = ["127.0.0.1:2143"]
imaps       = ["127.0.0.1:2993"]
pop3        = ["127.0.0.1:2110"]
pop3s       = ["127.0.0.1:2995"]
http        = ["127.0.0.1:8080"]

[tls]                               # absent: a self-signed certificate is made in data_dir
cert = "cert.pem"
key  = "key.pem"

[auth]
allow_plaintext = false             # true: AUTH/LOGIN allowed without TLS (tests on loopback only)

[dns]
servers = ["127.0.0.1:5353"]        # absent: the system resolver

[outbound]
mx_port = 25                        # port used for MX delivery (tests use another)
retry = ["1m", "5m", "15m", "30m", "1h"]   # then the last interval repeats
give_up_after = "4d"                # then a failure DSN to the sender
delay_warning_after = "4h"
copy_delivered_to = "mail-sent@example.test"

[[route]]                           # static routes, tried in order, first match wins
match = "*.partner.test"            # domain pattern; "*" matches all
relay = "127.0.0.1:2526"            # host:port (an IP literal or a name)
tls = "starttls"                    # none | starttls | implicit | dane (starttls/implicit: required)
auth = { user = "u", password = "p" }  # optional
retry = ["30s"]                     # optional, overrides [outbound]
give_up_after = "1h"                # optional

[[route]]
match = "*"
relay = "[::1]:25"
)";

Endpoint ep(std::string host, std::uint16_t port) { return Endpoint{std::move(host), port}; }

// The error message of a configuration that must be refused ("" if it was accepted).
std::string error_of(const std::string& text, const fs::path& file = "tern.toml") {
  auto r = parse(text, file);
  if (r) return "";
  return r.error().message;
}

// Asserts that `text` is refused with a message that starts with "tern.toml:<line>: <key>:".
#define EXPECT_CONFIG_ERROR(text, line, key)                                                     \
  do {                                                                                           \
    auto msg_ = error_of(text);                                                                  \
    std::string want_ = "tern.toml:" + std::to_string(line) + ": " + std::string(key) + ": ";    \
    EXPECT_TRUE(msg_.starts_with(want_)) << "want prefix: " << want_ << "\n got: " << msg_;      \
  } while (0)

// --- the full example -----------------------------------------------------------------------------

TEST(ConfigParse, ContractExampleEveryKey) {
  auto r = parse(contract_example, "/etc/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.file, fs::path("/etc/tern/tern.toml"));
  EXPECT_EQ(c.hostname, "mx.example.test");
  EXPECT_EQ(c.data_dir, fs::path("/etc/tern/data"));

  ASSERT_EQ(c.listen.size(), 8u);
  EXPECT_EQ(c.listen.at("smtp"), std::vector<Endpoint>{ep("127.0.0.1", 2525)});
  EXPECT_EQ(c.listen.at("submission"), std::vector<Endpoint>{ep("127.0.0.1", 2587)});
  EXPECT_EQ(c.listen.at("submissions"), std::vector<Endpoint>{ep("127.0.0.1", 2465)});
  EXPECT_EQ(c.listen.at("imap"), std::vector<Endpoint>{ep("127.0.0.1", 2143)});
  EXPECT_EQ(c.listen.at("imaps"), std::vector<Endpoint>{ep("127.0.0.1", 2993)});
  EXPECT_EQ(c.listen.at("pop3"), std::vector<Endpoint>{ep("127.0.0.1", 2110)});
  EXPECT_EQ(c.listen.at("pop3s"), std::vector<Endpoint>{ep("127.0.0.1", 2995)});
  EXPECT_EQ(c.listen.at("http"), std::vector<Endpoint>{ep("127.0.0.1", 8080)});

  ASSERT_TRUE(c.tls_cert && c.tls_key);
  EXPECT_EQ(*c.tls_cert, fs::path("/etc/tern/cert.pem"));
  EXPECT_EQ(*c.tls_key, fs::path("/etc/tern/key.pem"));
  EXPECT_EQ(c.cert_path(), fs::path("/etc/tern/cert.pem"));
  EXPECT_EQ(c.key_path(), fs::path("/etc/tern/key.pem"));

  EXPECT_FALSE(c.allow_plaintext);
  EXPECT_EQ(c.dns_servers, std::vector<Endpoint>{ep("127.0.0.1", 5353)});

  EXPECT_EQ(c.mx_port, 25);
  EXPECT_EQ(c.retry, (std::vector<std::chrono::seconds>{1min, 5min, 15min, 30min, 1h}));
  EXPECT_EQ(c.give_up_after, std::chrono::hours(96));
  EXPECT_EQ(c.delay_warning_after, 4h);
  EXPECT_EQ(c.copy_delivered_to, "mail-sent@example.test");

  ASSERT_EQ(c.routes.size(), 2u);
  const Route& r0 = c.routes[0];
  EXPECT_EQ(r0.match, "*.partner.test");
  EXPECT_EQ(r0.relay, ep("127.0.0.1", 2526));
  EXPECT_EQ(r0.tls, "starttls");
  ASSERT_TRUE(r0.auth);
  EXPECT_EQ(r0.auth->user, "u");
  EXPECT_EQ(r0.auth->password, "p");
  EXPECT_EQ(r0.retry, std::vector<std::chrono::seconds>{30s});
  EXPECT_EQ(r0.give_up_after, std::optional<std::chrono::seconds>(1h));

  const Route& r1 = c.routes[1];
  EXPECT_EQ(r1.match, "*");
  EXPECT_EQ(r1.relay, ep("::1", 25));
  EXPECT_EQ(r1.tls, "none");
  EXPECT_FALSE(r1.auth);
  EXPECT_TRUE(r1.retry.empty());
  EXPECT_FALSE(r1.give_up_after);
}

TEST(ConfigParse, ValuesThatDifferFromTheDefaults) {
  auto r = parse(R"(hostname = "mail.example.org"
data_dir = "/var/lib/tern"
[listen]
smtp = ["0.0.0.0:25", "[::]:25"]
[auth]
allow_plaintext = true
[dns]
servers = ["192.0.2.53:53", "[2001:db8::53]:53"]
[outbound]
mx_port = 2526
retry = ["10s"]
give_up_after = "2h"
delay_warning_after = "30m"
[[route]]
match = "Example.TEST"
relay = "smarthost.example.net:587"
tls = "implicit"
[[route]]
match = "*.dane.test"
relay = "127.0.0.1:25"
tls = "dane"
[limits]
max_connections = 10
max_connections_per_ip = 2
max_message_size = 1048576
max_recipients = 5
max_received_headers = 30
command_timeout = "1m"
data_timeout = "2m"
max_errors = 3
[log]
level = "debug"
)",
                 "/srv/conf/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hostname, "mail.example.org");
  EXPECT_EQ(r->data_dir, fs::path("/var/lib/tern"));  // an absolute data_dir is kept
  EXPECT_EQ(r->listen.at("smtp"), (std::vector<Endpoint>{ep("0.0.0.0", 25), ep("::", 25)}));
  EXPECT_TRUE(r->allow_plaintext);
  EXPECT_EQ(r->dns_servers, (std::vector<Endpoint>{ep("192.0.2.53", 53), ep("2001:db8::53", 53)}));
  EXPECT_EQ(r->mx_port, 2526);
  EXPECT_EQ(r->retry, std::vector<std::chrono::seconds>{10s});
  EXPECT_EQ(r->give_up_after, 2h);
  EXPECT_EQ(r->delay_warning_after, 30min);
  ASSERT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->routes[0].match, "example.test");  // domain patterns compare lower-cased
  EXPECT_EQ(r->routes[0].relay, ep("smarthost.example.net", 587));
  EXPECT_EQ(r->routes[0].tls, "implicit");
  EXPECT_EQ(r->routes[1].tls, "dane");
  EXPECT_EQ(r->limits.max_connections, 10u);
  EXPECT_EQ(r->limits.max_connections_per_ip, 2u);
  EXPECT_EQ(r->limits.max_message_size, 1048576u);
  EXPECT_EQ(r->limits.max_recipients, 5u);
  EXPECT_EQ(r->limits.max_received_headers, 30u);
  EXPECT_EQ(r->limits.command_timeout, 1min);
  EXPECT_EQ(r->limits.data_timeout, 2min);
  EXPECT_EQ(r->limits.max_errors, 3u);
  EXPECT_EQ(r->log_level, "debug");
  EXPECT_FALSE(r->tls_cert);
  EXPECT_EQ(r->cert_path(), fs::path("/var/lib/tern/cert.pem"));
}

// --- defaults -------------------------------------------------------------------------------------

TEST(ConfigDefaults, EmptyFile) {
  auto r = parse("", "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.hostname, "localhost");
  EXPECT_EQ(c.data_dir, fs::path("/opt/tern/data"));
  EXPECT_TRUE(c.listen.empty());  // an absent key = service off
  EXPECT_FALSE(c.tls_cert);
  EXPECT_FALSE(c.tls_key);
  EXPECT_EQ(c.cert_path(), fs::path("/opt/tern/data/cert.pem"));
  EXPECT_EQ(c.key_path(), fs::path("/opt/tern/data/key.pem"));
  EXPECT_FALSE(c.allow_plaintext);
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.mx_port, 25);
  EXPECT_EQ(c.retry, (std::vector<std::chrono::seconds>{1min, 5min, 15min, 30min, 1h}));
  EXPECT_EQ(c.give_up_after, std::chrono::hours(96));
  EXPECT_EQ(c.delay_warning_after, 4h);
  EXPECT_EQ(c.copy_delivered_to, "");
  EXPECT_TRUE(c.routes.empty());
  EXPECT_EQ(c.limits.max_connections, Limits{}.max_connections);
  EXPECT_EQ(c.limits.max_message_size, Limits{}.max_message_size);
  EXPECT_EQ(c.limits.command_timeout, 300s);
  EXPECT_EQ(c.log_level, "info");
}

TEST(ConfigLimits, TimeoutsAndServiceSlots) {
  auto r = parse("[limits]\nmax_connections = 40\nmax_connections_per_service = 7\ncommand_timeout = \"2s\"\n"
                 "data_timeout = \"3s\"\nmin_data_rate = 0\nlogin_timeout = \"20s\"\n",
                 "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->limits.connections_per_service(), 7u);
  EXPECT_EQ(r->limits.command_timeout, 2s);
  EXPECT_EQ(r->limits.data_timeout, 3s);
  EXPECT_EQ(r->limits.min_data_rate, 0u);
  EXPECT_EQ(r->limits.login_timeout, 20s);
  // Without the key each service may take half of the slots.
  auto d = parse("[limits]\nmax_connections = 40\n", "/opt/tern/tern.toml");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->limits.connections_per_service(), 20u);
  EXPECT_EQ(Limits{}.connections_per_service(), 500u);
  EXPECT_EQ(Limits{}.min_data_rate, 500u);
  EXPECT_EQ(Limits{}.login_timeout, 60s);
}

TEST(ConfigLimits, BadTimeoutsAndSlots) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_connections_per_service = 0\n", 2, "limits.max_connections_per_service");
  EXPECT_CONFIG_ERROR("[limits]\nlogin_timeout = \"soon\"\n", 2, "limits.login_timeout");
  EXPECT_CONFIG_ERROR("[limits]\ncommand_timeout = \"0s\"\n", 2, "limits.command_timeout");
  EXPECT_CONFIG_ERROR("[limits]\nmin_data_rate = -1\n", 2, "limits.min_data_rate");
}

TEST(ConfigDefaults, EmptyTablesKeepDefaults) {
  auto r = parse("[listen]\n[auth]\n[dns]\n[outbound]\n[limits]\n[log]\n", "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->listen.empty());
  EXPECT_EQ(r->mx_port, 25);
  EXPECT_EQ(r->retry.size(), 5u);
  EXPECT_EQ(r->give_up_after, std::chrono::hours(96));
  EXPECT_EQ(r->log_level, "info");
}

TEST(ConfigDefaults, OnlyTheListedServicesListen) {
  auto r = parse("[listen]\nsmtp = [\"127.0.0.1:2525\"]\nimap = []\n", "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->listen.count("smtp"), 1u);
  EXPECT_EQ(r->listen.count("submission"), 0u);
  EXPECT_EQ(r->listen.count("http"), 0u);
}

TEST(ConfigDefaults, RelativeFileResolvesAgainstItsFolder) {
  auto r = parse("data_dir = \"../spool\"\n", "conf/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->data_dir, (fs::current_path() / "spool").lexically_normal());
  auto bare = parse("", "tern.toml");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->data_dir, (fs::current_path() / "data").lexically_normal());
}

TEST(ConfigDefaults, DefaultConfigTextParses) {
  auto r = parse(default_config_text(), "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hostname, "localhost");
  EXPECT_EQ(r->listen.at("smtp"), std::vector<Endpoint>{ep("127.0.0.1", 2525)});
  EXPECT_EQ(r->listen.at("submission"), std::vector<Endpoint>{ep("127.0.0.1", 2587)});
  EXPECT_EQ(r->listen.at("submissions"), std::vector<Endpoint>{ep("127.0.0.1", 2465)});
  EXPECT_EQ(r->listen.at("http"), std::vector<Endpoint>{ep("127.0.0.1", 8080)});
  EXPECT_EQ(r->listen.at("https"), std::vector<Endpoint>{ep("127.0.0.1", 8443)});
  EXPECT_FALSE(r->tls_cert);
}

// Issue 11: every commented sample, uncommented as written, is a valid configuration, and the [tls]
// sample names the pair Tern makes in the data directory.
TEST(ConfigDefaults, DefaultConfigTextUncommentedParses) {
  const std::string original = default_config_text();
  std::string text;
  for (auto line : split(original, '\n')) {
    auto s = std::string(line);
    // "# [table]" and "# key = value  # comment" are samples; other comments stay comments
    bool sample = s.starts_with("# [") || (s.starts_with("# ") && s.find('=') != std::string::npos &&
                                           std::isalpha(static_cast<unsigned char>(s[2])) &&
                                           s.find('=') < s.find("  #"));
    text += (sample ? s.substr(2) : s) + "\n";
  }
  ASSERT_NE(text.find("\n[log]\nlevel = \"info\""), std::string::npos) << text;
  ASSERT_NE(text.find("\n[tls]"), std::string::npos) << text;
  auto r = parse(text, "/opt/tern/tern.toml");
  ASSERT_TRUE(r) << r.error().message << "\n" << text;
  EXPECT_EQ(r->cert_path(), "/opt/tern/data/cert.pem");
  EXPECT_EQ(r->key_path(), "/opt/tern/data/key.pem");
  // what Tern uses without [tls]: the same files
  auto plain = parse(default_config_text(), "/opt/tern/tern.toml");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->cert_path(), r->cert_path());
  EXPECT_EQ(plain->key_path(), r->key_path());
  EXPECT_EQ(r->log_level, "info");
  EXPECT_EQ(r->postmaster, "admin@localhost");
  EXPECT_EQ(r->limits.max_connections, 1000u);
  ASSERT_TRUE(r->virus.clamd);
  EXPECT_EQ(r->virus.clamd->str(), "/run/clamav/clamd.ctl");
}

// [virus]: no scanning unless clamd is named; its address, the two policies, the deadline.
TEST(ConfigVirus, DefaultsAndValues) {
  auto none = parse("", "tern.toml");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->virus.clamd);
  EXPECT_EQ(none->virus.on_virus, Config::Virus::OnVirus::reject);
  EXPECT_EQ(none->virus.when_down, Config::Virus::WhenDown::tempfail);
  EXPECT_EQ(none->virus.timeout, 30s);
  auto unix_socket = parse("[virus]\nclamd = \"/run/clamav/clamd.ctl\"\n", "tern.toml");
  ASSERT_TRUE(unix_socket) << unix_socket.error().message;
  ASSERT_TRUE(unix_socket->virus.clamd);
  EXPECT_EQ(unix_socket->virus.clamd->str(), "/run/clamav/clamd.ctl");
  auto r = parse("[virus]\nclamd = \"127.0.0.1:3310\"\non_virus = \"junk\"\nwhen_down = \"accept\"\ntimeout = \"5s\"\n",
                 "tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->virus.clamd->str(), "127.0.0.1:3310");
  EXPECT_EQ(r->virus.on_virus, Config::Virus::OnVirus::junk);
  EXPECT_EQ(r->virus.when_down, Config::Virus::WhenDown::accept);
  EXPECT_EQ(r->virus.timeout, 5s);
}

TEST(ConfigVirus, Errors) {
  EXPECT_CONFIG_ERROR("[virus]\nclamd = \"clamd.ctl\"\n", 2, "virus.clamd");
  EXPECT_CONFIG_ERROR("[virus]\nclamd = \"localhost:3310\"\n", 2, "virus.clamd");
  EXPECT_CONFIG_ERROR("[virus]\n\non_virus = \"hold\"\n", 3, "virus.on_virus");
  EXPECT_CONFIG_ERROR("[virus]\nwhen_down = \"pass\"\n", 2, "virus.when_down");
  EXPECT_CONFIG_ERROR("[virus]\ntimeout = \"0s\"\n", 2, "virus.timeout");
  EXPECT_CONFIG_ERROR("[virus]\nsocket = \"/x\"\n", 2, "virus.socket");
}

// CONTRACT.md's [filter] table: other names for [spam] and [virus] settings.
TEST(ConfigFilter, ContractKeys) {
  auto r = parse("[filter]\nclamd = \"/run/clamav/clamd.ctl\"\nclamd_unavailable = \"accept\"\n"
                 "dnsbl = [\"bl.example.test\"]\ngreylisting = true\nspam_threshold = 4.0\nreject_threshold = 9.0\n",
                 "tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->virus.clamd);
  EXPECT_EQ(r->virus.clamd->str(), "/run/clamav/clamd.ctl");
  EXPECT_EQ(r->virus.when_down, Config::Virus::WhenDown::accept);
  EXPECT_TRUE(r->greylisting);
  EXPECT_EQ(r->spam.junk_score, 4.0);
  EXPECT_EQ(r->spam.reject_score, 9.0);
  ASSERT_EQ(r->spam.dnsbl.size(), 1u);
  EXPECT_EQ(r->spam.dnsbl[0].zone, "bl.example.test");
  EXPECT_EQ(r->spam.dnsbl[0].weight, 9.0);  // a block list: a listing weighs the reject threshold
  EXPECT_FALSE(r->spam.dnsbl[0].domains);

  // The block weight follows [spam] reject_score, and thresholds start from [filter]'s.
  auto mixed = parse("[filter]\ndnsbl = [\"bl.example.test\"]\nspam_threshold = 3.0\n"
                     "[spam]\nreject_score = 20.0\n[[spam.threshold]]\nmatch = \"a.test\"\nreject_score = 30.0\n",
                     "tern.toml");
  ASSERT_TRUE(mixed) << mixed.error().message;
  EXPECT_EQ(mixed->spam.dnsbl[0].weight, 20.0);
  EXPECT_EQ(mixed->spam.thresholds[0].junk_score, 3.0);
  auto none = parse("", "tern.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->greylisting);
}

TEST(ConfigFilter, Errors) {
  EXPECT_CONFIG_ERROR("[filter]\nclamd_unavailable = \"pass\"\n", 2, "filter.clamd_unavailable");
  EXPECT_CONFIG_ERROR("[filter]\ndnsbl = [\"a b\"]\n", 2, "filter.dnsbl");
  EXPECT_CONFIG_ERROR("[filter]\nspam_threshold = 9.0\nreject_threshold = 3.0\n", 3, "filter.reject_threshold");
  EXPECT_CONFIG_ERROR("[filter]\ngreylist = true\n", 2, "filter.greylist");
  EXPECT_CONFIG_ERROR("[filter]\nclamd = \"/a\"\n[virus]\nclamd = \"/b\"\n", 2, "filter.clamd");
  EXPECT_CONFIG_ERROR("[spam]\njunk_score = 4.0\n[filter]\nspam_threshold = 3.0\n", 4, "filter.spam_threshold");
}

TEST(ConfigMtaSts, KeysAndErrors) {
  auto none = parse("", "tern.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->mta_sts.enabled);
  auto r = parse("[mta_sts]\nmode = \"enforce\"\nmax_age = \"1d\"\nmx = [\"mx1.a.test\", \"*.a.test\"]\n", "tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->mta_sts.enabled);
  EXPECT_EQ(r->mta_sts.mode, "enforce");
  EXPECT_EQ(r->mta_sts.max_age, std::chrono::seconds(86400));
  EXPECT_EQ(r->mta_sts.mx.size(), 2u);
  EXPECT_CONFIG_ERROR("[mta_sts]\nmode = \"strict\"\n", 2, "mta_sts.mode");
  EXPECT_CONFIG_ERROR("[mta_sts]\nmax_age = \"400d\"\n", 2, "mta_sts.max_age");
  EXPECT_CONFIG_ERROR("[mta_sts]\nmx = [\"a b\"]\n", 2, "mta_sts.mx");
}

TEST(ConfigLoad, MissingFileIsAnErrorNamingIt) {
  auto r = load("/nonexistent/dir/tern.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/dir/tern.toml"), std::string::npos) << r.error().message;
}

// --- unknown keys ---------------------------------------------------------------------------------

TEST(ConfigErrors, UnknownTopLevelKey) {
  EXPECT_CONFIG_ERROR("hostname = \"a.test\"\n\ndata_dri = \"x\"\n", 3, "data_dri");
  EXPECT_CONFIG_ERROR("hostname = \"a.test\"\n[lisen]\nsmtp = [\"127.0.0.1:25\"]\n", 2, "lisen");
  auto msg = error_of("hostnam = \"a.test\"\n");
  EXPECT_NE(msg.find("hostname"), std::string::npos) << "the message lists the keys allowed: " << msg;
}

TEST(ConfigErrors, UnknownKeyInEachTable) {
  EXPECT_CONFIG_ERROR("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nchain = \"x\"\n", 4, "tls.chain");
  EXPECT_CONFIG_ERROR("[auth]\nallow_plain = true\n", 2, "auth.allow_plain");
  EXPECT_CONFIG_ERROR("[dns]\nserver = [\"127.0.0.1:53\"]\n", 2, "dns.server");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = 25\nretries = [\"1m\"]\n", 3, "outbound.retries");
  EXPECT_CONFIG_ERROR("[limits]\n\nmax_conections = 5\n", 3, "limits.max_conections");
  EXPECT_CONFIG_ERROR("[log]\nlevel = \"info\"\nfile = \"x\"\n", 3, "log.file");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\nport = 25\n", 4, "route[0].port");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\n\n[[route]]\nmatch = \"*\"\n"
                      "relay = \"127.0.0.1:25\"\nstarttls = true\n",
                      8, "route[1].starttls");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\n"
                      "auth = { user = \"u\", pass = \"p\" }\n",
                      4, "route[0].auth.pass");
}

TEST(ConfigErrors, UnknownListenService) {
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = [\"127.0.0.1:25\"]\nimap4 = [\"127.0.0.1:143\"]\n", 3, "listen.imap4");
  auto msg = error_of("[listen]\nsmpt = [\"127.0.0.1:25\"]\n");
  EXPECT_NE(msg.find("submission"), std::string::npos) << "the message lists the services: " << msg;
}

// --- wrong types ----------------------------------------------------------------------------------

TEST(ConfigErrors, WrongTypes) {
  EXPECT_CONFIG_ERROR("hostname = 5\n", 1, "hostname");
  EXPECT_CONFIG_ERROR("\ndata_dir = true\n", 2, "data_dir");
  EXPECT_CONFIG_ERROR("listen = [\"127.0.0.1:25\"]\n", 1, "listen");
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = \"127.0.0.1:25\"\n", 2, "listen.smtp");
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = [25]\n", 2, "listen.smtp");
  EXPECT_CONFIG_ERROR("tls = \"yes\"\n", 1, "tls");
  EXPECT_CONFIG_ERROR("[tls]\ncert = 1\nkey = \"k.pem\"\n", 2, "tls.cert");
  EXPECT_CONFIG_ERROR("[auth]\nallow_plaintext = \"yes\"\n", 2, "auth.allow_plaintext");
  EXPECT_CONFIG_ERROR("[auth]\nallow_plaintext = 1\n", 2, "auth.allow_plaintext");
  EXPECT_CONFIG_ERROR("[dns]\nservers = \"127.0.0.1:53\"\n", 2, "dns.servers");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = \"25\"\n", 2, "outbound.mx_port");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = 25.0\n", 2, "outbound.mx_port");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = \"1m\"\n", 2, "outbound.retry");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = []\n", 2, "outbound.retry");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = [60]\n", 2, "outbound.retry");
  EXPECT_CONFIG_ERROR("[outbound]\ngive_up_after = 4\n", 2, "outbound.give_up_after");
  EXPECT_CONFIG_ERROR("[outbound]\ncopy_delivered_to = [\"a@b.test\"]\n", 2, "outbound.copy_delivered_to");
  EXPECT_CONFIG_ERROR("[outbound]\ncopy_delivered_to = \"mail-sent\"\n", 2, "outbound.copy_delivered_to");
  EXPECT_CONFIG_ERROR("route = \"x\"\n", 1, "route");
  EXPECT_CONFIG_ERROR("[route]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\n", 1, "route");  // [route], not [[route]]
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\nauth = \"u:p\"\n", 4, "route[0].auth");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = [\"*\"]\nrelay = \"127.0.0.1:25\"\n", 2, "route[0].match");
  EXPECT_CONFIG_ERROR("[limits]\nmax_connections = \"many\"\n", 2, "limits.max_connections");
  EXPECT_CONFIG_ERROR("[limits]\nmax_message_size = 10\n", 2, "limits.max_message_size");
  EXPECT_CONFIG_ERROR("[log]\nlevel = \"verbose\"\n", 2, "log.level");
}

TEST(ConfigErrors, MissingRouteKeys) {
  EXPECT_CONFIG_ERROR("[[route]]\nrelay = \"127.0.0.1:25\"\n", 1, "route[0].match");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\n", 1, "route[0].relay");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\nauth = { password = \"p\" }\n", 4,
                      "route[0].auth.user");
}

// --- bad values -----------------------------------------------------------------------------------

TEST(ConfigErrors, BadPorts) {
  EXPECT_CONFIG_ERROR("hostname = \"a.test\"\n[listen]\nsmtp = [\"127.0.0.1:0\"]\n", 3, "listen.smtp");
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = [\"127.0.0.1:70000\"]\n", 2, "listen.smtp");
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = [\"127.0.0.1:x\"]\n", 2, "listen.smtp");
  EXPECT_CONFIG_ERROR("[listen]\nsmtp = [\"127.0.0.1\"]\n", 2, "listen.smtp");
  EXPECT_CONFIG_ERROR("[listen]\nimap = [\n  \"127.0.0.1:143\",\n  \"127.0.0.1:65536\",\n]\n", 4, "listen.imap");
  EXPECT_CONFIG_ERROR("[dns]\nservers = [\"127.0.0.1:0\"]\n", 2, "dns.servers");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = 0\n", 2, "outbound.mx_port");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = 70000\n", 2, "outbound.mx_port");
  EXPECT_CONFIG_ERROR("[outbound]\nmx_port = -25\n", 2, "outbound.mx_port");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:0\"\n", 3, "route[0].relay");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"smarthost\"\n", 3, "route[0].relay");
  auto msg = error_of("[listen]\nsmtp = [\"127.0.0.1:70000\"]\n");
  EXPECT_NE(msg.find("65535"), std::string::npos) << "says what was expected: " << msg;
}

TEST(ConfigErrors, BadDurations) {
  EXPECT_CONFIG_ERROR("[outbound]\ngive_up_after = \"4x\"\n", 2, "outbound.give_up_after");
  EXPECT_CONFIG_ERROR("[outbound]\ndelay_warning_after = \"\"\n", 2, "outbound.delay_warning_after");
  EXPECT_CONFIG_ERROR("[outbound]\ndelay_warning_after = \"-4h\"\n", 2, "outbound.delay_warning_after");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = [\n  \"1m\",\n  \"soon\",\n]\n", 4, "outbound.retry");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = [\"1m\", \"0s\"]\n", 2, "outbound.retry");
  EXPECT_CONFIG_ERROR("[outbound]\nretry = [\"1.5m\"]\n", 2, "outbound.retry");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\nretry = [\"30 s\"]\n", 4, "route[0].retry");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\n\ngive_up_after = \"1w\"\n", 5,
                      "route[0].give_up_after");
  EXPECT_CONFIG_ERROR("[limits]\ncommand_timeout = \"5 minutes\"\n", 2, "limits.command_timeout");
  auto msg = error_of("[outbound]\ngive_up_after = \"4x\"\n");
  EXPECT_NE(msg.find("\"4d\""), std::string::npos) << "says what was expected: " << msg;
}

TEST(ConfigErrors, TlsWithOnlyOneOfCertAndKey) {
  EXPECT_CONFIG_ERROR("hostname = \"a.test\"\n\n[tls]\ncert = \"cert.pem\"\n", 3, "tls");
  EXPECT_CONFIG_ERROR("[tls]\nkey = \"key.pem\"\n", 1, "tls");
}

TEST(ConfigErrors, BadRouteTlsMode) {
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\ntls = \"required\"\n", 4, "route[0].tls");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\ntls = \"STARTTLS\"\n", 4, "route[0].tls");
  EXPECT_CONFIG_ERROR("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\ntls = true\n", 4, "route[0].tls");
  auto msg = error_of("[[route]]\nmatch = \"*\"\nrelay = \"127.0.0.1:25\"\ntls = \"required\"\n");
  EXPECT_NE(msg.find("starttls"), std::string::npos) << "lists the modes: " << msg;
}

TEST(ConfigErrors, TomlSyntaxErrorsNameFileAndLine) {
  auto msg = error_of("hostname = \"a.test\"\n[listen]\nsmtp = [\"127.0.0.1:25\"\n");
  EXPECT_TRUE(msg.starts_with("tern.toml:3:")) << msg;
  msg = error_of("hostname = \"a.test\"\nhostname = \"b.test\"\n");  // a redefined key
  EXPECT_TRUE(msg.starts_with("tern.toml:2:")) << msg;
  msg = error_of("hostname = \"a.test\n");  // unterminated string
  EXPECT_TRUE(msg.starts_with("tern.toml:1:")) << msg;
  msg = error_of("\n\n\nhostname = a.test\n");  // a bare word is not a value
  EXPECT_TRUE(msg.starts_with("tern.toml:4:")) << msg;
  msg = error_of("[outbound\nmx_port = 25\n");
  EXPECT_TRUE(msg.starts_with("tern.toml:1:")) << msg;
}

TEST(ConfigErrors, MessageNamesTheRealFile) {
  auto r = parse("hostname = \"a.test\"\n[listen]\nsmtp = [\"127.0.0.1:0\"]\n", "/etc/tern/main.toml");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("/etc/tern/main.toml:3: listen.smtp: ")) << r.error().message;
}

// --- parse_endpoint -------------------------------------------------------------------------------

TEST(ParseEndpoint, Ipv4AndNames) {
  auto e = parse_endpoint("127.0.0.1:2525");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 2525);
  EXPECT_EQ(e->str(), "127.0.0.1:2525");
  e = parse_endpoint("mx.example.test:25");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(*e, ep("mx.example.test", 25));
  e = parse_endpoint("0.0.0.0:65535");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->port, 65535);
  e = parse_endpoint("localhost:1");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->port, 1);
}

TEST(ParseEndpoint, BracketedIpv6) {
  auto e = parse_endpoint("[::1]:2525");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 2525);
  EXPECT_EQ(e->str(), "[::1]:2525");
  e = parse_endpoint("[2001:db8::25]:587");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(*e, ep("2001:db8::25", 587));
  EXPECT_EQ(e->str(), "[2001:db8::25]:587");
  e = parse_endpoint("[::]:25");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "::");
}

TEST(ParseEndpoint, StrRoundTrips) {
  for (const char* s : {"127.0.0.1:25", "[::1]:25", "[fe80::1:2]:65535", "mx.example.test:2526"}) {
    auto e = parse_endpoint(s);
    ASSERT_TRUE(e) << s;
    EXPECT_EQ(e->str(), s);
  }
}

TEST(ParseEndpoint, Errors) {
  for (const char* s : {"", ":", "127.0.0.1", "127.0.0.1:", ":25", "127.0.0.1:0", "127.0.0.1:65536",
                        "127.0.0.1:70000", "127.0.0.1:x", "127.0.0.1:-1", "127.0.0.1:+25", "127.0.0.1: 25",
                        "127.0.0.1:25x", "127.0.0.1:99999999999999999999", "::1:25", "2001:db8::1",
                        "[::1]", "[::1]:", "[::1]25", "[::1:25", "[]:25", "[::1]:0", "[::1]:x", "a b:25",
                        "\t:25"})
    EXPECT_FALSE(parse_endpoint(s)) << "'" << s << "' accepted";
}

TEST(ParseEndpoint, UnbracketedIpv6ErrorSaysHow) {
  auto e = parse_endpoint("::1:25");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("[addr]:port"), std::string::npos) << e.error().message;
}

}  // namespace
}  // namespace tern::config

namespace tern::config {
namespace {

TEST(ConfigSpam, EveryKey) {
  auto r = parse(R"(hostname = "mx.test"
[spam]
junk_score = 4
reject_score = 12.5
allow = ["10.0.0.0/8", "*@partner.test"]
deny = ["203.0.113.7"]
allow_recipients = ["*@lists.test"]
trusted_relays = ["10.0.0.0/8", "2001:db8::1"]
[[spam.dnsbl]]
zone = "bl.test"
weight = 2.5
codes = { "127.0.0.2" = 4.0, "127.0.0.10" = 1 }
[[spam.dnsbl]]
zone = "dbl.test"
type = "domain"
[[spam.threshold]]
match = "Sales@Tern.test"
junk_score = 8.0
)", "tern.toml");
  ASSERT_TRUE(r) << r.error().message;
  const auto& s = r->spam;
  EXPECT_TRUE(s.enabled);
  EXPECT_DOUBLE_EQ(s.junk_score, 4.0);
  EXPECT_DOUBLE_EQ(s.reject_score, 12.5);
  EXPECT_EQ(s.allow.match_address("x@partner.test"), "*@partner.test");
  EXPECT_EQ(s.deny.match_ip(boost::asio::ip::make_address("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(s.trusted_relays.match_ip(boost::asio::ip::make_address("10.9.8.7")), "10.0.0.0/8");
  EXPECT_EQ(s.trusted_relays.match_ip(boost::asio::ip::make_address("192.0.2.1")), "");
  ASSERT_EQ(s.dnsbl.size(), 2u);
  EXPECT_EQ(s.dnsbl[0].codes.size(), 2u);
  EXPECT_FALSE(s.dnsbl[0].domains);
  EXPECT_TRUE(s.dnsbl[1].domains);
  ASSERT_EQ(s.thresholds.size(), 1u);
  EXPECT_EQ(s.thresholds[0].match, "sales@tern.test");
  EXPECT_DOUBLE_EQ(s.thresholds[0].junk_score, 8.0);
  EXPECT_DOUBLE_EQ(s.thresholds[0].reject_score, 12.5);  // the [spam] value when not given
}

TEST(ConfigSpam, ErrorsNameTheKey) {
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\njunk_score = \"high\"\n", 3, "spam.junk_score");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\njunk_score = 9\nreject_score = 3\n", 4, "spam.reject_score");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\nallow = [\"10.0.0.0/40\"]\n", 3, "spam.allow");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\nwhat = 1\n", 3, "spam.what");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\ntrusted_relays = [\"*@relay.test\"]\n", 3, "spam.trusted_relays");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[spam]\ntrusted_relays = [\"10.0.0.0/99\"]\n", 3, "spam.trusted_relays");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[[spam.dnsbl]]\nzone = \"bl.test\"\ntype = \"url\"\n", 4, "spam.dnsbl[0].type");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[[spam.dnsbl]]\nzone = \"bl.test\"\ncodes = { \"x\" = 1 }\n", 4,
                      "spam.dnsbl[0].codes");
  EXPECT_CONFIG_ERROR("hostname = \"h\"\n[mailauth]\nverify = 1\n", 3, "mailauth.verify");
}

}  // namespace
}  // namespace tern::config
