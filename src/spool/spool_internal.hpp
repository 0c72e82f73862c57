// spool_internal: the spool's private types, shared by its .cpp files only.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "mime/headers.hpp"
#include "spool/spool.hpp"

namespace tern::spool {

std::int64_t unix_now();
// The first [[route]] whose pattern matches the domain ("*", "example.test", "*.example.test").
const config::Route* match_route(const config::Config& cfg, std::string_view domain);

// One queued message. The vectors are per recipient, guarded by Spool::mu_.
struct Spool::Entry {
  std::string id;
  std::filesystem::path file;
  // The whole queue file while local delivery needs it; null afterwards (a message waiting for a
  // remote server costs no memory: Spool::bytes() reads it again), so a large queue fits in RAM.
  std::shared_ptr<const std::string> data;
  QueueFile q;
  std::vector<RecipientStatus> status;  // attempts, next attempt, last error (the index's cache)
  std::vector<char> busy;               // in a delivery right now
  std::vector<char> remote;             // routed: not local, for the outbox
  bool held = false;
  bool gone = false;  // removed from the queue (delivered, deleted): pending jobs must not touch it
  // For the delivery log lines, taken when the file is read (the bytes are not kept).
  std::size_t size = 0;    // octets of the message
  std::string message_id;  // its Message-ID field, "" when none

  void describe(std::string_view message) {
    size = message.size();
    message_id = mime::first_value(mime::parse_header(message, 200), "Message-ID").substr(0, 250);
  }

  void init_state() {
    auto n = q.envelope.recipients.size();
    status.assign(n, RecipientStatus{});
    busy.assign(n, 0);
    remote.assign(n, 0);
  }
  // The message inside the queue file's bytes.
  std::string_view message_in(const std::string& bytes) const { return std::string_view(bytes).substr(q.message_offset); }
};

// What happened to one recipient in one attempt.
struct Spool::Outcome {
  enum Kind { ok, temp, perm } kind = temp;
  std::string text;        // the reply or the reason ("550 5.1.1 no such user")
  std::string status;      // RFC 3463
  std::string remote_mta;  // who answered
  bool local = false;      // delivered into a local mailslot
  bool remote_dsn = false; // the remote server offered DSN (it reports success itself)

  static Outcome success(std::string text, bool local, std::string remote = {}, bool dsn = false) {
    return Outcome{ok, std::move(text), "2.0.0", std::move(remote), local, dsn};
  }
  static Outcome permanent(std::string text, std::string status, std::string remote = {}, bool local = false) {
    return Outcome{perm, std::move(text), std::move(status), std::move(remote), local, false};
  }
  static Outcome temporary(std::string text, std::string status, std::string remote = {}) {
    return Outcome{temp, std::move(text), std::move(status), std::move(remote), false, false};
  }
};

// Messages for one destination, delivered over one connection.
struct Spool::Batch {
  struct Item {
    EntryPtr entry;
    std::vector<std::size_t> rcpts;
  };
  std::vector<Item> items;
  std::optional<config::Route> route;  // set: deliver through this relay
  std::string domain;                  // the recipients' domain (MX delivery)
};

}  // namespace tern::spool
