// store/mailstore_imap: what IMAP asks of a mailslot beyond delivery: folders (create, delete, rename,
// subscriptions, special use), flags with MODSEQs (RFC 7162), copies and moves, changes since a MODSEQ,
// and the cached summaries.
//
// Durability as in mailstore.hpp: each function commits (synchronous=FULL) and fsyncs the folders it
// changed before it returns. Copies are hard links (message files never change), so a COPY of a large
// message costs one link and no data.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "store/directory.hpp"
#include "store/mailstore_slot.hpp"

namespace tern::store {
namespace fs = std::filesystem;

namespace {

Error not_found(std::string_view folder) {
  return Error{fmt::format("no folder {}", folder), Error::Kind::not_found};
}

bool is_child(std::string_view name, std::string_view parent) {
  return name.size() > parent.size() + 1 && name.starts_with(parent) && name[parent.size()] == '/';
}

FolderInfo folder_row(Stmt& st) {
  FolderInfo f;
  f.name = st.col_text(0);
  f.uidvalidity = static_cast<std::uint32_t>(st.col_int(1));
  f.uidnext = static_cast<std::uint32_t>(st.col_int(2));
  f.highestmodseq = static_cast<std::uint64_t>(st.col_int(3));
  f.special_use = st.col_text(4);
  f.messages = static_cast<std::uint32_t>(st.col_int(5));
  f.unseen = static_cast<std::uint32_t>(st.col_int(6));
  f.deleted = static_cast<std::uint32_t>(st.col_int(7));
  f.size = static_cast<std::uint64_t>(st.col_int(8));
  f.recent = static_cast<std::uint32_t>(st.col_int(9));
  return f;
}

// Folders with their counts. Flags are stored space-separated, so a padded LIKE finds one.
constexpr const char* folder_select =
    "SELECT f.name, f.uidvalidity, f.uidnext, f.highestmodseq, f.special_use, count(m.uid), "
    "coalesce(sum(CASE WHEN m.uid IS NULL OR (' ' || m.flags || ' ') LIKE '% \\Seen %' THEN 0 ELSE 1 END), 0), "
    "coalesce(sum(CASE WHEN (' ' || m.flags || ' ') LIKE '% \\Deleted %' THEN 1 ELSE 0 END), 0), "
    "coalesce(sum(m.size), 0), coalesce(sum(CASE WHEN m.uid >= f.first_recent_uid THEN 1 ELSE 0 END), 0) "
    "FROM folders f LEFT JOIN messages m ON m.folder = f.id ";

}  // namespace

Result<std::vector<FolderInfo>> Mailstore::folders(std::string_view address) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    std::vector<FolderInfo> out;
    Stmt st(s.db->raw(), std::string(folder_select) + "GROUP BY f.id ORDER BY f.name");
    while (st.step()) out.push_back(folder_row(st));
    return out;
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Result<FolderInfo> Mailstore::folder(std::string_view address, std::string_view name) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    Stmt st(s.db->raw(), std::string(folder_select) + "WHERE f.name = ? GROUP BY f.id");
    if (!st.bind(1, name).step()) return not_found(name);
    return folder_row(st);
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Status check_folder_name(std::string_view name) {
  auto encoded = encode_path_component(name).size();
  if (encoded <= max_folder_dir_name) return ok_status();
  return Error{fmt::format("Mailbox name too long ({} bytes stored, at most {}; other than letters, digits and "
                           "_-+@. each byte takes three)",
                           encoded, max_folder_dir_name),
               Error::Kind::limit};
}

Status Mailstore::create_folder(std::string_view address, std::string_view name, std::string_view special_use) {
  if (auto v = check_folder_name(name); !v) return v;
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    if (s.find_folder(name)) return Error{fmt::format("folder {} exists", name), Error::Kind::exists};
    if (fs::exists(s.folder_dir(name) / ".folder"))
      // A directory from an interrupted delete or another process: start afresh with a new UIDVALIDITY.
      fs::remove(s.folder_dir(name) / ".folder");
    Tx tx(*s.db);
    s.folder_id(name, special_use);
    tx.commit();
    ++s.version;
    return ok_status();
  } catch (const std::exception& e) {
    return failure(fmt::format("create {} failed: {}", name, e.what()), e);
  }
}

