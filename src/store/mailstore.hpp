// store/mailstore: mailslots on disk: immutable message files plus a per-mailslot index.
//
// Layout under data_dir/mail/boxes/<domain>/<local>/ (names percent-encoded):
//   index.db                 SQLite (WAL, synchronous=FULL): folders (name, UIDVALIDITY, UIDNEXT,
//                            HIGHESTMODSEQ, special use), messages (uid, size, internal date, flags,
//                            MODSEQ, From, Subject, origin, cached IMAP summary and header block),
//                            expunged (uid, MODSEQ:
//                            what QRESYNC's VANISHED reports), subscriptions
//   tmp/                     files being written; folders being deleted
//   folders/<name>/.folder   "uidvalidity N", the folder's name and its special use (RFC 6154)
//   folders/<name>/<uid>.<tag>  one message each, CRLF line ends (a bare LF is stored as CRLF, so the
//                            indexed size is what POP3 and IMAP send); tag = delivery origin or a unique id
//
// Files are the truth for messages (DESIGN.md principle 2): a message's UID is in its file name, so a
// lost or damaged index is rebuilt from the files with the same UIDs. Flags, MODSEQs and subscriptions
// live only in the index: a rebuild loses them, and so it gives every folder a new UIDVALIDITY (written
// to its .folder file), which tells IMAP clients to forget what they cached (RFC 9051 2.3.1.1). The
// first open of a mailslot in a process reconciles index and files (a row without a file is dropped, a
// file without a row is added).
//
// Durability: every change is on disk before the call returns. deliver()/append: each message file
// fsync'd in tmp/, renamed into its folder, the folder fsync'd (group commit), the index row committed
// (synchronous=FULL when the messages carry flags; without flags the row is not fsync'd: the file is the
// truth, a lost row is added again from it at the next open, with a MODSEQ above any a lost commit
// could have given out). Flag changes, expunges, copies, moves and folder changes likewise commit before
// returning. A crash in between leaves a file without a row (added at the next open) or a row without a
// file (dropped), never a half message. Deliveries carry an origin (queue id + recipient index); a
// second delivery with an origin already stored is skipped, so a crash between the mailbox write and the
// spool's bookkeeping never duplicates local mail.
//
// Every function is thread-safe and blocking (fsync): never call one on an event loop.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <type_traits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/message_stream.hpp"

