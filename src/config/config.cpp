#include "config/config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/strings.hpp"

namespace tern::config {
namespace {

// Builds the "file:line: key: expected ..." message of every configuration error.
class Checker {
 public:
  explicit Checker(std::filesystem::path file) : file_(std::move(file)) {}

  Error at(const toml::node* node, const std::string& key, const std::string& what) const {
    auto line = node ? node->source().begin.line : 0;
    return Error{fmt::format("{}:{}: {}: {}", file_.string(), line, key, what)};
  }

  // Every key of `table` must be in `allowed`.
  std::optional<Error> only(const toml::table& table, const std::string& prefix,
                            std::initializer_list<std::string_view> allowed,
                            std::initializer_list<std::string_view> more = {}) const {
    for (auto&& [k, v] : table) {
      bool found = false;
      for (auto a : allowed) found = found || a == k.str();
      for (auto a : more) found = found || a == k.str();
      if (!found) {
        std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        for (auto a : more) list += ", " + std::string(a);
        return at(&v, name, "unknown key (expected one of: " + list + ")");
      }
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path file_;
};

#define TRY_ERR(expr)                 \
  do {                                \
    if (auto e_ = (expr)) return *e_; \
  } while (0)

std::optional<Error> get_string(const Checker& c, const toml::table& t, std::string_view key,
                                const std::string& name, std::string& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  auto v = n->value<std::string>();
  if (!v) return c.at(n, name, "expected a string");
  out = *v;
  return std::nullopt;
}

std::optional<Error> get_bool(const Checker& c, const toml::table& t, std::string_view key,
                              const std::string& name, bool& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) return c.at(n, name, "expected true or false");
  out = n->as_boolean()->get();
  return std::nullopt;
}

template <typename Int>
std::optional<Error> get_int(const Checker& c, const toml::table& t, std::string_view key,
                             const std::string& name, Int& out, std::int64_t lo, std::int64_t hi) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_integer()) return c.at(n, name, fmt::format("expected an integer from {} to {}", lo, hi));
  auto v = n->as_integer()->get();
  if (v < lo || v > hi) return c.at(n, name, fmt::format("expected an integer from {} to {}", lo, hi));
  out = static_cast<Int>(v);
  return std::nullopt;
}

std::optional<Error> get_duration(const Checker& c, const toml::table& t, std::string_view key,
                                  const std::string& name, std::chrono::seconds& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  auto s = n->value<std::string>();
  auto d = s ? parse_duration(*s) : std::nullopt;
  if (!d) return c.at(n, name, "expected a duration such as \"30s\", \"5m\", \"4h\" or \"4d\"");
  out = *d;
  return std::nullopt;
}

std::optional<Error> get_durations(const Checker& c, const toml::table& t, std::string_view key,
                                   const std::string& name, std::vector<std::chrono::seconds>& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  auto* arr = n->as_array();
  const char* what = "expected a non-empty list of durations such as [\"1m\", \"5m\"]";
  if (!arr || arr->empty()) return c.at(n, name, what);
  std::vector<std::chrono::seconds> v;
  for (auto& item : *arr) {
    auto s = item.value<std::string>();
    auto d = s ? parse_duration(*s) : std::nullopt;
    if (!d || d->count() == 0) return c.at(&item, name, what);
    v.push_back(*d);
  }
  out = std::move(v);
  return std::nullopt;
}

std::optional<Error> get_strings(const Checker& c, const toml::table& t, std::string_view key,
                                 const std::string& name, std::vector<std::string>& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  auto* arr = n->as_array();
  const char* what = "expected a list of strings";
  if (!arr) return c.at(n, name, what);
  std::vector<std::string> v;
  for (auto& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) return c.at(&item, name, what);
    v.push_back(*s);
  }
  out = std::move(v);
  return std::nullopt;
}

std::optional<Error> get_number(const Checker& c, const toml::table& t, std::string_view key,
                                const std::string& name, double& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_number()) return c.at(n, name, "expected a number");
  out = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
  return std::nullopt;
}

std::optional<Error> get_list(const Checker& c, const toml::table& t, std::string_view key, const std::string& name,
                              spam::AddressList& out) {
  std::vector<std::string> entries;
  TRY_ERR(get_strings(c, t, key, name, entries));
  auto list = spam::AddressList::parse(entries);
  if (!list) return c.at(t.get(key), name, list.error().message);
  out = std::move(*list);
  return std::nullopt;
}

