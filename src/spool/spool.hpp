// spool: the queue of accepted messages (data_dir/mail/outbox) and their delivery.
//
// Every accepted message becomes ONE queue file, written durably before the SMTP 250 (principle 1):
// temp file, fsync, rename to <id>.msg, fsync of the outbox folder. The folder fsync is shared: all
// renames that happened while one folder fsync ran are covered by the next one (group commit), so
// concurrent sessions pay one folder fsync between them instead of one each.
//
// Delivery: each pending recipient is routed (route::Router). Local mailslots get the message with a
// Return-Path (store::Mailstore, deduplicated by the queue id, so a crash never doubles local mail);
// the recipient line is then rewritten in place to DONE: (or FAIL: for a user that no longer exists),
// and the file is removed when no recipient is pending. Remote recipients stay pending for the outbox
// (remote delivery is not built yet; see docs/outbox.md).
//
// Start-up: temp files of a crash are removed (never acknowledged), every *.msg is parsed and queued,
// and anything unreadable goes to lost+found/ with a note saying why. Nothing is deleted silently.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/result.hpp"
#include "config/config.hpp"
#include "route/router.hpp"
#include "spool/queue_file.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::spool {

struct Paths {
  std::filesystem::path outbox, pending, lost_found;
  explicit Paths(const std::filesystem::path& data_dir);
};

// Moves `file` into lost+found with a "<name>.why" note beside it. Never overwrites.
void quarantine(const Paths& paths, const std::filesystem::path& file, const std::string& why);

struct StartReport {
  std::size_t queued = 0, quarantined = 0, temp_removed = 0;
};

class Spool {
 public:
  Spool(Paths paths, store::Directory& directory, store::Mailstore& mailstore, boost::asio::thread_pool& pool,
        boost::asio::io_context& io);
  ~Spool();

  StartReport start();
  // Writes the queue file durably and schedules delivery; returns the queue id. Blocking: call through
  // net::offload. Errors (disk full, I/O) leave nothing behind.
  // id: from make_unique_id() (the session names it in the Received field first), or "" for a new one.
  Result<std::string> enqueue(Envelope env, std::string_view message, std::string id = {});
  // Waits for deliveries in progress (queue files stay for the next start).
  void stop();

  std::size_t in_flight() const { return in_flight_.load(); }

 private:
  struct Entry;
  void schedule(std::shared_ptr<Entry> e);
  void deliver(const std::shared_ptr<Entry>& e);
  void retry_later(std::shared_ptr<Entry> e, std::chrono::seconds after);

  Paths paths_;
  store::DirSyncer outbox_sync_;  // group commit of the outbox folder's fsync
  store::Directory& directory_;
  store::Mailstore& mailstore_;
  route::Router router_;
  boost::asio::thread_pool& pool_;
  boost::asio::io_context& io_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;

};

}  // namespace tern::spool
