// store/directory: domains, mailslots (mailboxes and archives) and aliases, in data_dir/tern.db.
//
// The CLI and the server open the same file; SQLite's WAL mode and busy timeout let both work at once.
// Every change commits with synchronous=FULL before the call returns (principle 1). Addresses are
// stored lower-cased (ASCII), as Postfix and Dovecot compare them. Thread-safe (one mutex).
//
// The directory is what tells local mail from remote mail, so an empty one is dangerous: a server
// started on it would route queued local mail as remote and bounce it. Therefore only create() (used
// by `tern init`) makes a new database; open() refuses a missing, empty or foreign file. After every
// change a consistent copy is written to tern.db.bak (SQLite's VACUUM INTO, fsync'd, renamed into
// place), from which `tern check --repair` restores a lost or damaged tern.db.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::store {

class Db;

// What a mailslot is; the spool's LocalDelivery chain is chosen by it. `list` is reserved for the
// mailing lists (the table's CHECK accepts it from the schema version that adds them).
enum class SlotKind { mailbox, archive, list };
std::string_view kind_name(SlotKind k);
std::optional<SlotKind> parse_slot_kind(std::string_view name);

struct Mailslot {
  // The quota that applies (octets; 0: none): a mailbox's own, else `fallback` ([limits]
  // mailbox_quota); archives have none.
  std::uint64_t quota_or(std::uint64_t fallback) const {
    return kind == SlotKind::mailbox ? quota.value_or(fallback) : 0;
  }

  std::string address;
  SlotKind kind = SlotKind::mailbox;
  std::string password_hash;  // crypt(3) string; empty for archives
  bool admin = false;         // may use the web console and the admin API (a mailbox's role)
  // A mailbox's own quota in octets (all folders); nullopt: [limits] mailbox_quota applies; 0: none.
  std::optional<std::uint64_t> quota;
  // false: the user cannot log in (IMAP, POP3, SMTP AUTH, HTTP, API tokens); mail is still delivered,
  // as with Dovecot's `nologin` (a disabled account keeps receiving until it is deleted).
  bool enabled = true;
};

// A key for scripts using the API (`tern token add`): only its SHA-256 is stored, so a copy of the
// directory gives no access. A revoked token stays listed (with the time it was revoked) for the audit.
struct ApiToken {
  std::int64_t id = 0;
  std::string address;  // the administrator it acts for
  std::string name;     // the administrator's note ("backup script")
  std::string scope;    // "admin"
  std::int64_t created = 0;
  std::int64_t revoked = 0;  // unix time; 0: valid
};

// Lower-cases the ASCII letters of an address (the local part too: Tern treats local parts
// case-insensitively, like Postfix's lookup tables).
std::string normalize_address(std::string_view address);
// The domain of "local@domain" (after the last '@'), or "".
std::string domain_of(std::string_view address);

// What `tern check` finds at a directory database's path, without changing anything.
struct DirectoryHealth {
  enum class State { healthy, missing, empty, foreign, damaged } state = State::healthy;
  std::string detail;           // what SQLite said, for foreign and damaged
  std::size_t domains = 0, mailslots = 0, aliases = 0;  // when healthy
  bool usable() const { return state == State::healthy; }
  std::string describe() const;  // "missing", "empty (0 bytes)", "damaged: ..."
};
DirectoryHealth inspect_directory(const std::filesystem::path& db_file);
// The backup beside a directory database: tern.db -> tern.db.bak.
std::filesystem::path backup_path(const std::filesystem::path& db_file);
// Replaces an unusable db_file by its backup (the old file and its -wal/-shm set aside with the suffix
// ".damaged-<unix time>", never deleted); returns a sentence saying what was done.
Result<std::string> restore_directory(const std::filesystem::path& db_file);

class Directory {
 public:
  // Opens an existing directory database; never creates one. Kind not_found: no file or an empty one;
  // invalid: a database without Tern's schema; failed: damaged or unreadable.
  static Result<std::unique_ptr<Directory>> open(const std::filesystem::path& db_file);
  // Creates a new directory database (`tern init`), or opens the existing one.
  static Result<std::unique_ptr<Directory>> create(const std::filesystem::path& db_file);
  ~Directory();
  // Writes tern.db.bak from the current state (done after every change; public for check --repair).
  Status backup();

  Status add_domain(std::string_view name);
  // Refused (in_use, naming them) while mailslots or aliases of the domain exist.
  Status del_domain(std::string_view name);
  std::vector<std::string> domains();
  bool is_local_domain(std::string_view name);

  Status add_mailslot(std::string_view address, SlotKind kind, std::string_view password_hash, bool admin = false);
  Status set_admin(std::string_view address, bool admin);  // a mailbox's administrator role
  Status del_mailslot(std::string_view address, SlotKind kind);
  Status set_password(std::string_view address, std::string_view password_hash);
  Status set_quota(std::string_view address, std::optional<std::uint64_t> quota);  // a mailbox's; nullopt: default
  Status set_enabled(std::string_view address, bool enabled);                     // a mailbox's login
  // Several of a mailbox's fields at once, in one statement: all of them change or none (a change
  // without any field only checks that the mailbox exists).
  struct MailboxChange {
    std::optional<std::string> password_hash;
    std::optional<std::optional<std::uint64_t>> quota;  // nullopt inside: the server's default
    std::optional<bool> enabled, admin;
  };
  Status change_mailbox(std::string_view address, const MailboxChange& change);
  std::optional<Mailslot> find_mailslot(std::string_view address);
  std::vector<Mailslot> mailslots(SlotKind kind);
  // The mailbox (not archive) created first in `domain`, or in any domain when `domain` is "".
  std::optional<std::string> first_mailbox(std::string_view domain);

  Status add_alias(std::string_view address, const std::vector<std::string>& targets);
  // Replaces an existing alias's targets (in one transaction); not_found when it is no alias.
  Status set_alias(std::string_view address, const std::vector<std::string>& targets);
  Status del_alias(std::string_view address);
  std::vector<std::string> alias_targets(std::string_view address);  // empty: not an alias
  std::map<std::string, std::vector<std::string>> aliases();

  // API tokens. `hash` is the token's SHA-256 in hex; the token itself is never stored.
  Result<std::int64_t> add_api_token(std::string_view address, std::string_view name, std::string_view scope,
                                     std::string_view hash);
  std::vector<ApiToken> api_tokens();
  Status revoke_api_token(std::int64_t id);
  // The valid (not revoked) token with this hash.
  std::optional<ApiToken> find_api_token(std::string_view hash);

  // PRAGMA integrity_check: "" when healthy, else what SQLite reported.
  std::string integrity_problems();

 private:
  explicit Directory(std::unique_ptr<Db> db);
  static Result<std::unique_ptr<Directory>> open_db(const std::filesystem::path& db_file, bool create);
  template <typename F>
  Status change(F&& f);  // runs f under the mutex; after a success, refreshes the backup
  Status backup_locked();
  std::unique_ptr<Db> db_;
  std::mutex mu_;
};

}  // namespace tern::store
