// imapd conversation tests: a session on a socketpair (tests/unit/conversation.hpp), IMAP responses.
#pragma once
#include <atomic>

#include "../conversation.hpp"
#include "imapd/session.hpp"

namespace tern::imapd::testing {

class Conversation : public tern::testing::ConversationBase {
 protected:
  // Starts a session on the imap listener and reads the greeting.
  std::string connect(std::string peer = "192.0.2.7") {
    auto stream = open_stream(std::move(peer));
    Services svc;
    svc.config = cfg_;
    svc.directory = dir_.get();
    svc.mailstore = mailstore_.get();
    svc.pool = &pool_;
    svc.authenticator = auth_.get();
    svc.shared = &shared_;
    svc.stopping = &stopping_;
    boost::asio::co_spawn(io_, run_session(std::move(stream), ListenerKind::imap, svc, "conv"), boost::asio::detached);
    return read_reply([](const std::string&) { return true; });
  }

  // Sends "<tag> <command>" and returns every line up to the tagged response.
  std::string command(const std::string& text) {
    std::string tag = "a" + std::to_string(++tags_);
    send(tag + " " + text + "\r\n");
    return read_reply([&](const std::string& line) { return line.starts_with(tag + " "); });
  }
  // The tagged status of a response: "OK", "NO" or "BAD" (after the tag).
  static std::string status(const std::string& response) {
    auto last = response.rfind("\r\n", response.size() - 3);
    std::string line = response.substr(last == std::string::npos ? 0 : last + 2);
    auto sp = line.find(' ');
    return line.substr(sp + 1, 2) == "OK" ? "OK" : line.substr(sp + 1, 2) == "NO" ? "NO" : "BAD";
  }

  Shared shared_;
  std::atomic<bool> stopping_{false};
  int tags_ = 0;
};

}  // namespace tern::imapd::testing
