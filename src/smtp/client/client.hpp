// smtp/client: the outbound SMTP client the spool delivers with (RFC 5321 client side).
//
// One Connection = one TCP (or implicit-TLS) session to one server: greeting, EHLO (HELO fallback),
// STARTTLS (opportunistic or required), AUTH PLAIN/LOGIN, then any number of transactions, then QUIT.
// Each transaction pipelines MAIL/RCPT.../DATA when the server offers PIPELINING (RFC 2920), checks
// SIZE first, passes DSN parameters when offered (RFC 3461), refuses SMTPUTF8 mail to a server without
// SMTPUTF8, and converts 8-bit content to a server without 8BITMIME (see send()).
//
// Error contract: network failures and timeouts are values (Result errors / connection_lost), never
// exceptions out of this module; every reply's text is kept for the recipient's last error.
//
// 8-bit content to a server without 8BITMIME (RFC 6152 3): a single-part text message (no multipart/*
// or message/* type, a 7-bit header, Content-Transfer-Encoding absent, 7bit or 8bit) has its body
// re-encoded as quoted-printable (and "Content-Transfer-Encoding: quoted-printable" set); anything
// else fails every recipient with 554 5.6.3 without sending. Content declared 8-bit that is in fact
// 7-bit is sent as it is.
//
// TLS: the certificate is always checked (chain against the context's trust store, and the name
// tls_name when set) and the result reported in SessionInfo::tls_verified; it stops delivery only
// with Options::require_verified_tls. In opportunistic mode a failed TLS handshake is retried once
// over a new plaintext connection (as Postfix does). TLS and AUTH failures are reported as Errors
// that do not start with a reply code, so the caller treats them as temporary.
//
// Threading: a Connection belongs to one coroutine at a time (open, send, send, ..., quit); it may
// run on any executor, a strand or a multi-threaded io_context. Its deadline timer never touches the
// socket object: when a deadline passes it shuts the socket down at the system level (shutdown(2)),
// which makes the pending operation fail in the coroutine's own thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "base/result.hpp"

namespace tern::smtp::client {

struct ServerReply {
  int code = 0;              // 0 when the connection was lost before a reply
  std::string enhanced;      // "2.1.5" when the server sent one, else ""
  std::string text;          // the reply text, lines joined with " "
  std::string str() const;   // "550 5.1.1 text" (for logs and last_error)
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code == 0 || (code >= 400 && code < 500); }
  bool permanent() const { return code >= 500; }
};

enum class TlsMode {
  opportunistic,  // STARTTLS when offered; plaintext otherwise (MX delivery)
  none,           // never
  starttls,       // STARTTLS required: no plaintext fallback
  implicit,       // TLS from the first byte (port 465 style)
};

struct Options {
  std::string helo;  // our host name
  TlsMode tls = TlsMode::opportunistic;
  std::string tls_name;  // the name to verify the certificate against (and SNI); "" = no name check
  boost::asio::ssl::context* tls_context = nullptr;  // a client context (verify paths set by the caller);
                                                     // null: a shared make_client_tls_context()
  std::optional<std::pair<std::string, std::string>> auth;  // user, password: AUTH PLAIN or LOGIN
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};  // RFC 5321 4.5.3.2 suggests 5 minutes for most replies
  std::chrono::seconds data_timeout{600};     // for the reply after the final dot
  bool require_verified_tls = false;  // TLS used but not verified: open() fails (before AUTH)
};

// A client TLS context: TLS 1.2 and later, the system's trust store (and ca_file when given). The
// same context serves any number of connections at once; keep it alive as long as they are.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& ca_file = "");

struct Recipient {
  std::string address;
  std::string notify;  // RFC 3461, passed on when the server offers DSN
  std::string orcpt;
};

struct Envelope {
  std::string from;  // "" = null sender
  std::vector<Recipient> recipients;
  std::string envid, ret;  // RFC 3461
  bool eight_bit = false;  // BODY=8BITMIME was declared (or the content has 8-bit octets)
  bool smtputf8 = false;
};

struct TransactionResult {
  std::optional<ServerReply> mail_reply;          // set when MAIL was refused (then all recipients fail)
  std::vector<ServerReply> rcpt_replies;          // one per recipient, in order (code 0: no reply,
                                                  // because it was not sent or the connection was lost)
  std::optional<ServerReply> data_reply;          // the final reply for the message (when reached)
  bool connection_lost = false;                   // the session is unusable after this
  std::string error;                              // when connection_lost: why ("timeout ...", a 421)
  // Per recipient: the reply that decides it (RCPT refusal, else the data reply, else a synthetic
  // 4xx when the connection was lost).
  ServerReply outcome(std::size_t i) const;
};

struct SessionInfo {
  std::string peer;        // "192.0.2.1:25"
  std::string greeting;    // the 220 line
  bool tls = false;        // TLS in use
  bool tls_verified = false;  // the certificate verified against tls_name
  std::string tls_description;  // "TLSv1.3 TLS_AES_256_GCM_SHA384"
  bool pipelining = false, eight_bit_mime = false, smtputf8 = false, dsn = false, chunking = false;
  std::optional<std::uint64_t> size_limit;  // SIZE offered (RFC 1870); 0 = no fixed limit
};

class Connection {
 public:
  // Connects and runs greeting, EHLO, STARTTLS and AUTH per the options. An Error says what failed,
  // with the server's reply when there was one; its first three characters are the reply code when a
  // reply caused it ("530 ..."), so callers can tell permanent (5xx) from temporary failures.
  static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open(
      boost::asio::any_io_executor ex, boost::asio::ip::address address, std::uint16_t port, Options options);
  ~Connection();

  // One transaction. `message` is the RFC 5322 message with CRLF line ends (dot-stuffed here).
  // `envelope` and `message` must stay alive until the returned awaitable completes.
  // 8-bit content to a server without 8BITMIME is converted to quoted-printable when possible, else
  // each recipient gets a permanent 554 5.6.3 outcome without sending; SMTPUTF8 mail to a server
  // without SMTPUTF8 gets 553 5.6.7 likewise; SIZE over the server's limit: 552 5.3.4 at once.
  boost::asio::awaitable<TransactionResult> send(const Envelope& envelope, std::string_view message);
  // RSET between transactions is not needed: each send() ends its transaction.
  boost::asio::awaitable<void> quit();  // QUIT and close; never throws
  const SessionInfo& info() const;
  bool usable() const;

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::smtp::client
