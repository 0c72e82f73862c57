// imapd conversation tests: a session on a socketpair (tests/unit/conversation.hpp), IMAP responses.
// The store summarises messages at delivery with imap/message, as the application sets it up.
#pragma once
#include <atomic>
#include <string>

#include "../conversation.hpp"
#include "imap/message/message.hpp"
#include "imapd/session.hpp"

namespace tern::imapd::testing {

using namespace tern::testing;

// A command's response: the untagged lines and continuations, and the tagged line without its tag.
struct Response {
  std::string untagged;  // every line before the tagged one, CRLF included
  std::string tagged;    // "OK [READ-WRITE] SELECT completed", no CRLF
};

inline std::ostream& operator<<(std::ostream& os, const Response& r) {
  return os << r.untagged << "<tag> " << r.tagged;
}

class Conversation : public ConversationBase {
 protected:
  void SetUp() override {
    ConversationBase::SetUp();
    mailstore_->set_summarizer([](std::string_view raw) { return imap::message::summarize(raw).encode(); });
  }

  // Starts a session on the imap listener and returns the greeting.
  std::string connect(std::string peer = client_address) {
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
    return read_line();
  }

  // Connects, reads the greeting and logs in as bob.
  void login() {
    ASSERT_THAT(connect(), StartsWith("* OK "));
    ASSERT_THAT(command("LOGIN bob@tern.test secret").tagged, StartsWith("OK "));
  }

  // Sends "<tag> <text>" with the next tag and reads up to the tagged response.
  Response command(const std::string& text) {
    std::string tag = next_tag();
    send(tag + " " + text + "\r\n");
    return response(tag);
  }

  // Reads up to the response tagged `tag`.
  Response response(const std::string& tag) {
    std::string all = read_reply([&](const std::string& line) { return line.starts_with(tag + " "); });
    Response r;
    auto at = all.starts_with(tag + " ") ? 0 : all.rfind("\r\n" + tag + " ");
    if (at == std::string::npos || !all.ends_with("\r\n")) {
      r.untagged = all;  // no tagged line: the session closed or hung
      return r;
    }
    if (at != 0) at += 2;
    r.untagged = all.substr(0, at);
    r.tagged = all.substr(at + tag.size() + 1, all.size() - at - tag.size() - 3);
    return r;
  }

  std::string next_tag() { return "a" + std::to_string(++tags_); }

  // APPEND with a non-synchronising literal (RFC 7888 LITERAL+): one write.
  Response append(const std::string& mailbox, const std::string& flags, const std::string& message) {
    std::string f = flags.empty() ? "" : "(" + flags + ") ";
    return command("APPEND " + mailbox + " " + f + "{" + std::to_string(message.size()) + "+}\r\n" + message);
  }

  Shared shared_;
  std::atomic<bool> stopping_{false};
  int tags_ = 0;
};

}  // namespace tern::imapd::testing
