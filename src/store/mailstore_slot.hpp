// store/mailstore_slot: one open mailslot (its directory, index connection and lock); internal to
// the mailstore's .cpp files.
//
// Locking: `mu` guards the index connection and the folder maps. Message files are written to tmp/ and
// fsync'd before taking it; renames, links and index changes happen under it; the folders' directory
// fsyncs (group commit) run after it is released, so concurrent deliveries share them.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "store/db.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::store {

// The contents of a folder's .folder file.
struct FolderFile {
  std::int64_t uidvalidity = 0;
  std::string special_use;
};

std::int64_t now_seconds();
// The part of a message the index keeps for header fetches: the header through its empty line, or ""
// when that is longer than the cache takes.
std::string_view cached_header(std::string_view content);
// "17.1b2c.3" -> uid 17, tag "1b2c.3"; nullopt when the name is not a message file.
std::optional<std::pair<std::uint32_t, std::string>> parse_message_name(std::string_view name);
std::optional<FolderFile> read_folder_file(const std::filesystem::path& fdir);
// Writes .folder atomically (tmp + rename; the caller fsyncs the folder directory).
void write_folder_file(const std::filesystem::path& fdir, std::string_view name, const FolderFile& f);
// Flags as stored: space-separated, no duplicates (system flags compare case-insensitively, keywords too).
std::string join_flags(const std::vector<std::string>& flags);
std::vector<std::string> split_flags(std::string_view flags);
bool has_flag(std::string_view flags, std::string_view flag);

struct Mailstore::Slot {
  std::filesystem::path dir;
  std::unique_ptr<Db> db;
  std::mutex mu;
  std::atomic<std::uint64_t> version{0};
  // The index was missing or damaged at open while folders existed: folders get new UIDVALIDITYs.
  bool rebuilding = false;
  std::map<std::string, std::int64_t> folder_ids;                      // name -> id, filled lazily
  std::map<std::string, std::shared_ptr<DirSyncer>> folder_syncers;    // group commit per folder

  std::shared_ptr<DirSyncer> syncer(std::string_view folder);  // caller holds mu
  std::filesystem::path folder_dir(std::string_view folder) const;
  // The folder's id, creating folder directory, .folder file and row as needed. Caller holds mu.
  std::int64_t folder_id(std::string_view folder, std::string_view special_use = "");
  // The folder's id when it exists (in the index). Caller holds mu.
  std::optional<std::int64_t> find_folder(std::string_view folder);
  // A UIDVALIDITY no folder of this mailslot had: max(now, highest + 1). Caller holds mu.
  std::int64_t new_uidvalidity(std::int64_t at_least = 0);
  // Adds one to the folder's HIGHESTMODSEQ and returns it. Caller holds mu, inside a transaction.
  std::uint64_t next_modseq(std::int64_t fid);
  // The octets of all its messages, every folder (what a quota counts). Caller holds mu.
  std::uint64_t octets();
  // Forget cached ids and syncers of folders (after a rename or delete). Caller holds mu.
  void forget_folders();
  // Compares index and files of every folder on disk; with repair, makes the index match the files.
  // verify (tern check): also compares each file's size and checksum with its row (reading every
  // file); with repair, a damaged message gets a new UID and undecodable folder names go to
  // lost+found. Caller holds mu.
  void reconcile(bool repair, CheckReport& report, const std::function<std::string(std::string_view)>& summarizer,
                 bool verify = false);
};

}  // namespace tern::store
