// store/directory: domains, mailslots (mailboxes and archives) and aliases, in data_dir/tern.db.
//
// The CLI and the server open the same file; SQLite's WAL mode and busy timeout let both work at once.
// Every change commits with synchronous=FULL before the call returns (principle 1). Addresses are
// stored lower-cased (ASCII), as Postfix and Dovecot compare them. Thread-safe (one mutex).
#pragma once
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

enum class SlotKind { mailbox, archive };
std::string_view kind_name(SlotKind k);

struct Mailslot {
  std::string address;
  SlotKind kind = SlotKind::mailbox;
  std::string password_hash;  // crypt(3) string; empty for archives
};

// Lower-cases the ASCII letters of an address (the local part too: Tern treats local parts
// case-insensitively, like Postfix's lookup tables).
std::string normalize_address(std::string_view address);
// The domain of "local@domain" (after the last '@'), or "".
std::string domain_of(std::string_view address);

class Directory {
 public:
  static Result<std::unique_ptr<Directory>> open(const std::filesystem::path& db_file);
  ~Directory();

  Status add_domain(std::string_view name);
  Status del_domain(std::string_view name);
  std::vector<std::string> domains();
  bool is_local_domain(std::string_view name);

  Status add_mailslot(std::string_view address, SlotKind kind, std::string_view password_hash);
  Status del_mailslot(std::string_view address, SlotKind kind);
  Status set_password(std::string_view address, std::string_view password_hash);
  std::optional<Mailslot> find_mailslot(std::string_view address);
  std::vector<Mailslot> mailslots(SlotKind kind);
  // The mailbox (not archive) created first in `domain`, or in any domain when `domain` is "".
  std::optional<std::string> first_mailbox(std::string_view domain);

  Status add_alias(std::string_view address, const std::vector<std::string>& targets);
  Status del_alias(std::string_view address);
  std::vector<std::string> alias_targets(std::string_view address);  // empty: not an alias
  std::map<std::string, std::vector<std::string>> aliases();

  // PRAGMA integrity_check: "" when healthy, else what SQLite reported.
  std::string integrity_problems();

 private:
  explicit Directory(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
  std::mutex mu_;
};

}  // namespace tern::store
