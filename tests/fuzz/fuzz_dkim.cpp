// libFuzzer target for mailauth/dkim: every message received over SMTP is read by find_signatures()
// and check(), and each DKIM-Signature field and key record (from anybody's DNS) by the tag-list parser.
//
// The input is a message. Invariants: both canonicalisations are idempotent (canonicalising their own
// output changes nothing) and relaxed output has no trailing white space on a line; a parsed signature
// has a domain, a selector, From among its signed fields and a 32-octet body hash; check() of every
// signature against a key record that is the input's first line never passes (no one can forge an
// Ed25519 signature for a key they do not hold) and never throws; the same for an ARC chain, whose
// instance count stays within 50. Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "mailauth/arc.hpp"
#include "mailauth/dkim.hpp"
#include "invariant.hpp"

namespace {

using namespace tern::mailauth::dkim;

using tern::fuzz::check_that;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto c : {Canon::simple, Canon::relaxed}) {
    std::string once = canon_body(in, c);
    check_that(canon_body(once, c) == once, "canon_body is idempotent");
  }
  std::string relaxed = canon_body(in, Canon::relaxed);
  check_that(relaxed.find(" \r\n") == std::string::npos && relaxed.find("\t") == std::string::npos,
             "relaxed body: no trailing or tab white space");
  std::string field = std::string(in.substr(0, in.find("\r\n"))) + "\r\n";
  std::string h = canon_header(field, Canon::relaxed);
  check_that(canon_header(h, Canon::relaxed) == h, "canon_header(relaxed) is idempotent");

  (void)parse_tag_list(in);
  (void)parse_key_record(in);
  std::string key_line(in.substr(0, in.find('\n')));
  KeyAnswer key{KeyAnswer::Status::ok, {key_line, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, ""};
  for (const auto& c : find_signatures(in)) {
    if (c.signature) {
      const auto& s = *c.signature;
      check_that(!s.domain.empty() && !s.selector.empty(), "a parsed signature names its domain and selector");
      check_that(s.body_hash.size() == 32, "bh= is a SHA-256");
      bool from = false;
      for (const auto& name : s.headers) from = from || tern::iequals(name, "from");
      check_that(from, "From is signed");
    }
    auto o = check(in, c, key, 1764800000);
    check_that(o.status != Status::pass, "no forged signature passes");
  }
  // ARC: the structure is read; a chain checked against that key never passes either.
  auto chain = tern::mailauth::arc::prepare(in);
  check_that(chain.instances <= tern::mailauth::arc::max_instances, "at most 50 ARC sets");
  std::map<std::string, KeyAnswer> keys;
  for (const auto& name : chain.key_names) keys[name] = key;
  check_that(tern::mailauth::arc::validate(in, chain, keys).result != tern::mailauth::arc::Result::pass,
             "no forged ARC chain passes");
  return 0;
}
