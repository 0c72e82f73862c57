#include "store/mailstore.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "mime/headers.hpp"
#include "mime/text.hpp"
#include "store/db.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"
#include "base/checksum.hpp"
#include "store/mailstore_slot.hpp"

namespace tern::store {
namespace fs = std::filesystem;

namespace {

constexpr const char* index_schema = R"(
CREATE TABLE IF NOT EXISTS folders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1,
  highestmodseq INTEGER NOT NULL DEFAULT 1,
  special_use TEXT NOT NULL DEFAULT '',
  first_recent_uid INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS messages(
  folder INTEGER NOT NULL REFERENCES folders(id),
  uid INTEGER NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  flags TEXT NOT NULL DEFAULT '',
  origin TEXT NOT NULL DEFAULT '',
  hdr_from TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  modseq INTEGER NOT NULL DEFAULT 1,
  summary BLOB,
  header BLOB,
  crc INTEGER,
  PRIMARY KEY(folder, uid));
CREATE INDEX IF NOT EXISTS messages_origin ON messages(origin) WHERE origin != '';
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(folder, modseq);
CREATE TABLE IF NOT EXISTS expunged(
  folder INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY(folder, uid));
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder, modseq);
CREATE TABLE IF NOT EXISTS subscriptions(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
PRAGMA user_version = 5;
)";
constexpr int index_schema_version = 5;  // 5: folders.first_recent_uid

// Brings an index of an older layout up to this one without losing flags or MODSEQs, where a column
// was only added (3 -> 4: crc). Older ones are set aside by the caller and rebuilt from the files.
// Returns false when the index is older than any migration knows.
bool migrate_index(Db& db) {
  std::int64_t version;
  bool has_messages;
  {
    Stmt ver(db.raw(), "PRAGMA user_version");
    ver.step();
    version = ver.col_int(0);
    Stmt tables(db.raw(), "SELECT count(*) FROM sqlite_master WHERE name = 'messages'");
    tables.step();
    has_messages = tables.col_int(0) > 0;
  }
  if (!has_messages || version >= index_schema_version) return true;
  if (version < 3) return false;
  // Another process may migrate the same index at this moment: look again inside the transaction.
  Tx tx(db);
  bool has_crc = false;
  {
    Stmt cols(db.raw(), "SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'crc'");
    cols.step();
    has_crc = cols.col_int(0) > 0;
  }
  if (!has_crc) db.exec("ALTER TABLE messages ADD COLUMN crc INTEGER");
  bool has_recent = false;
  {
    Stmt cols(db.raw(), "SELECT count(*) FROM pragma_table_info('folders') WHERE name = 'first_recent_uid'");
    cols.step();
    has_recent = cols.col_int(0) > 0;
  }
  if (!has_recent) {
    // Mail that was there before the upgrade is not new to anyone.
    db.exec("ALTER TABLE folders ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1");
    db.exec("UPDATE folders SET first_recent_uid = uidnext");
  }
  db.exec(fmt::format("PRAGMA user_version = {}", index_schema_version));
  tx.commit();
  return true;
}

// The header block (through the empty line) kept in the index, so that header fetches (an IMAP
// client's message list) open no message file. Unusually long headers are read from the file.
constexpr std::size_t max_cached_header = 16 * 1024;

}  // namespace

