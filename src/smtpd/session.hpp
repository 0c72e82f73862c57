// smtpd: the SMTP daemon side: one coroutine per client session (RFC 5321), for the listeners
// smtp (MX: local domains from anyone, relay only when authenticated), submission (STARTTLS, AUTH
// required) and submissions (implicit TLS, same rules). On every listener, an authenticated session's
// sender must belong to the user.
//
// session.cpp holds the loop, the input buffer and the dispatch table; each command lives in a
// cmd_<verb>.cpp. Replies are queued and flushed before the session blocks on input, which is all
// PIPELINING (RFC 2920) asks of a server.
//
// Security posture: every read has a deadline (a whole command line within command_timeout, DATA at
// min_data_rate, the session before AUTH or the first MAIL within login_timeout); lines are bounded (smtp/proto); bytes pipelined behind
// STARTTLS are discarded (RFC 3207 5, CVE-2011-0411 class); DATA ends only at CRLF.CRLF and a bare CR
// or LF refuses the message (SMTP smuggling); AUTH only over TLS unless allow_plaintext; repeated
// protocol errors close the session; failed AUTH is delayed and throttled (auth/authenticator); an
// unauthenticated client's errors delay its later replies on a timer (the tarpit) and too many unknown
// recipients close the session with 421 (dictionary attacks; docs/spam.md "Connection checks").
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "auth/authenticator.hpp"
#include "dns/resolver.hpp"
#include "filter/filter.hpp"
#include "filter/policy.hpp"
#include "mailauth/keys.hpp"
#include "config/config.hpp"
#include "net/net.hpp"
#include "route/router.hpp"
#include "smtp/proto/proto.hpp"
#include "spam/bayes.hpp"
#include "spool/quarantine.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"

namespace tern::smtpd {

enum class ListenerKind { smtp, submission, submissions };

// What sessions share; owned by the application.
struct Services {
  std::shared_ptr<const config::Config> config;  // replaced on reload; sessions keep their snapshot
  store::Directory* directory = nullptr;
  spool::Spool* spool = nullptr;
  spool::Quarantine* quarantine = nullptr;  // where messages the filters hold go (spool/quarantine)
  store::Mailstore* mailstore = nullptr;     // for a recipient's quota at RCPT; null: not checked there
  const spam::Learner* learner = nullptr;   // a user's correspondents count for their reputation
  // Unknown recipients per client address and hour, across sessions (dictionary attacks that
  // reconnect); the server's one counter. Null: not counted.
  filter::RateWindows* unknown_recipients = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  std::shared_ptr<net::ssl::context> tls;
  auth::Authenticator* authenticator = nullptr;  // logins, shared with IMAP and POP3
  const filter::Pipeline* pipeline = nullptr;     // policy at each step (filter/)
  dns::Resolver* resolver = nullptr;              // the application's, for stages and checks that need DNS
  mailauth::DkimKeys* dkim = nullptr;             // signing keys per domain (mailauth/keys)
};

// The tarpit (docs/spam.md "Connection checks"): how long an unauthenticated session's next reply
// waits after `errors` errors (protocol errors and refused recipients), `unknown` of them unknown
// recipients. 0 when it does not.
std::chrono::milliseconds tarpit_delay(const config::Limits& limits, std::uint32_t errors, std::uint32_t unknown);

net::awaitable<void> run_session(std::unique_ptr<net::Stream> stream, ListenerKind kind, Services services, std::string session_id);

class Session {
 public:
  Session(net::Stream& stream, ListenerKind kind, Services services, std::string id);
  net::awaitable<void> run();

 private:
  using Reply = smtp::proto::Reply;
  struct Transaction {
    smtp::proto::MailFrom mail;
    std::vector<smtp::proto::RcptTo> rcpts;
    std::string bdat_message;
    bool bdat_started = false;
    bool bdat_failed = false;  // a chunk was refused: read off the rest, then refuse the message
  };

  // I/O
  void reply(int code, std::string_view enhanced, std::string_view text);
  void reply(const Reply& r);
  void log_reject(const Reply& r);
  net::awaitable<void> flush();
  net::awaitable<bool> fill();  // false at EOF
  net::awaitable<std::optional<std::string>> read_sasl_line();

  // dispatch and commands (cmd_*.cpp)
  net::awaitable<bool> dispatch(const smtp::proto::Command& cmd);  // false: end the session
  net::awaitable<void> cmd_ehlo(const smtp::proto::Command& cmd, bool extended);
  net::awaitable<void> cmd_starttls();
  net::awaitable<void> cmd_auth(const std::string& arg);
  net::awaitable<void> cmd_mail(const std::string& arg);
  // Asks the filter pipeline at `step`; a refusal is replied (and logged with its reasons) and false
  // returned. `headers`, when given, receives the header fields the stages add.
  net::awaitable<bool> filter_allows(filter::Step step, const filter::Context& ctx, filter::Verdict* verdict = nullptr);
  // DKIM-Signature fields for a message an authenticated user sends, when its From domain has keys.
  net::awaitable<std::string> dkim_sign(const std::string& message);
  filter::Context filter_context() const;
  net::awaitable<void> cmd_rcpt(const std::string& arg);
  net::awaitable<void> cmd_data();
  net::awaitable<void> cmd_bdat(const std::string& arg);
  net::awaitable<void> finish_message(std::string message, bool bare_line_end, bool too_big);

  bool tls_offered() const;
  bool auth_offered() const;
  std::string with_protocol(bool smtputf8) const;  // RFC 3848 / RFC 6531 3.7.3 "with" keyword
  void protocol_error();
  // Before each command's reply: waits tarpit_delay() (an unauthenticated session with errors), on a
  // timer, after sending the replies queued so far.
  net::awaitable<void> tarpit();

  net::Stream& stream_;
  net::CommandClock clock_{stream_};
  ListenerKind kind_;
  Services svc_;
  const config::Config& cfg_;
  std::string id_;
  std::string in_;    // bytes read but not yet parsed
  std::string out_;   // replies not yet written
  smtp::proto::CommandReader reader_;
  std::string helo_;
  bool esmtp_ = false;
  std::string user_;  // authenticated user ("" = none)
  std::string_view verb_;  // MAIL, RCPT, DATA or BDAT while one runs ("" otherwise)
  std::string arg_address_;  // the address of the MAIL or RCPT being answered
  std::string data_from_, data_to_;  // the finished transaction's sender and first recipient (DATA/BDAT's reject line)
  std::optional<Transaction> tx_;
  mutable filter::Notes filter_notes_;  // what stages remember (filter::Notes)
  std::uint32_t errors_ = 0;
  std::uint32_t refused_rcpts_ = 0;  // RCPTs refused for good (unknown user, relay, deny list)
  std::uint32_t unknown_rcpts_ = 0;  // of those, unknown users (dictionary attacks)
  std::chrono::milliseconds tarpitted_{0};  // the tarpit delay last logged
  bool quit_ = false;
};

}  // namespace tern::smtpd
