#include "http/wellknown.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::http {
std::string mta_sts_policy(const config::Config& cfg) {
  if (!cfg.mta_sts.enabled) return {};
  std::string out = fmt::format("version: STSv1\r\nmode: {}\r\n", cfg.mta_sts.mode);
  for (const auto& mx : cfg.mta_sts.mx.empty() ? std::vector<std::string>{cfg.hostname} : cfg.mta_sts.mx)
    out += fmt::format("mx: {}\r\n", mx);
  out += fmt::format("max_age: {}\r\n", cfg.mta_sts.max_age.count());
  return out;
}

std::string autoconfig_xml(const config::Config& cfg, std::string_view domain) {
  const std::string host = xml_escape(cfg.hostname);
  auto server = [&](const char* tag, const char* type, const char* listener, const char* socket) -> std::string {
    auto it = cfg.listen.find(listener);
    if (it == cfg.listen.end() || it->second.empty()) return {};
    return fmt::format(
        "    <{0} type=\"{1}\">\n"
        "      <hostname>{2}</hostname>\n"
        "      <port>{3}</port>\n"
        "      <socketType>{4}</socketType>\n"
        "      <authentication>password-cleartext</authentication>\n"
        "      <username>%EMAILADDRESS%</username>\n"
        "    </{0}>\n",
        tag, type, host, it->second.front().port, socket);
  };
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<clientConfig version=\"1.1\">\n"
      "  <emailProvider id=\"{0}\">\n"
      "    <domain>{0}</domain>\n"
      "    <displayName>{0}</displayName>\n"
      "    <displayShortName>{0}</displayShortName>\n"
      "{1}{2}{3}{4}{5}{6}"
      "  </emailProvider>\n"
      "</clientConfig>\n",
      xml_escape(domain), server("incomingServer", "imap", "imaps", "SSL"),
      server("incomingServer", "imap", "imap", "STARTTLS"), server("incomingServer", "pop3", "pop3s", "SSL"),
      server("incomingServer", "pop3", "pop3", "STARTTLS"), server("outgoingServer", "smtp", "submissions", "SSL"),
      server("outgoingServer", "smtp", "submission", "STARTTLS"));
}

}  // namespace tern::http
