// smtp/client/commands.cpp: MAIL and RCPT lines with their extension parameters: SIZE (RFC 1870),
// BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461 4), each only when offered.
#include "base/strings.hpp"
#include "smtp/client/protocol.hpp"
#include "smtp/proto/proto.hpp"

namespace tern::smtp::client {

std::string mail_command(const Envelope& env, const SessionInfo& info, std::uint64_t size, bool body_8bitmime) {
  std::string cmd = "MAIL FROM:<" + env.from + ">";
  if (info.size_limit) cmd += " SIZE=" + std::to_string(size);
  if (body_8bitmime) cmd += " BODY=8BITMIME";
  if (env.smtputf8 && info.smtputf8) cmd += " SMTPUTF8";
  if (info.dsn) {
    std::string ret = to_upper_ascii(env.ret);
    if (ret == "FULL" || ret == "HDRS") cmd += " RET=" + ret;
    if (!env.envid.empty()) cmd += " ENVID=" + proto::xtext_encode(env.envid);
  }
  cmd += "\r\n";
  return cmd;
}

std::string rcpt_command(const Recipient& r, const SessionInfo& info) {
  std::string cmd = "RCPT TO:<" + r.address + ">";
  if (info.dsn) {
    std::string notify;
    for (char c : to_upper_ascii(r.notify))
      if ((c >= 'A' && c <= 'Z') || c == ',') notify += c;
    if (!notify.empty()) cmd += " NOTIFY=" + notify;
    if (!r.orcpt.empty()) {
      // RFC 3461 4.2: ORCPT=addr-type ";" xtext(address); the queue keeps it decoded.
      std::string_view o = r.orcpt;
      std::size_t semi = o.find(';');
      std::string type = semi == std::string_view::npos ? "rfc822" : std::string(trim(o.substr(0, semi)));
      std::string_view addr = semi == std::string_view::npos ? o : o.substr(semi + 1);
      bool type_ok = !type.empty();
      for (char c : type) type_ok = type_ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
      if (type_ok) cmd += " ORCPT=" + type + ";" + proto::xtext_encode(addr);
    }
  }
  cmd += "\r\n";
  return cmd;
}

}  // namespace tern::smtp::client
