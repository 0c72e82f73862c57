// smtpd conversation tests: a session on a socketpair (tests/unit/conversation.hpp), SMTP replies.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "../conversation.hpp"
#include "smtpd/session.hpp"
#include "spool/queue_file.hpp"

namespace tern::smtpd::testing {

using namespace tern::testing;

class Conversation : public ConversationBase {
 protected:
  // Starts a session on `kind`'s listener; reads nothing.
  void connect(ListenerKind kind = ListenerKind::smtp, std::string peer = client_address) {
    auto stream = open_stream(std::move(peer));
    Services svc;
    svc.config = cfg_;
    svc.directory = dir_.get();
    svc.spool = spool_.get();
    svc.pool = &pool_;
    svc.authenticator = auth_.get();
    svc.pipeline = pipeline_.get();
    boost::asio::co_spawn(io_, run_session(std::move(stream), kind, svc, "conv"), boost::asio::detached);
  }

  // Connects, reads the greeting and says EHLO client.test.
  void hello(ListenerKind kind = ListenerKind::smtp) {
    connect(kind);
    ASSERT_THAT(reply(), StartsWith("220 "));
    ASSERT_THAT(ask("EHLO client.test"), StartsWith("250-mx.tern.test"));
  }

  // One whole SMTP reply (every line, up to the one with a space after the code).
  std::string reply() {
    return read_reply([](const std::string& line) { return line.size() >= 4 && line[3] == ' '; });
  }

  std::string ask(const std::string& line) {
    send(line + "\r\n");
    return reply();
  }

  // What the outbox holds for "250 2.0.0 Ok: queued as <id>"; nothing when the reply is another or
  // the queue file cannot be read.
  struct Queued {
    spool::Envelope envelope;
    std::string message;  // as stored, with Tern's Received field on top
  };
  std::optional<Queued> queued(const std::string& reply) {
    const std::string prefix = "250 2.0.0 Ok: queued as ";
    if (!reply.starts_with(prefix) || !reply.ends_with("\r\n")) return std::nullopt;
    auto id = reply.substr(prefix.size(), reply.size() - prefix.size() - 2);
    auto data = read_file(spool::Paths(cfg_->data_dir).queue_file(id));
    auto parsed = spool::parse(data);
    if (!parsed) return std::nullopt;
    return Queued{parsed->envelope, data.substr(parsed->message_offset)};
  }

  // MAIL, RCPT (each must be accepted) and DATA's 354: the message may follow.
  void begin_data(const std::string& from, const std::vector<std::string>& to) {
    ASSERT_EQ(ask("MAIL FROM:<" + from + ">"), "250 2.1.0 Ok\r\n");
    for (auto& r : to) ASSERT_EQ(ask("RCPT TO:<" + r + ">"), "250 2.1.5 Ok\r\n");
    ASSERT_EQ(ask("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  }
};

}  // namespace tern::smtpd::testing
