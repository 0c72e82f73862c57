// Commands of any state and of the not-authenticated state (RFC 9051 6.1, 6.2), and those that change
// the session itself:
//   capability   = "CAPABILITY"
//   starttls     = "STARTTLS"                                   RFC 9051 6.2.1
//   login        = "LOGIN" SP userid SP password                RFC 9051 6.2.3
//   authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]  RFC 9051 6.2.2, RFC 4959 SASL-IR
//   enable       = "ENABLE" 1*(SP capability)                   RFC 5161
//   id           = "ID" SP ( "(" ... ")" / nil )                RFC 2971
//   compress     = "COMPRESS" SP "DEFLATE"                      RFC 4978
// Plaintext credentials only over TLS unless [auth] allow_plaintext (LOGINDISABLED is advertised
// then, RFC 9051 6.2.3). The SASL exchange is auth::SaslServer's and the decision auth::Authenticator's
// (throttle per client address and per account, authorization identity, password), shared with POP3 and
// SMTP AUTH.
#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "imapd/deflate.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"

namespace tern::imapd {

namespace proto = imap::proto;

namespace {

constexpr std::size_t max_sasl_line = 8192;

}  // namespace

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE";
  bool plain_ok = stream_.is_tls() || cfg_.allow_plaintext;
  if (state_ == State::not_authenticated) {
    if (!stream_.is_tls() && svc_.tls && kind_ == ListenerKind::imap) caps += " STARTTLS";
    caps += plain_ok ? auth::mechanism_list(" AUTH=") : " LOGINDISABLED";
    return caps;
  }
  caps += fmt::format(
      " IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE"
      " CONDSTORE QRESYNC ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES"
      " UTF8=ACCEPT STATUS=SIZE QUOTA QUOTA=RES-STORAGE MULTIAPPEND BINARY APPENDLIMIT={}",
      cfg_.limits.max_message_size);
  if (!deflate_) caps += " COMPRESS=DEFLATE";
  return caps;
}

void Session::cmd_capability(const Command& cmd) {
  send("* CAPABILITY " + capabilities() + "\r\n");
  ok(cmd, "CAPABILITY completed");
}

net::awaitable<void> Session::cmd_starttls(const Command& cmd) {
  if (stream_.is_tls() || !svc_.tls || kind_ != ListenerKind::imap) {
    bad(cmd, stream_.is_tls() ? "TLS is already active" : "STARTTLS is not available here");
    co_return;
  }
  // Write the OK ourselves: the handshake follows it directly.
  out_ += fmt::format("{} OK Begin TLS negotiation now\r\n", cmd.tag);
  co_await flush();
  // RFC 9051 6.2.1 (and RFC 3207 4.2's lesson): anything sent before the handshake is discarded.
  in_.clear();
  reader_.reset();
  co_await stream_.handshake_server(*svc_.tls);
  log::info("imap {}: TLS started: {}", id_, stream_.tls_description());
}

net::awaitable<void> Session::cmd_login(const Command& cmd) {
  if (!(stream_.is_tls() || cfg_.allow_plaintext)) {
    no(cmd, "[PRIVACYREQUIRED] LOGIN is disabled until TLS is active (use STARTTLS)");
    co_return;
  }
  if (cmd.args.size() != 2) {
    bad(cmd, "LOGIN needs a user name and a password");
    co_return;
  }
  auto user = proto::astring_arg(cmd.args[0]);
  auto pass = proto::astring_arg(cmd.args[1]);
  if (!user || !pass) {
    bad(cmd, "LOGIN needs a user name and a password");
    co_return;
  }
  auth::Credentials credentials{"", std::string(*user), std::string(*pass)};
  co_await login(cmd, credentials, "LOGIN");
}

net::awaitable<void> Session::cmd_authenticate(const Command& cmd) {
  if (!(stream_.is_tls() || cfg_.allow_plaintext)) {
    no(cmd, "[PRIVACYREQUIRED] Authentication is disabled until TLS is active (use STARTTLS)");
    co_return;
  }
  if (cmd.args.empty() || cmd.args[0].kind != Arg::Kind::atom) {
    bad(cmd, "AUTHENTICATE needs a mechanism");
    co_return;
  }
  auto sasl = auth::SaslServer::start(cmd.args[0].text);
  if (!sasl) {
    no(cmd, "Unsupported authentication mechanism");
    co_return;
  }
  std::optional<std::string> initial;
  if (cmd.args.size() > 1) initial = cmd.args[1].text;  // RFC 4959: "=" stands for an empty one
  auto step = sasl->begin(initial);
  while (step.kind == auth::SaslServer::Step::more) {
    send("+ " + step.challenge + "\r\n");
    co_await flush();
    auto line = co_await read_line(max_sasl_line);
    if (!line) {
      bad(cmd, "Response too long");
      co_return;
    }
    step = sasl->next(*line);
  }
  if (step.kind == auth::SaslServer::Step::fail) {
    bad(cmd, step.failure == auth::SaslServer::Failure::cancelled ? std::string("Authentication cancelled")
                                                                 : fmt::format("Malformed {} response", sasl->name()));
    co_return;
  }
  co_await login(cmd, step.credentials, sasl->name());
}

