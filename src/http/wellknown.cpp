#include "http/wellknown.hpp"

#include <cctype>
#include <ctime>

#include <fmt/chrono.h>
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

namespace {

// The mail servers of [listen] a client may be told about, best first (implicit TLS before STARTTLS,
// RFC 8314 3.3), for both documents.
struct MailServer {
  std::string_view type;      // autoconfig's: imap, pop3, smtp
  std::string_view listener;  // the [listen] key
  bool implicit_tls;
  bool outgoing;
};
constexpr MailServer mail_servers[] = {
    {"imap", "imaps", true, false},       {"imap", "imap", false, false},
    {"pop3", "pop3s", true, false},       {"pop3", "pop3", false, false},
    {"smtp", "submissions", true, true},  {"smtp", "submission", false, true},
};

// Calls f(server, port) for each server of the table that [listen] has.
template <typename F>
void each_server(const config::Config& cfg, F f) {
  for (auto& m : mail_servers) {
    auto it = cfg.listen.find(std::string(m.listener));
    if (it != cfg.listen.end() && !it->second.empty()) f(m, it->second.front().port);
  }
}

}  // namespace

std::string autoconfig_xml(const config::Config& cfg, std::string_view domain) {
  const std::string host = xml_escape(cfg.hostname);
  std::string servers;
  each_server(cfg, [&](const MailServer& m, std::uint16_t port) {
    servers += fmt::format(
        "    <{0} type=\"{1}\">\n"
        "      <hostname>{2}</hostname>\n"
        "      <port>{3}</port>\n"
        "      <socketType>{4}</socketType>\n"
        "      <authentication>password-cleartext</authentication>\n"
        "      <username>%EMAILADDRESS%</username>\n"
        "    </{0}>\n",
        m.outgoing ? "outgoingServer" : "incomingServer", m.type, host, port, m.implicit_tls ? "SSL" : "STARTTLS");
  });
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<clientConfig version=\"1.1\">\n"
      "  <emailProvider id=\"{0}\">\n"
      "    <domain>{0}</domain>\n"
      "    <displayName>{0}</displayName>\n"
      "    <displayShortName>{0}</displayShortName>\n"
      "{1}"
      "  </emailProvider>\n"
      "</clientConfig>\n",
      xml_escape(domain), servers);
}

std::optional<std::string> autodiscover_address(std::string_view request) {
  if (request.size() > autodiscover_max_request) return std::nullopt;
  // <EMailAddress>, with or without a namespace prefix (<a:EMailAddress>).
  for (std::size_t at = request.find("EMailAddress>"); at != std::string_view::npos;
       at = request.find("EMailAddress>", at + 1)) {
    auto open = request.rfind('<', at);
    if (open == std::string_view::npos) continue;
    auto prefix = request.substr(open + 1, at - open - 1);  // "" or "a:"
    if (!prefix.empty() && (!prefix.ends_with(':') || prefix.find_first_of("/ >") != std::string_view::npos))
      continue;  // a closing tag, or another element whose name ends so
    auto start = at + std::string_view("EMailAddress>").size();
    auto end = request.find('<', start);
    if (end == std::string_view::npos) return std::nullopt;
    auto address = trim(request.substr(start, end - start));
    auto sign = address.find('@');
    if (address.empty() || address.size() > 254 || sign == std::string_view::npos || sign == 0 ||
        sign + 1 == address.size() || address.find('@', sign + 1) != std::string_view::npos ||
        address.find_first_of(" \t\r\n&<>\"'") != std::string_view::npos)
      return std::nullopt;
    return std::string(address);
  }
  return std::nullopt;
}

std::string autodiscover_xml(const config::Config& cfg, std::string_view address) {
  const std::string host = xml_escape(cfg.hostname), login = xml_escape(address);
  std::string protocols;
  each_server(cfg, [&](const MailServer& m, std::uint16_t port) {
    protocols += fmt::format(
        "      <Protocol>\n"
        "        <Type>{}</Type>\n"
        "        <Server>{}</Server>\n"
        "        <Port>{}</Port>\n"
        "        <LoginName>{}</LoginName>\n"
        "        <DomainRequired>off</DomainRequired>\n"
        "        <SPA>off</SPA>\n"
        "        <Encryption>{}</Encryption>\n"
        "        <AuthRequired>on</AuthRequired>\n"
        "      </Protocol>\n",
        to_upper_ascii(m.type), host, port, login, m.implicit_tls ? "SSL" : "TLS");
  });
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
      "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
      "    <User>\n"
      "      <DisplayName>{0}</DisplayName>\n"
      "    </User>\n"
      "    <Account>\n"
      "      <AccountType>email</AccountType>\n"
      "      <Action>settings</Action>\n"
      "{1}"
      "    </Account>\n"
      "  </Response>\n"
      "</Autodiscover>\n",
      login, protocols);
}

std::string autodiscover_error(AutodiscoverError code, std::string_view message) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
      "  <Response>\n"
      "    <Error Time=\"{}\" Id=\"0\">\n"
      "      <ErrorCode>{}</ErrorCode>\n"
      "      <Message>{}</Message>\n"
      "      <DebugData />\n"
      "    </Error>\n"
      "  </Response>\n"
      "</Autodiscover>\n",
      fmt::format("{:%H:%M:%S}", fmt::gmtime(std::time(nullptr))), static_cast<int>(code), xml_escape(message));
}

}  // namespace tern::http
