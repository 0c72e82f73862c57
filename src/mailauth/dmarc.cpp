#include "mailauth/dmarc.hpp"

#include <libpsl.h>

#include <charconv>

#include "base/strings.hpp"
#include "mailauth/dkim.hpp"

namespace tern::mailauth::dmarc {

namespace {

std::optional<Policy> policy_of(std::string_view v) {
  std::string s = to_lower(trim(v));
  if (s == "none") return Policy::none;
  if (s == "quarantine") return Policy::quarantine;
  if (s == "reject") return Policy::reject;
  return std::nullopt;
}

std::vector<std::string> uris(std::string_view v) {
  std::vector<std::string> out;
  for (auto u : split(v, ',')) {
    auto t = trim(u);
    if (istarts_with(t, "mailto:")) out.emplace_back(t);
  }
  return out;
}

const psl_ctx_t* psl() {
  // The newest of libpsl's built-in list and Debian's /usr/share/publicsuffix (psl_latest reads it).
  static const psl_ctx_t* ctx = [] {
    const psl_ctx_t* c = psl_latest(nullptr);
    return c ? c : psl_builtin();
  }();
  return ctx;
}

}  // namespace

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::none: return "none";
    case Policy::quarantine: return "quarantine";
    case Policy::reject: return "reject";
  }
  return "none";
}

std::string_view status_name(Status s) {
  switch (s) {
    case Status::none: return "none";
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::temperror: return "temperror";
    case Status::permerror: return "permerror";
  }
  return "none";
}

Result<Record> parse_record(std::string_view text) {
  auto tags = dkim::parse_tag_list(text);
  if (!tags) return tags.error();
  if (tags->empty() || (*tags)[0].name != "v" || (*tags)[0].value != "DMARC1") return Error{"not a DMARC1 record"};
  Record r;
  bool have_p = false, bad_p = false;
  for (const auto& t : *tags) {
    if (t.name == "p") {
      auto p = policy_of(t.value);
      if (p) {
        r.p = *p;
        have_p = true;
      } else {
        bad_p = true;
      }
    } else if (t.name == "sp") {
      r.sp = policy_of(t.value);  // a bad sp= falls back to p= (6.3)
    } else if (t.name == "adkim") {
      r.strict_dkim = iequals(trim(t.value), "s");
    } else if (t.name == "aspf") {
      r.strict_spf = iequals(trim(t.value), "s");
    } else if (t.name == "pct") {
      int v = 100;
      auto s = trim(t.value);
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && ptr == s.data() + s.size() && v >= 0 && v <= 100) r.pct = v;
    } else if (t.name == "rua") {
      r.rua = uris(t.value);
    } else if (t.name == "ruf") {
      r.ruf = uris(t.value);
    }
  }
  // 6.6.3: no valid p=, but a valid rua=: as p=none; else the record is not usable.
  if (!have_p) {
    if (r.rua.empty()) return Error{bad_p ? "bad p= value" : "no p= tag"};
    r.p = Policy::none;
  }
  return r;
}

std::string organizational_domain(std::string_view domain) {
  std::string d = to_lower(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  const char* reg = psl_registrable_domain(psl(), d.c_str());
  return reg ? std::string(reg) : d;
}

bool aligned(std::string_view a, std::string_view b, bool strict) {
  if (a.empty() || b.empty()) return false;
  if (iequals(a, b)) return true;
  return !strict && organizational_domain(a) == organizational_domain(b);
}

std::vector<std::string> lookup_names(std::string_view from_domain) {
  std::vector<std::string> out;
  std::string d = to_lower(from_domain);
  if (d.empty()) return out;
  out.push_back("_dmarc." + d);
  std::string org = organizational_domain(d);
  if (org != d) out.push_back("_dmarc." + org);
  return out;
}

Decision evaluate(const Inputs& in, const std::vector<dns::TxtAnswer>& answers, int sample) {
  Decision d;
  if (in.from_domain.empty()) {
    d.reason = "no single From domain";
    return d;
  }
  auto names = lookup_names(in.from_domain);
  std::optional<Record> rec;
  for (std::size_t i = 0; i < answers.size() && i < names.size() && !rec; ++i) {
    const auto& a = answers[i];
    if (a.status == dns::TxtAnswer::temp_failure) {
      d.status = Status::temperror;
      d.reason = "policy lookup at " + names[i] + ": " + a.error;
      return d;
    }
    std::vector<Record> found;
    for (const auto& txt : a.records) {
      if (!istarts_with(txt, "v=DMARC1")) continue;
      auto r = parse_record(txt);
      if (r) found.push_back(*r);
    }
    if (found.size() == 1) {
      rec = found.front();
      d.record_domain = names[i].substr(7);
    } else if (found.size() > 1) {
      d.reason = names[i] + " has more than one DMARC record";
      return d;  // 6.6.3: none
    }
  }
  if (!rec) {
    d.reason = "no DMARC record";
    return d;
  }
  d.record = *rec;
  bool subdomain = d.record_domain != to_lower(in.from_domain);
  d.policy = subdomain && rec->sp ? *rec->sp : rec->p;

  d.spf_aligned = in.spf_result == "pass" && aligned(in.spf_domain, in.from_domain, rec->strict_spf);
  for (const auto& k : in.dkim) {
    if (aligned(k.domain, in.from_domain, rec->strict_dkim)) {
      if (k.result == "pass") d.dkim_aligned = true;
      if (k.result == "temperror") d.dkim_temperror = true;
    }
  }
  bool spf_temp = in.spf_result == "temperror" && aligned(in.spf_domain, in.from_domain, rec->strict_spf);
  if (d.spf_aligned || d.dkim_aligned) {
    d.status = Status::pass;
    d.reason = d.dkim_aligned ? "aligned DKIM pass" : "aligned SPF pass";
    return d;
  }
  if (d.dkim_temperror || spf_temp) {
    // A temporary failure where a pass might have been: never a fail on that (ask again later).
    d.status = Status::temperror;
    d.reason = "an aligned check failed temporarily";
    return d;
  }
  d.status = Status::fail;
  d.reason = "no aligned SPF or DKIM pass";
  // 6.6.4: outside pct, reject becomes quarantine and quarantine becomes none.
  d.disposition = d.policy;
  if (sample >= rec->pct) d.disposition = d.policy == Policy::reject ? Policy::quarantine : Policy::none;
  return d;
}

}  // namespace tern::mailauth::dmarc