Status Mailstore::delete_folder(std::string_view address, std::string_view name) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  fs::path doomed;
  try {
    std::lock_guard lock(s.mu);
    auto fid = s.find_folder(name);
    if (!fid) return not_found(name);
    // The rename takes the whole folder out at once (durable with one fsync of folders/); the files are
    // removed afterwards from tmp/, which start-up also empties if a crash interrupts that.
    doomed = s.dir / "tmp" / ("deleted-" + make_unique_id());
    fs::rename(s.folder_dir(name), doomed);
    fsync_dir(s.dir / "folders");
    Tx tx(*s.db);
    for (auto sql : {"DELETE FROM messages WHERE folder = ?", "DELETE FROM expunged WHERE folder = ?",
                     "DELETE FROM folders WHERE id = ?"}) {
      Stmt del(s.db->raw(), sql);
      del.bind(1, *fid).step();
    }
    tx.commit();
    s.forget_folders();
    ++s.version;
  } catch (const std::exception& e) {
    return failure(fmt::format("delete {} failed: {}", name, e.what()), e);
  }
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (ec) log::warn("mailslot {}: could not remove {}: {}", address, doomed.string(), ec.message());
  return ok_status();
}

namespace {

// Moves or copies rows and files between two folders of one slot. Caller holds mu and a transaction;
// the caller fsyncs both folders after the commit (and unlinks the moved source files first).
CopyResult copy_locked(Mailstore::Slot& s, std::int64_t src, std::string_view src_name, std::int64_t dst,
                       std::string_view dst_name, const std::vector<std::uint32_t>& uids, bool move,
                       std::vector<fs::path>& unlink_after) {
  CopyResult out;
  Stmt info(s.db->raw(), "SELECT uidvalidity, uidnext FROM folders WHERE id = ?");
  info.bind(1, dst).step();
  out.uidvalidity = static_cast<std::uint32_t>(info.col_int(0));
  auto uidnext = static_cast<std::uint32_t>(info.col_int(1));
  auto dst_modseq = s.next_modseq(dst);
  std::uint64_t src_modseq = move ? s.next_modseq(src) : 0;
  Stmt sel(s.db->raw(),
           "SELECT file, size, internal_date, flags, origin, hdr_from, subject, summary, header FROM messages "
           "WHERE folder = ? AND uid = ?");
  Stmt ins(s.db->raw(),
           "INSERT INTO messages(folder, uid, file, size, internal_date, flags, origin, hdr_from, subject, modseq, "
           "summary, header) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  Stmt del(s.db->raw(), "DELETE FROM messages WHERE folder = ? AND uid = ?");
  Stmt gone(s.db->raw(), "INSERT OR REPLACE INTO expunged(folder, uid, modseq) VALUES (?, ?, ?)");
  auto src_dir = s.folder_dir(src_name);
  auto dst_dir = s.folder_dir(dst_name);
  for (auto uid : uids) {
    sel.reset();
    if (!sel.bind(1, src).bind(2, static_cast<std::int64_t>(uid)).step()) continue;
    auto file = sel.col_text(0);
    auto parsed = parse_message_name(file);
    auto tag = parsed ? parsed->second : make_unique_id();
    auto new_uid = uidnext++;
    auto new_file = fmt::format("{}.{}", new_uid, tag);
    if (::link((src_dir / file).c_str(), (dst_dir / new_file).c_str()) != 0)
      throw std::system_error(errno, std::generic_category(), "link " + (src_dir / file).string());
    ins.reset();
    ins.bind(1, dst).bind(2, static_cast<std::int64_t>(new_uid)).bind(3, new_file).bind(4, sel.col_int(1))
        .bind(5, sel.col_int(2)).bind(6, sel.col_text(3)).bind(7, sel.col_text(4)).bind(8, sel.col_text(5))
        .bind(9, sel.col_text(6)).bind(10, static_cast<std::int64_t>(dst_modseq));
    if (sel.col_null(7)) ins.bind_null(11); else ins.bind(11, sel.col_text(7));
    if (sel.col_null(8)) ins.bind_null(12); else ins.bind(12, sel.col_text(8));
    ins.step();
    if (move) {
      del.reset();
      del.bind(1, src).bind(2, static_cast<std::int64_t>(uid)).step();
      gone.reset();
      gone.bind(1, src).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(src_modseq)).step();
      unlink_after.push_back(src_dir / file);
    }
    out.uids.emplace_back(uid, new_uid);
  }
  Stmt up(s.db->raw(), "UPDATE folders SET uidnext = ? WHERE id = ?");
  up.bind(1, static_cast<std::int64_t>(uidnext)).bind(2, dst).step();
  return out;
}

// Unlinks the moved files' old names and makes both folders durable.
void finish_copy(DirSyncer& dst, DirSyncer* src, const std::vector<fs::path>& unlink_after) {
  // The new names first: until they are durable the old ones must stay.
  dst.sync();
  for (auto& p : unlink_after) {
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) throw std::system_error(ec, "unlink " + p.string());
  }
  if (src && !unlink_after.empty()) src->sync();
}

}  // namespace

