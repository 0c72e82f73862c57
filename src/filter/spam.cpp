#include "filter/spam.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <set>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "base/strings.hpp"
#include "filter/connection.hpp"
#include "mime/tree.hpp"
#include "smtp/proto/codes.hpp"
#include "spam/content.hpp"
#include "spam/received.hpp"

namespace tern::filter {

namespace ip = boost::asio::ip;

namespace {

std::string_view local_part(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(0, at);
}

std::string_view domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

std::string sender_of(const Context& ctx) {
  return ctx.mail && ctx.mail->sender ? ctx.mail->sender->str() : std::string();
}

// What mail authentication said of a message, for the reputation rules (kept by the auth stage).
struct AuthNotes {
  std::string dmarc, dkim_pass, spf, envelope_sender;
};

// Whether the From address is the sender's own, as far as mail authentication can tell: DMARC pass,
// a passing DKIM signature of the From domain, or SPF pass for an envelope sender of that domain.
// Only then may its good reputation lower the score (anyone can write a friend's address).
bool from_verified(const AuthNotes& a, std::string_view from_address) {
  if (a.dmarc == "pass") return true;
  auto at = from_address.rfind('@');
  if (at == std::string_view::npos) return false;
  auto from = from_address.substr(at + 1);
  for (std::string_view d : split(a.dkim_pass, ' '))
    if (iequals(d, from)) return true;
  auto env = a.envelope_sender.rfind('@');
  return a.spf == "pass" && env != std::string::npos && iequals(std::string_view(a.envelope_sender).substr(env + 1), from);
}

// "RULE<TAB>weight<TAB>detail" lines: the connection's rules kept in the session notes.
std::string save(const spam::Report& r) {
  std::string out;
  for (const auto& h : r.hits) out += fmt::format("{}\t{}\t{}\n", h.rule, h.score, h.detail);
  return out;
}

void load(std::string_view saved, spam::Report& out) {
  for (auto line : split(saved, '\n')) {
    auto parts = split(line, '\t');
    if (parts.size() != 3) continue;
    out.add(std::string(parts[0]), std::stod(std::string(parts[1])), std::string(parts[2]));
  }
}

// The rule name of a list: RBL_ZEN_EXAMPLE_ORG.
std::string list_rule(std::string_view prefix, std::string_view zone) {
  std::string out(prefix);
  for (char c : zone) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

// The reversed form a DNS list is asked by: 4.3.2.1 for 1.2.3.4, nibbles for IPv6.
std::string reversed(const ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return fmt::format("{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
  }
  auto b = a.to_v6().to_bytes();
  std::string out;
  for (auto it = b.rbegin(); it != b.rend(); ++it) {
    out += fmt::format("{:x}.{:x}.", *it & 0xf, *it >> 4);
  }
  out.pop_back();
  return out;
}

// The weight of a list's answer: the code's own weight, else the list's (answers outside 127/8 are
// not listings: a list that answers everything, or a resolver that rewrites NXDOMAIN).
std::optional<double> answer_weight(const config::Config::DnsList& l, const ip::address& a) {
  if (!a.is_v4() || a.to_v4().to_bytes()[0] != 127) return std::nullopt;
  std::string text = a.to_string();
  for (const auto& [code, w] : l.codes)
    if (code == text) return w;
  if (!l.codes.empty()) return std::nullopt;  // codes named: only those count
  return l.weight;
}

// The heaviest listing among a list's answers: (weight, the answer), or nullopt when none counts.
std::optional<std::pair<double, std::string>> listing(const config::Config::DnsList& l, const dns::AddressAnswer& a) {
  std::optional<std::pair<double, std::string>> best;
  if (a.status != dns::AddressAnswer::ok) return best;
  for (const auto& x : a.addresses) {
    auto w = answer_weight(l, x);
    if (w && (!best || *w > best->first)) best.emplace(*w, x.to_string());
  }
  return best;
}

// The HELO (or EHLO) name `helo` (lower case) of a client at `client`; `via` is added to the details.
void helo_rules(const std::string& helo, const ip::address& client, const std::string& hostname, std::string_view via,
                spam::Report& r) {
  if (helo.empty()) return;
  boost::system::error_code ec;
  if (helo.front() == '[') {
    std::string literal = helo.substr(1, helo.find(']') == std::string::npos ? std::string::npos : helo.find(']') - 1);
    if (istarts_with(literal, "ipv6:")) literal = literal.substr(5);
    auto said = ip::make_address(literal, ec);
    if (ec || said != client) r.add("HELO_IP_MISMATCH", 1.0, helo + std::string(via));
  } else if (ip::make_address(helo, ec), !ec) {
    r.add("HELO_BARE_IP", 1.5, helo + std::string(via));
  } else if (helo.find('.') == std::string::npos) {
    r.add("HELO_NOT_FQDN", 1.0, helo + std::string(via));
  } else if (helo == hostname && !client.is_loopback()) {
    r.add("HELO_IS_OURS", 3.0, helo + std::string(via));  // only this server is this server
  }
}

// The header of a message: up to the blank line, with the last field's CRLF (all of it when none).
std::string_view header_of(std::string_view message) {
  auto end = message.find("\r\n\r\n");
  return message.substr(0, end == std::string_view::npos ? message.size() : end + 2);
}

struct Thresholds {
  double junk, reject;
};

// The most lenient thresholds among the recipients: one reply answers every recipient.
Thresholds thresholds(const Context& ctx) {
  const auto& s = ctx.config->spam;
  Thresholds t{s.junk_score, s.reject_score};
  if (s.thresholds.empty() || !ctx.recipients || ctx.recipients->empty()) return t;
  bool first = true;
  for (const auto& r : *ctx.recipients) {
    std::string addr = to_lower(r.recipient.str());
    Thresholds own{s.junk_score, s.reject_score};
    for (const auto& th : s.thresholds) {
      if (th.match == addr || th.match == domain_of(addr)) {
        own = {th.junk_score, th.reject_score};
        if (th.match == addr) break;  // an address's own beats its domain's
      }
    }
    t = first ? own : Thresholds{std::max(t.junk, own.junk), std::max(t.reject, own.reject)};
    first = false;
  }
  return t;
}

std::string status_field(bool spam, double score, double required, const std::string& tests) {
  return fmt::format("X-Spam-Status: {}, score={} required={}\r\n\ttests={}\r\n", spam ? "Yes" : "No",
                     spam::format_score(score), spam::format_score(required), tests);
}

}  // namespace

bool always_accepted(std::string_view address) {
  auto local = local_part(address);
  return iequals(local, "postmaster") || iequals(local, "abuse");
}

net::awaitable<Verdict> SpamStage::rcpt(const Context& ctx) {
  const auto& s = ctx.config->spam;
  if (!s.enabled || !ctx.mx || !ctx.user.empty() || !ctx.rcpt || s.deny.empty()) co_return Verdict::next();
  if (always_accepted(ctx.rcpt->recipient.str())) co_return Verdict::next();
  boost::system::error_code ec;
  auto client = ip::make_address(ctx.client_address, ec);
  std::string entry = ec ? std::string() : s.deny.match_ip(client);
  if (entry.empty()) entry = s.deny.match_address(to_lower(sender_of(ctx)));
  if (entry.empty()) co_return Verdict::next();
  co_return Verdict::refuse({smtp::code::transaction_failed, "5.7.1", "Access denied"},
                            fmt::format("deny list: {}", entry));
}

net::awaitable<void> SpamStage::connection_rules(const Context& ctx, spam::Report& out) {
  if (auto it = ctx.notes->session.find("spam.connection"); it != ctx.notes->session.end()) {
    load(it->second, out);
    co_return;
  }
  spam::Report r;
  boost::system::error_code ec;
  auto client = ip::make_address(ctx.client_address, ec);
  helo_rules(to_lower(ctx.helo), client, to_lower(ctx.config->hostname), "", r);
  if (resolver_ && !client.is_unspecified()) {
    // Forward-confirmed reverse DNS (filter/connection; the greylisting stage may have asked already).
    ReverseDns rdns = co_await reverse_dns(ctx, resolver_);
    if (rdns.status == ReverseDns::Status::none) r.add("RDNS_NONE", 1.0);
    else if (rdns.status == ReverseDns::Status::unconfirmed) r.add("RDNS_NOT_CONFIRMED", 0.5, rdns.name);
    const std::string direct;  // no "via" for the connected client (a named string: no temporary in co_await)
    co_await ip_lists(ctx, client, direct, r);
  }
  ctx.notes->session["spam.connection"] = save(r);
  for (auto& h : r.hits) out.add(std::move(h.rule), h.score, std::move(h.detail));
}

net::awaitable<void> SpamStage::ip_lists(const Context& ctx, ip::address client, std::string via, spam::Report& out) {
  for (const auto& l : ctx.config->spam.dnsbl) {
    if (l.domains) continue;
    std::string name = reversed(client) + "." + l.zone;
    dns::AddressAnswer a = co_await resolver_->addresses(name, dns::Family::v4);
    if (auto hit = listing(l, a)) out.add(list_rule("RBL_", l.zone), hit->first, hit->second + via);
  }
}

net::awaitable<void> SpamStage::relay_rules(const Context& ctx, spam::Report& out) {
  const auto& trusted = ctx.config->spam.trusted_relays;
  const std::string_view header = header_of(ctx.message);
  std::optional<spam::Relay> judged;
  std::size_t walked = 0;
  for (const auto& f : mime::parse_fields(header)) {
    if (!iequals(f.name, "Received")) continue;
    if (++walked > 30) break;
    auto relay = spam::parse_received(mime::unfold(f.value));
    if (!relay) break;  // a field that cannot be read: nothing below it is known
    boost::system::error_code ec;
    auto a = ip::make_address(relay->ip, ec);
    if (ec) break;
    if (!trusted.match_ip(a).empty()) continue;
    judged = std::move(relay);
    break;
  }
  if (!judged) co_return;  // written by trusted relays only, or not readable: nothing to judge
  boost::system::error_code ec;
  const auto client = ip::make_address(judged->ip, ec);
  const std::string via = fmt::format(" via Received from {}", judged->ip);
  spam::Report r;
  helo_rules(to_lower(judged->helo), client, to_lower(ctx.config->hostname), via, r);
  if (judged->rdns_known && judged->rdns.empty()) r.add("RDNS_NONE", 1.0, judged->ip + " (Received)");
  if (resolver_) co_await ip_lists(ctx, client, via, r);
  for (auto& h : r.hits) out.add(std::move(h.rule), h.score, std::move(h.detail));
}

net::awaitable<void> SpamStage::domain_lists(const Context& ctx, const std::vector<std::string>& domains,
                                             spam::Report& out) {
  if (!resolver_) co_return;
  for (const auto& l : ctx.config->spam.dnsbl) {
    if (!l.domains) continue;
    for (const auto& d : domains) {
      std::string name = d + "." + l.zone;
      dns::AddressAnswer a = co_await resolver_->addresses(name, dns::Family::v4);
      if (auto hit = listing(l, a)) {
        out.add(list_rule("DBL_", l.zone), hit->first, d);
        break;  // one hit per list
      }
    }
  }
}

net::awaitable<Verdict> SpamStage::data(const Context& ctx) {
  Verdict v;
  const auto& s = ctx.config->spam;
  if (!s.enabled) co_return v;
  const bool outside = ctx.mx && ctx.user.empty();
  if (outside) {
    // Our verdict is the only one the recipients' filters may read.
    const std::string_view header = header_of(ctx.message);
    for (const auto& f : mime::parse_fields(header)) {
      if (istarts_with(f.name, "X-Spam-")) {
        v.drop.emplace_back(static_cast<std::size_t>(f.raw.data() - ctx.message.data()), f.raw.size());
      }
    }
  }
  const std::string sender = to_lower(sender_of(ctx));
  bool exempt = false;  // postmaster@ or abuse@ among the recipients
  bool all_allowed = ctx.recipients && !ctx.recipients->empty();
  if (ctx.recipients) {
    for (const auto& r : *ctx.recipients) {
      std::string a = to_lower(r.recipient.str());
      exempt = exempt || always_accepted(a);
      all_allowed = all_allowed && !s.allow_recipients.match_address(a).empty();
    }
  }

  // The reading and the content rules on the worker pool (a large message takes milliseconds).
  // The statistical classifier votes too (outside mail only): each local recipient's own training,
  // or the shared one; the most lenient vote counts (one reply answers them all).
  const std::string_view message = ctx.message;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> voters;
  if (outside && learner_ && ctx.recipients) {
    for (const auto& r : *ctx.recipients)
      if (voters.size() < 5) voters.push_back(to_lower(r.recipient.str()));
  }
  const spam::Learner* learner = learner_;
  const std::int64_t min_samples = s.classifier_min_samples;
  const auto* who = &voters;
  AuthNotes auth;
  for (auto [key, into] : {std::pair{"dmarc", &auth.dmarc}, {"dkim.pass", &auth.dkim_pass}, {"spf", &auth.spf}})
    if (auto it = ctx.notes->transaction.find(key); it != ctx.notes->transaction.end()) *into = it->second;
  auth.envelope_sender = sender;
  auto job = [message, now, learner, min_samples, who, auth] {
    std::pair<spam::Reading, spam::Report> out;
    out.first = spam::read_message(message);
    spam::content_rules(out.first, now, out.second);
    // Each recipient's vote and the sender's reputation with each (one open of the user's file); the
    // most lenient of each counts.
    const auto toks = spam::tokens(out.first);
    const bool verified = from_verified(auth, out.first.from_address);
    std::optional<spam::Report> kindest;
    std::optional<spam::Learner::Vote> vote;
    std::string voter;
    for (const auto& address : *who) {
      auto j = learner->judge(address, toks, out.first.from_address, min_samples);
      spam::Report r;
      spam::reputation_rules(j.reputation, verified, fmt::format("{} with {}", out.first.from_address, address), r);
      if (!kindest || r.score < kindest->score) kindest = std::move(r);
      if (j.vote && (!vote || j.vote->probability < vote->probability)) {
        vote = j.vote;
        voter = address;
      }
    }
    if (kindest)
      for (auto& h : kindest->hits) out.second.add(h.rule, h.score, h.detail);
    if (vote) spam::bayes_rules(vote->probability, fmt::format("{:.3f} {} of {}", vote->probability, vote->source, voter), out.second);
    return out;
  };
  auto [reading, report] = *co_await net::offload(pool_, std::move(job));
  // The From address, read once here, for what the session records after the reply (the INBOX
  // deliveries that count toward the sender's reputation, smtpd/cmd_data).
  ctx.notes->transaction["from"] = reading.from_address;

  if (outside) {
    std::string allowed;
    boost::system::error_code ec;
    auto client = ip::make_address(ctx.client_address, ec);
    if (!ec) allowed = s.allow.match_ip(client);
    if (allowed.empty()) allowed = s.allow.match_address(sender);
    if (allowed.empty() && !reading.from_address.empty()) {
      // The From field's domain only counts when DKIM or DMARC vouch for it (anyone can write it).
      const auto& notes = ctx.notes->transaction;
      auto dmarc = notes.find("dmarc");
      if (dmarc != notes.end() && dmarc->second == "pass") allowed = s.allow.match_address(reading.from_address);
    }
    if (allowed.empty() && all_allowed) allowed = "every recipient (allow_recipients)";
    if (!allowed.empty()) {
      v.headers = status_field(false, 0, thresholds(ctx).junk, "ALLOWLISTED");
      v.reasons.push_back(fmt::format("allow list: {}", allowed));
      co_return v;
    }

    // From a relay of this site, the client it names; else the one connected.
    boost::system::error_code tec;
    auto connected = ip::make_address(ctx.client_address, tec);
    if (!tec && !s.trusted_relays.empty() && !s.trusted_relays.match_ip(connected).empty())
      co_await relay_rules(ctx, report);
    else
      co_await connection_rules(ctx, report);
    // What the auth stage found (spf at MAIL, dkim and dmarc at the end of data).
    const auto& notes = ctx.notes->transaction;
    auto note = [&](const char* key) {
      auto it = notes.find(key);
      return it == notes.end() ? std::string() : it->second;
    };
    std::string spf = note("spf"), dkim = note("dkim"), dmarc = note("dmarc");
    if (spf == "fail") report.add("SPF_FAIL", 1.0);
    else if (spf == "softfail") report.add("SPF_SOFTFAIL", 0.7);
    else if (spf == "pass") report.add("SPF_PASS", -0.2);
    if (dkim == "pass") report.add("DKIM_PASS", -0.5, note("dkim.pass"));
    else if (dkim == "fail") report.add("DKIM_FAIL", 1.0);
    if (dmarc == "fail") report.add("DMARC_FAIL", 2.0);
    else if (dmarc == "pass") report.add("DMARC_PASS", -1.0);

    std::vector<std::string> domains;
    auto add_domain = [&](std::string_view d) {
      std::string x = to_lower(d);
      if (!x.empty() && std::find(domains.begin(), domains.end(), x) == domains.end() && domains.size() < 10)
        domains.push_back(std::move(x));
    };
    add_domain(domain_of(sender));
    add_domain(domain_of(reading.from_address));
    for (const auto& h : reading.url_hosts) {
      if (!h.empty() && h.front() != '[') add_domain(h);
    }
    co_await domain_lists(ctx, domains, report);
  }

  auto t = thresholds(ctx);
  std::string verdict = "ham";
  if (report.score >= t.reject) verdict = exempt ? "junk" : "reject";
  else if (report.score >= t.junk) verdict = "junk";
  if (!outside && verdict == "junk") verdict = "ham";  // a user's own mail is never put into Junk
  v.reasons.push_back(fmt::format("score={} verdict={} required={}/{} {}", spam::format_score(report.score), verdict,
                                  spam::format_score(t.junk), spam::format_score(t.reject), report.top(5)));
  if (outside) v.headers = status_field(verdict != "ham", report.score, t.junk, report.tests());
  if (verdict == "reject") {
    Verdict refused = Verdict::refuse(
        {smtp::code::mailbox_unavailable, "5.7.1",
         fmt::format("Message refused as spam (score {})", spam::format_score(report.score))},
        v.reasons.back());
    co_return refused;
  }
  if (verdict == "junk") {
    v.action = Verdict::Action::junk;
    v.junk = fmt::format("spam score {} (junk at {})", spam::format_score(report.score), spam::format_score(t.junk));
    v.headers = "X-Spam-Flag: YES\r\n" + v.headers;
  }
  co_return v;
}

}  // namespace tern::filter
