#include "mailauth/arc.hpp"

#include <charconv>

#include "base/codec.hpp"
#include "base/strings.hpp"
#include "mailauth/authres.hpp"
#include "mime/tree.hpp"

namespace tern::mailauth::arc {

namespace {

// The instance of an ARC field: "i=N;" first in ARC-Authentication-Results, a tag elsewhere.
int instance_of(std::string_view value) {
  auto t = trim(value);
  if (!istarts_with(t, "i")) {
    // ARC-Seal and ARC-Message-Signature may put i= anywhere.
    auto tags = dkim::parse_tag_list(value);
    if (!tags) return 0;
    for (const auto& tag : *tags)
      if (tag.name == "i") return instance_of("i=" + tag.value);
    return 0;
  }
  t.remove_prefix(1);
  t = trim(t);
  if (!t.starts_with("=")) return 0;
  t.remove_prefix(1);
  t = trim(t);
  int n = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || p == t.data()) return 0;
  std::string_view rest = trim(std::string_view(p, static_cast<std::size_t>(t.data() + t.size() - p)));
  if (!rest.empty() && rest.front() != ';') return 0;
  return n;
}

std::string key_name(std::string_view selector, std::string_view domain) {
  return std::string(selector) + "._domainkey." + std::string(domain);
}

const dkim::KeyAnswer& answer_for(const std::map<std::string, dkim::KeyAnswer>& keys, const std::string& name) {
  static const dkim::KeyAnswer none;
  auto it = keys.find(name);
  return it == keys.end() ? none : it->second;
}

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
  }
  return "none";
}

tern::Result<Seal> parse_seal(std::string_view value) {
  auto tags = dkim::parse_tag_list(value);
  if (!tags) return tags.error();
  Seal s;
  auto get = [&](std::string_view name) -> const std::string* {
    for (const auto& t : *tags)
      if (t.name == name) return &t.value;
    return nullptr;
  };
  for (const char* required : {"i", "a", "b", "cv", "d", "s"})
    if (!get(required)) return Error{std::string("ARC-Seal without ") + required + "="};
  if (get("h")) return Error{"ARC-Seal with h= (RFC 8617 4.1.3)"};
  s.instance = instance_of("i=" + *get("i"));
  if (s.instance < 1 || s.instance > max_instances) return Error{"bad i= in ARC-Seal"};
  std::string a = to_lower(*get("a"));
  if (a == "rsa-sha256") s.algorithm = dkim::Algorithm::rsa_sha256;
  else if (a == "ed25519-sha256") s.algorithm = dkim::Algorithm::ed25519_sha256;
  else return Error{"unknown algorithm " + a};
  s.cv = to_lower(trim(*get("cv")));
  if (s.cv != "none" && s.cv != "pass" && s.cv != "fail") return Error{"bad cv= " + s.cv};
  s.domain = to_lower(trim(*get("d")));
  s.selector = to_lower(trim(*get("s")));
  std::string b;
  for (char c : *get("b"))
    if (!std::isspace(static_cast<unsigned char>(c))) b += c;
  auto raw = base64_decode(b);
  if (!raw || raw->empty()) return Error{"bad b= in ARC-Seal"};
  s.data = std::move(*raw);
  return s;
}

