// spool/quarantine: the server's quarantine, data_dir/mail/quarantine/: messages the SMTP filters held
// back (a virus with [virus] on_virus = "quarantine", an attachment the policy holds) for an
// administrator to look at, release or delete (`tern quarantine ...`). Not a user's mailbox: no user
// sees it, and nothing in it is delivered until released.
//
// A held message is a queue file (spool/queue_file) named ID.msg: the envelope with a QUARANTINE:
// line ("<unix seconds> <why>") and ARRIVED: 0, then the message exactly as it would have been queued
// (Tern's Received field and the filters' fields included). Durability is the outbox's: written to a
// .tmp name, fsync'd, renamed, the folder fsync'd, all before the client's 250 (principle 1).
//
// Release is one rename into mail/pending/ (the same file system), then both folders fsync'd: the
// message is in exactly one place at every instant, so a crash loses it nowhere and a second release
// finds nothing to do. The outbox takes it from pending/ as any dropped file, stamps its arrival then
// (its retry and give-up clocks start at the release) and delivers it without the SMTP filters, which
// sit in smtpd only. Delete unlinks the file and fsyncs the folder.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "spool/queue_file.hpp"

namespace tern::spool {

struct Held {
  std::string id;
  std::int64_t held_at = 0;  // unix seconds
  std::string why;
  std::string from;
  std::vector<std::string> recipients;
  std::string client;           // the client's address, "" when unknown
  std::uintmax_t size = 0;      // of the message, octets
  std::string problem;          // non-empty: the file cannot be read (damaged), and why
};

class Quarantine {
 public:
  // data_dir: Tern's; the folders are data_dir/mail/quarantine and data_dir/mail/pending.
  explicit Quarantine(const std::filesystem::path& data_dir);

  // Holds `message` for env's recipients; returns its id (a new one when `id` is empty). `why` is one
  // line for the administrator ("virus Eicar-Signature"). Blocking (fsync): call through net::offload.
  Result<std::string> hold(Envelope env, std::string_view message, std::string_view why, std::string id = {});
  // Every held message, oldest first. A file that cannot be read is listed with its `problem`.
  Result<std::vector<Held>> list() const;
  // One held message and its whole file (envelope and message).
  Result<std::pair<Held, std::string>> show(const std::string& id) const;
  // Into the outbox's pending/ folder, for delivery without the filters.
  Status release(const std::string& id);
  Status remove(const std::string& id);

  const std::filesystem::path& folder() const { return dir_; }

 private:
  Result<std::filesystem::path> file_of(const std::string& id) const;

  std::filesystem::path dir_, pending_;
};

// "<unix seconds> <why>" of a QUARANTINE: line, split.
std::pair<std::int64_t, std::string> parse_held(std::string_view value);

}  // namespace tern::spool