std::string_view cached_header(std::string_view content) {
  auto end = content.substr(0, max_cached_header).find("\r\n\r\n");
  if (end == std::string_view::npos) return {};
  return content.substr(0, end + 4);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "17.1b2c.3" -> uid 17, tag "1b2c.3"; nullopt when the name is not a message file.
std::optional<std::pair<std::uint32_t, std::string>> parse_message_name(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  auto uid = parse_u64(name.substr(0, dot));
  if (!uid || *uid == 0 || *uid > 0xffffffffu) return std::nullopt;
  return std::make_pair(static_cast<std::uint32_t>(*uid), std::string(name.substr(dot + 1)));
}

namespace {

struct HeaderSummary {
  std::string from, subject;
};

HeaderSummary summarize(std::string_view content) {
  auto fields = mime::parse_header(content, 200);
  return {mime::decode_header(mime::first_value(fields, "From")),
          mime::decode_header(mime::first_value(fields, "Subject"))};
}

}  // namespace

std::string encode_path_component(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '+' || c == '@' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::optional<std::string> decode_path_component(std::string_view name) {
  std::string out;
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    // Names on disk come from encode_path_component, but the data directory is the operator's: a
    // folder made by hand ("%zz", a lone '%') is reported, never a crash.
    int hi = i + 2 < name.size() ? hex(name[i + 1]) : -1, lo = i + 2 < name.size() ? hex(name[i + 2]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<FolderFile> read_folder_file(const fs::path& fdir) {
  try {
    auto text = read_file(fdir / ".folder");
    FolderFile f;
    bool have = false;
    for (auto line : split(text, '\n')) {
      if (line.starts_with("uidvalidity ")) {
        if (auto v = parse_u64(line.substr(12))) {
          f.uidvalidity = static_cast<std::int64_t>(*v);
          have = true;
        }
      } else if (line.starts_with("special-use ")) {
        f.special_use = std::string(line.substr(12));
      }
    }
    if (have) return f;
  } catch (const std::system_error& e) {
    // Missing (a new folder) or unreadable: the folder is recovered from its messages either way.
    if (e.code() != std::errc::no_such_file_or_directory) log::warn("{}: {}", (fdir / ".folder").string(), e.what());
  }
  return std::nullopt;
}

void write_folder_file(const fs::path& fdir, std::string_view name, const FolderFile& f) {
  auto tmp = fdir / (".folder." + make_unique_id());
  std::string text = fmt::format("uidvalidity {}\nname {}\n", f.uidvalidity, name);
  if (!f.special_use.empty()) text += fmt::format("special-use {}\n", f.special_use);
  write_file_synced(tmp.string() + ".w", tmp, text);
  fs::rename(tmp, fdir / ".folder");
}

namespace {

bool flag_equal(std::string_view a, std::string_view b) { return iequals(a, b); }

}  // namespace

std::vector<std::string> split_flags(std::string_view flags) {
  std::vector<std::string> out;
  for (auto f : split(flags, ' '))
    if (!f.empty()) out.emplace_back(f);
  return out;
}

std::string join_flags(const std::vector<std::string>& flags) {
  std::vector<std::string> kept;
  for (auto& f : flags) {
    if (f.empty()) continue;
    bool dup = false;
    for (auto& k : kept) dup = dup || flag_equal(k, f);
    if (!dup) kept.push_back(f);
  }
  std::string out;
  for (auto& k : kept) {
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

bool has_flag(std::string_view flags, std::string_view flag) {
  for (auto f : split(flags, ' '))
    if (flag_equal(f, flag)) return true;
  return false;
}

std::shared_ptr<DirSyncer> Mailstore::Slot::syncer(std::string_view folder) {
  auto& s = folder_syncers[std::string(folder)];
  if (!s) s = std::make_shared<DirSyncer>(folder_dir(folder));
  return s;
}

fs::path Mailstore::Slot::folder_dir(std::string_view folder) const {
  return dir / "folders" / encode_path_component(folder);
}

std::optional<std::int64_t> Mailstore::Slot::find_folder(std::string_view folder) {
  if (auto it = folder_ids.find(std::string(folder)); it != folder_ids.end()) return it->second;
  Stmt sel(db->raw(), "SELECT id FROM folders WHERE name = ?");
  if (sel.bind(1, folder).step()) return folder_ids[std::string(folder)] = sel.col_int(0);
  return std::nullopt;
}

std::int64_t Mailstore::Slot::new_uidvalidity(std::int64_t at_least) {
  // RFC 9051 2.3.1.1: a name must never come back with a UIDVALIDITY it had before. Deleted folders
  // are gone from `folders`, so the highest value ever given is kept apart.
  std::int64_t highest = 0;
  {
    // Ended before the write below: a write from inside a read snapshot that another process has
    // moved past fails at once with SQLITE_BUSY (no busy wait).
    Stmt max(db->raw(),
             "SELECT max(coalesce((SELECT max(uidvalidity) FROM folders), 0), "
             "coalesce((SELECT value FROM meta WHERE key = 'uidvalidity'), 0))");
    max.step();
    highest = max.col_int(0);
  }
  auto v = std::max({now_seconds(), highest + 1, at_least});
  Stmt up(db->raw(), "INSERT OR REPLACE INTO meta(key, value) VALUES ('uidvalidity', ?)");
  up.bind(1, v).step();
  return v;
}

std::uint64_t Mailstore::Slot::next_modseq(std::int64_t fid) {
  Stmt up(db->raw(), "UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING highestmodseq");
  if (!up.bind(1, fid).step()) throw DbError("folder row vanished");
  return static_cast<std::uint64_t>(up.col_int(0));
}

std::uint64_t Mailstore::Slot::octets() {
  Stmt st(db->raw(), "SELECT coalesce(sum(size), 0) FROM messages");
  st.step();
  return static_cast<std::uint64_t>(st.col_int(0));
}

void Mailstore::Slot::forget_folders() {
  folder_ids.clear();
  folder_syncers.clear();  // holders keep theirs alive (shared_ptr) until their sync returns
}

std::int64_t Mailstore::Slot::folder_id(std::string_view folder, std::string_view special_use) {
  if (auto id = find_folder(folder)) return *id;
  auto fdir = folder_dir(folder);
  ensure_dir(fdir);
  FolderFile ff;
  if (auto existing = read_folder_file(fdir)) {
    ff = *existing;
    // A folder whose messages are on disk but not in the index (the index was lost, or a rename was
    // interrupted by a crash) lost its flags and MODSEQs.
    bool has_messages = false;
    for (auto& f : fs::directory_iterator(fdir))
      if (parse_message_name(f.path().filename().string())) {
        has_messages = true;
        break;
      }
    if (rebuilding || has_messages) {
      // Flags and MODSEQs were lost with the index: a new UIDVALIDITY tells clients to drop their
      // caches (RFC 9051 2.3.1.1). Same UIDs, so POP3's UIDLs do not change.
      ff.uidvalidity = new_uidvalidity(ff.uidvalidity + 1);
      write_folder_file(fdir, folder, ff);
      fsync_dir(fdir);
      log::warn("mailslot {}: folder {} rebuilt from its files: new UIDVALIDITY {}", dir.string(), folder,
                ff.uidvalidity);
    }
  } else {
    // Another process (the CLI, the server) may create the same folder at this moment: link() the
    // finished file into place, which fails if the other won; then both use the winner's value.
    ff.uidvalidity = new_uidvalidity();
    ff.special_use = std::string(special_use);
    auto tmp = fdir / (".folder." + make_unique_id());
    std::string text = fmt::format("uidvalidity {}\nname {}\n", ff.uidvalidity, folder);
    if (!ff.special_use.empty()) text += fmt::format("special-use {}\n", ff.special_use);
    write_file_synced(tmp.string() + ".w", tmp, text);
    bool won = ::link(tmp.c_str(), (fdir / ".folder").c_str()) == 0;
    ::unlink(tmp.c_str());
    fsync_dir(fdir);
    fsync_dir(fdir.parent_path());
    if (!won)
      if (auto other = read_folder_file(fdir)) ff = *other;
  }
  // OR IGNORE: another process may have added the row meanwhile (its UIDVALIDITY came from the same
  // .folder file).
  Stmt ins(db->raw(), "INSERT OR IGNORE INTO folders(name, uidvalidity, special_use) VALUES (?, ?, ?)");
  ins.bind(1, folder).bind(2, ff.uidvalidity).bind(3, ff.special_use).step();
  std::int64_t id;
  {
    Stmt again(db->raw(), "SELECT id FROM folders WHERE name = ?");
    if (!again.bind(1, folder).step()) throw DbError("folder row vanished: " + std::string(folder));
    id = again.col_int(0);
  }
  if (rebuilding) {
    // Nothing remembers subscriptions any more: subscribe every folder found.
    Stmt sub(db->raw(), "INSERT OR IGNORE INTO subscriptions(name) VALUES (?)");
    sub.bind(1, folder).step();
  }
  return folder_ids[std::string(folder)] = id;
}

namespace {

struct IndexRow {
  std::string file;
  std::uint64_t size = 0;
  std::optional<std::uint32_t> crc;  // absent in rows made before the index kept one
};

// "" when the message file matches its index row, else what is wrong. Reads the file only when the
// sizes agree and a CRC is there to compare.
std::string damage_of(const fs::path& file, const IndexRow& row) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec) return "unreadable: " + ec.message();
  if (size != row.size) return fmt::format("{} octets on disk, {} in the index", size, row.size);
  if (row.crc) {
    auto crc = crc32_of(read_file(file));
    if (crc != *row.crc)
      return fmt::format("content changed on disk (checksum {}, the index says {})", checksum_text(crc),
                         checksum_text(*row.crc));
  }
  return {};
}

}  // namespace

// A message file without an index row that is another name (a hard link) of a file of the same
// folder that has one: what a MOVE into the same folder (RFC 6851) leaves when killed between its
// commit and the unlink of the old name. Links elsewhere (a backup made with hard links) do not count.
namespace {
bool is_move_leftover(const fs::path& file, const std::vector<fs::directory_entry>& files,
                      const std::map<std::uint32_t, IndexRow>& rows) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || st.st_nlink < 2) return false;
  for (auto& other : files) {
    if (other.path() == file) continue;
    auto parsed = parse_message_name(other.path().filename().string());
    if (!parsed) continue;
    auto row = rows.find(parsed->first);
    if (row == rows.end() || row->second.file != other.path().filename().string()) continue;
    struct stat o {};
    if (::stat(other.path().c_str(), &o) == 0 && o.st_ino == st.st_ino && o.st_dev == st.st_dev) return true;
  }
  return false;
}
}  // namespace

void Mailstore::Slot::reconcile(bool repair, CheckReport& report,
                                const std::function<std::string(std::string_view)>& summarizer, bool verify) {
  auto folders_root = dir / "folders";
  if (!fs::exists(folders_root)) return;
  std::set<std::string> on_disk;
  for (auto& entry : fs::directory_iterator(folders_root)) {
    if (!entry.is_directory()) continue;
    auto decoded = decode_path_component(entry.path().filename().string());
    if (!decoded) {
      // Not a name Tern wrote (made by hand, or damaged): never served, never a crash.
      auto what = fmt::format("{}: folder directory name is not a valid encoded name", entry.path().string());
      if (repair && verify) {
        auto to = set_aside_in_lost_found(dir.parent_path().parent_path().parent_path() / "lost+found", entry.path(),
                                          what);
        report.notes.push_back(fmt::format("{}; moved to {}", what, to.string()));
      } else if (repair) {
        log::warn("{} (skipped; tern check --repair moves it to lost+found)", what);
      } else {
        report.problems.push_back(what + " (tern check --repair moves it to lost+found)");
      }
      continue;
    }
    auto name = *decoded;
    on_disk.insert(name);
    std::int64_t fid;
    if (repair) {
      fid = folder_id(name);
    } else {
      Stmt sel(db->raw(), "SELECT id FROM folders WHERE name = ?");
      if (!sel.bind(1, name).step()) {
        report.notes.push_back(fmt::format("{}: folder {} not yet in the index (added at next open)", dir.string(), name));
        continue;
      }
      fid = sel.col_int(0);
    }
    std::map<std::uint32_t, IndexRow> rows;
    {
      Stmt sel(db->raw(), "SELECT uid, file, size, crc FROM messages WHERE folder = ?");
      sel.bind(1, fid);
      while (sel.step()) {
        IndexRow r{sel.col_text(1), static_cast<std::uint64_t>(sel.col_int(2)), std::nullopt};
        if (!sel.col_null(3)) r.crc = static_cast<std::uint32_t>(sel.col_int(3));
        rows[static_cast<std::uint32_t>(sel.col_int(0))] = std::move(r);
      }
    }

    std::uint32_t max_uid = 0;
    std::set<std::uint32_t> seen;
    std::uint64_t modseq = 0;
    // Deliveries commit without an index fsync (their files are the truth), so a crash can lose
    // commits whose MODSEQs a client already saw: at most one per message file found without its row.
    // The re-added rows get a MODSEQ above all of those, so no later change can reuse one
    // (RFC 7162 3.1.1: MODSEQs only grow).
    std::int64_t missing = 0;
    if (repair)
      for (auto& f : fs::directory_iterator(entry.path())) {
        auto parsed = parse_message_name(f.path().filename().string());
        if (parsed && !rows.count(parsed->first)) ++missing;
      }
    if (missing) {
      Stmt jump(db->raw(), "UPDATE folders SET highestmodseq = highestmodseq + ? WHERE id = ?");
      jump.bind(1, missing).bind(2, fid).step();
    }
    // Collected first: a damaged message is renamed inside this folder while the list is walked.
    std::vector<fs::directory_entry> files(fs::directory_iterator(entry.path()), fs::directory_iterator());
    for (std::size_t k = 0; k < files.size(); ++k) {
      auto f = files[k];
      auto fname = f.path().filename().string();
      if (fname.starts_with(".")) continue;
      auto parsed = parse_message_name(fname);
      if (!parsed || !f.is_regular_file()) {
        report.problems.push_back(fmt::format("{}: unexpected file (left in place)", f.path().string()));
        continue;
      }
      ++report.messages;
      max_uid = std::max(max_uid, parsed->first);
      seen.insert(parsed->first);
      if (auto row = rows.find(parsed->first); row != rows.end()) {
        if (!verify) continue;
        auto damage = damage_of(f.path(), row->second);
        if (damage.empty()) {
          if (repair && !row->second.crc) {  // a row from before the index kept checksums
            Stmt up(db->raw(), "UPDATE messages SET crc = ? WHERE folder = ? AND uid = ?");
            up.bind(1, static_cast<std::int64_t>(crc32_of(read_file(f.path())))).bind(2, fid)
                .bind(3, static_cast<std::int64_t>(parsed->first)).step();
          }
          continue;
        }
        auto what = fmt::format("{}: message {} of folder {} is damaged: {}", dir.string(), parsed->first, name, damage);
        if (!repair) {
          report.problems.push_back(what + " (tern check --repair indexes it again under a new UID)");
          continue;
        }
        // IMAP promises that a UID's content never changes (RFC 9051 2.3.1.1): the file as it now is
        // becomes a new message (a new UID, so clients fetch it afresh), the old UID is expunged. As
        // Dovecot does with a maildir file whose size is wrong, the content is kept as found.
        std::int64_t new_uid;
        {
          Stmt next(db->raw(), "UPDATE folders SET uidnext = max(uidnext, ?) + 1 WHERE id = ? RETURNING uidnext - 1");
          next.bind(1, static_cast<std::int64_t>(std::max(max_uid, parsed->first)) + 1).bind(2, fid).step();
          new_uid = next.col_int(0);
        }
        auto renamed = entry.path() / fmt::format("{}.{}", new_uid, parsed->second);
        fs::rename(f.path(), renamed);
        fsync_dir(entry.path());
        report.notes.push_back(fmt::format("{}; indexed again as UID {}", what, new_uid));
        log::warn("{}; indexed again as UID {}", what, new_uid);
        seen.erase(parsed->first);
        --report.messages;
        files.emplace_back(renamed);
        continue;
      }
      if (is_move_leftover(f.path(), files, rows)) {
        // A MOVE within this folder committed its new row, then the crash came before the old name
        // was unlinked: the content is the indexed message's (same inode), so the old name goes.
        seen.erase(parsed->first);
        --report.messages;
        if (!repair) {
          report.notes.push_back(fmt::format("{}: old name of a message moved within its folder (removed at next open)",
                                             f.path().string()));
          continue;
        }
        fs::remove(f.path());
        fsync_dir(entry.path());
        report.notes.push_back(fmt::format("{}: old name of a message moved within its folder removed", f.path().string()));
        continue;
      }
      ++report.rows_added;
      if (!repair) {
        report.notes.push_back(fmt::format("{}: message file not yet in the index (added at next open)", f.path().string()));
        continue;
      }
      auto content = read_file(f.path());
      auto hs = summarize(content);
      struct stat st {};
      ::stat(f.path().c_str(), &st);
      if (!modseq) modseq = next_modseq(fid);
      // Back after an interrupted move or expunge: no longer expunged.
      Stmt unexp(db->raw(), "DELETE FROM expunged WHERE folder = ? AND uid = ?");
      unexp.bind(1, fid).bind(2, static_cast<std::int64_t>(parsed->first)).step();
      Stmt ins(db->raw(),
               "INSERT OR REPLACE INTO messages(folder, uid, file, size, internal_date, origin, hdr_from, subject, "
               "modseq, summary, header, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      ins.bind(1, fid).bind(2, static_cast<std::int64_t>(parsed->first)).bind(3, fname)
          .bind(4, static_cast<std::int64_t>(content.size())).bind(5, static_cast<std::int64_t>(st.st_mtime))
          .bind(6, parsed->second).bind(7, hs.from).bind(8, hs.subject).bind(9, static_cast<std::int64_t>(modseq));
      if (summarizer) ins.bind(10, summarizer(content)); else ins.bind_null(10);
      if (auto h = cached_header(content); !h.empty()) ins.bind(11, h); else ins.bind_null(11);
      ins.bind(12, static_cast<std::int64_t>(crc32_of(content)));
      ins.step();
    }
    for (auto& [uid, row] : rows) {
      if (seen.count(uid)) continue;
      ++report.rows_dropped;
      if (!repair) {
        report.notes.push_back(fmt::format("{}: index entry for missing file {} (dropped at next open)", dir.string(), row.file));
        continue;
      }
      if (!modseq) modseq = next_modseq(fid);
      Stmt del(db->raw(), "DELETE FROM messages WHERE folder = ? AND uid = ?");
      del.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).step();
      Stmt gone(db->raw(), "INSERT OR REPLACE INTO expunged(folder, uid, modseq) VALUES (?, ?, ?)");
      gone.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(modseq)).step();
    }
    if (repair) {
      Stmt up(db->raw(), "UPDATE folders SET uidnext = max(uidnext, ?) WHERE id = ?");
      up.bind(1, static_cast<std::int64_t>(max_uid) + 1).bind(2, fid).step();
    }
  }
  // Index rows of folders whose directory is gone (a folder deletion interrupted after its rename).
  std::vector<std::pair<std::int64_t, std::string>> stale;
  {
    Stmt all(db->raw(), "SELECT id, name FROM folders");
    while (all.step())
      if (!on_disk.count(all.col_text(1))) stale.emplace_back(all.col_int(0), all.col_text(1));
  }
  for (auto& [fid, name] : stale) {
    if (!repair) {
      report.notes.push_back(fmt::format("{}: folder {} in the index has no directory (dropped at next open)", dir.string(), name));
      continue;
    }
    for (auto sql : {"DELETE FROM messages WHERE folder = ?", "DELETE FROM expunged WHERE folder = ?",
                     "DELETE FROM folders WHERE id = ?"}) {
      Stmt del(db->raw(), sql);
      del.bind(1, fid).step();
    }
  }
  if (repair && !stale.empty()) forget_folders();
}

Mailstore::Mailstore(fs::path root, bool owner) : root_(std::move(root)), owner_(owner) {}
Mailstore::~Mailstore() = default;

fs::path Mailstore::slot_dir(std::string_view address) const {
  auto a = normalize_address(address);
  auto at = a.rfind('@');
  return root_ / encode_path_component(a.substr(at + 1)) / encode_path_component(a.substr(0, at));
}

Result<Mailstore::Slot*> Mailstore::open_slot(std::string_view address) {
  auto key = normalize_address(address);
  std::lock_guard lock(mu_);
  if (auto it = slots_.find(key); it != slots_.end()) return it->second.get();
  auto slot = std::make_unique<Slot>();
  slot->dir = slot_dir(key);
  try {
    ensure_dir(slot->dir / "tmp");
    if (owner_) {
      // Files in tmp/ are writes that a crash interrupted before their rename: never acknowledged.
      for (auto& t : fs::directory_iterator(slot->dir / "tmp")) fs::remove_all(t.path());
    }
    ensure_dir(slot->dir / "folders");
    auto index = slot->dir / "index.db";
    bool had_index = fs::exists(index);
    bool had_folders = !fs::is_empty(slot->dir / "folders");
    auto set_aside = [&](const std::string& why) {
      slot->db.reset();
      auto aside = slot->dir / fmt::format("index.db.damaged-{}", now_seconds());
      log::warn("mailslot {}: index {}; moved to {} and rebuilding from the message files", key, why, aside.string());
      fs::rename(index, aside);
      for (auto suffix : {"-wal", "-shm"}) {
        std::error_code ec;
        fs::rename(index.string() + suffix, aside.string() + suffix, ec);
      }
      had_index = false;
      slot->db = std::make_unique<Db>(index, true);
      slot->db->exec(index_schema);
    };
    try {
      // synchronous=FULL: flags and MODSEQs live only here, and an IMAP client is told OK only after
      // its change is committed (principle 1).
      slot->db = std::make_unique<Db>(index, true);
      {
        // Statements end (and release their read snapshot) before the schema is written: a write
        // from inside a read snapshot that another process has moved past fails at once with BUSY.
        Stmt chk(slot->db->raw(), "PRAGMA quick_check");
        if (!chk.step() || chk.col_text(0) != "ok") throw DbError("quick_check failed", SQLITE_CORRUPT);
      }
      if (!migrate_index(*slot->db)) {
        set_aside("has an older layout");
      } else {
        slot->db->exec(index_schema);
      }
    } catch (const DbError& e) {
      // A damaged index is a cache: set it aside (never delete) and rebuild it from the files. Any other
      // failure (busy, disk full, I/O) is reported as it is: the index may be fine and in use.
      if (!e.damaged()) throw;
      set_aside(fmt::format("unreadable ({})", e.what()));
    }
    slot->rebuilding = !had_index && had_folders;
    CheckReport report;
    Tx tx(*slot->db);
    slot->reconcile(true, report, summarizer_);
    tx.commit();
    slot->rebuilding = false;
    if (report.rows_added || report.rows_dropped)
      log::info("mailslot {}: index reconciled with files ({} added, {} dropped)", key, report.rows_added,
                report.rows_dropped);
  } catch (const std::exception& e) {
    return failure(fmt::format("mailslot {}: {}", key, e.what()), e);
  }
  auto* raw = slot.get();
  slots_[key] = std::move(slot);
  return raw;
}

namespace {
// Thrown inside deliver()'s transaction when the quota would be passed: everything rolls back.
struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

Result<std::vector<std::uint32_t>> Mailstore::deliver(std::string_view address, std::string_view folder,
                                                      const std::vector<NewMessage>& messages, std::uint64_t quota) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::vector<std::uint32_t> uids(messages.size(), 0);
  std::vector<fs::path> tmps(messages.size());
  std::vector<std::size_t> sizes(messages.size(), 0);
  std::vector<std::uint32_t> crcs(messages.size(), 0);
  try {
    // 1. Content durable in tmp/, outside the mailslot's lock: concurrent deliveries fsync in
    //    parallel (the file system batches their journal commits).
    std::vector<std::string> normalized(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      tmps[i] = s.dir / "tmp" / make_unique_id();
      std::string_view content = messages[i].content;
      if (has_bare_lf(content)) content = normalized[i] = to_crlf(content);
      // tmp/ is scratch (emptied at start): the file needs no name change before its rename into
      // the folder, which is what makes it a message.
      write_new_file_synced(tmps[i], content);
      sizes[i] = content.size();
      crcs[i] = crc32_of(content);  // kept in the index: `tern check` notices a file changed on disk
    }
    // Content durable in tmp/, not yet a message (tmp/ is emptied at the next open).
    fault::point("mailstore.after_message_file_written");
    // Summaries (IMAP's ENVELOPE, BODYSTRUCTURE...) outside the lock too: parsing is the costly part.
    std::vector<std::string> summaries(messages.size());
    if (summarizer_)
      for (std::size_t i = 0; i < messages.size(); ++i)
        summaries[i] = summarizer_(normalized[i].empty() ? messages[i].content : std::string_view(normalized[i]));
    std::shared_ptr<DirSyncer> syncer;
    bool renamed = false;
    {
      // 2. Under the lock: deduplicate by origin, assign UIDs, rename into the folder, index rows.
      std::lock_guard lock(s.mu);
      // New messages without flags need no fsync of the index: their files are the truth, and a row
      // lost in a crash is added again from the file at the next open (same UID, no flags to lose).
      // Messages with flags (IMAP APPEND) keep synchronous=FULL. A later FULL commit makes these
      // rows durable too (the WAL is one file).
      bool flags = false;
      for (auto& m : messages) flags = flags || !m.flags.empty();
      struct SyncMode {
        Db& db;
        bool relaxed;
        ~SyncMode() {
          if (!relaxed) return;
          try {
            db.exec("PRAGMA synchronous=FULL");
          } catch (const std::exception& e) {
            // The next FULL commit (every flag change) asks again; meanwhile rows are rebuilt from files.
            log::warn("mailstore: restoring synchronous=FULL failed: {}", e.what());
          }
        }
      } mode{*s.db, !flags};
      if (mode.relaxed) s.db->exec("PRAGMA synchronous=NORMAL");
      // Files renamed into the folder by this call: when the transaction fails (a full disk), they go
      // again, under the lock. Left there, a later delivery would take the same UID (uidnext was not
      // committed) and the folder would hold two files for one UID, one of them unindexed.
      std::vector<fs::path> placed;
      try {
        // The transaction first: making the folder writes too, and every write must be inside it.
        Tx tx(*s.db);
        auto fid = s.folder_id(folder);
        syncer = s.syncer(folder);
        Stmt find(s.db->raw(), "SELECT uid FROM messages WHERE origin = ? AND origin != ''");
        Stmt next(s.db->raw(), "SELECT uidnext FROM folders WHERE id = ?");
        next.bind(1, fid).step();
        auto uidnext = static_cast<std::uint32_t>(next.col_int(0));
        auto fdir = s.folder_dir(folder);
        Stmt ins(s.db->raw(),
                 "INSERT INTO messages(folder, uid, file, size, internal_date, origin, hdr_from, subject, flags, "
                 "modseq, summary, header, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        std::uint64_t modseq = 0;
        std::optional<std::uint64_t> used;  // the mailslot's octets, read once when a quota applies
        for (std::size_t i = 0; i < messages.size(); ++i) {
          if (!messages[i].origin.empty()) {
            // A delivery repeated after a crash finds its first copy and stores nothing.
            find.reset();
            if (find.bind(1, messages[i].origin).step()) {
              uids[i] = static_cast<std::uint32_t>(find.col_int(0));
              fs::remove(tmps[i]);
              tmps[i].clear();
              renamed = true;  // the first copy's rename may not be durable yet (its fsync may have failed)
              continue;
            }
          }
          if (quota) {
            if (!used) used = s.octets();
            if (*used + sizes[i] > quota)
              throw QuotaExceeded(fmt::format("{} octets used of {}, the message has {}", *used, quota, sizes[i]));
            *used += sizes[i];
          }
          auto uid = uidnext++;
          auto tag = messages[i].origin.empty() ? make_unique_id() : messages[i].origin;
          auto fname = fmt::format("{}.{}", uid, tag);
          fs::rename(tmps[i], fdir / fname);
          placed.push_back(fdir / fname);
          renamed = true;
          tmps[i].clear();
          uids[i] = uid;
          auto hs = summarize(messages[i].content);
          if (!modseq) modseq = s.next_modseq(fid);
          ins.reset();
          ins.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).bind(3, fname)
              .bind(4, static_cast<std::int64_t>(sizes[i]))
              .bind(5, messages[i].internal_date ? messages[i].internal_date : now_seconds())
              .bind(6, messages[i].origin).bind(7, hs.from).bind(8, hs.subject)
              .bind(9, join_flags(split_flags(messages[i].flags))).bind(10, static_cast<std::int64_t>(modseq));
          if (summaries[i].empty()) ins.bind_null(11); else ins.bind(11, summaries[i]);
          auto stored = normalized[i].empty() ? messages[i].content : std::string_view(normalized[i]);
          if (auto h = cached_header(stored); !h.empty()) ins.bind(12, h); else ins.bind_null(12);
          ins.bind(13, static_cast<std::int64_t>(crcs[i]));
          ins.step();
        }
        Stmt up(s.db->raw(), "UPDATE folders SET uidnext = ? WHERE id = ?");
        up.bind(1, static_cast<std::int64_t>(uidnext)).bind(2, fid).step();
        // Renamed into the folder, its row not committed: the next open indexes the file it finds.
        fault::point("mailstore.before_index_commit");
        tx.commit();
      } catch (...) {
        for (const auto& p : placed) {  // the transaction rolled back when `tx` went out of scope
          std::error_code ec;
          fs::remove(p, ec);
        }
        throw;
      }
      ++s.version;
      fault::point("mailstore.after_index_commit");
    }
    // 3. The renames become durable with the folder's fsync, shared with concurrent deliveries. Until
    //    it returns nothing is acknowledged: a crash before it leaves at most an index row without a
    //    file (dropped at the next open) and the spool delivers again.
    if (renamed) syncer->sync();
  } catch (const std::exception& e) {
    for (auto& t : tmps) {
      std::error_code ec;
      if (!t.empty()) fs::remove(t, ec);
    }
    if (dynamic_cast<const QuotaExceeded*>(&e)) {
      // The figures for the log only: the error's text reaches the sender in a DSN.
      log::info("mailstore: {} is over its quota: {}", address, e.what());
      return Error{"quota exceeded", Error::Kind::over_quota};
    }
    return Error{fmt::format("delivery to {} failed: {}", address, e.what())};
  }
  return uids;
}

Result<std::vector<MessageEntry>> Mailstore::list(std::string_view address, std::string_view folder) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    std::vector<MessageEntry> out;
    Stmt st(s.db->raw(),
            "SELECT m.uid, m.size, m.internal_date, m.flags, m.hdr_from, m.subject, m.file, m.modseq FROM messages m "
            "JOIN folders f ON f.id = m.folder WHERE f.name = ? ORDER BY m.uid");
    st.bind(1, folder);
    while (st.step())
      out.push_back(MessageEntry{static_cast<std::uint32_t>(st.col_int(0)), static_cast<std::uint64_t>(st.col_int(1)),
                                 st.col_int(2), st.col_text(3), st.col_text(4), st.col_text(5), st.col_text(6),
                                 static_cast<std::uint64_t>(st.col_int(7))});
    return out;
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Result<std::size_t> Mailstore::expunge(std::string_view address, std::string_view folder,
                                      const std::vector<std::uint32_t>& uids) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::size_t removed = 0;
  std::shared_ptr<DirSyncer> syncer;
  try {
    {
      std::lock_guard lock(s.mu);
      auto fid = s.find_folder(folder);
      if (!fid) return Error{fmt::format("no folder {}", folder), Error::Kind::not_found};
      syncer = s.syncer(folder);
      auto fdir = s.folder_dir(folder);
      Tx tx(*s.db);
      auto modseq = s.next_modseq(*fid);
      Stmt sel(s.db->raw(), "SELECT file FROM messages WHERE folder = ? AND uid = ?");
      Stmt del(s.db->raw(), "DELETE FROM messages WHERE folder = ? AND uid = ?");
      Stmt gone(s.db->raw(), "INSERT OR REPLACE INTO expunged(folder, uid, modseq) VALUES (?, ?, ?)");
      for (auto uid : uids) {
        sel.reset();
        if (!sel.bind(1, *fid).bind(2, static_cast<std::int64_t>(uid)).step()) continue;
        std::error_code ec;
        fs::remove(fdir / sel.col_text(0), ec);
        if (ec) throw std::system_error(ec, "unlink " + (fdir / sel.col_text(0)).string());
        del.reset();
        del.bind(1, *fid).bind(2, static_cast<std::int64_t>(uid)).step();
        gone.reset();
        gone.bind(1, *fid).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(modseq)).step();
        ++removed;
      }
      if (removed) tx.commit();
      if (removed) ++s.version;
    }
    // Until this fsync returns nothing is acknowledged; a crash before it may bring a file back, and
    // the next open indexes it again (deleted only when the client is told so).
    if (removed) syncer->sync();
  } catch (const std::exception& e) {
    return failure(fmt::format("expunge in {} failed: {}", address, e.what()), e);
  }
  return removed;
}