std::optional<Error> parse_spam(const Checker& c, const toml::table& t, Config::Spam& s) {
  TRY_ERR(c.only(t, "spam", {"enabled", "junk_score", "reject_score", "allow", "deny", "allow_recipients", "trusted_relays", "dnsbl",
                             "threshold", "classifier_min_samples"}));
  TRY_ERR(get_int(c, t, "classifier_min_samples", "spam.classifier_min_samples", s.classifier_min_samples, 1, 1000000));
  TRY_ERR(get_bool(c, t, "enabled", "spam.enabled", s.enabled));
  TRY_ERR(get_number(c, t, "junk_score", "spam.junk_score", s.junk_score));
  TRY_ERR(get_number(c, t, "reject_score", "spam.reject_score", s.reject_score));
  if (s.reject_score < s.junk_score)
    return c.at(t.get("reject_score"), "spam.reject_score", "must not be below spam.junk_score");
  TRY_ERR(get_list(c, t, "allow", "spam.allow", s.allow));
  TRY_ERR(get_list(c, t, "deny", "spam.deny", s.deny));
  TRY_ERR(get_list(c, t, "allow_recipients", "spam.allow_recipients", s.allow_recipients));
  {
    std::vector<std::string> relays;
    TRY_ERR(get_strings(c, t, "trusted_relays", "spam.trusted_relays", relays));
    for (const auto& r : relays)
      if (r.empty() || r.find_first_not_of("0123456789abcdefABCDEF.:/") != std::string::npos)
        return c.at(t.get("trusted_relays"), "spam.trusted_relays",
                    fmt::format("'{}' is not an address or a network such as \"10.0.0.0/8\"", r));
    TRY_ERR(get_list(c, t, "trusted_relays", "spam.trusted_relays", s.trusted_relays));
  }
  if (auto* n = t.get("dnsbl")) {
    auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return c.at(n, "spam.dnsbl", "expected [[spam.dnsbl]] tables");
    std::size_t i = 0;
    for (auto& item : *arr) {
      const auto& d = *item.as_table();
      std::string p = fmt::format("spam.dnsbl[{}]", i++);
      TRY_ERR(c.only(d, p, {"zone", "weight", "codes", "type"}));
      Config::DnsList l;
      TRY_ERR(get_string(c, d, "zone", p + ".zone", l.zone));
      if (l.zone.empty() || l.zone.find_first_of(" /@") != std::string::npos)
        return c.at(d.get("zone") ? d.get("zone") : &item, p + ".zone", "expected a DNS zone such as \"zen.example.org\"");
      TRY_ERR(get_number(c, d, "weight", p + ".weight", l.weight));
      std::string type = "ip";
      TRY_ERR(get_string(c, d, "type", p + ".type", type));
      if (type != "ip" && type != "domain") return c.at(d.get("type"), p + ".type", "expected \"ip\" or \"domain\"");
      l.domains = type == "domain";
      if (auto* codes = d.get("codes")) {
        auto* ct = codes->as_table();
        if (!ct) return c.at(codes, p + ".codes", "expected a table such as { \"127.0.0.2\" = 4.0 }");
        for (auto&& [k, v] : *ct) {
          boost::system::error_code ec;
          boost::asio::ip::make_address_v4(std::string(k.str()), ec);
          if (ec || !v.is_number())
            return c.at(&v, p + ".codes", "expected IPv4 answers with a number each, such as \"127.0.0.2\" = 4.0");
          l.codes.emplace_back(std::string(k.str()),
                               v.is_integer() ? static_cast<double>(v.as_integer()->get()) : v.as_floating_point()->get());
        }
      }
      s.dnsbl.push_back(std::move(l));
    }
  }
  if (auto* n = t.get("threshold")) {
    auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return c.at(n, "spam.threshold", "expected [[spam.threshold]] tables");
    std::size_t i = 0;
    for (auto& item : *arr) {
      const auto& d = *item.as_table();
      std::string p = fmt::format("spam.threshold[{}]", i++);
      TRY_ERR(c.only(d, p, {"match", "junk_score", "reject_score"}));
      Config::SpamThreshold th{"", s.junk_score, s.reject_score};
      TRY_ERR(get_string(c, d, "match", p + ".match", th.match));
      if (th.match.empty()) return c.at(&item, p + ".match", "expected a local domain or address");
      th.match = to_lower(th.match);
      TRY_ERR(get_number(c, d, "junk_score", p + ".junk_score", th.junk_score));
      TRY_ERR(get_number(c, d, "reject_score", p + ".reject_score", th.reject_score));
      if (th.reject_score < th.junk_score)
        return c.at(&item, p + ".reject_score", "must not be below its junk_score");
      s.thresholds.push_back(std::move(th));
    }
  }
  return std::nullopt;
}

std::optional<Error> parse_virus(const Checker& c, const toml::table& t, Config::Virus& v) {
  TRY_ERR(c.only(t, "virus", {"clamd", "on_virus", "when_down", "timeout"}));
  if (t.get("clamd")) {
    std::string text;
    TRY_ERR(get_string(c, t, "clamd", "virus.clamd", text));
    auto address = spam::clamd::parse_address(text);
    if (!address) return c.at(t.get("clamd"), "virus.clamd", address.error().message);
    v.clamd = std::move(*address);
  }
  std::string on_virus = "reject", when_down = "tempfail";
  TRY_ERR(get_string(c, t, "on_virus", "virus.on_virus", on_virus));
  if (on_virus != "reject" && on_virus != "quarantine" && on_virus != "junk")
    return c.at(t.get("on_virus"), "virus.on_virus", "expected \"reject\", \"quarantine\" or \"junk\"");
  v.on_virus = on_virus == "junk"         ? Config::Virus::OnVirus::junk
               : on_virus == "quarantine" ? Config::Virus::OnVirus::quarantine
                                          : Config::Virus::OnVirus::reject;
  TRY_ERR(get_string(c, t, "when_down", "virus.when_down", when_down));
  if (when_down != "tempfail" && when_down != "accept")
    return c.at(t.get("when_down"), "virus.when_down", "expected \"tempfail\" or \"accept\"");
  v.when_down = when_down == "accept" ? Config::Virus::WhenDown::accept : Config::Virus::WhenDown::tempfail;
  TRY_ERR(get_duration(c, t, "timeout", "virus.timeout", v.timeout));
  if (v.timeout.count() == 0) return c.at(t.get("timeout"), "virus.timeout", "expected a duration of at least 1s");
  return std::nullopt;
}

