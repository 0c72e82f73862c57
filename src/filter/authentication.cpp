#include "filter/authentication.hpp"

#include <chrono>
#include <map>
#include <random>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "mailauth/arc.hpp"
#include "mailauth/authres.hpp"
#include "mailauth/dkim.hpp"
#include "mailauth/dmarc.hpp"
#include "mailauth/spf.hpp"
#include "mime/address.hpp"
#include "mime/tree.hpp"
#include "smtp/proto/codes.hpp"

namespace tern::filter {

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The header block of `message` (up to the empty line).
std::string_view header_of(std::string_view message) {
  if (message.starts_with("\r\n")) return message.substr(0, 0);
  auto end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

mailauth::MethodResult dkim_result(const mailauth::dkim::Outcome& o) {
  mailauth::MethodResult r;
  r.method = "dkim";
  r.result = mailauth::dkim::status_name(o.status);
  r.reason = o.reason;
  if (o.testing) r.reason += r.reason.empty() ? "key in testing mode (t=y)" : "; key in testing mode (t=y)";
  if (o.length_limited) r.reason += r.reason.empty() ? "l= used: unsigned content may follow" : "; l= used";
  if (!o.domain.empty()) {
    r.properties.push_back({"header.d", o.domain});
    r.properties.push_back({"header.i", o.identity});
    r.properties.push_back({"header.s", o.selector});
    r.properties.push_back({"header.a", o.algorithm});
    r.properties.push_back({"header.b", o.b});
  }
  return r;
}

// RFC5322.From's domain when the header has exactly one From field with exactly one address (RFC 7489
// 6.6.1), else "".
std::string from_domain(std::string_view header) {
  const mime::FieldView* from = nullptr;
  for (const auto& f : mime::parse_fields(header)) {
    if (!iequals(f.name, "From")) continue;
    if (from) return "";
    from = &f;
  }
  if (!from) return "";
  auto addrs = mime::parse_addresses(mime::unfold(from->value));
  if (addrs.size() != 1 || addrs.front().host.empty()) return "";
  return to_lower(addrs.front().host);
}

int pct_sample() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(gen);
}

// Every recipient's domain only reports ([dmarc] report_only), or enforcement is off.
bool report_only(const Context& ctx) {
  if (!ctx.config->dmarc_enforce) return true;
  if (!ctx.recipients || ctx.recipients->empty()) return false;
  const auto& list = ctx.config->dmarc_report_only;
  for (const auto& r : *ctx.recipients) {
    std::string addr = r.recipient.str();
    std::string domain = to_lower(std::string_view(addr).substr(addr.rfind('@') + 1));
    if (std::find(list.begin(), list.end(), domain) == list.end()) return false;
  }
  return true;
}

}  // namespace

net::awaitable<void> AuthenticationStage::record(const mailauth::dmarc::Evaluation& e) {
  // Appended and synced before the reply: a result that was acted on is in the day's report.
  auto* recorder = reports_;
  const auto* ev = &e;
  auto job = [recorder, ev] { return recorder->record(*ev); };
  auto done = *co_await net::offload(pool_, std::move(job));
  if (!done) log::warn("dmarc: cannot record an evaluation for the report: {}", done.error().message);
}

net::awaitable<Verdict> AuthenticationStage::mail(const Context& ctx) {
  Verdict v;
  if (!ctx.config->mailauth_verify) co_return v;
  if (!ctx.mx || !ctx.user.empty() || !ctx.mail) co_return v;  // our own users: no SPF (auth= says who)
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(ctx.client_address, ec);
  if (ec) co_return v;
  mailauth::spf::Request req;
  req.ip = ip;
  req.sender = ctx.mail->sender ? ctx.mail->sender->str() : "";
  req.helo = std::string(ctx.helo);
  req.receiver = ctx.config->hostname;
  mailauth::spf::Outcome out = co_await mailauth::spf::check_mail_from(resolver_, req);
  auto& notes = ctx.notes->transaction;
  notes["spf"] = mailauth::spf::result_name(out.result);
  notes["spf.property"] = req.sender.empty() ? "smtp.helo" : "smtp.mailfrom";
  notes["spf.value"] = req.sender.empty() ? req.helo : req.sender;
  notes["spf.reason"] = out.problem;
  notes["spf.domain"] = out.domain;
  v.reasons.push_back(fmt::format("spf={} {}{}{}", mailauth::spf::result_name(out.result), out.domain,
                                  out.mechanism.empty() ? "" : " matched " + out.mechanism,
                                  out.problem.empty() ? "" : " (" + out.problem + ")"));
  co_return v;
}

