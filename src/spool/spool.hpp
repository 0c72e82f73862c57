// spool: the queue of accepted messages (data_dir/mail/outbox) and their delivery, local and remote.
//
// Every accepted message becomes ONE queue file, written durably before the SMTP 250 (principle 1):
// temp file, fsync, rename to <id>.msg, fsync of the outbox folder. The folder fsync is shared by all
// renames made while one ran (group commit: store::DirSyncer).
//
// Local recipients are routed (route::Router) and stored into their mailslots at once (deduplicated
// by queue id in the mailbox, so a crash never doubles local mail). Remote recipients get a host
// assignment (a static [[route]] or the MX hosts of their domain); recipients with the same
// destination are delivered together by smtp::client, several messages per connection, with limits
// per destination and in total. After each remote reply a recipient line is rewritten in place to
// DONE: (2xx) or FAIL: (5xx, or expiry); a 4xx schedules the next attempt from the retry schedule.
// The file goes when no recipient is pending. DSNs (RFC 3464) follow NOTIFY, never to the null sender.
//
// Per-recipient attempts, next attempt and last error live in the outbox index (a cache, rebuilt from
// the files when missing or damaged). Start-up never waits on DNS or remote servers: files are loaded,
// then deliveries start in the background.
//
// Files dropped into mail/pending/ are checked and renamed into the outbox (exactly once) as soon as
// they have not changed for a second; unreadable ones go to lost+found with a note.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/result.hpp"
#include "config/config.hpp"
#include "route/router.hpp"
#include "spool/dsn.hpp"
#include "spool/local_delivery.hpp"
#include "spool/outbox_index.hpp"
#include "mailauth/keys.hpp"
#include "spool/queue_file.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::dns {
class Resolver;
}

namespace tern::spool {

struct Paths {
  std::filesystem::path outbox, pending, lost_found;
  explicit Paths(const std::filesystem::path& data_dir);
  std::filesystem::path index() const { return outbox / "index.db"; }
  std::filesystem::path queue_file(const std::string& id) const { return outbox / (id + ".msg"); }
  std::filesystem::path hold_marker(const std::string& id) const { return outbox / (id + ".hold"); }
};

// Moves `file` into lost+found with a "<name>.why" note beside it. Never overwrites.
void quarantine(const Paths& paths, const std::filesystem::path& file, const std::string& why);

// What a name in the outbox folder is.
enum class OutboxName { queue_file, temp_file, hold_marker, index, other };
OutboxName classify(const std::string& name);

struct StartReport {
  std::size_t queued = 0, quarantined = 0, temp_removed = 0;
  bool index_rebuilt = false;
};

// Delivery limits (Mailtraq offered 1 to 99 parallel deliveries).
struct OutboxLimits {
  std::size_t parallel_total = 20;
  std::size_t parallel_per_destination = 2;
  std::size_t messages_per_connection = 50;
};

class Spool {
 public:
  Spool(Paths paths, std::shared_ptr<const config::Config> cfg, store::Directory& directory,
        store::Mailstore& mailstore, boost::asio::thread_pool& pool, boost::asio::io_context& io);
  ~Spool();

  // Loads every queue file and starts the scheduler and the pending watcher.
  // Begins delivering; lookups go to `resolver` (the application's, shared with the SMTP filters),
  // which outlives the spool.
  StartReport start(dns::Resolver& resolver);
  // Writes the queue file durably and schedules delivery; returns the queue id. Blocking: call through
  // net::offload. Errors (disk full, I/O) leave nothing behind; Error::kind tells no_space apart.
  Result<std::string> enqueue(Envelope env, std::string_view message, std::string id = {});
  // No new deliveries from now on (graceful stop); active_deliveries() tells when the last has ended.
  void begin_stop();
  std::size_t active_deliveries();
  // Waits for local deliveries in progress (queue files stay for the next start).
  void stop();
  void set_config(std::shared_ptr<const config::Config> cfg);

