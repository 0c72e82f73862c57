// pop3d: the POP3 daemon side: one coroutine per client session (RFC 1939), for the listeners pop3
// (plaintext with STLS, RFC 2595) and pop3s (implicit TLS, RFC 8314).
//
// session.cpp holds the loop, the input buffer and the dispatch table (which command in which state);
// each command lives in a cmd_<verb>.cpp. Responses are queued and flushed before the session blocks
// on input, which is all PIPELINING (RFC 2449 6.6) asks of a server.
//
// The maildrop: at login the session takes the process-wide lock on the address (a second session
// gets -ERR [IN-USE]) and a snapshot of the INBOX from the mailbox index (never the message files, so a
// maildrop of 10,000 messages opens at once). Message numbers, sizes and unique ids come from that
// snapshot; messages delivered later appear at the next login. DELE only marks; QUIT in the
// TRANSACTION state expunges the marked messages durably (Mailstore::expunge fsyncs before it returns)
// and only then answers +OK. A dropped connection, a timeout or too many errors delete nothing.
//
// Security posture: every read has a deadline (idle_timeout, RFC 1939 3's ten-minute autologout,
// between commands; a begun command line within command_timeout; the session before login within
// login_timeout);
// lines are bounded (pop3/proto); input pipelined behind STLS is discarded (RFC 2595 4); USER/PASS and
// AUTH only over TLS unless [auth] allow_plaintext; archives cannot log in; failed logins are delayed
// and counted per client address, and an address with too many is refused for a while
// (pop3d/guards); repeated protocol errors close the session.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "net/net.hpp"
#include "pop3/proto/proto.hpp"
#include "auth/authenticator.hpp"
#include "pop3d/guards.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::pop3d {

enum class ListenerKind { pop3, pop3s };

// RFC 1939 3: an inactivity autologout timer of at least 10 minutes.
inline constexpr std::chrono::seconds idle_timeout{600};
// The folder POP3 serves (RFC 1939 has one maildrop per user).
inline constexpr const char* maildrop_folder = "INBOX";

// Process-wide state of the POP3 service; owned by the application.
struct Shared {
  MaildropLocks locks;
};

// What sessions use; owned by the application.
struct Services {
  std::shared_ptr<const config::Config> config;  // replaced on reload; sessions keep their snapshot
  store::Directory* directory = nullptr;
  store::Mailstore* mailstore = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  std::shared_ptr<net::ssl::context> tls;
  Shared* shared = nullptr;
  auth::Authenticator* authenticator = nullptr;  // logins, shared with SMTP AUTH and IMAP
};

net::awaitable<void> run_session(std::unique_ptr<net::Stream> stream, ListenerKind kind, Services services,
                                 std::string session_id);

class Session {
 public:
  Session(net::Stream& stream, ListenerKind kind, Services services, std::string id);
  net::awaitable<void> run();

  // For the disconnect log line.
  const char* end_reason() const { return why_; }
  const std::string& user() const { return user_; }
  std::size_t marked() const;

 private:
  using Command = pop3::proto::Command;
  enum class State { authorization, transaction, update };
  struct Message {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;  // octets RETR sends before dot-stuffing (the index's exact size)
    std::string uidl;
    bool deleted = false;
  };

  struct SaslResponse {
    enum Kind { line, cancelled, malformed } kind = line;  // cancelled: the client sent "*"
    std::string text;
  };

  // I/O
  void send(std::string_view s) { out_ += s; }
  net::awaitable<void> flush();
  net::awaitable<bool> fill();  // false at EOF
  net::awaitable<SaslResponse> read_sasl_response();  // throws at EOF, like every read

  // dispatch and commands (cmd_*.cpp)
  net::awaitable<bool> dispatch(const Command& cmd);  // false: end the session
  void cmd_capa();
  net::awaitable<void> cmd_stls();
  void cmd_utf8();
  void cmd_user(const Command& cmd);
  net::awaitable<void> cmd_pass(const Command& cmd);
  net::awaitable<void> cmd_auth(const Command& cmd);
  void cmd_stat();
  void cmd_list(const Command& cmd, bool uidl);
  net::awaitable<void> cmd_retr(const Command& cmd, bool top);
  void cmd_dele(const Command& cmd);
  void cmd_rset();
  net::awaitable<void> cmd_quit();

  // Verifies credentials, locks and snapshots the maildrop, and enters TRANSACTION; answers either way.
  net::awaitable<void> login(const auth::Credentials& credentials, const std::string& mechanism);
  bool login_allowed() const;  // TLS, or [auth] allow_plaintext
  bool tls_offered() const;
  // The message `cmd` names (RFC 1939: 1-based, not deleted), or nullptr after answering -ERR.
  Message* message_of(const Command& cmd);
  std::uint64_t maildrop_octets() const;
  std::size_t maildrop_count() const;
  void protocol_error();
  void internal_error(std::string_view what);

  net::Stream& stream_;
  net::CommandClock clock_{stream_};
  bool line_started_ = false;  // octets of the next command have arrived
  ListenerKind kind_;
  Services svc_;
  const config::Config& cfg_;
  std::string id_;
  std::string in_;   // bytes read but not yet parsed
  std::string out_;  // responses not yet written
  pop3::proto::Reader reader_;
  State state_ = State::authorization;
  std::string user_arg_;  // the name given by USER, waiting for PASS
  std::string user_;      // the logged-in maildrop ("" before login)
  bool utf8_ = false;     // RFC 6856 UTF8 issued
  MaildropLocks::Hold lock_;
  std::vector<Message> messages_;
  std::uint32_t errors_ = 0;
  const char* why_ = "client closed the connection";
};

}  // namespace tern::pop3d
