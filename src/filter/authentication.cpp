#include "filter/authentication.hpp"

#include <chrono>

#include <fmt/format.h>

#include "base/strings.hpp"
#include "mailauth/authres.hpp"
#include "mailauth/dkim.hpp"
#include "mailauth/spf.hpp"
#include "mime/tree.hpp"

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

}  // namespace

net::awaitable<Verdict> AuthenticationStage::mail(const Context& ctx) {
  Verdict v;
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

  // DKIM: the keys from DNS, one signature at a time (at most dkim::max_signatures).
  auto candidates = mailauth::dkim::find_signatures(ctx.message);
  std::vector<mailauth::dkim::KeyAnswer> keys(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].key_name.empty()) continue;
    dns::TxtAnswer txt = co_await resolver_.txt(candidates[i].key_name);
    auto& k = keys[i];
    k.records = std::move(txt.records);
    k.error = std::move(txt.error);
    k.status = txt.status == dns::TxtAnswer::ok             ? mailauth::dkim::KeyAnswer::Status::ok
               : txt.status == dns::TxtAnswer::temp_failure ? mailauth::dkim::KeyAnswer::Status::temp_failure
                                                            : mailauth::dkim::KeyAnswer::Status::none;
  }
  std::vector<mailauth::dkim::Outcome> outcomes;
  if (!candidates.empty()) {
    // Hashing a large body takes a while: on the worker pool, never on the event loop.
    const std::string_view message = ctx.message;
    const auto* cands = &candidates;
    const auto* answers = &keys;
    std::int64_t now = unix_now();
    auto job = [message, cands, answers, now] {
      std::vector<mailauth::dkim::Outcome> out;
      for (std::size_t i = 0; i < cands->size(); ++i) out.push_back(mailauth::dkim::check(message, (*cands)[i], (*answers)[i], now));
      return out;
    };
    outcomes = *co_await net::offload(pool_, std::move(job));
  }

  std::vector<mailauth::MethodResult> results;
  if (!ctx.user.empty()) results.push_back({"auth", "pass", "", {{"smtp.auth", std::string(ctx.user)}}});
  const auto& notes = ctx.notes->transaction;
  if (auto spf = notes.find("spf"); spf != notes.end()) {
    mailauth::MethodResult r{"spf", spf->second, notes.at("spf.reason"), {}};
    r.properties.push_back({notes.at("spf.property"), notes.at("spf.value")});
    results.push_back(std::move(r));
  }
  if (outcomes.empty()) results.push_back({"dkim", "none", "", {}});
  for (const auto& o : outcomes) {
    results.push_back(dkim_result(o));
    v.reasons.push_back(fmt::format("dkim={} d={} s={}{}", mailauth::dkim::status_name(o.status), o.domain, o.selector,
                                    o.reason.empty() ? "" : " (" + o.reason + ")"));
  }
  v.headers = mailauth::authentication_results(authserv_id, results);
  co_return v;
}

}  // namespace tern::filter
