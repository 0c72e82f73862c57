// libFuzzer target for the SPF and DMARC record parsers (mailauth/spf, mailauth/dmarc) and the
// Authentication-Results authserv-id reader: all read text from anybody's DNS or message.
//
// Invariants: the SPF syntax check answers the same twice and accepts no record with a character
// outside printable ASCII; a parsed DMARC record has pct in 0..100 and only mailto: report URIs; the
// authserv-id is lower-case and holds no white space, ';' or '('. Any violation aborts.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "mailauth/authres.hpp"
#include "mailauth/dmarc.hpp"
#include "mailauth/spf.hpp"
#include "invariant.hpp"

namespace {

using tern::fuzz::check_that;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string e = tern::mailauth::spf::syntax_error(in);
  check_that(e == tern::mailauth::spf::syntax_error(in), "the SPF syntax check is deterministic");
  if (e.empty())
    for (unsigned char c : in) check_that(c >= 0x20 && c <= 0x7e, "an accepted SPF record is printable ASCII");

  auto r = tern::mailauth::dmarc::parse_record(in);
  if (r) {
    check_that(r->pct >= 0 && r->pct <= 100, "pct in 0..100");
    for (const auto& u : r->rua) check_that(tern::istarts_with(u, "mailto:"), "rua URIs are mailto:");
  }
  std::string id = tern::mailauth::authserv_id_of(in);
  for (char c : id)
    check_that(!std::isspace(static_cast<unsigned char>(c)) && c != ';' && c != '(' &&
                   !std::isupper(static_cast<unsigned char>(c)),
               "an authserv-id is one lower-case token");
  return 0;
}