Status Mailstore::rename_folder(std::string_view address, std::string_view from, std::string_view to) {
  if (auto v = check_folder_name(to); !v) return v;
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  try {
    std::unique_lock lock(s.mu);
    auto fid = s.find_folder(from);
    if (!fid) return not_found(from);
    if (s.find_folder(to)) return Error{fmt::format("folder {} exists", to), Error::Kind::exists};
    if (iequals(from, "INBOX")) {
      // RFC 9051 6.3.6: renaming INBOX moves its messages to a new folder and leaves INBOX empty.
      Tx tx(*s.db);
      auto dst = s.folder_id(to);
      std::vector<std::uint32_t> uids;
      {
        Stmt all(s.db->raw(), "SELECT uid FROM messages WHERE folder = ? ORDER BY uid");
        all.bind(1, *fid);
        while (all.step()) uids.push_back(static_cast<std::uint32_t>(all.col_int(0)));
      }
      std::vector<fs::path> unlink_after;
      copy_locked(s, *fid, from, dst, to, uids, true, unlink_after);
      tx.commit();
      auto dst_sync = s.syncer(to);
      auto src_sync = s.syncer(from);
      ++s.version;
      lock.unlock();
      finish_copy(*dst_sync, src_sync.get(), unlink_after);
      return ok_status();
    }
    // The folder and its children, each one directory named after its full name.
    std::vector<std::string> names;
    {
      Stmt all(s.db->raw(), "SELECT name FROM folders");
      while (all.step()) {
        auto n = all.col_text(0);
        if (n == from || is_child(n, from)) names.push_back(n);
      }
    }
    for (auto& n : names) {
      auto target = std::string(to) + n.substr(from.size());
      if (auto v = check_folder_name(target); !v) return v;  // a child's new name may be too long
      if (s.find_folder(target) || fs::exists(s.folder_dir(target)))
        return Error{fmt::format("folder {} exists", target), Error::Kind::exists};
    }
    Tx tx(*s.db);
    for (auto& n : names) {
      auto target = std::string(to) + n.substr(from.size());
      fs::rename(s.folder_dir(n), s.folder_dir(target));
      if (auto ff = read_folder_file(s.folder_dir(target))) write_folder_file(s.folder_dir(target), target, *ff);
      fsync_dir(s.folder_dir(target));
      Stmt up(s.db->raw(), "UPDATE folders SET name = ? WHERE name = ?");
      up.bind(1, target).bind(2, n).step();
      Stmt sub(s.db->raw(), "UPDATE OR IGNORE subscriptions SET name = ? WHERE name = ?");
      sub.bind(1, target).bind(2, n).step();
    }
    fsync_dir(s.dir / "folders");
    tx.commit();
    s.forget_folders();
    ++s.version;
    return ok_status();
  } catch (const std::exception& e) {
    return failure(fmt::format("rename {} failed: {}", from, e.what()), e);
  }
}