// [filter]: CONTRACT.md's short form of the filter settings. Each key is another name for one of [spam]
// or [virus] (docs/configuration.md), so setting a value in both places is an error, never a silent
// choice between them. A plain dnsbl zone is a block list: a listing weighs the reject threshold.
std::optional<Error> parse_filter(const Checker& c, const toml::table& t, const toml::table* spam,
                                  const toml::table* virus, Config& cfg) {
  TRY_ERR(c.only(t, "filter", {"clamd", "clamd_unavailable", "dnsbl", "greylisting", "spam_threshold",
                               "reject_threshold"}));
  auto twice = [&](std::string_view key, const toml::table* other, std::string_view other_name,
                   std::string_view other_key) -> std::optional<Error> {
    if (t.get(key) && other && other->get(other_key))
      return c.at(t.get(key), "filter." + std::string(key),
                  fmt::format("also set as {}.{}; set it in one place", other_name, other_key));
    return std::nullopt;
  };
  TRY_ERR(twice("clamd", virus, "virus", "clamd"));
  TRY_ERR(twice("clamd_unavailable", virus, "virus", "when_down"));
  TRY_ERR(twice("spam_threshold", spam, "spam", "junk_score"));
  TRY_ERR(twice("reject_threshold", spam, "spam", "reject_score"));
  if (t.get("clamd")) {
    std::string text;
    TRY_ERR(get_string(c, t, "clamd", "filter.clamd", text));
    auto address = spam::clamd::parse_address(text);
    if (!address) return c.at(t.get("clamd"), "filter.clamd", address.error().message);
    cfg.virus.clamd = std::move(*address);
  }
  if (t.get("clamd_unavailable")) {
    std::string when_down;
    TRY_ERR(get_string(c, t, "clamd_unavailable", "filter.clamd_unavailable", when_down));
    if (when_down != "tempfail" && when_down != "accept")
      return c.at(t.get("clamd_unavailable"), "filter.clamd_unavailable", "expected \"tempfail\" or \"accept\"");
    cfg.virus.when_down = when_down == "accept" ? Config::Virus::WhenDown::accept : Config::Virus::WhenDown::tempfail;
  }
  TRY_ERR(get_number(c, t, "spam_threshold", "filter.spam_threshold", cfg.spam.junk_score));
  TRY_ERR(get_number(c, t, "reject_threshold", "filter.reject_threshold", cfg.spam.reject_score));
  if (cfg.spam.reject_score < cfg.spam.junk_score) {
    const char* key = t.get("reject_threshold") ? "reject_threshold" : "spam_threshold";
    return c.at(t.get(key), fmt::format("filter.{}", key), "the reject threshold must not be below the spam threshold");
  }
  std::vector<std::string> zones;
  TRY_ERR(get_strings(c, t, "dnsbl", "filter.dnsbl", zones));
  for (auto& zone : zones) {
    if (zone.empty() || zone.find_first_of(" /@") != std::string::npos)
      return c.at(t.get("dnsbl"), "filter.dnsbl", "expected DNS zones such as \"zen.example.org\"");
    cfg.spam.dnsbl.push_back(Config::DnsList{zone, 0, {}, false, true});
  }
  TRY_ERR(get_bool(c, t, "greylisting", "filter.greylisting", cfg.greylisting));
  return std::nullopt;
}

std::optional<Error> parse_attachments(const Checker& c, const toml::table& t, Config::Attachments& a) {
  TRY_ERR(c.only(t, "attachments", {"action", "executables", "macros", "extensions"}));
  std::string action = "off";
  TRY_ERR(get_string(c, t, "action", "attachments.action", action));
  using Action = Config::Attachments::Action;
  if (action == "off") a.action = Action::off;
  else if (action == "reject") a.action = Action::reject;
  else if (action == "quarantine") a.action = Action::quarantine;
  else if (action == "strip") a.action = Action::strip;
  else return c.at(t.get("action"), "attachments.action", "expected \"off\", \"reject\", \"quarantine\" or \"strip\"");
  TRY_ERR(get_bool(c, t, "executables", "attachments.executables", a.rules.executables));
  TRY_ERR(get_bool(c, t, "macros", "attachments.macros", a.rules.macros));
  TRY_ERR(get_strings(c, t, "extensions", "attachments.extensions", a.rules.extensions));
  for (auto& e : a.rules.extensions) {
    if (e.starts_with('.')) e.erase(0, 1);
    if (e.empty() || e.size() > 20 || e.find_first_of(" ./\\") != std::string::npos)
      return c.at(t.get("extensions"), "attachments.extensions", "expected extensions such as \"iso\"");
    e = to_lower(e);
  }
  return std::nullopt;
}

