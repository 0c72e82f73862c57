// QUIT (RFC 1939 4 and 6):  "QUIT" CRLF
// In the AUTHORIZATION state it only ends the session. In the TRANSACTION state it enters UPDATE:
// the marked messages are expunged durably (files unlinked, index rows deleted, folder fsync'd:
// Mailstore::expunge returns only after that) and only then does the client get +OK. A crash before
// the +OK may have removed some or all of the marked messages, never one that was not marked; a
// failure answers -ERR [SYS/TEMP] ("some deleted messages not removed", RFC 1939 6).
#include <fmt/format.h>

#include "base/log.hpp"
#include "pop3d/replies.hpp"
#include "pop3d/session.hpp"

namespace tern::pop3d {

net::awaitable<void> Session::cmd_quit() {
  namespace proto = pop3::proto;
  why_ = "client quit";
  if (state_ == State::authorization) {
    send(proto::ok("Bye"));
    co_return;
  }
  state_ = State::update;
  std::vector<std::uint32_t> uids;
  for (auto& m : messages_)
    if (m.deleted) uids.push_back(m.uid);
  if (uids.empty()) {
    send(proto::ok("Bye; no messages deleted"));
    co_return;
  }
  auto* ms = svc_.mailstore;
  auto expunge = [ms, address = user_, uids] { return ms->expunge(address, maildrop_folder, uids); };
  auto removed = *co_await net::offload(*svc_.pool, std::move(expunge));
  if (!removed) {
    log::error("pop3 {}: {}: expunge of {} messages failed: {}", id_, user_, uids.size(), removed.error().message);
    why_ = "client quit; expunge failed";
    send(proto::err(RespCode::sys_temp, "Some deleted messages not removed; please try again later"));
    co_return;
  }
  messages_.clear();  // the marks are done with: nothing is "kept" any more
  log::info("pop3 {}: {}: quit; {} message(s) deleted", id_, user_, *removed);
  send(proto::ok(fmt::format("Bye; {} message(s) deleted", uids.size())));
}

}  // namespace tern::pop3d

