// filter/greylist: greylisting (docs/spam.md "Greylisting"), on with [filter] greylisting = true.
//
// A triplet is (client network, envelope sender, recipient): the client's IPv4 /24 or IPv6 /64 (a
// sender's outbound servers share a network and retry from another one), the sender with postgrey's
// substitutions (VERP and BATV tags, +extensions and numbers in its local part, so each bounce or
// newsletter is not a new sender), the recipient. At RCPT an unknown triplet is refused with
// `450 4.7.1 ... try again in N seconds`; a retry from [greylist] delay on passes, and the triplet
// passes from then on. A triplet never retried is forgotten after `expire`, a passed one unseen for
// `retention`. After `auto_allow` messages that passed from one client network and sender domain,
// that pair skips greylisting (postgrey's auto-whitelist, per sender domain).
//
// Never greylisted: authenticated sessions, the submission listeners, postmaster@ and abuse@ (RFC 5321
// 4.5.1, RFC 2142), clients and senders on [spam] allow, and a client that passes every check of
// [greylist] skip_if (forward-confirmed reverse DNS, SPF pass for the sender): a verified sender is
// not an "unknown sender".
//
// Durability: data_dir/greylist.db, SQLite in WAL mode with synchronous=NORMAL. A transaction is
// atomic and the file is never damaged by a crash of the process (WAL); a power cut may lose the
// last transactions, which only makes a sender wait once more: nothing acknowledged depends on a
// triplet (the sender keeps the message queued). FULL would put an fsync on every new triplet of the
// MX's RCPT path. A damaged file is set aside in lost+found with a note and a new one started
// (principle 2). A database that cannot be used lets mail through (logged): greylisting is a filter,
// never a reason to refuse mail for good.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/thread_pool.hpp>

#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "filter/filter.hpp"

namespace tern::store {
class Db;
}

namespace tern::filter {

namespace greylist {

struct Settings {  // seconds
  std::int64_t delay = 300, expire = 86400, retention = 35 * 86400;
  std::uint32_t auto_allow = 5;
  static Settings from(const config::Config& cfg);
};

struct Entry {
  std::int64_t first_seen = 0, last_seen = 0;  // Unix seconds
  bool passed = false;                         // a retry came after the delay
};

struct Decision {
  bool pass = false;
  std::int64_t wait = 0;  // not passed: seconds until a retry passes
  Entry entry;            // the triplet as it is to be kept
  bool write = false;     // entry differs from what is kept (a pass only refreshes last_seen hourly)
  bool confirmed = false;  // this retry is the one that passed
};

// The rule itself: `kept` is the triplet's row, if any.
Decision decide(const std::optional<Entry>& kept, std::int64_t now, const Settings& s);

// postgrey's sender substitutions: lower case; "prvs=tag=" (BATV) and "+extension" removed from the
// local part, runs of digits there replaced by '#'. The null sender is "<>".
std::string normalize_sender(std::string_view sender);

// "network/sender/recipient" and "network/sender-domain".
std::string triplet_key(std::string_view network, std::string_view sender, std::string_view recipient);
std::string client_key(std::string_view network, std::string_view sender);

// data_dir/greylist.db. Thread-safe (one connection behind a mutex); blocking: call from the pool.
class Database {
 public:
  Database(std::filesystem::path file, std::filesystem::path lost_found);
  ~Database();
  struct Answer {
    Decision decision;
    bool auto_allowed = false;  // the client network + sender domain passed auto_allow messages
  };
  Result<Answer> check(std::string_view triplet, std::string_view client, std::int64_t now, const Settings& s);
  // A message passed: counts for the client's auto-allow.
  Status passed(std::string_view client, std::int64_t now);

 private:
  void open();     // caller holds mu_
  void cleanup(std::int64_t now, const Settings& s);
  Error trouble(const char* what, const std::exception& e);  // logs; sets a damaged file aside
  std::filesystem::path file_, lost_found_;
  std::mutex mu_;
  std::unique_ptr<store::Db> db_;
  std::int64_t next_cleanup_ = 0;
};

}  // namespace greylist

class GreylistStage : public Stage {
 public:
  GreylistStage(dns::Resolver* resolver, boost::asio::thread_pool& pool) : resolver_(resolver), pool_(pool) {}
  ~GreylistStage() override;
  std::string_view name() const override { return "greylist"; }
  net::awaitable<Verdict> rcpt(const Context& ctx) override;
  net::awaitable<Verdict> data(const Context& ctx) override;

 private:
  // Why this recipient is not greylisted ("" when it is to be checked).
  net::awaitable<std::string> exempt(const Context& ctx);
  greylist::Database& database(const config::Config& cfg);  // data_dir/greylist.db, opened at first use
  dns::Resolver* resolver_;
  boost::asio::thread_pool& pool_;
  std::mutex mu_;
  std::unique_ptr<greylist::Database> db_;
};

}  // namespace tern::filter
