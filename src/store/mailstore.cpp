#include "store/mailstore.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "mime/headers.hpp"
#include "store/db.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"

namespace tern::store {
namespace fs = std::filesystem;

namespace {

constexpr const char* index_schema = R"(
CREATE TABLE IF NOT EXISTS folders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1);
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
  PRIMARY KEY(folder, uid));
CREATE INDEX IF NOT EXISTS messages_origin ON messages(origin) WHERE origin != '';
)";

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

struct HeaderSummary {
  std::string from, subject;
};

HeaderSummary summarize(std::string_view content) {
  auto fields = mime::parse_header(content, 200);
  return {mime::decode_words(mime::first_value(fields, "From")),
          mime::decode_words(mime::first_value(fields, "Subject"))};
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

std::string decode_path_component(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size() + 0) {
      out += static_cast<char>(std::stoi(std::string(name.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

struct Mailstore::Slot {
  fs::path dir;
  std::unique_ptr<Db> db;
  std::mutex mu;
  std::map<std::string, std::int64_t> folder_ids;  // name -> id, filled lazily
  std::map<std::string, std::unique_ptr<DirSyncer>> folder_syncers;  // group commit per folder

  DirSyncer& syncer(std::string_view folder) {  // caller holds mu
    auto& s = folder_syncers[std::string(folder)];
    if (!s) s = std::make_unique<DirSyncer>(folder_dir(folder));
    return *s;
  }

  fs::path folder_dir(std::string_view folder) const { return dir / "folders" / encode_path_component(folder); }

  // The folder's id, creating folder directory, .folder file and row as needed. Caller holds mu.
  std::int64_t folder_id(std::string_view folder) {
    if (auto it = folder_ids.find(std::string(folder)); it != folder_ids.end()) return it->second;
    Stmt sel(db->raw(), "SELECT id FROM folders WHERE name = ?");
    if (sel.bind(1, folder).step()) return folder_ids[std::string(folder)] = sel.col_int(0);
    auto fdir = folder_dir(folder);
    std::int64_t uidvalidity = now_seconds();
    ensure_dir(fdir);
    if (!fs::exists(fdir / ".folder")) {
      // Another process (the CLI, the server) may create the same folder at this moment: link() the
      // finished file into place, which fails if the other won; then both use the winner's value.
      auto tmp = fdir / (".folder." + make_unique_id());
      write_file_synced(tmp.string() + ".w", tmp, fmt::format("uidvalidity {}\nname {}\n", uidvalidity, folder));
      bool won = ::link(tmp.c_str(), (fdir / ".folder").c_str()) == 0;
      ::unlink(tmp.c_str());
      fsync_dir(fdir);
      fsync_dir(fdir.parent_path());
      if (!won) uidvalidity = read_uidvalidity(fdir).value_or(uidvalidity);
    } else {
      uidvalidity = read_uidvalidity(fdir).value_or(uidvalidity);
    }
    // OR IGNORE: another process may have added the row meanwhile (its UIDVALIDITY came from the same
    // .folder file).
    Stmt ins(db->raw(), "INSERT OR IGNORE INTO folders(name, uidvalidity) VALUES (?, ?)");
    ins.bind(1, folder).bind(2, uidvalidity).step();
    Stmt again(db->raw(), "SELECT id FROM folders WHERE name = ?");
    if (!again.bind(1, folder).step()) throw DbError("folder row vanished: " + std::string(folder));
    return folder_ids[std::string(folder)] = again.col_int(0);
  }

  static std::optional<std::int64_t> read_uidvalidity(const fs::path& fdir) {
    try {
      auto text = read_file(fdir / ".folder");
      for (auto line : split(text, '\n'))
        if (line.starts_with("uidvalidity "))
          if (auto v = parse_u64(line.substr(12))) return static_cast<std::int64_t>(*v);
    } catch (const std::system_error&) {
    }
    return std::nullopt;
  }

  // Compares index and files of every folder on disk; with repair, makes the index match the files.
  // Caller holds mu.
  void reconcile(bool repair, CheckReport& report) {
    auto folders_root = dir / "folders";
    if (!fs::exists(folders_root)) return;
    for (auto& entry : fs::directory_iterator(folders_root)) {
      if (!entry.is_directory()) continue;
      auto name = decode_path_component(entry.path().filename().string());
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
      std::map<std::uint32_t, std::string> rows;
      Stmt sel(db->raw(), "SELECT uid, file FROM messages WHERE folder = ?");
      sel.bind(1, fid);
      while (sel.step()) rows[static_cast<std::uint32_t>(sel.col_int(0))] = sel.col_text(1);

      std::uint32_t max_uid = 0;
      std::set<std::uint32_t> seen;
      for (auto& f : fs::directory_iterator(entry.path())) {
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
        if (rows.count(parsed->first)) continue;
        ++report.rows_added;
        if (!repair) {
          report.notes.push_back(fmt::format("{}: message file not yet in the index (added at next open)", f.path().string()));
          continue;
        }
        auto content = read_file(f.path());
        auto hs = summarize(content);
        struct stat st {};
        ::stat(f.path().c_str(), &st);
        Stmt ins(db->raw(),
                 "INSERT OR REPLACE INTO messages(folder, uid, file, size, internal_date, origin, hdr_from, subject) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        ins.bind(1, fid).bind(2, static_cast<std::int64_t>(parsed->first)).bind(3, fname)
            .bind(4, static_cast<std::int64_t>(content.size())).bind(5, static_cast<std::int64_t>(st.st_mtime))
            .bind(6, parsed->second).bind(7, hs.from).bind(8, hs.subject).step();
      }
      for (auto& [uid, file] : rows) {
        if (seen.count(uid)) continue;
        ++report.rows_dropped;
        if (!repair) {
          report.notes.push_back(fmt::format("{}: index entry for missing file {} (dropped at next open)", dir.string(), file));
          continue;
        }
        Stmt del(db->raw(), "DELETE FROM messages WHERE folder = ? AND uid = ?");
        del.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).step();
      }
      if (repair) {
        Stmt up(db->raw(), "UPDATE folders SET uidnext = max(uidnext, ?) WHERE id = ?");
        up.bind(1, static_cast<std::int64_t>(max_uid) + 1).bind(2, fid).step();
      }
    }
  }
};

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
      for (auto& t : fs::directory_iterator(slot->dir / "tmp")) fs::remove(t.path());
    }
    ensure_dir(slot->dir / "folders");
    auto index = slot->dir / "index.db";
    try {
      slot->db = std::make_unique<Db>(index, false);
      slot->db->exec(index_schema);
      Stmt chk(slot->db->raw(), "PRAGMA quick_check");
      if (!chk.step() || chk.col_text(0) != "ok") throw DbError("quick_check failed", SQLITE_CORRUPT);
    } catch (const DbError& e) {
      // A damaged index is a cache: set it aside (never delete) and rebuild it from the files. Any other
      // failure (busy, disk full, I/O) is reported as it is: the index may be fine and in use.
      if (!e.damaged()) throw;
      slot->db.reset();
      auto aside = slot->dir / fmt::format("index.db.damaged-{}", now_seconds());
      log::warn("mailslot {}: index unreadable ({}); moved to {} and rebuilding from the message files", key,
                e.what(), aside.string());
      fs::rename(index, aside);
      for (auto suffix : {"-wal", "-shm"}) {
        std::error_code ec;
        fs::rename(index.string() + suffix, aside.string() + suffix, ec);
      }
      slot->db = std::make_unique<Db>(index, false);
      slot->db->exec(index_schema);
    }
    CheckReport report;
    Tx tx(*slot->db);
    slot->reconcile(true, report);
    tx.commit();
    if (report.rows_added || report.rows_dropped)
      log::info("mailslot {}: index reconciled with files ({} added, {} dropped)", key, report.rows_added,
                report.rows_dropped);
  } catch (const std::exception& e) {
    return Error{fmt::format("mailslot {}: {}", key, e.what())};
  }
  auto* raw = slot.get();
  slots_[key] = std::move(slot);
  return raw;
}

Result<std::vector<std::uint32_t>> Mailstore::deliver(std::string_view address, std::string_view folder,
                                                      const std::vector<NewMessage>& messages) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::vector<std::uint32_t> uids(messages.size(), 0);
  std::vector<fs::path> tmps(messages.size());
  std::vector<std::size_t> sizes(messages.size(), 0);
  try {
    // 1. Content durable in tmp/, outside the mailslot's lock: concurrent deliveries fsync in
    //    parallel (the file system batches their journal commits).
    std::vector<std::string> normalized(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      tmps[i] = s.dir / "tmp" / make_unique_id();
      std::string_view content = messages[i].content;
      if (has_bare_lf(content)) content = normalized[i] = to_crlf(content);
      write_file_synced(tmps[i].string() + ".w", tmps[i], content);
      sizes[i] = content.size();
    }
    DirSyncer* syncer = nullptr;
    bool renamed = false;
    {
      // 2. Under the lock: deduplicate by origin, assign UIDs, rename into the folder, index rows.
      std::lock_guard lock(s.mu);
      auto fid = s.folder_id(folder);
      syncer = &s.syncer(folder);
      Tx tx(*s.db);
      Stmt find(s.db->raw(), "SELECT uid FROM messages WHERE origin = ? AND origin != ''");
      Stmt next(s.db->raw(), "SELECT uidnext FROM folders WHERE id = ?");
      next.bind(1, fid).step();
      auto uidnext = static_cast<std::uint32_t>(next.col_int(0));
      auto fdir = s.folder_dir(folder);
      Stmt ins(s.db->raw(),
               "INSERT INTO messages(folder, uid, file, size, internal_date, origin, hdr_from, subject) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
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
        auto uid = uidnext++;
        auto tag = messages[i].origin.empty() ? make_unique_id() : messages[i].origin;
        auto fname = fmt::format("{}.{}", uid, tag);
        fs::rename(tmps[i], fdir / fname);
        renamed = true;
        tmps[i].clear();
        uids[i] = uid;
        auto hs = summarize(messages[i].content);
        ins.reset();
        ins.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).bind(3, fname)
            .bind(4, static_cast<std::int64_t>(sizes[i])).bind(5, now_seconds())
            .bind(6, messages[i].origin).bind(7, hs.from).bind(8, hs.subject).step();
      }
      Stmt up(s.db->raw(), "UPDATE folders SET uidnext = ? WHERE id = ?");
      up.bind(1, static_cast<std::int64_t>(uidnext)).bind(2, fid).step();
      tx.commit();
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
            "SELECT m.uid, m.size, m.internal_date, m.flags, m.hdr_from, m.subject, m.file FROM messages m "
            "JOIN folders f ON f.id = m.folder WHERE f.name = ? ORDER BY m.uid");
    st.bind(1, folder);
    while (st.step())
      out.push_back(MessageEntry{static_cast<std::uint32_t>(st.col_int(0)), static_cast<std::uint64_t>(st.col_int(1)),
                                 st.col_int(2), st.col_text(3), st.col_text(4), st.col_text(5), st.col_text(6)});
    return out;
  } catch (const DbError& e) {
    return Error{e.what()};
  }
}

