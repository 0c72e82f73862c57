// filter: the SMTP server's policy pipeline. At each step of a session (connect, HELO, MAIL, RCPT, end
// of data) smtpd asks the Pipeline, which asks its stages in order; each stage returns a Verdict:
//
//   next      no objection: ask the next stage
//   accept    accept this step without asking the stages after this one (an allow list)
//   junk      accept, but the message is junk (`junk` says why); the stages go on. smtpd writes it
//             into the queue file (JUNK:), and local delivery files the message into the Junk folder
//   quarantine  accept, but hold the message in the server's quarantine (spool/quarantine) instead of
//             queueing it (`quarantine` says why); the stages go on, and a later refusal still wins
//   tempfail  refuse for now with the stage's 4xx reply; no later stage is asked
//   reject    refuse for good with the stage's 5xx reply; no later stage is asked
//
// plus header fields to add to the message (end of data: Authentication-Results, spam scores) and
// reasons for the log. Relay policy, sender ownership, the announced size and the hop limit are
// stages (filter/policy); mail authentication, DNS lists, spam and virus checks are added as stages.
//
// A stage never throws and never blocks the event loop: blocking work (SQLite, clamd) goes through
// net::offload, DNS through the application's dns::Resolver.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "net/net.hpp"
#include "route/router.hpp"
#include "smtp/proto/proto.hpp"

namespace tern::filter {

enum class Step { connect, helo, mail, rcpt, data };
std::string_view step_name(Step s);

// What stages remember between steps, per session and per transaction (an SPF result found at MAIL
// and used at the end of data, a count of unknown recipients): stage-named keys, plain values. The
// session owns both and clears `transaction` at each new MAIL.
struct Notes {
  std::map<std::string, std::string, std::less<>> session;
  std::map<std::string, std::string, std::less<>> transaction;
};

// What a stage sees: the session and the transaction as far as it has come. Owned by the session;
// every pointer is valid for the duration of the call.
struct Context {
  Notes* notes = nullptr;  // never null when a session asks
  const config::Config* config = nullptr;
  std::string_view session_id;
  std::string_view client_address;  // the client's IP address
  std::string_view helo;            // the HELO/EHLO name ("" before it)
  bool tls = false;
  std::string_view user;  // the authenticated user ("" when none)
  bool mx = true;         // received on the MX listener (smtp), not a submission one
  // From MAIL on:
  const smtp::proto::MailFrom* mail = nullptr;
  const std::vector<smtp::proto::RcptTo>* recipients = nullptr;  // accepted so far
  // At RCPT: the recipient being decided and where the router sends it.
  const smtp::proto::RcptTo* rcpt = nullptr;
  const route::Resolution* route = nullptr;
  // At the end of data: the message as the client sent it (before Tern's Received field).
  std::string_view message;
};

struct Verdict {
  enum class Action { next, accept, junk, quarantine, tempfail, reject };
  Action action = Action::next;
  std::optional<smtp::proto::Reply> reply;  // tempfail, reject
  std::string headers;                      // header fields to add, each ending in CRLF
  // End of data: header fields of ctx.message to remove, as (offset, length) (a forged
  // Authentication-Results claiming our authserv-id).
  std::vector<std::pair<std::size_t, std::size_t>> drop;
  // End of data: spans of ctx.message (never in its header) replaced by other text (an attachment
  // stripped by the attachment policy, a note in its place). Offsets are into the message as the
  // client sent it, so one stage only may replace; the stages after it see the edited message.
  struct Edit {
    std::size_t offset = 0, length = 0;
    std::string text;
  };
  std::vector<Edit> replace;
  std::vector<std::string> reasons;         // for the log: "stage: why"
  std::string junk;                         // junk: why ("dmarc: quarantine by example.org")
  std::string quarantine;                   // quarantine: why ("virus Eicar-Signature")

  static Verdict next() { return {}; }
  static Verdict refuse(smtp::proto::Reply r, std::string reason);  // tempfail or reject, by r's code
  bool refused() const { return action == Action::tempfail || action == Action::reject; }
};

// The message with the edits made, from the last one up (edits must not overlap; the header's
// removals and the body's replacements never do).
std::string edited(std::string_view message, std::vector<Verdict::Edit> edits);

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;
  // Each step's default is no objection. `ctx` is a named object of the caller.
  virtual net::awaitable<Verdict> connect(const Context& ctx);
  virtual net::awaitable<Verdict> helo(const Context& ctx);
  virtual net::awaitable<Verdict> mail(const Context& ctx);
  virtual net::awaitable<Verdict> rcpt(const Context& ctx);
  virtual net::awaitable<Verdict> data(const Context& ctx);
};

class Pipeline {
 public:
  void add(std::unique_ptr<Stage> stage) { stages_.push_back(std::move(stage)); }
  std::size_t size() const { return stages_.size(); }

  // Asks every stage at `step`, in order, and combines their verdicts: the first refusal ends the
  // round (its reply is the answer); accept ends it too; junk is kept while the others go on; headers
  // and reasons add up.
  net::awaitable<Verdict> run(Step step, const Context& ctx) const;

 private:
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace tern::filter
