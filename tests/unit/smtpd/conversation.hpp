// smtpd conversation tests: a session on a socketpair (tests/unit/conversation.hpp), SMTP replies.
#pragma once
#include "../conversation.hpp"
#include "smtpd/session.hpp"

namespace tern::smtpd::testing {

class Conversation : public tern::testing::ConversationBase {
 protected:
  // Starts a session on `kind`'s listener; reads nothing.
  void connect(ListenerKind kind = ListenerKind::smtp, std::string peer = "192.0.2.7") {
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

  // One whole SMTP reply (every line, up to the one with a space after the code).
  std::string reply() {
    return read_reply([](const std::string& line) { return line.size() >= 4 && line[3] == ' '; });
  }

  std::string ask(const std::string& line) {
    send(line + "\r\n");
    return reply();
  }
};

}  // namespace tern::smtpd::testing