net::awaitable<void> Session::login(const Command& cmd, const auth::Credentials& credentials, std::string_view mech) {
  co_await flush();
  auth::LoginAttempt attempt{"imap", id_, mech, stream_.peer_address()};
  auto result = co_await svc_.authenticator->login(credentials, attempt);
  switch (result.outcome) {
    case auth::LoginResult::Outcome::ok: break;
    case auth::LoginResult::Outcome::refused:
      no(cmd, "[UNAVAILABLE] Too many failed logins from your address; try again later");
      co_return;
    case auth::LoginResult::Outcome::unavailable:
      no(cmd, "[UNAVAILABLE] Temporary authentication failure; try again later");
      co_return;
    case auth::LoginResult::Outcome::failed:
      protocol_error();
      no(cmd, "[AUTHENTICATIONFAILED] Invalid user name or password");
      co_return;
    case auth::LoginResult::Outcome::not_authorized:
      no(cmd, "[AUTHORIZATIONFAILED] Authorization identity must be empty or your own");
      co_return;
  }
  const std::string& address = result.address;
  const std::string& peer = stream_.peer_address();
  if (!svc_.shared->sessions.acquire(address)) {
    log::warn("imap {}: login {} refused: {} sessions already", id_, address, max_sessions_per_user);
    no(cmd, "[LIMIT] Too many sessions for this user");
    co_return;
  }
  counted_ = true;
  user_ = address;
  // Every mailbox has INBOX, Drafts, Sent, Junk, Trash and Archive (RFC 6154 special use).
  auto* ms = svc_.mailstore;
  auto ensure = [ms, address] { return ms->ensure_default_folders(address); };
  auto made = *co_await net::offload(*svc_.pool, std::move(ensure));
  if (!made) log::error("imap {}: default folders of {}: {}", id_, address, made.error().message);
  // The user's own quota (`tern user quota`), else [limits] mailbox_quota; fixed for the session.
  auto* dir = svc_.directory;
  auto own_quota = [dir, address] {
    auto slot = dir->find_mailslot(address);
    return slot ? slot->quota : std::nullopt;
  };
  auto own = *co_await net::offload(*svc_.pool, std::move(own_quota));
  quota_ = own.value_or(cfg_.limits.mailbox_quota);
  state_ = State::authenticated;
  log::info("imap {}: login {} ({}{}) from {}", id_, user_, mech, stream_.is_tls() ? ", TLS" : "", peer);
  ok(cmd, fmt::format("[CAPABILITY {}] Logged in", capabilities()));
}

void Session::cmd_enable(const Command& cmd) {
  if (cmd.args.empty()) {
    bad(cmd, "ENABLE needs at least one capability");
    return;
  }
  std::string enabled;
  for (auto& a : cmd.args) {
    if (a.kind != Arg::Kind::atom) continue;
    auto cap = to_upper_ascii(a.text);
    bool now = false;
    if (cap == "CONDSTORE") {
      now = !condstore_;
      enable_condstore();
    } else if (cap == "QRESYNC") {
      // RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
      now = !qresync_;
      qresync_ = condstore_ = true;
    } else if (cap == "UTF8=ACCEPT") {
      now = !utf8_accept_;
      utf8_accept_ = true;
    } else if (cap == "IMAP4REV2") {
      now = !rev2_;
      rev2_ = true;
    }
    // RFC 5161 3.1: only what this command newly enabled is listed.
    if (now) enabled += " " + cap;
  }
  send("* ENABLED" + enabled + "\r\n");
  ok(cmd, "ENABLE completed");
}

void Session::cmd_id(const Command& cmd) {
  if (cmd.args.size() == 1 && cmd.args[0].kind == Arg::Kind::list) {
    std::string fields;
    auto& items = cmd.args[0].items;
    for (std::size_t i = 0; i + 1 < items.size() && i < 60; i += 2)
      fields += fmt::format(" {}={}", log_safe(items[i].text), log_safe(items[i + 1].text));
    if (!fields.empty()) log::info("imap {}: client ID{}", id_, fields);
  }
  send("* ID (\"name\" \"Tern\" \"vendor\" \"Tern\" \"support-url\" \"https://tern.invalid/\")\r\n");
  ok(cmd, "ID completed");
}

net::awaitable<void> Session::cmd_compress(const Command& cmd) {
  if (cmd.args.size() != 1 || !iequals(cmd.args[0].text, "DEFLATE")) {
    bad(cmd, "Only COMPRESS DEFLATE is supported");
    co_return;
  }
  if (deflate_) {
    no(cmd, "[COMPRESSIONACTIVE] Compression is already active");
    co_return;
  }
  // RFC 4978 3: compression starts right after the OK's CRLF, both ways.
  out_ += fmt::format("{} OK DEFLATE active\r\n", cmd.tag);
  co_await flush();
  deflate_ = std::make_unique<Deflate>();
  // Bytes already read came after the command: they are compressed too.
  deflate_->raw = std::move(in_);
  in_.clear();
  if (!deflate_->raw.empty() && !deflate_->inflate_into(in_)) throw boost::system::system_error(boost::asio::error::eof);
}

}  // namespace tern::imapd