std::optional<Error> get_endpoints(const Checker& c, const toml::node* n, const std::string& name,
                                   std::vector<Endpoint>& out) {
  auto* arr = n->as_array();
  const char* what = "expected a list of \"address:port\" strings";
  if (!arr) return c.at(n, name, what);
  std::vector<Endpoint> v;
  for (auto& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) return c.at(&item, name, what);
    auto ep = parse_endpoint(*s);
    if (!ep) return c.at(&item, name, ep.error().message);
    v.push_back(*ep);
  }
  out = std::move(v);
  return std::nullopt;
}

std::optional<Error> parse_route(const Checker& c, const toml::table& t, std::size_t index, Route& r) {
  std::string p = fmt::format("route[{}]", index);
  TRY_ERR(c.only(t, p, {"match", "relay", "tls", "auth", "retry", "give_up_after"}));
  if (!t.get("match")) return c.at(&t, p + ".match", "missing (a domain pattern such as \"*.example.test\" or \"*\")");
  TRY_ERR(get_string(c, t, "match", p + ".match", r.match));
  r.match = to_lower(r.match);
  std::string relay;
  if (!t.get("relay")) return c.at(&t, p + ".relay", "missing (\"host:port\")");
  TRY_ERR(get_string(c, t, "relay", p + ".relay", relay));
  auto ep = parse_endpoint(relay);
  if (!ep) return c.at(t.get("relay"), p + ".relay", ep.error().message);
  r.relay = *ep;
  TRY_ERR(get_string(c, t, "tls", p + ".tls", r.tls));
  if (r.tls != "none" && r.tls != "starttls" && r.tls != "implicit" && r.tls != "dane")
    return c.at(t.get("tls"), p + ".tls", "expected one of: none, starttls, implicit, dane");
  if (auto* a = t.get("auth")) {
    auto* at = a->as_table();
    if (!at) return c.at(a, p + ".auth", "expected a table { user = \"...\", password = \"...\" }");
    TRY_ERR(c.only(*at, p + ".auth", {"user", "password"}));
    RouteAuth ra;
    TRY_ERR(get_string(c, *at, "user", p + ".auth.user", ra.user));
    TRY_ERR(get_string(c, *at, "password", p + ".auth.password", ra.password));
    if (ra.user.empty()) return c.at(a, p + ".auth.user", "missing");
    r.auth = ra;
  }
  TRY_ERR(get_durations(c, t, "retry", p + ".retry", r.retry));
  if (t.get("give_up_after")) {
    std::chrono::seconds g{};
    TRY_ERR(get_duration(c, t, "give_up_after", p + ".give_up_after", g));
    r.give_up_after = g;
  }
  return std::nullopt;
}

// ---- Connection checks: [limits] tarpit and rate keys, [greylist], [filter] greylisting ----

// A delay of milliseconds: "250ms", or any duration parse_duration takes ("1s", "2m").
std::optional<Error> get_millis(const Checker& c, const toml::table& t, std::string_view key, const std::string& name,
                                std::chrono::milliseconds& out) {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  auto s = n->value<std::string>();
  std::optional<std::chrono::milliseconds> d;
  if (s && s->ends_with("ms")) {
    auto v = parse_u64(std::string_view(*s).substr(0, s->size() - 2));
    if (v && *v <= 3600000) d = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
  } else if (s) {
    if (auto secs = parse_duration(*s); secs && *secs <= std::chrono::hours(1)) d = *secs;
  }
  if (!d) return c.at(n, name, "expected a delay such as \"250ms\" or \"2s\" (at most 1h)");
  out = *d;
  return std::nullopt;
}

const std::initializer_list<std::string_view> connection_limit_keys{
    "tarpit_after", "tarpit_delay", "tarpit_max", "unknown_recipients_delay_after", "max_unknown_recipients",
    "max_unknown_recipients_per_hour",
    "connections_per_ip_per_minute", "messages_per_ip_per_hour", "recipients_per_ip_per_hour",
    "messages_per_sender_per_hour", "rate_limit_exempt"};

std::optional<Error> parse_connection_limits(const Checker& c, const toml::table& t, Limits& l) {
  TRY_ERR(get_int(c, t, "tarpit_after", "limits.tarpit_after", l.tarpit_after, 0, 1000));
  TRY_ERR(get_millis(c, t, "tarpit_delay", "limits.tarpit_delay", l.tarpit_delay));
  TRY_ERR(get_millis(c, t, "tarpit_max", "limits.tarpit_max", l.tarpit_max));
  TRY_ERR(get_int(c, t, "unknown_recipients_delay_after", "limits.unknown_recipients_delay_after",
                  l.unknown_recipients_delay_after, 0, 100000));
  TRY_ERR(get_int(c, t, "max_unknown_recipients", "limits.max_unknown_recipients", l.max_unknown_recipients, 0, 100000));
  TRY_ERR(get_int(c, t, "max_unknown_recipients_per_hour", "limits.max_unknown_recipients_per_hour",
                  l.max_unknown_recipients_per_hour, 0, 100000000));
  TRY_ERR(get_int(c, t, "connections_per_ip_per_minute", "limits.connections_per_ip_per_minute",
                  l.connections_per_ip_per_minute, 0, 100000000));
  TRY_ERR(get_int(c, t, "messages_per_ip_per_hour", "limits.messages_per_ip_per_hour", l.messages_per_ip_per_hour, 0,
                  100000000));
  TRY_ERR(get_int(c, t, "recipients_per_ip_per_hour", "limits.recipients_per_ip_per_hour",
                  l.recipients_per_ip_per_hour, 0, 100000000));
  TRY_ERR(get_int(c, t, "messages_per_sender_per_hour", "limits.messages_per_sender_per_hour",
                  l.messages_per_sender_per_hour, 0, 100000000));
  if (t.get("rate_limit_exempt")) TRY_ERR(get_list(c, t, "rate_limit_exempt", "limits.rate_limit_exempt", l.rate_limit_exempt));
  return std::nullopt;
}