Result<std::string> Mailstore::read(std::string_view address, std::string_view folder, std::uint32_t uid) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  IndexRow row;
  {
    std::lock_guard lock(s.mu);
    Stmt st(s.db->raw(),
            "SELECT m.file, m.size, m.crc FROM messages m JOIN folders f ON f.id = m.folder WHERE f.name = ? AND m.uid = ?");
    if (!st.bind(1, folder).bind(2, static_cast<std::int64_t>(uid)).step())
      return Error{fmt::format("no message {} in {}", uid, folder), Error::Kind::not_found};
    row = IndexRow{st.col_text(0), static_cast<std::uint64_t>(st.col_int(1)), std::nullopt};
    if (!st.col_null(2)) row.crc = static_cast<std::uint32_t>(st.col_int(2));
  }
  try {
    auto content = read_file(s.folder_dir(folder) / row.file);
    // A client was told the indexed size (POP3 LIST, IMAP RFC822.SIZE): never hand out other bytes.
    std::string damage;
    if (content.size() != row.size)
      damage = fmt::format("{} octets on disk, {} in the index", content.size(), row.size);
    else if (row.crc && crc32_of(content) != *row.crc)
      damage = "content changed on disk (checksum differs from the index)";
    if (!damage.empty())
      return Error{fmt::format("mailslot {}: message {} of folder {} is damaged: {}; tern check --repair indexes it "
                               "again", address, uid, folder, damage),
                   Error::Kind::invalid};
    return content;
  } catch (const std::system_error& e) {
    return failure(e.what(), e);
  }
}