Status Mailstore::ensure_default_folders(std::string_view address) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    std::set<std::string> uses;
    {
      Stmt st(s.db->raw(), "SELECT special_use FROM folders WHERE special_use != ''");
      while (st.step()) uses.insert(st.col_text(0));
    }
    bool changed = false;
    Tx tx(*s.db);
    if (!s.find_folder("INBOX")) {
      s.folder_id("INBOX");
      changed = true;
    }
    for (auto& d : default_folders) {
      if (uses.count(d.special_use) || s.find_folder(d.name)) continue;
      s.folder_id(d.name, d.special_use);
      Stmt sub(s.db->raw(), "INSERT OR IGNORE INTO subscriptions(name) VALUES (?)");
      sub.bind(1, std::string_view(d.name)).step();
      changed = true;
    }
    if (changed) {
      Stmt sub(s.db->raw(), "INSERT OR IGNORE INTO subscriptions(name) VALUES ('INBOX')");
      sub.step();
      tx.commit();
      ++s.version;
    }
    return ok_status();
  } catch (const std::exception& e) {
    return failure(fmt::format("default folders: {}", e.what()), e);
  }
}

Result<std::vector<std::string>> Mailstore::subscriptions(std::string_view address) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    std::vector<std::string> out;
    Stmt st(s.db->raw(), "SELECT name FROM subscriptions ORDER BY name");
    while (st.step()) out.push_back(st.col_text(0));
    return out;
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Status Mailstore::subscribe(std::string_view address, std::string_view name, bool on) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    Stmt st(s.db->raw(), on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES (?)"
                            : "DELETE FROM subscriptions WHERE name = ?");
    st.bind(1, name).step();
    return ok_status();
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Result<StoreResult> Mailstore::store_flags(std::string_view address, std::string_view folder,
                                           const std::vector<std::uint32_t>& uids, FlagMode mode,
                                           const std::vector<std::string>& flags,
                                           std::optional<std::uint64_t> unchangedsince) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    auto fid = s.find_folder(folder);
    if (!fid) return not_found(folder);
    StoreResult out;
    Tx tx(*s.db);
    std::uint64_t modseq = 0;
    Stmt sel(s.db->raw(), "SELECT flags, modseq FROM messages WHERE folder = ? AND uid = ?");
    Stmt up(s.db->raw(), "UPDATE messages SET flags = ?, modseq = ? WHERE folder = ? AND uid = ?");
    for (auto uid : uids) {
      sel.reset();
      if (!sel.bind(1, *fid).bind(2, static_cast<std::int64_t>(uid)).step()) continue;  // expunged meanwhile
      auto old = sel.col_text(0);
      auto old_modseq = static_cast<std::uint64_t>(sel.col_int(1));
      // RFC 7162 3.1.3: UNCHANGEDSINCE fails for a message changed after the given MODSEQ.
      if (unchangedsince && old_modseq > *unchangedsince) {
        out.modified.push_back(uid);
        continue;
      }
      std::vector<std::string> now;
      switch (mode) {
        case FlagMode::replace:
          now = flags;
          break;
        case FlagMode::add:
          now = split_flags(old);
          now.insert(now.end(), flags.begin(), flags.end());
          break;
        case FlagMode::remove:
          for (auto& f : split_flags(old)) {
            bool drop = false;
            for (auto& r : flags) drop = drop || iequals(f, r);
            if (!drop) now.push_back(f);
          }
          break;
      }
      auto joined = join_flags(now);
      // Same set (order aside): nothing changes, the MODSEQ stays.
      auto a = split_flags(joined), b = split_flags(old);
      bool same = a.size() == b.size();
      for (auto& f : a) same = same && has_flag(old, f);
      if (same) {
        out.unchanged.push_back({uid, old, old_modseq});
        continue;
      }
      if (!modseq) modseq = s.next_modseq(*fid);
      up.reset();
      up.bind(1, joined).bind(2, static_cast<std::int64_t>(modseq)).bind(3, *fid)
          .bind(4, static_cast<std::int64_t>(uid)).step();
      out.changed.push_back({uid, joined, modseq});
    }
    if (modseq) {
      tx.commit();
      ++s.version;
    }
    return out;
  } catch (const std::exception& e) {
    return failure(fmt::format("store in {} failed: {}", folder, e.what()), e);
  }
}