std::optional<Error> parse_greylist(const Checker& c, const toml::table& root, Config& cfg) {
  // [filter] greylisting itself is read by parse_filter.
  auto* n = root.get("greylist");
  if (!n) return std::nullopt;
  if (!n->is_table()) return c.at(n, "greylist", "expected a table [greylist]");
  const auto& t = *n->as_table();
  auto& g = cfg.greylist;
  TRY_ERR(c.only(t, "greylist", {"delay", "expire", "retention", "auto_allow", "skip_if", "ipv4_prefix", "ipv6_prefix"}));
  TRY_ERR(get_duration(c, t, "delay", "greylist.delay", g.delay));
  TRY_ERR(get_duration(c, t, "expire", "greylist.expire", g.expire));
  TRY_ERR(get_duration(c, t, "retention", "greylist.retention", g.retention));
  if (g.delay.count() == 0) return c.at(t.get("delay"), "greylist.delay", "expected a duration of at least 1s");
  if (g.expire <= g.delay) return c.at(t.get("expire") ? t.get("expire") : n, "greylist.expire", "must be longer than greylist.delay");
  if (g.retention < g.expire) return c.at(t.get("retention") ? t.get("retention") : n, "greylist.retention", "must not be shorter than greylist.expire");
  TRY_ERR(get_int(c, t, "auto_allow", "greylist.auto_allow", g.auto_allow, 0, 1000000));
  TRY_ERR(get_strings(c, t, "skip_if", "greylist.skip_if", g.skip_if));
  for (const auto& check : g.skip_if)
    if (check != "fcrdns" && check != "spf")
      return c.at(t.get("skip_if"), "greylist.skip_if", "expected a list of \"fcrdns\" and \"spf\"");
  TRY_ERR(get_int(c, t, "ipv4_prefix", "greylist.ipv4_prefix", g.ipv4_prefix, 8, 32));
  TRY_ERR(get_int(c, t, "ipv6_prefix", "greylist.ipv6_prefix", g.ipv6_prefix, 16, 128));
  return std::nullopt;
}

// ---- end of the connection checks ----

}  // namespace

std::string Endpoint::str() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

Result<Endpoint> parse_endpoint(std::string_view s) {
  Endpoint ep;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return Error{"expected \"[ipv6]:port\""};
    ep.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return Error{"expected \"address:port\""};
    ep.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
    if (ep.host.find(':') != std::string::npos) return Error{"write an IPv6 address as \"[addr]:port\""};
  }
  // A host name or an IP literal: never empty ("[]:25"), never white space, controls or brackets.
  bool host_ok = !ep.host.empty();
  for (unsigned char c : ep.host) host_ok = host_ok && c > ' ' && c != 0x7f && c != '[' && c != ']';
  if (!host_ok) return Error{"expected a host name or an IP address before the port"};
  auto p = parse_u64(port);
  if (!p || *p == 0 || *p > 65535) return Error{"expected a port from 1 to 65535"};
  ep.port = static_cast<std::uint16_t>(*p);
  return ep;
}

const std::vector<std::string>& known_services() {
  static const std::vector<std::string> s{"smtp", "submission", "submissions", "imap", "imaps",
                                          "pop3", "pop3s", "http", "https"};
  return s;
}

spam::AddressList Limits::default_rate_limit_exempt() {
  return std::move(*spam::AddressList::parse({"127.0.0.0/8", "::1"}));
}

std::filesystem::path Config::cert_path() const { return tls_cert ? *tls_cert : data_dir / "cert.pem"; }
std::filesystem::path Config::key_path() const { return tls_key ? *tls_key : data_dir / "key.pem"; }