  // Administration (tern queue ...), thread-safe. retry: "Clear Host Assignments" for the ids, or
  // all messages when empty: forget destinations and cached DNS answers, attempt now.
  Result<std::string> retry(const std::vector<std::string>& ids);
  Result<std::string> hold(const std::string& id);
  Result<std::string> release(const std::string& id);
  Result<std::string> remove(const std::string& id);
  Result<std::string> bounce(const std::string& id);
  // A file of lost+found (by its name there) into the queue; returns the new queue id. invalid while
  // the file still does not parse, not_found when there is no such file.
  Result<std::string> requeue_lost(const std::string& name);

  std::size_t in_flight() const { return in_flight_.load(); }
  // Messages in the queue now (held ones too): the /metrics gauge.
  std::size_t queued();
  // Where local agents plug in (Sieve, lists): set up before start().
  DeliveryChain& delivery_chain() { return delivery_; }
  // The DKIM keys that sign what the spool itself originates or takes in: DSNs, and files dropped into
  // pending/ (the local outbox), when their From domain has keys. Set before start(); null: no signing.
  void set_dkim(mailauth::DkimKeys* keys) { dkim_ = keys; }

  // Loads the queue without delivering (the CLI administers the queue this way when no server runs).
  StartReport load(bool serve = false);

  struct Entry;
  struct Outcome;
  struct Batch;

 private:
  using EntryPtr = std::shared_ptr<Entry>;

  std::shared_ptr<const config::Config> config() const;
  std::string arc_seal(std::string_view message, const std::string& domain);
  void add_entry(EntryPtr e);
  void post_local(EntryPtr e);
  // Delivers the pending local recipients through delivery_; returns why some must be tried again
  // ("" when none).
  std::string deliver_local(const EntryPtr& e);
  void apply(const EntryPtr& e, const std::vector<std::pair<std::size_t, Outcome>>& outcomes);
  void finish_if_done(const EntryPtr& e);
  void copy_delivered(const EntryPtr& e, const std::string& address);
  // The queue file's bytes: kept in memory, or read again (blocking).
  std::shared_ptr<const std::string> bytes(const EntryPtr& e);
  bool send_dsn(const EntryPtr& e, const std::vector<DsnRecipient>& rcpts);  // false: could not queue it
  void wake();
  boost::asio::awaitable<void> scheduler_loop();
  boost::asio::awaitable<void> pending_loop();
  boost::asio::awaitable<void> record(EntryPtr entry, std::vector<std::pair<std::size_t, Outcome>> outcomes);
  boost::asio::awaitable<void> deliver_remote(std::string destination, std::shared_ptr<Batch> batch);
  boost::asio::awaitable<void> deliver_batch(const std::string& destination, std::shared_ptr<Batch> batch);
  void start_due_deliveries();
  void stamp_pending(const std::filesystem::path& file, const std::string& id, std::string& data, QueueFile& q);
  std::string take(const std::filesystem::path& file, std::string data, QueueFile q, std::string_view from);
  void scan_pending(std::map<std::string, std::pair<std::uintmax_t, std::int64_t>>& seen);
  EntryPtr find(const std::string& id);

  Paths paths_;
  store::DirSyncer outbox_sync_;
  std::shared_ptr<const config::Config> cfg_;
  mailauth::DkimKeys* dkim_ = nullptr;
  mutable std::mutex cfg_mu_;
  store::Directory& directory_;
  store::Mailstore& mailstore_;
  route::Router router_;
  DeliveryChain delivery_;
  boost::asio::thread_pool& pool_;
  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer wake_timer_;
  dns::Resolver* resolver_ = nullptr;  // the application's; set by start()
  std::shared_ptr<boost::asio::ssl::context> client_tls_;
  std::unique_ptr<OutboxIndex> index_;
  OutboxLimits limits_;

  std::mutex mu_;  // guards entries_ and every Entry's mutable state, active_
  std::map<std::string, EntryPtr> entries_;
  std::map<std::string, std::size_t> active_;  // destination -> deliveries running
  std::size_t active_total_ = 0;

  bool serving_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
};

}  // namespace tern::spool