Prepared prepare(std::string_view message) {
  Prepared p;
  auto [header, body] = dkim::split_message(message);
  (void)body;
  std::map<int, std::vector<std::string>> aar, ams, as;
  int highest = 0;
  bool any = false, bad = false;
  for (const auto& f : mime::parse_fields(header)) {
    std::map<int, std::vector<std::string>>* into = nullptr;
    if (iequals(f.name, "ARC-Authentication-Results")) into = &aar;
    else if (iequals(f.name, "ARC-Message-Signature")) into = &ams;
    else if (iequals(f.name, "ARC-Seal")) into = &as;
    if (!into) continue;
    any = true;
    int i = instance_of(f.value);
    if (i < 1 || i > max_instances) {
      bad = true;
      continue;
    }
    highest = std::max(highest, i);
    std::string raw(f.raw);
    if (!raw.ends_with("\r\n")) raw += "\r\n";
    (*into)[i].push_back(std::move(raw));
  }
  if (!any) return p;
  auto fail = [&](std::string why) {
    p.result = Result::fail;
    p.reason = std::move(why);
    return p;
  };
  if (bad) return fail("an ARC field with a bad instance");
  p.instances = highest;
  for (int i = 1; i <= highest; ++i) {
    if (aar[i].size() != 1 || ams[i].size() != 1 || as[i].size() != 1)
      return fail("instance " + std::to_string(i) + " is not one ARC set");
    p.aar.push_back(aar[i][0]);
    p.ams.push_back(ams[i][0]);
    p.seals.push_back(as[i][0]);
    auto colon = as[i][0].find(':');
    auto seal = parse_seal(std::string_view(as[i][0]).substr(colon + 1));
    if (!seal) return fail("ARC-Seal " + std::to_string(i) + ": " + seal.error().message);
    p.parsed_seals.push_back(std::move(*seal));
  }
  // 5.2 step 2 and 3: the newest seal must not say fail; cv=none only at 1, pass after it.
  if (p.parsed_seals.back().cv == "fail") return fail("the newest ARC-Seal says cv=fail");
  for (int i = 1; i <= highest; ++i) {
    const auto& cv = p.parsed_seals[i - 1].cv;
    if ((i == 1 && cv != "none") || (i > 1 && cv != "pass"))
      return fail("ARC-Seal " + std::to_string(i) + " has cv=" + cv);
  }
  auto colon = p.ams.back().find(':');
  auto ams_sig = dkim::parse_signature(std::string_view(p.ams.back()).substr(colon + 1), true);
  if (!ams_sig) return fail("ARC-Message-Signature " + std::to_string(highest) + ": " + ams_sig.error().message);
  p.message_signature = std::move(*ams_sig);
  p.key_names.push_back(key_name(p.message_signature.selector, p.message_signature.domain));
  for (const auto& s : p.parsed_seals) p.key_names.push_back(key_name(s.selector, s.domain));
  p.result = Result::pass;
  return p;
}

Chain validate(std::string_view message, const Prepared& p, const std::map<std::string, dkim::KeyAnswer>& keys) {
  Chain c;
  c.instances = p.instances;
  c.result = p.result;
  c.reason = p.reason;
  if (p.result != Result::pass) return c;
  c.sealer = p.parsed_seals.back().domain;
  auto fail = [&](std::string why) {
    c.result = Result::fail;
    c.reason = std::move(why);
    return c;
  };
  // 5.2 step 5: the newest ARC-Message-Signature, as DKIM checks a signature.
  auto [header, body] = dkim::split_message(message);
  const auto& ams = p.message_signature;
  bool too_short = false;
  if (dkim::body_hash(body, ams.body_canon, ams.length, too_short) != ams.body_hash || too_short)
    return fail("ARC-Message-Signature " + std::to_string(p.instances) + ": body hash mismatch");
  std::string data = dkim::header_data(header, ams, p.ams.back());
  std::string ams_key = key_name(ams.selector, ams.domain);
  auto v = dkim::verify_signed_data(ams.algorithm, data, ams.data, answer_for(keys, ams_key), ams_key, false);
  if (v.status != dkim::Status::pass)
    return fail("ARC-Message-Signature " + std::to_string(p.instances) + ": " + v.reason);
  // 5.2 step 6: every ARC-Seal, newest first. Seal i signs the sets 1..i (AAR, AMS, AS of each, in
  // that order), relaxed, its own b= emptied (RFC 8617 5.1.1).
  for (int i = p.instances; i >= 1; --i) {
    std::string signed_data;
    for (int j = 1; j <= i; ++j) {
      signed_data += dkim::canon_header(p.aar[j - 1], dkim::Canon::relaxed);
      signed_data += dkim::canon_header(p.ams[j - 1], dkim::Canon::relaxed);
      if (j < i) {
        signed_data += dkim::canon_header(p.seals[j - 1], dkim::Canon::relaxed);
      } else {
        std::string own = dkim::canon_header(dkim::without_b(p.seals[j - 1]) + "\r\n", dkim::Canon::relaxed);
        own.resize(own.size() - 2);
        signed_data += own;
      }
    }
    const auto& seal = p.parsed_seals[i - 1];
    std::string seal_key = key_name(seal.selector, seal.domain);
    auto s = dkim::verify_signed_data(seal.algorithm, signed_data, seal.data, answer_for(keys, seal_key), seal_key, false);
    if (s.status != dkim::Status::pass) return fail("ARC-Seal " + std::to_string(i) + ": " + s.reason);
  }
  c.result = Result::pass;
  return c;
}