Result<Config> parse(const std::string& text, const std::filesystem::path& file) {
  Checker c(file);
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    return Error{fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description())};
  }
  Config cfg;
  cfg.file = file;
  auto base = file.has_parent_path() ? std::filesystem::absolute(file).parent_path()
                                     : std::filesystem::current_path();
  TRY_ERR(c.only(root, "", {"hostname", "postmaster", "data_dir", "listen", "tls", "auth", "dns", "outbound", "route",
                            "limits", "log", "mailauth", "dmarc", "spam", "virus", "filter", "attachments", "greylist", "mta_sts"}));
  TRY_ERR(get_string(c, root, "hostname", "hostname", cfg.hostname));
  if (cfg.hostname.empty()) return c.at(root.get("hostname"), "hostname", "expected a host name");
  // RFC 5321 4.5.1: where postmaster@ a local domain goes when no mailbox or alias has that name.
  TRY_ERR(get_string(c, root, "postmaster", "postmaster", cfg.postmaster));
  if (!cfg.postmaster.empty() && cfg.postmaster.find('@') == std::string::npos)
    return c.at(root.get("postmaster"), "postmaster", "expected an address user@domain");
  std::string data_dir = "data";
  TRY_ERR(get_string(c, root, "data_dir", "data_dir", data_dir));
  cfg.data_dir = (base / data_dir).lexically_normal();

  auto table = [&](std::string_view key) -> Result<const toml::table*> {
    auto* n = root.get(key);
    if (!n) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return c.at(n, std::string(key), "expected a table [" + std::string(key) + "]");
    return n->as_table();
  };

  auto listen = table("listen");
  if (!listen) return listen.error();
  if (*listen) {
    for (auto&& [k, v] : **listen) {
      std::string svc(k.str());
      bool known = false;
      for (auto& s : known_services()) known = known || s == svc;
      if (!known) {
        std::string list;
        for (auto& s : known_services()) list += (list.empty() ? "" : ", ") + s;
        return c.at(&v, "listen." + svc, "unknown service (expected one of: " + list + ")");
      }
      std::vector<Endpoint> eps;
      TRY_ERR(get_endpoints(c, &v, "listen." + svc, eps));
      cfg.listen[svc] = std::move(eps);
    }
  }

  auto tls = table("tls");
  if (!tls) return tls.error();
  if (*tls) {
    TRY_ERR(c.only(**tls, "tls", {"cert", "key"}));
    std::string cert, key;
    TRY_ERR(get_string(c, **tls, "cert", "tls.cert", cert));
    TRY_ERR(get_string(c, **tls, "key", "tls.key", key));
    if (cert.empty() != key.empty())
      return c.at(*tls, "tls", "set both cert and key, or neither (then a self-signed pair is made)");
    if (!cert.empty()) {
      cfg.tls_cert = (base / cert).lexically_normal();
      cfg.tls_key = (base / key).lexically_normal();
    }
  }

  auto auth = table("auth");
  if (!auth) return auth.error();
  if (*auth) {
    TRY_ERR(c.only(**auth, "auth", {"allow_plaintext"}));
    TRY_ERR(get_bool(c, **auth, "allow_plaintext", "auth.allow_plaintext", cfg.allow_plaintext));
  }

  auto dns = table("dns");
  if (!dns) return dns.error();
  if (*dns) {
    TRY_ERR(c.only(**dns, "dns", {"servers"}));
    if (auto* n = (*dns)->get("servers")) TRY_ERR(get_endpoints(c, n, "dns.servers", cfg.dns_servers));
  }

  auto spam = table("spam");
  if (!spam) return spam.error();
  auto virus = table("virus");
  if (!virus) return virus.error();
  auto filter = table("filter");
  if (!filter) return filter.error();
  // [filter] first, so that [[spam.threshold]] entries start from its thresholds.
  if (*filter) TRY_ERR(parse_filter(c, **filter, *spam, *virus, cfg));
  if (*spam) TRY_ERR(parse_spam(c, **spam, cfg.spam));
  if (*virus) TRY_ERR(parse_virus(c, **virus, cfg.virus));
  for (auto& list : cfg.spam.dnsbl)
    if (list.block) list.weight = cfg.spam.reject_score;
  auto mta_sts = table("mta_sts");
  if (!mta_sts) return mta_sts.error();
  if (*mta_sts) {
    auto& m = cfg.mta_sts;
    m.enabled = true;
    TRY_ERR(c.only(**mta_sts, "mta_sts", {"mode", "max_age", "mx"}));
    TRY_ERR(get_string(c, **mta_sts, "mode", "mta_sts.mode", m.mode));
    if (m.mode != "enforce" && m.mode != "testing" && m.mode != "none")
      return c.at((*mta_sts)->get("mode"), "mta_sts.mode", "expected \"enforce\", \"testing\" or \"none\"");
    TRY_ERR(get_duration(c, **mta_sts, "max_age", "mta_sts.max_age", m.max_age));
    if (m.max_age.count() > 31557600)  // RFC 8461 3.2: at most a year
      return c.at((*mta_sts)->get("max_age"), "mta_sts.max_age", "at most 31557600 seconds (a year)");
    TRY_ERR(get_strings(c, **mta_sts, "mx", "mta_sts.mx", m.mx));
    for (auto& mx : m.mx)
      if (mx.empty() || mx.find_first_of(" \r\n/@") != std::string::npos)
        return c.at((*mta_sts)->get("mx"), "mta_sts.mx", "expected MX host names such as \"mx.example.org\" or \"*.example.org\"");
  }
  auto attachments = table("attachments");
  if (!attachments) return attachments.error();
  if (*attachments) TRY_ERR(parse_attachments(c, **attachments, cfg.attachments));

  TRY_ERR(parse_greylist(c, root, cfg));

  auto mailauth = table("mailauth");
  if (!mailauth) return mailauth.error();
  if (*mailauth) {
    TRY_ERR(c.only(**mailauth, "mailauth", {"verify"}));
    TRY_ERR(get_bool(c, **mailauth, "verify", "mailauth.verify", cfg.mailauth_verify));
  }

  auto dmarc = table("dmarc");
  if (!dmarc) return dmarc.error();
  if (*dmarc) {
    TRY_ERR(c.only(**dmarc, "dmarc", {"enforce", "report_only"}));
    TRY_ERR(get_bool(c, **dmarc, "enforce", "dmarc.enforce", cfg.dmarc_enforce));
    TRY_ERR(get_strings(c, **dmarc, "report_only", "dmarc.report_only", cfg.dmarc_report_only));
    for (auto& d : cfg.dmarc_report_only) d = to_lower(d);
  }

  auto out = table("outbound");
  if (!out) return out.error();
  if (*out) {
    const auto& t = **out;
    TRY_ERR(c.only(t, "outbound", {"mx_port", "retry", "give_up_after", "delay_warning_after",
                                   "copy_delivered_to"}));
    TRY_ERR(get_int(c, t, "mx_port", "outbound.mx_port", cfg.mx_port, 1, 65535));
    TRY_ERR(get_durations(c, t, "retry", "outbound.retry", cfg.retry));
    TRY_ERR(get_duration(c, t, "give_up_after", "outbound.give_up_after", cfg.give_up_after));
    TRY_ERR(get_duration(c, t, "delay_warning_after", "outbound.delay_warning_after", cfg.delay_warning_after));
    TRY_ERR(get_string(c, t, "copy_delivered_to", "outbound.copy_delivered_to", cfg.copy_delivered_to));
    if (!cfg.copy_delivered_to.empty() && cfg.copy_delivered_to.find('@') == std::string::npos)
      return c.at(t.get("copy_delivered_to"), "outbound.copy_delivered_to", "expected a local address user@domain");
  }

  if (auto* n = root.get("route")) {
    auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return c.at(n, "route", "expected [[route]] tables");
    std::size_t i = 0;
    for (auto& item : *arr) {
      Route r;
      TRY_ERR(parse_route(c, *item.as_table(), i++, r));
      cfg.routes.push_back(std::move(r));
    }
  }

  auto limits = table("limits");
  if (!limits) return limits.error();
  if (*limits) {
    const auto& t = **limits;
    auto& l = cfg.limits;
    TRY_ERR(c.only(t, "limits", {"max_connections", "max_connections_per_ip", "max_connections_per_service",
                                 "max_message_size", "max_recipients", "max_received_headers",
                                 "command_timeout", "data_timeout", "min_data_rate", "login_timeout",
                                 "max_errors", "mailbox_quota", "user_recipients_per_hour"},
                 connection_limit_keys));
    TRY_ERR(parse_connection_limits(c, t, l));
    TRY_ERR(get_int(c, t, "user_recipients_per_hour", "limits.user_recipients_per_hour", l.user_recipients_per_hour, 0,
                    100000000));
    TRY_ERR(get_int(c, t, "max_connections", "limits.max_connections", l.max_connections, 1, 1000000));
    TRY_ERR(get_int(c, t, "max_connections_per_ip", "limits.max_connections_per_ip", l.max_connections_per_ip, 1, 1000000));
    TRY_ERR(get_int(c, t, "max_connections_per_service", "limits.max_connections_per_service",
                    l.max_connections_per_service, 1, 1000000));
    TRY_ERR(get_int(c, t, "max_message_size", "limits.max_message_size", l.max_message_size, 1024, std::int64_t(1) << 40));
    TRY_ERR(get_int(c, t, "max_recipients", "limits.max_recipients", l.max_recipients, 1, 100000));
    TRY_ERR(get_int(c, t, "max_received_headers", "limits.max_received_headers", l.max_received_headers, 1, 1000));
    TRY_ERR(get_duration(c, t, "command_timeout", "limits.command_timeout", l.command_timeout));
    TRY_ERR(get_duration(c, t, "data_timeout", "limits.data_timeout", l.data_timeout));
    TRY_ERR(get_int(c, t, "min_data_rate", "limits.min_data_rate", l.min_data_rate, 0, 1000000000));
    TRY_ERR(get_duration(c, t, "login_timeout", "limits.login_timeout", l.login_timeout));
    for (auto [key, value] : {std::pair{"command_timeout", l.command_timeout}, std::pair{"data_timeout", l.data_timeout},
                              std::pair{"login_timeout", l.login_timeout}})
      if (value.count() == 0) return c.at(t.get(key), std::string("limits.") + key, "expected a duration of at least 1s");
    TRY_ERR(get_int(c, t, "max_errors", "limits.max_errors", l.max_errors, 1, 1000));
    TRY_ERR(get_int(c, t, "mailbox_quota", "limits.mailbox_quota", l.mailbox_quota, 0, std::int64_t(1) << 50));
  }

  auto logt = table("log");
  if (!logt) return logt.error();
  if (*logt) {
    TRY_ERR(c.only(**logt, "log", {"level"}));
    TRY_ERR(get_string(c, **logt, "level", "log.level", cfg.log_level));
    if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" && cfg.log_level != "error")
      return c.at((*logt)->get("level"), "log.level", "expected one of: debug, info, warn, error");
  }
  return cfg;
}