net::awaitable<Verdict> AuthenticationStage::data(const Context& ctx) {
  Verdict v;
  const std::string authserv_id = to_lower(ctx.config->hostname);
  const std::string_view header = header_of(ctx.message);
  for (const auto& f : mime::parse_fields(header)) {
    if (iequals(f.name, "Authentication-Results") && mailauth::authserv_id_of(f.value) == authserv_id) {
      v.drop.emplace_back(static_cast<std::size_t>(f.raw.data() - ctx.message.data()), f.raw.size());
      v.reasons.push_back("removed a forged Authentication-Results field");
    }
  }
  if (!ctx.config->mailauth_verify) co_return v;  // forged fields go all the same

  // DKIM signatures and the ARC chain: their keys from DNS first (each name once), then the hashing
  // and the signature checks on the worker pool, never on the event loop.
  auto candidates = mailauth::dkim::find_signatures(ctx.message);
  auto chain = mailauth::arc::prepare(ctx.message);
  std::map<std::string, mailauth::dkim::KeyAnswer> keys;
  std::vector<std::string> names;
  for (const auto& c : candidates)
    if (!c.key_name.empty()) names.push_back(c.key_name);
  names.insert(names.end(), chain.key_names.begin(), chain.key_names.end());
  for (const auto& name : names) {
    if (keys.count(name)) continue;
    dns::TxtAnswer txt = co_await resolver_.txt(name);
    auto& k = keys[name];
    k.records = std::move(txt.records);
    k.error = std::move(txt.error);
    k.status = txt.status == dns::TxtAnswer::ok             ? mailauth::dkim::KeyAnswer::Status::ok
               : txt.status == dns::TxtAnswer::temp_failure ? mailauth::dkim::KeyAnswer::Status::temp_failure
                                                            : mailauth::dkim::KeyAnswer::Status::none;
  }
  std::vector<mailauth::dkim::Outcome> outcomes;
  mailauth::arc::Chain arc;
  arc.result = chain.result;
  arc.reason = chain.reason;
  if (!candidates.empty() || chain.result == mailauth::arc::Result::pass) {
    const std::string_view message = ctx.message;
    const auto* cands = &candidates;
    const auto* answers = &keys;
    const auto* prepared = &chain;
    auto* arc_out = &arc;
    std::int64_t now = unix_now();
    auto job = [message, cands, answers, prepared, arc_out, now] {
      static const mailauth::dkim::KeyAnswer no_key;
      std::vector<mailauth::dkim::Outcome> out;
      for (const auto& c : *cands) {
        auto it = answers->find(c.key_name);
        out.push_back(mailauth::dkim::check(message, c, it == answers->end() ? no_key : it->second, now));
      }
      *arc_out = mailauth::arc::validate(message, *prepared, *answers);
      return out;
    };
    outcomes = *co_await net::offload(pool_, std::move(job));
  }

  std::vector<mailauth::MethodResult> results;
  const auto& notes = ctx.notes->transaction;
  if (auto spf = notes.find("spf"); spf != notes.end()) {
    mailauth::MethodResult r{"spf", spf->second, notes.at("spf.reason"), {}};
    r.properties.push_back({notes.at("spf.property"), notes.at("spf.value")});
    results.push_back(std::move(r));
  }
  if (outcomes.empty()) results.push_back({"dkim", "none", "", {}});
  {
    // For the stages after this one (spam): the best DKIM result and the domains that passed.
    std::string best = "none", passed;
    for (const auto& o : outcomes) {
      std::string r(mailauth::dkim::status_name(o.status));
      if (r == "pass") {
        best = r;
        passed += (passed.empty() ? "" : " ") + o.domain;
      } else if (best != "pass" && (best == "none" || r == "fail")) {
        best = r;
      }
    }
    ctx.notes->transaction["dkim"] = best;
    ctx.notes->transaction["dkim.pass"] = passed;
  }
  for (const auto& o : outcomes) {
    results.push_back(dkim_result(o));
    v.reasons.push_back(fmt::format("dkim={} d={} s={}{}", mailauth::dkim::status_name(o.status), o.domain, o.selector,
                                    o.reason.empty() ? "" : " (" + o.reason + ")"));
  }
  if (arc.result != mailauth::arc::Result::none || (ctx.mx && ctx.user.empty())) {
    std::string why = arc.result == mailauth::arc::Result::pass
                          ? fmt::format("{} set(s), the newest sealed by {}", chain.instances, arc.sealer)
                          : arc.reason;
    results.push_back({"arc", std::string(mailauth::arc::result_name(arc.result)), why, {}});
    if (arc.result != mailauth::arc::Result::none)
      v.reasons.push_back(fmt::format("arc={} i={}{}", mailauth::arc::result_name(arc.result), chain.instances,
                                      arc.reason.empty() ? "" : " (" + arc.reason + ")"));
  }
  if (ctx.mx && ctx.user.empty()) {
    // DMARC: the policy of the From domain (or of its organizational domain), applied to the aligned
    // results above.
    mailauth::dmarc::Inputs in;
    in.from_domain = from_domain(header);
    if (auto spf = notes.find("spf"); spf != notes.end()) {
      in.spf_result = spf->second;
      in.spf_domain = notes.at("spf.domain");
    }
    for (const auto& o : outcomes) in.dkim.push_back({std::string(mailauth::dkim::status_name(o.status)), o.domain});
    std::vector<dns::TxtAnswer> answers;
    for (const auto& name : mailauth::dmarc::lookup_names(in.from_domain)) {
      dns::TxtAnswer a = co_await resolver_.txt(name);
      bool settled = a.status == dns::TxtAnswer::temp_failure ||
                     std::any_of(a.records.begin(), a.records.end(), [](const std::string& t) { return istarts_with(t, "v=DMARC1"); });
      answers.push_back(std::move(a));
      if (settled) break;
    }
    auto d = mailauth::dmarc::evaluate(in, answers, pct_sample());
    std::string reason = d.reason;
    if (!d.record_domain.empty())
      reason += fmt::format("; p={}{}", mailauth::dmarc::policy_name(d.policy),
                            d.status == mailauth::dmarc::Status::fail
                                ? fmt::format(" dis={}", mailauth::dmarc::policy_name(d.disposition))
                                : "");
    mailauth::MethodResult r{"dmarc", std::string(mailauth::dmarc::status_name(d.status)), reason, {}};
    if (!in.from_domain.empty()) r.properties.push_back({"header.from", in.from_domain});
    results.push_back(std::move(r));
    ctx.notes->transaction["dmarc"] = mailauth::dmarc::status_name(d.status);
    v.reasons.push_back(fmt::format("dmarc={} header.from={} ({})", mailauth::dmarc::status_name(d.status),
                                    in.from_domain, reason));
    bool enforce = !report_only(ctx);
    using mailauth::dmarc::Policy;
    // Recorded only for a policy that asks for aggregate reports (rua=): no other will ever be sent.
    if (reports_ && !d.record_domain.empty() && !d.record.rua.empty() && d.status != mailauth::dmarc::Status::temperror) {
      mailauth::dmarc::Evaluation e;
      e.time = unix_now();
      e.policy_domain = d.record_domain;
      e.rua = d.record.rua;
      e.p = mailauth::dmarc::policy_name(d.record.p);
      e.sp = d.record.sp ? std::string(mailauth::dmarc::policy_name(*d.record.sp)) : std::string();
      e.pct = d.record.pct;
      e.strict_dkim = d.record.strict_dkim;
      e.strict_spf = d.record.strict_spf;
      e.source_ip = std::string(ctx.client_address);
      e.header_from = in.from_domain;
      e.disposition = d.status == mailauth::dmarc::Status::fail && enforce ? mailauth::dmarc::policy_name(d.disposition) : "none";
      e.dkim_aligned = d.dkim_aligned ? "pass" : "fail";
      e.spf_aligned = d.spf_aligned ? "pass" : "fail";
      for (const auto& o : outcomes) e.dkim.emplace_back(o.domain, mailauth::dkim::status_name(o.status));
      e.spf_domain = in.spf_domain;
      e.spf_result = in.spf_result;
      co_await record(e);
    }
    if (d.status == mailauth::dmarc::Status::fail && enforce) {
      if (d.disposition == Policy::reject) {
        Verdict refused = Verdict::refuse(
            {smtp::code::mailbox_unavailable, "5.7.1",
             fmt::format("Message refused: it fails the DMARC policy of {} (p=reject)", d.record_domain)},
            fmt::format("dmarc: reject by the policy of {}", d.record_domain));
        co_return refused;
      }
      if (d.disposition == Policy::quarantine) {
        v.action = Verdict::Action::junk;
        v.junk = "dmarc quarantine by the policy of " + d.record_domain;
      }
    }
    if (d.status == mailauth::dmarc::Status::temperror && enforce && !d.record_domain.empty() &&
        d.policy != Policy::none) {
      // A policy that refuses or quarantines depends on a check that failed for now: ask again later.
      // (When the policy lookup itself fails, no policy is known: the message is accepted with
      // dmarc=temperror, never a pass, as a broken resolver must not stop all mail.)
      Verdict later = Verdict::refuse({smtp::code::local_error, "4.7.0", "Temporary DMARC evaluation failure, try again later"},
                                      "dmarc: temperror (" + d.reason + ")");
      co_return later;
    }
  }
  // A message our own user submits gets no field: it would tell every remote recipient the user's login
  // name (auth=pass smtp.auth=...), and there is nothing to vouch for; forged fields still went above.
  if (ctx.user.empty()) v.headers = mailauth::authentication_results(authserv_id, results);
  co_return v;
}

}  // namespace tern::filter
