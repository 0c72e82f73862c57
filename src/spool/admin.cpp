#include "spool/admin.hpp"

#include <limits>

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "store/files.hpp"

namespace tern::spool {
namespace fs = std::filesystem;

namespace {

// Index rows read through a read-only connection; an absent or unreadable index gives none.
// The index's rows; only those of ids first..last when given (a page of the queue).
std::map<std::pair<std::string, std::size_t>, RecipientStatus> read_index(const fs::path& file,
                                                                           const std::string& first = {},
                                                                           const std::string& last = {}) {
  std::map<std::pair<std::string, std::size_t>, RecipientStatus> out;
  if (!fs::exists(file)) return out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  const bool range = !first.empty() && !last.empty();
  const char* sql = range ? "SELECT id, rcpt, attempts, next_attempt, last_error FROM recipients WHERE id BETWEEN ?1 AND ?2"
                          : "SELECT id, rcpt, attempts, next_attempt, last_error FROM recipients";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK) {
    if (range) {
      sqlite3_bind_text(st, 1, first.data(), static_cast<int>(first.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, last.data(), static_cast<int>(last.size()), SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      auto text = [&](int i) {
        auto* p = sqlite3_column_text(st, i);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
      };
      RecipientStatus s;
      s.attempts = static_cast<std::uint32_t>(sqlite3_column_int64(st, 2));
      s.next_attempt = sqlite3_column_int64(st, 3);
      s.last_error = text(4);
      out[{text(0), static_cast<std::size_t>(sqlite3_column_int64(st, 1))}] = s;
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

namespace {

using IndexRows = std::map<std::pair<std::string, std::size_t>, RecipientStatus>;

// The view of one queue file; nullopt when it is gone (delivered and removed meanwhile).
std::optional<QueueView> view_of(const Paths& paths, const IndexRows& index, const fs::path& p) {
  QueueView v;
  auto name = p.filename().string();
  v.id = name.substr(0, name.size() - 4);
  v.held = fs::exists(paths.hold_marker(v.id));
  std::string data;
  try {
    data = store::read_file(p);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto q = parse(data);
  if (!q) {
    v.problem = q.error().message;
    return v;
  }
  v.from = q->envelope.from;
  v.arrived = q->envelope.arrived;
  v.size = data.size() - q->message_offset;
  for (std::size_t i = 0; i < q->envelope.recipients.size(); ++i) {
    auto& r = q->envelope.recipients[i];
    QueueRecipientView rv;
    rv.address = r.address;
    rv.state = r.state == RcptState::done     ? "delivered"
               : r.state == RcptState::failed ? "failed"
               : v.held                       ? "held"
                                              : "queued";
    if (auto it = index.find({v.id, i}); it != index.end()) {
      rv.attempts = it->second.attempts;
      rv.next_attempt = it->second.next_attempt;
      rv.last_error = it->second.last_error;
    }
    v.recipients.push_back(std::move(rv));
  }
  return v;
}

}  // namespace

namespace {

// The queue files, in id order (the order of arrival): a directory listing, no file read.
std::vector<fs::path> queue_files(const Paths& paths) {
  std::vector<fs::path> files;
  if (!fs::exists(paths.outbox)) return files;
  for (auto& de : fs::directory_iterator(paths.outbox))
    if (classify(de.path().filename().string()) == OutboxName::queue_file) files.push_back(de.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<QueueView> list_queue(const Paths& paths) {
  std::size_t total = 0;
  return list_queue_page(paths, 0, std::numeric_limits<std::size_t>::max(), &total);
}

std::vector<QueueView> list_queue_page(const Paths& paths, std::size_t offset, std::size_t limit, std::size_t* total) {
  std::vector<QueueView> out;
  auto files = queue_files(paths);
  *total = files.size();
  if (offset >= files.size() || limit == 0) return out;
  auto end = files.size() - offset > limit ? offset + limit : files.size();
  // Only the page's rows of the index: the smallest and largest id among its files.
  std::string first, last;
  for (auto i = offset; i < end; ++i) {
    auto id = files[i].stem().string();
    if (first.empty() || id < first) first = id;
    if (last.empty() || id > last) last = id;
  }
  auto index = read_index(paths.index(), first, last);
  for (auto i = offset; i < end; ++i)
    if (auto v = view_of(paths, index, files[i])) out.push_back(std::move(*v));
  return out;
}

Result<QueueView> show_queue(const Paths& paths, const std::string& id) {
  auto file = paths.queue_file(id);
  if (id.empty() || id.find('/') != std::string::npos || classify(file.filename().string()) != OutboxName::queue_file)
    return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  auto v = view_of(paths, read_index(paths.index()), file);
  if (!v) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  return std::move(*v);
}

Result<std::vector<std::string>> index_ids(const Paths& paths) {
  std::vector<std::string> out;
  auto file = paths.index();
  if (!fs::exists(file)) return out;
  sqlite3* db = nullptr;
  auto fail = [&](const std::string& what) {
    sqlite3_close(db);
    return Error{fmt::format("{}: {}", file.string(), what)};
  };
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return fail("cannot open");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT DISTINCT id FROM recipients", -1, &st, nullptr) != SQLITE_OK)
    return fail(sqlite3_errmsg(db));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(sqlite3_errmsg(db));
  sqlite3_close(db);
  return out;
}

Result<std::string> show_queue_file(const Paths& paths, const std::string& id) {
  if (id.find('/') != std::string::npos || id.empty()) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  try {
    return store::read_file(paths.queue_file(id));
  } catch (const std::exception&) {
    return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  }
}

}  // namespace tern::spool