namespace tern::store {

struct MessageEntry {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;  // unix seconds
  std::string flags;               // space-separated IMAP flags
  std::string from;                // decoded From: header
  std::string subject;             // decoded Subject: header
  std::string file;                // file name inside the folder
  std::uint64_t modseq = 0;        // RFC 7162: the last change of this message (flags or arrival)
};

struct NewMessage {
  std::string_view content;
  std::string origin;           // deduplication key; "" for none
  std::string flags;            // space-separated, as stored (APPEND)
  std::int64_t internal_date = 0;  // unix seconds; 0: now
};

struct FolderInfo {
  std::string name;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highestmodseq = 0;
  std::string special_use;  // "\\Sent" etc., or ""
  std::uint32_t messages = 0, unseen = 0, deleted = 0;
  std::uint32_t recent = 0;  // messages no IMAP4rev1 session has seen as \Recent yet (STATUS RECENT)
  std::uint64_t size = 0;   // octets of all messages (STATUS SIZE, RFC 8438)
};

enum class FlagMode { replace, add, remove };

struct FlagChange {
  std::uint32_t uid = 0;
  std::string flags;
  std::uint64_t modseq = 0;
};

struct StoreResult {
  std::vector<FlagChange> changed;       // messages whose flags changed (new MODSEQ)
  std::vector<FlagChange> unchanged;     // messages that already had the asked flags (current MODSEQ)
  std::vector<std::uint32_t> modified;   // UNCHANGEDSINCE failed (RFC 7162 3.1.3)
};

struct CopyResult {
  std::uint32_t uidvalidity = 0;  // of the target folder (COPYUID, RFC 4315)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> uids;  // source UID -> new UID, source order
};

struct Changes {
  std::uint64_t highestmodseq = 0;
  std::vector<MessageEntry> changed;      // messages with MODSEQ > since: new ones or changed flags
  std::vector<std::uint32_t> expunged;    // UIDs expunged with MODSEQ > since, ascending
};

// A folder's state and its messages' (without From/Subject/file), as IMAP's SELECT needs them.
struct Snapshot {
  FolderInfo folder;  // counts other than `messages` not filled
  std::vector<MessageEntry> messages;  // uid, size, internal_date, flags, modseq; ascending UID
};

// The folders every new mailbox gets (RFC 6154 special use), besides INBOX.
struct DefaultFolder {
  const char* name;
  const char* special_use;
};
inline constexpr DefaultFolder default_folders[] = {
    {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"}, {"Junk", "\\Junk"}, {"Trash", "\\Trash"}, {"Archive", "\\Archive"}};

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
  // quota (octets, all folders; 0: none): when the messages not stored yet (a repeated origin is not
  // counted again) would take the mailslot past it, nothing is stored and the error is over_quota
  // (its text fit for the sender; the figures go to the log).
  // Checked under the mailslot's lock, so concurrent deliveries cannot pass it together.
  Result<std::vector<std::uint32_t>> deliver(std::string_view address, std::string_view folder,
                                             const std::vector<NewMessage>& messages, std::uint64_t quota = 0);
  Result<std::vector<MessageEntry>> list(std::string_view address, std::string_view folder);
  // Removes the messages durably (files unlinked, rows deleted, folder fsync'd) before returning.
  // UIDs that do not exist are ignored. Returns how many were removed.
  Result<std::size_t> expunge(std::string_view address, std::string_view folder,
                              const std::vector<std::uint32_t>& uids);
  Result<std::string> read(std::string_view address, std::string_view folder, std::uint32_t uid);
  // The message, open for reading without a copy (what imapd and pop3d read through); not_found when
  // the UID is not there or its file is gone (expunged meanwhile).
  Result<std::shared_ptr<MessageStream>> open_message(std::string_view address, std::string_view folder,
                                                      std::uint32_t uid);
  // The message file's path, for the store's own tests and tools; protocol modules use open_message.
  Result<std::filesystem::path> path_of(std::string_view address, std::string_view folder, std::uint32_t uid);

  // --- IMAP: folders (the hierarchy delimiter is '/'; names are UTF-8) ---------------------------
  Result<std::vector<FolderInfo>> folders(std::string_view address);  // sorted by name, with counts
  Result<FolderInfo> folder(std::string_view address, std::string_view name);  // not_found
  Status create_folder(std::string_view address, std::string_view name, std::string_view special_use = "");  // exists
  // Removes the folder and its messages durably (children, "name/...", stay). not_found.
  Status delete_folder(std::string_view address, std::string_view name);
  // Renames the folder and its children ("from/x" -> "to/x"), keeping UIDs and UIDVALIDITY. INBOX is
  // special (RFC 9051 6.3.6): its messages move to the new folder, INBOX stays, empty.
  Status rename_folder(std::string_view address, std::string_view from, std::string_view to);
  // Creates each default folder whose special use no folder has yet (and INBOX).
  Status ensure_default_folders(std::string_view address);
  Result<std::vector<std::string>> subscriptions(std::string_view address);
  Status subscribe(std::string_view address, std::string_view name, bool on);

  // --- IMAP: messages ----------------------------------------------------------------------------
  Result<StoreResult> store_flags(std::string_view address, std::string_view folder,
                                  const std::vector<std::uint32_t>& uids, FlagMode mode,
                                  const std::vector<std::string>& flags,
                                  std::optional<std::uint64_t> unchangedsince = std::nullopt);
  // Copies (hard links: message files are immutable) or moves messages into another folder, durably;
  // a move records the expunges in the source (MODSEQ) like expunge() does. not_found for a missing
  // target folder.
  Result<Snapshot> snapshot(std::string_view address, std::string_view folder);  // not_found
  // \Recent (RFC 3501 2.3.2): one session per message gets it. Returns the first UID not yet claimed
  // by any session; with `claim`, this session takes every UID up to `through_uid` (Dovecot's
  // first_recent_uid). Losing a claim in a crash only shows a message as recent once more.
  Result<std::uint32_t> recent_from(std::string_view address, std::string_view folder, std::uint32_t through_uid,
                                    bool claim);
  Result<CopyResult> copy(std::string_view address, std::string_view from, const std::vector<std::uint32_t>& uids,
                          std::string_view to, bool move);
  Result<Changes> changes_since(std::string_view address, std::string_view folder, std::uint64_t since);
  // Cached per-message data (the IMAP summary: ENVELOPE, BODYSTRUCTURE, sort keys); "" when not cached.
  Result<std::vector<std::string>> summaries(std::string_view address, std::string_view folder,
                                             const std::vector<std::uint32_t>& uids);
  // The cached header blocks (through the empty line) of messages; "" when not cached (too long).
  Result<std::vector<std::string>> headers(std::string_view address, std::string_view folder,
                                           const std::vector<std::uint32_t>& uids);
  Status set_summaries(std::string_view address, std::string_view folder,
                       const std::vector<std::pair<std::uint32_t, std::string>>& summaries);
  // Octets stored in all folders (QUOTA STORAGE, RFC 9208).
  Result<std::uint64_t> usage(std::string_view address);
  // Counts every committed change of the mailslot in this process: a session polls it (cheap, no I/O)
  // to learn that it should look for changes (IDLE, RFC 2177).
  std::uint64_t version(std::string_view address);
  // Makes the summaries at delivery (set by the application: the store does not know IMAP).
  void set_summarizer(std::function<std::string(std::string_view)> f) { summarizer_ = std::move(f); }

  // Verifies every mailslot's index against its files. With repair, fixes what it finds (also the
  // rebuild of an unreadable index); without, only reports (and changes nothing).
  CheckReport check(bool repair);

  std::filesystem::path slot_dir(std::string_view address) const;

  // Takes a mailslot's mail out of service when its owner is deleted, so that a mailslot made later
  // with the same address starts empty (never with the previous owner's mail). keep: the folder is
  // moved to data_dir/mail/deleted/<domain>/<local>.<unix time> (kept until the operator removes it);
  // otherwise it is removed for good. Returns where it went, "" when removed or when there was none.
  // Sessions still holding the slot keep a valid object (retired, not destroyed).
  Result<std::string> retire(std::string_view address, bool keep);

  struct Slot;  // internal (store/mailstore_slot.hpp)

 private:
  Result<Slot*> open_slot(std::string_view address);
  template <typename F>
  auto in_folder(std::string_view address, std::string_view folder, F f)
      -> Result<std::invoke_result_t<F, Slot&, std::int64_t>>;

  std::filesystem::path root_;
  bool owner_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> retired_;  // slots of deleted mailslots: alive for their last users
  std::function<std::string(std::string_view)> summarizer_;
};

// Percent-encodes a name for use as one path component ("Sent Items" -> "Sent%20Items").
std::string encode_path_component(std::string_view name);
// nullopt when the name holds an invalid escape (a folder made by hand, say).
std::optional<std::string> decode_path_component(std::string_view name);

// A folder is one directory named encode_path_component(its full name), which the file system
// allows up to NAME_MAX bytes (docs/imap.md "Limits"). check_folder_name: an Error of kind limit for
// a longer name (Mailstore::create_folder and rename_folder check it before changing anything).
inline constexpr std::size_t max_folder_dir_name = 255;
Status check_folder_name(std::string_view name);

}  // namespace tern::store