Result<Config> load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot read the configuration file", file.string())};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file);
}

std::string default_config_text() {
  return R"(# Tern's configuration. Every key is described in docs/configuration.md.
# This file was written by Tern on first run; edit it freely, then `kill -HUP` the server or restart it.

hostname = "localhost"          # EHLO name and Received: host
data_dir = "data"               # relative to this file's folder
# postmaster = "admin@localhost"  # gets postmaster@ each local domain that has no such mailbox or alias
                                  # (absent: the domain's first mailbox)

[listen]                        # each a list of "address:port"; remove a key to turn a service off
smtp        = ["127.0.0.1:2525"]    # MX: mail for local domains; relay only for authenticated users
submission  = ["127.0.0.1:2587"]    # STARTTLS, AUTH required
submissions = ["127.0.0.1:2465"]    # implicit TLS, AUTH required
pop3        = ["127.0.0.1:2110"]    # POP3; logins only after STLS
pop3s       = ["127.0.0.1:2995"]    # POP3 over implicit TLS
imap        = ["127.0.0.1:2143"]    # IMAP; logins only after STARTTLS
imaps       = ["127.0.0.1:2993"]    # IMAP over implicit TLS
http        = ["127.0.0.1:8080"]    # redirects to https, except /healthz and /.well-known/
https       = ["127.0.0.1:8443"]    # the JSON API (/api/v1, docs/api.md), /metrics, /healthz

# [tls]                         # absent: Tern makes a self-signed pair, data/cert.pem and data/key.pem
# cert = "data/cert.pem"        # paths relative to this file's folder; these two are that pair
# key  = "data/key.pem"

[auth]
allow_plaintext = false         # true: AUTH allowed without TLS (tests on loopback only)

# [dns]
# servers = ["127.0.0.1:5353"]  # absent: the system resolver

# [spam]                        # the spam filter (docs/spam.md)
# junk_score = 5.0              # at or above: into the recipients' Junk
# reject_score = 15.0           # at or above: refused with 554 5.7.1
# allow = ["192.0.2.0/24", "*@partner.example"]   # never filtered as spam
# deny = ["203.0.113.7", "spammer.example"]       # refused at RCPT (except postmaster@ and abuse@)

# [virus]                       # virus scanning by ClamAV's clamd (docs/virus.md); absent: no scanning
# clamd = "/run/clamav/clamd.ctl"   # its socket (Debian's clamav-daemon), or "127.0.0.1:3310"
# on_virus = "reject"           # refused with 554 5.7.1; "quarantine": held (tern quarantine list);
#                               # "junk": accepted into the recipients' Junk
# when_down = "tempfail"        # clamd unreachable: 451 4.7.0; "accept": accepted, X-Virus-Status: Unscanned
# timeout = "30s"               # the whole scan of one message

# [attachments]                 # files not taken by mail (docs/spam.md); off by default
# action = "quarantine"         # off | reject (554 5.7.1) | quarantine | strip (replaced by a note)
# executables = true            # programs (exe, scr, js, ...), also as "invoice.pdf.exe"
# macros = true                 # Office files with macros (docm, xlsm, ...)
# extensions = ["iso", "7z"]    # more extensions to hold

# [mailauth]
# verify = true                 # SPF, DKIM, ARC and DMARC of inbound mail; false: a filter in front does them

# [dmarc]                       # mail whose sender's DMARC policy fails (docs/authentication.md)
# enforce = true                # reject: refused with 550 5.7.1; quarantine: filed into Junk
# report_only = ["example.org"] # local domains that only get the result in Authentication-Results

# [log]
# level = "info"                # debug, info, warn or error (to stderr; SIGHUP applies a change)

[outbound]
mx_port = 25
retry = ["1m", "5m", "15m", "30m", "1h"]
give_up_after = "4d"
delay_warning_after = "4h"

# [limits]
# max_connections = 1000
# max_connections_per_ip = 50
# max_connections_per_service = 500 # per listener (smtp, imap, ...); default: half of max_connections
# command_timeout = "5m"             # a whole command line; also each reply write
# data_timeout = "10m"               # DATA/BDAT, extended while at least min_data_rate arrives
# min_data_rate = 500                # octets per second
# login_timeout = "1m"               # the whole session before login (SMTP: before AUTH or MAIL)
# max_message_size = 52428800
# max_received_headers = 50
# mailbox_quota = 0                  # octets per mailbox (IMAP QUOTA; APPEND and SMTP delivery refused above it); 0: none
# tarpit_after = 3                   # SMTP errors before each reply is delayed (unauthenticated clients)
# tarpit_delay = "1s"                # per error beyond tarpit_after, up to tarpit_max = "5s"
# max_unknown_recipients = 10        # in one session: 421 4.7.0 and close (slowed from 5 on)
# max_unknown_recipients_per_hour = 30   # per client address, across sessions: then 421 4.7.0 at each
# connections_per_ip_per_minute = 60 # MX listener, per client address; also messages_per_ip_per_hour,
#                                    # recipients_per_ip_per_hour, messages_per_sender_per_hour

# [greylist]                         # with [filter] greylisting = true (docs/spam.md)
# delay = "5m"                       # an unknown (client network, sender, recipient) retries after this
# auto_allow = 5                     # messages passed before a client network + sender domain skips it
)";
}

}  // namespace tern::config
