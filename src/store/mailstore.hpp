// store/mailstore: mailslots on disk: immutable message files plus a per-mailslot index (a cache).
//
// Layout under data_dir/mail/boxes/<domain>/<local>/ (names percent-encoded):
//   index.db                 SQLite: folders (name, UIDVALIDITY, UIDNEXT) and messages (uid, size,
//                            internal date, flags, From, Subject, origin); WAL, synchronous=NORMAL
//   tmp/                     files being written
//   folders/<name>/.folder   "uidvalidity N" and the folder's name, written once at creation
//   folders/<name>/<uid>.<tag>  one message each, CRLF line ends (a bare LF is stored as CRLF, so the
//                            indexed size is what POP3 and IMAP send); tag = delivery origin or a unique id
//
// Files are the truth (DESIGN.md principle 2): a message's UID is in its file name and the folder's
// UIDVALIDITY in its .folder file, so a lost or damaged index is rebuilt from the files with the same
// UIDs and UIDVALIDITY; only flags are lost then. The first open of a mailslot in a process reconciles
// index and files (an index row without a file is dropped, a file without a row is added).
//
// Durability: deliver() returns only after each message file was fsync'd, renamed into its folder and
// the folder fsync'd; the index row follows in the same critical section. A crash in between leaves a
// file without a row, which the next open adds. Deliveries carry an origin (queue id + recipient
// index); a second delivery with an origin already stored is skipped, so a crash between the mailbox
// write and the spool's bookkeeping never duplicates local mail.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::store {

struct MessageEntry {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;  // unix seconds
  std::string flags;               // space-separated IMAP flags
  std::string from;                // decoded From: header
  std::string subject;             // decoded Subject: header
  std::string file;                // file name inside the folder
};

struct NewMessage {
  std::string_view content;
  std::string origin;  // deduplication key; "" for none
};

struct CheckReport {
  std::size_t mailslots = 0;
  std::size_t messages = 0;
  std::size_t rows_added = 0;    // files found without an index row
  std::size_t rows_dropped = 0;  // index rows without a file
  std::size_t indexes_rebuilt = 0;
  std::vector<std::string> problems;  // unhealthy: `tern check` exits 1
  std::vector<std::string> notes;     // healthy states a crash leaves, healed at the next open
};

class Mailstore {
 public:
  // owner: the serving process (the only writer of tmp/ files, so it may remove leftovers); the CLI
  // opens with owner = false.
  Mailstore(std::filesystem::path root, bool owner);
  ~Mailstore();

  // Stores the messages in `folder` of the mailslot (creating folder and mailslot directory as needed).
  // Returns one UID per message, in order. Thread-safe; blocking (fsync): never call on an event loop.
  Result<std::vector<std::uint32_t>> deliver(std::string_view address, std::string_view folder,
                                             const std::vector<NewMessage>& messages);
  Result<std::vector<MessageEntry>> list(std::string_view address, std::string_view folder);
  // Removes the messages durably (files unlinked, rows deleted, folder fsync'd) before returning.
  // UIDs that do not exist are ignored. Returns how many were removed.
  Result<std::size_t> expunge(std::string_view address, std::string_view folder,
                              const std::vector<std::uint32_t>& uids);
  Result<std::string> read(std::string_view address, std::string_view folder, std::uint32_t uid);

  // Verifies every mailslot's index against its files. With repair, fixes what it finds (also the
  // rebuild of an unreadable index); without, only reports (and changes nothing).
  CheckReport check(bool repair);

  std::filesystem::path slot_dir(std::string_view address) const;

 private:
  struct Slot;
  Result<Slot*> open_slot(std::string_view address);

  std::filesystem::path root_;
  bool owner_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

// Percent-encodes a name for use as one path component ("Sent Items" -> "Sent%20Items").
std::string encode_path_component(std::string_view name);
std::string decode_path_component(std::string_view name);

}  // namespace tern::store
