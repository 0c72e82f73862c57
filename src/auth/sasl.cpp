#include "auth/sasl.hpp"

#include <cctype>

#include "base/strings.hpp"

namespace tern::auth {

std::optional<Credentials> decode_plain(std::string_view b64) {
  auto raw = base64_decode(b64);
  if (!raw) return std::nullopt;
  auto first = raw->find('\0');
  if (first == std::string::npos) return std::nullopt;
  auto second = raw->find('\0', first + 1);
  if (second == std::string::npos || raw->find('\0', second + 1) != std::string::npos) return std::nullopt;
  Credentials c{raw->substr(0, first), raw->substr(first + 1, second - first - 1), raw->substr(second + 1)};
  if (c.authcid.empty() || c.password.empty()) return std::nullopt;  // RFC 4616 2: both are 1*SAFE
  return c;
}

std::string mechanism_list(std::string_view prefix, std::string_view suffix) {
  std::string out;
  for (auto m : mechanisms) {
    out += prefix;
    out += m;
    out += suffix;
  }
  return out;
}

std::optional<SaslServer> SaslServer::start(std::string_view mechanism) {
  if (iequals(mechanism, "PLAIN")) return SaslServer(Mechanism::plain);
  if (iequals(mechanism, "LOGIN")) return SaslServer(Mechanism::login);
  return std::nullopt;
}

SaslServer::Step SaslServer::begin(const std::optional<std::string>& initial_response) {
  if (!initial_response) {
    // PLAIN's first challenge is empty; LOGIN asks for the user name.
    if (mechanism_ == Mechanism::plain) return Step{Step::more, "", {}, {}};
    return Step{Step::more, base64_encode("Username:"), {}, {}};
  }
  return take(*initial_response == "=" ? std::string_view() : std::string_view(*initial_response));
}

SaslServer::Step SaslServer::next(std::string_view line) {
  if (line == "*") return Step{Step::fail, {}, {}, Failure::cancelled};
  return take(line);
}

SaslServer::Step SaslServer::take(std::string_view line) {
  auto malformed = Step{Step::fail, {}, {}, Failure::malformed};
  if (mechanism_ == Mechanism::plain) {
    auto creds = decode_plain(line);
    if (!creds) return malformed;
    return Step{Step::done, {}, std::move(*creds), {}};
  }
  if (stage_ == 0) {
    username_ = std::string(line);
    stage_ = 1;
    return Step{Step::more, base64_encode("Password:"), {}, {}};
  }
  auto user = base64_decode(username_);
  auto password = base64_decode(line);
  if (!user || !password) return malformed;
  return Step{Step::done, {}, Credentials{"", std::move(*user), std::move(*password)}, {}};
}

}  // namespace tern::auth