Result<fs::path> Mailstore::path_of(std::string_view address, std::string_view folder, std::uint32_t uid) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    Stmt st(s.db->raw(), "SELECT m.file FROM messages m JOIN folders f ON f.id = m.folder WHERE f.name = ? AND m.uid = ?");
    if (!st.bind(1, folder).bind(2, static_cast<std::int64_t>(uid)).step())
      return Error{fmt::format("no message {} in {}", uid, folder), Error::Kind::not_found};
    return s.folder_dir(folder) / st.col_text(0);
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Result<std::shared_ptr<MessageStream>> Mailstore::open_message(std::string_view address, std::string_view folder,
                                                               std::uint32_t uid) {
  auto path = path_of(address, folder, uid);
  if (!path) return path.error();
  try {
    auto m = MessageStream::open_file(*path);
    if (!m) return Error{fmt::format("message {} in {} was removed", uid, folder), Error::Kind::not_found};
    return m;
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
}

Result<std::string> Mailstore::retire(std::string_view address, bool keep) {
  auto key = normalize_address(address);
  auto dir = slot_dir(key);
  try {
    std::lock_guard lock(mu_);
    if (auto it = slots_.find(key); it != slots_.end()) {
      std::lock_guard slot_lock(it->second->mu);  // a delivery or session command in flight ends first
      retired_.push_back(std::move(it->second));
      slots_.erase(it);
    }
    if (!fs::exists(dir)) return std::string();
    auto domain_dir = dir.parent_path();
    if (!keep) {
      // Renamed out of the way first (one atomic step), then removed: a crash in between leaves a
      // folder in deleted/, never a half-removed mailbox under the address.
      auto doomed = root_.parent_path() / "deleted" / fmt::format(".removing-{}", make_unique_id());
      ensure_dir(doomed.parent_path());
      fs::rename(dir, doomed);
      fsync_dir(domain_dir);
      fs::remove_all(doomed);
      fsync_dir(doomed.parent_path());
      return std::string();
    }
    auto target_dir = root_.parent_path() / "deleted" / domain_dir.filename();
    ensure_dir(target_dir);
    auto target = target_dir / fmt::format("{}.{}", dir.filename().string(), now_seconds());
    for (int i = 1; fs::exists(target); ++i)
      target = target_dir / fmt::format("{}.{}.{}", dir.filename().string(), now_seconds(), i);
    fs::rename(dir, target);
    fsync_dir(target_dir);
    fsync_dir(domain_dir);
    return target.string();
  } catch (const std::exception& e) {
    return failure(fmt::format("mailslot {}: cannot take its mail out of service: {}", key, e.what()), e);
  }
}

CheckReport Mailstore::check(bool repair) {
  CheckReport report;
  if (!fs::exists(root_)) return report;
  for (auto& dom : fs::directory_iterator(root_)) {
    if (!dom.is_directory()) continue;
    for (auto& box : fs::directory_iterator(dom.path())) {
      if (!box.is_directory()) continue;
      auto local = decode_path_component(box.path().filename().string());
      auto domain = decode_path_component(dom.path().filename().string());
      if (!local || !domain) {
        auto what = fmt::format("{}: mailslot directory name is not a valid encoded address", box.path().string());
        if (repair) {
          auto to = set_aside_in_lost_found(root_.parent_path() / "lost+found", box.path(), what);
          report.notes.push_back(fmt::format("{}; moved to {}", what, to.string()));
        } else {
          report.problems.push_back(what + " (tern check --repair moves it to lost+found)");
        }
        continue;
      }
      ++report.mailslots;
      auto address = *local + "@" + *domain;
      if (repair) {
        // Opening reconciles (and rebuilds a damaged index); count what it did.
        {
          std::lock_guard lock(mu_);
          slots_.erase(normalize_address(address));
        }
        auto slot = open_slot(address);
        if (!slot) {
          report.problems.push_back(slot.error().message);
          continue;
        }
        std::lock_guard lock((*slot)->mu);
        CheckReport after;
        try {
          // Opening fixed what a crash leaves; this pass also compares every file with its row.
          Tx tx(*(*slot)->db);
          (*slot)->reconcile(true, after, summarizer_, true);
          tx.commit();
          (*slot)->forget_folders();
          ++(*slot)->version;
        } catch (const std::exception& e) {
          report.problems.push_back(fmt::format("mailslot {}: {}", address, e.what()));
          continue;
        }
        report.messages += after.messages;
        for (auto& p : after.problems) report.problems.push_back(p);
        for (auto& n : after.notes) report.notes.push_back(n);
        continue;
      }
      if (!fs::exists(box.path() / "index.db")) {
        report.notes.push_back(fmt::format("{}: no index (rebuilt from the files at next open)", address));
        continue;
      }
      try {
        Db db(box.path() / "index.db", true);
        bool healthy;
        {
          Stmt chk(db.raw(), "PRAGMA quick_check");
          healthy = chk.step() && chk.col_text(0) == "ok";
        }
        if (!healthy) {
          report.problems.push_back(fmt::format("{}: index damaged (repair rebuilds it from the files)", address));
          continue;
        }
        if (!migrate_index(db)) {
          report.notes.push_back(fmt::format("{}: index of an older layout (rebuilt from the files at next open)", address));
          continue;
        }
        db.exec(index_schema);
        Slot s;
        s.dir = box.path();
        s.db = std::unique_ptr<Db>(new Db(box.path() / "index.db", true));
        s.reconcile(false, report, nullptr, true);
      } catch (const std::exception& e) {
        report.problems.push_back(fmt::format("{}: index unreadable: {} (repair rebuilds it)", address, e.what()));
      }
      // tmp/ files are writes a crash interrupted; they were never acknowledged.
      std::error_code ec;
      for (auto& t : fs::directory_iterator(box.path() / "tmp", ec))
        report.notes.push_back(fmt::format("{}: temporary file of an unfinished write (removed at next start)", t.path().string()));
    }
  }
  return report;
}

}  // namespace tern::store