Result<std::size_t> Mailstore::expunge(std::string_view address, std::string_view folder,
                                      const std::vector<std::uint32_t>& uids) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::size_t removed = 0;
  DirSyncer* syncer = nullptr;
  try {
    {
      std::lock_guard lock(s.mu);
      auto fid = s.folder_id(folder);
      syncer = &s.syncer(folder);
      auto fdir = s.folder_dir(folder);
      Tx tx(*s.db);
      Stmt sel(s.db->raw(), "SELECT file FROM messages WHERE folder = ? AND uid = ?");
      Stmt del(s.db->raw(), "DELETE FROM messages WHERE folder = ? AND uid = ?");
      for (auto uid : uids) {
        sel.reset();
        if (!sel.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).step()) continue;
        std::error_code ec;
        fs::remove(fdir / sel.col_text(0), ec);
        if (ec) throw std::system_error(ec, "unlink " + (fdir / sel.col_text(0)).string());
        del.reset();
        del.bind(1, fid).bind(2, static_cast<std::int64_t>(uid)).step();
        ++removed;
      }
      tx.commit();
    }
    // Until this fsync returns nothing is acknowledged; a crash before it may bring a file back, and
    // the next open indexes it again (deleted only when the client is told so).
    if (removed) syncer->sync();
  } catch (const std::exception& e) {
    return Error{fmt::format("expunge in {} failed: {}", address, e.what())};
  }
  return removed;
}

