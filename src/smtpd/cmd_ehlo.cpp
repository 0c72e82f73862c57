// EHLO / HELO (RFC 5321 4.1.1.1):  ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
#include <fmt/format.h>

#include "base/strings.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd {

net::awaitable<void> Session::cmd_ehlo(const smtp::proto::Command& cmd, bool extended) {
  auto name = std::string(trim(cmd.arg));
  if (name.empty() || name.find(' ') != std::string::npos || name.size() > 255) {
    protocol_error();
    reply(code::param_syntax, "5.5.4", fmt::format("Syntax: {} hostname", extended ? "EHLO" : "HELO"));
    co_return;
  }
  {
    auto ctx = filter_context();  // HELO checks (filter/)
    ctx.helo = name;
    ctx.mail = nullptr;
    ctx.recipients = nullptr;
    if (!co_await filter_allows(filter::Step::helo, ctx)) co_return;
  }
  helo_ = name;
  esmtp_ = extended;
  tx_.reset();  // RFC 5321 4.1.4: EHLO resets the transaction
  if (!extended) {
    reply(code::ok, "", cfg_.hostname);
    co_return;
  }
  std::string lines = fmt::format("{} Hello {} [{}]", cfg_.hostname, name, stream_.peer_address());
  lines += "\nPIPELINING";
  lines += fmt::format("\nSIZE {}", cfg_.limits.max_message_size);
  lines += "\n8BITMIME\nSMTPUTF8\nCHUNKING\nENHANCEDSTATUSCODES\nDSN";
  if (tls_offered()) lines += "\nSTARTTLS";
  if (auth_offered()) lines += "\nAUTH" + auth::mechanism_list(" ");
  lines += "\nHELP";
  reply(code::ok, "", lines);
}

}  // namespace tern::smtpd