Result<CopyResult> Mailstore::copy(std::string_view address, std::string_view from,
                                   const std::vector<std::uint32_t>& uids, std::string_view to, bool move) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  try {
    std::unique_lock lock(s.mu);
    auto src = s.find_folder(from);
    if (!src) return not_found(from);
    auto dst = s.find_folder(to);
    if (!dst) return not_found(to);
    // MOVE into the same folder is allowed (RFC 6851 3.3): the messages get new UIDs (COPYUID) and the
    // old ones are expunged, like Dovecot does.
    std::vector<fs::path> unlink_after;
    Tx tx(*s.db);
    auto out = copy_locked(s, *src, from, *dst, to, uids, move, unlink_after);
    tx.commit();
    auto dst_sync = s.syncer(to);
    auto src_sync = s.syncer(from);
    ++s.version;
    lock.unlock();
    finish_copy(*dst_sync, src_sync.get(), unlink_after);
    return out;
  } catch (const std::exception& e) {
    return failure(fmt::format("{} from {} to {} failed: {}", move ? "move" : "copy", from, to, e.what()), e);
  }
}

Result<Changes> Mailstore::changes_since(std::string_view address, std::string_view folder, std::uint64_t since) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    auto fid = s.find_folder(folder);
    if (!fid) return not_found(folder);
    Changes out;
    Stmt h(s.db->raw(), "SELECT highestmodseq FROM folders WHERE id = ?");
    h.bind(1, *fid).step();
    out.highestmodseq = static_cast<std::uint64_t>(h.col_int(0));
    if (out.highestmodseq <= since) return out;
    Stmt st(s.db->raw(),
            "SELECT uid, size, internal_date, flags, hdr_from, subject, file, modseq FROM messages "
            "WHERE folder = ? AND modseq > ? ORDER BY uid");
    st.bind(1, *fid).bind(2, static_cast<std::int64_t>(since));
    while (st.step())
      out.changed.push_back(MessageEntry{static_cast<std::uint32_t>(st.col_int(0)),
                                         static_cast<std::uint64_t>(st.col_int(1)), st.col_int(2), st.col_text(3),
                                         st.col_text(4), st.col_text(5), st.col_text(6),
                                         static_cast<std::uint64_t>(st.col_int(7))});
    Stmt ex(s.db->raw(), "SELECT uid FROM expunged WHERE folder = ? AND modseq > ? ORDER BY uid");
    ex.bind(1, *fid).bind(2, static_cast<std::int64_t>(since));
    while (ex.step()) out.expunged.push_back(static_cast<std::uint32_t>(ex.col_int(0)));
    return out;
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

namespace {

// One column for many UIDs, in the order asked ("" for a UID that is not there). Many UIDs are read
// with one range scan instead of a lookup each (a client's message list asks for hundreds).
std::vector<std::string> column_of(Db& db, std::int64_t fid, const std::vector<std::uint32_t>& uids,
                                   const char* column) {
  std::vector<std::string> out(uids.size());
  if (uids.empty()) return out;
  if (uids.size() < 32) {
    Stmt st(db.raw(), fmt::format("SELECT {} FROM messages WHERE folder = ? AND uid = ?", column));
    for (std::size_t i = 0; i < uids.size(); ++i) {
      st.reset();
      if (st.bind(1, fid).bind(2, static_cast<std::int64_t>(uids[i])).step()) out[i] = st.col_text(0);
    }
    return out;
  }
  auto [lo, hi] = std::minmax_element(uids.begin(), uids.end());
  std::vector<std::pair<std::uint32_t, std::size_t>> wanted;
  wanted.reserve(uids.size());
  for (std::size_t i = 0; i < uids.size(); ++i) wanted.emplace_back(uids[i], i);
  std::sort(wanted.begin(), wanted.end());
  Stmt st(db.raw(), fmt::format("SELECT uid, {} FROM messages WHERE folder = ? AND uid BETWEEN ? AND ? ORDER BY uid",
                                column));
  st.bind(1, fid).bind(2, static_cast<std::int64_t>(*lo)).bind(3, static_cast<std::int64_t>(*hi));
  std::size_t w = 0;
  while (w < wanted.size() && st.step()) {
    auto uid = static_cast<std::uint32_t>(st.col_int(0));
    while (w < wanted.size() && wanted[w].first < uid) ++w;
    bool first = true;
    std::string value;
    while (w < wanted.size() && wanted[w].first == uid) {
      if (first) value = st.col_text(1);
      first = false;
      out[wanted[w].second] = value;
      ++w;
    }
  }
  return out;
}

}  // namespace