Result<std::string> Mailstore::read(std::string_view address, std::string_view folder, std::uint32_t uid) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::string file;
  {
    std::lock_guard lock(s.mu);
    Stmt st(s.db->raw(), "SELECT m.file FROM messages m JOIN folders f ON f.id = m.folder WHERE f.name = ? AND m.uid = ?");
    if (!st.bind(1, folder).bind(2, static_cast<std::int64_t>(uid)).step())
      return Error{fmt::format("no message {} in {}", uid, folder)};
    file = st.col_text(0);
  }
  try {
    return read_file(s.folder_dir(folder) / file);
  } catch (const std::system_error& e) {
    return Error{e.what()};
  }
}

CheckReport Mailstore::check(bool repair) {
  CheckReport report;
  if (!fs::exists(root_)) return report;
  for (auto& dom : fs::directory_iterator(root_)) {
    if (!dom.is_directory()) continue;
    for (auto& box : fs::directory_iterator(dom.path())) {
      if (!box.is_directory()) continue;
      ++report.mailslots;
      auto address = decode_path_component(box.path().filename().string()) + "@" +
                     decode_path_component(dom.path().filename().string());
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
        (*slot)->reconcile(false, after);
        report.messages += after.messages;
        for (auto& p : after.problems) report.problems.push_back(p);
        continue;
      }
      try {
        Db db(box.path() / "index.db", false);
        Stmt chk(db.raw(), "PRAGMA quick_check");
        if (!chk.step() || chk.col_text(0) != "ok") {
          report.problems.push_back(fmt::format("{}: index damaged (repair rebuilds it from the files)", address));
          continue;
        }
        db.exec(index_schema);
        Slot s;
        s.dir = box.path();
        s.db = std::unique_ptr<Db>(new Db(box.path() / "index.db", false));
        s.reconcile(false, report);
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
