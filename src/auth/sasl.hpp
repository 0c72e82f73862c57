// auth/sasl: the server side of SASL (RFC 4422) with the mechanisms PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH (and later HTTP and
// ManageSieve). Pure: base64 lines in, challenges or credentials out; each protocol only frames the lines
// ("334 ", "+ ") and turns a failure into its reply. What the credentials are worth is the
// Authenticator's business (auth/authenticator).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "base/codec.hpp"

namespace tern::auth {

struct Credentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// PLAIN: base64("authzid\0authcid\0password"). nullopt when malformed.
std::optional<Credentials> decode_plain(std::string_view b64);

// The mechanisms offered, in the order they are advertised.
inline constexpr std::string_view mechanisms[] = {"PLAIN", "LOGIN"};
// Each mechanism after `prefix`, in order: " AUTH=" gives IMAP's " AUTH=PLAIN AUTH=LOGIN", " " EHLO's
// and CAPA's " PLAIN LOGIN", "\r\n"-terminated lists with prefix "" and suffix "\r\n".
std::string mechanism_list(std::string_view prefix, std::string_view suffix = "");

// One exchange. Start it with the mechanism the client named, then feed it the client's lines until it
// says done or fail:
//
//   auto sasl = SaslServer::start(mech);            // nullopt: not a mechanism Tern offers
//   auto step = sasl->begin(initial_response);      // SASL-IR; nullopt when the client sent none
//   while (step.kind == SaslServer::Step::more) step = sasl->next(read_line_after(step.challenge));
//
// A line "*" cancels (RFC 4422 3.4, RFC 4954 4, RFC 9051 6.2.2, RFC 5034 4). An initial response "="
// stands for an empty one (RFC 4954 4, RFC 4959 3); pass it as received.
class SaslServer {
 public:
  enum class Mechanism { plain, login };
  enum class Failure { cancelled, malformed };
  struct Step {
    enum Kind { more, done, fail } kind = fail;  // more: send `challenge`, pass the answer to next()
    std::string challenge;    // base64, to send to the client (more)
    Credentials credentials;  // done
    Failure failure = Failure::malformed;  // fail
  };

  // Case-insensitive; nullopt for a mechanism that is not offered.
  static std::optional<SaslServer> start(std::string_view mechanism);

  Step begin(const std::optional<std::string>& initial_response);
  Step next(std::string_view line);

  std::string_view name() const { return mechanism_ == Mechanism::plain ? "PLAIN" : "LOGIN"; }

 private:
  explicit SaslServer(Mechanism m) : mechanism_(m) {}
  Step take(std::string_view line);  // one client line at the current stage

  Mechanism mechanism_;
  int stage_ = 0;         // LOGIN: 0 wants the user name, 1 the password
  std::string username_;  // LOGIN, after stage 0 (base64 still: decoded when both are in)
};

}  // namespace tern::auth