// The preamble of the read-mostly calls: the slot, its lock, the folder (not_found when absent), and
// SQLite failures as an Error.
template <typename F>
auto Mailstore::in_folder(std::string_view address, std::string_view folder, F f)
    -> Result<std::invoke_result_t<F, Slot&, std::int64_t>> {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    auto fid = s.find_folder(folder);
    if (!fid) return not_found(folder);
    return f(s, *fid);
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Result<std::vector<std::string>> Mailstore::summaries(std::string_view address, std::string_view folder,
                                                      const std::vector<std::uint32_t>& uids) {
  return in_folder(address, folder, [&](Slot& s, std::int64_t fid) {
    return column_of(*s.db, fid, uids, "summary");
  });
}

Result<std::uint32_t> Mailstore::recent_from(std::string_view address, std::string_view folder,
                                            std::uint32_t through_uid, bool claim) {
  return in_folder(address, folder, [&](Slot& s, std::int64_t fid) -> std::uint32_t {
    Stmt get(s.db->raw(), "SELECT first_recent_uid FROM folders WHERE id = ?");
    get.bind(1, fid).step();
    auto first = static_cast<std::uint32_t>(get.col_int(0));
    if (claim && through_uid >= first) {
      Stmt up(s.db->raw(), "UPDATE folders SET first_recent_uid = ? WHERE id = ?");
      up.bind(1, static_cast<std::int64_t>(through_uid) + 1).bind(2, fid).step();
    }
    return first;
  });
}

Result<Snapshot> Mailstore::snapshot(std::string_view address, std::string_view folder) {
  return in_folder(address, folder, [&](Slot& s, std::int64_t fid) {
    Snapshot out;
    Stmt f(s.db->raw(), "SELECT name, uidvalidity, uidnext, highestmodseq, special_use FROM folders WHERE id = ?");
    f.bind(1, fid).step();
    out.folder.name = f.col_text(0);
    out.folder.uidvalidity = static_cast<std::uint32_t>(f.col_int(1));
    out.folder.uidnext = static_cast<std::uint32_t>(f.col_int(2));
    out.folder.highestmodseq = static_cast<std::uint64_t>(f.col_int(3));
    out.folder.special_use = f.col_text(4);
    Stmt st(s.db->raw(), "SELECT uid, size, internal_date, flags, modseq FROM messages WHERE folder = ? ORDER BY uid");
    st.bind(1, fid);
    while (st.step()) {
      MessageEntry e;
      e.uid = static_cast<std::uint32_t>(st.col_int(0));
      e.size = static_cast<std::uint64_t>(st.col_int(1));
      e.internal_date = st.col_int(2);
      e.flags = st.col_text(3);
      e.modseq = static_cast<std::uint64_t>(st.col_int(4));
      out.messages.push_back(std::move(e));
    }
    out.folder.messages = static_cast<std::uint32_t>(out.messages.size());
    return out;
  });
}

Result<std::vector<std::string>> Mailstore::headers(std::string_view address, std::string_view folder,
                                                    const std::vector<std::uint32_t>& uids) {
  return in_folder(address, folder, [&](Slot& s, std::int64_t fid) {
    return column_of(*s.db, fid, uids, "header");
  });
}

Status Mailstore::set_summaries(std::string_view address, std::string_view folder,
                                const std::vector<std::pair<std::uint32_t, std::string>>& summaries) {
  return in_folder(address, folder, [&](Slot& s, std::int64_t fid) {
    Tx tx(*s.db);
    Stmt up(s.db->raw(), "UPDATE messages SET summary = ? WHERE folder = ? AND uid = ?");
    for (auto& [uid, text] : summaries) {
      up.reset();
      up.bind(1, text).bind(2, fid).bind(3, static_cast<std::int64_t>(uid)).step();
    }
    tx.commit();
    return Unit{};
  });
}

Result<std::uint64_t> Mailstore::usage(std::string_view address) {
  auto slot = open_slot(address);
  if (!slot) return slot.error();
  Slot& s = **slot;
  std::lock_guard lock(s.mu);
  try {
    return s.octets();
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

std::uint64_t Mailstore::version(std::string_view address) {
  auto slot = open_slot(address);
  if (!slot) return 0;
  return (*slot)->version.load();
}

}  // namespace tern::store