namespace {

std::string fold_b64(std::string_view b64) {
  std::string out;
  for (std::size_t i = 0; i < b64.size(); i += 72) {
    out += "\r\n\t ";
    out += b64.substr(i, 72);
  }
  return out;
}

// The value of our own Authentication-Results field (unfolded), or "" when there is none.
std::string our_results(std::string_view header, std::string_view authserv_id) {
  for (const auto& f : mime::parse_fields(header))
    if (iequals(f.name, "Authentication-Results") && authserv_id_of(f.value) == to_lower(authserv_id))
      return mime::unfold(f.value);
  return "";
}

}  // namespace

std::string seal(std::string_view message, const dkim::Signer& signer, std::string_view authserv_id, std::int64_t now) {
  if (!signer.key) return "";
  Prepared p = prepare(message);
  int n = p.result == Result::none ? 0 : std::max(p.instances, 1);
  if (n >= max_instances) return "";
  auto [header, body] = dkim::split_message(message);
  // cv=: none without a chain; else what the chain was worth when it reached us (our arc= result).
  std::string results = our_results(header, authserv_id);
  std::string cv = "none";
  if (n > 0) cv = p.result == Result::pass && results.find("arc=pass") != std::string::npos ? "pass" : "fail";
  const std::string i = std::to_string(n + 1);
  const std::string alg(dkim::algorithm_name(signer.key->algorithm()));

  std::string aar = "ARC-Authentication-Results: i=" + i + "; " +
                    (results.empty() ? std::string(authserv_id) + "; none" : results) + "\r\n";

  bool unused = false;
  std::string bh = base64_encode(dkim::body_hash(body, dkim::Canon::relaxed, std::nullopt, unused));
  auto names = dkim::headers_to_sign(message);
  std::string h;
  for (const auto& name : names) h += (h.empty() ? "" : ":") + name;
  std::string ams = "ARC-Message-Signature: i=" + i + "; a=" + alg + "; c=relaxed/relaxed; d=" + signer.domain +
                    "; s=" + signer.selector + ";\r\n\tt=" + std::to_string(now) + "; h=" + h + ";\r\n\tbh=" + bh +
                    ";\r\n\tb=";
  dkim::Signature sig;
  sig.header_canon = dkim::Canon::relaxed;
  sig.headers = names;
  std::string ams_b = dkim::sign_data(*signer.key, dkim::header_data(header, sig, ams + "\r\n"));
  if (ams_b.empty()) return "";
  ams += fold_b64(base64_encode(ams_b)) + "\r\n";

  std::string as = "ARC-Seal: i=" + i + "; a=" + alg + "; t=" + std::to_string(now) + "; cv=" + cv +
                   ";\r\n\td=" + signer.domain + "; s=" + signer.selector + ";\r\n\tb=";
  // The seal signs every set, oldest first (AAR, AMS, AS), its own b= empty (RFC 8617 5.1.1); after a
  // failed chain, only its own set (the older ones may not even be whole).
  std::string data;
  for (int j = 1; cv != "fail" && j <= n; ++j) {
    data += dkim::canon_header(p.aar[j - 1], dkim::Canon::relaxed);
    data += dkim::canon_header(p.ams[j - 1], dkim::Canon::relaxed);
    data += dkim::canon_header(p.seals[j - 1], dkim::Canon::relaxed);
  }
  data += dkim::canon_header(aar, dkim::Canon::relaxed);
  data += dkim::canon_header(ams, dkim::Canon::relaxed);
  std::string own = dkim::canon_header(as + "\r\n", dkim::Canon::relaxed);
  own.resize(own.size() - 2);
  data += own;
  std::string as_b = dkim::sign_data(*signer.key, data);
  if (as_b.empty()) return "";
  as += fold_b64(base64_encode(as_b)) + "\r\n";
  return as + ams + aar;
}

}  // namespace tern::mailauth::arc
