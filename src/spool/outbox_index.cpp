#include "spool/outbox_index.hpp"

#include <sqlite3.h>

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "base/log.hpp"
#include "store/db.hpp"

namespace tern::spool {
namespace fs = std::filesystem;
using store::Stmt;

namespace {
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS recipients(
  id TEXT NOT NULL,
  rcpt INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delay_warned INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(id, rcpt));
)";
}

OutboxIndex::OutboxIndex(const fs::path& file) {
  bool existed = fs::exists(file);
  try {
    db_ = std::make_unique<store::Db>(file, false);
    db_->exec(schema);
    Stmt chk(db_->raw(), "PRAGMA quick_check");
    if (!chk.step() || chk.col_text(0) != "ok") throw store::DbError("quick_check failed", SQLITE_CORRUPT);
  } catch (const store::DbError& e) {
    if (!e.damaged()) throw;  // busy, full, I/O: not a reason to set the index aside
    db_.reset();
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto aside = fs::path(file.string() + fmt::format(".damaged-{}", now));
    log::warn("outbox index {} unreadable ({}); moved to {}; rebuilding it from the queue files", file.string(),
              e.what(), aside.string());
    std::error_code ec;
    fs::rename(file, aside, ec);
    fs::rename(file.string() + "-wal", aside.string() + "-wal", ec);
    fs::rename(file.string() + "-shm", aside.string() + "-shm", ec);
    db_ = std::make_unique<store::Db>(file, false);
    db_->exec(schema);
    existed = false;
  }
  rebuilt_ = !existed;
}

OutboxIndex::~OutboxIndex() = default;

std::map<std::string, std::map<std::size_t, RecipientStatus>> OutboxIndex::load() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::map<std::size_t, RecipientStatus>> out;
  Stmt st(db_->raw(), "SELECT id, rcpt, attempts, next_attempt, last_error, delay_warned FROM recipients");
  while (st.step())
    out[st.col_text(0)][static_cast<std::size_t>(st.col_int(1))] =
        RecipientStatus{static_cast<std::uint32_t>(st.col_int(2)), st.col_int(3), st.col_text(4), st.col_int(5) != 0};
  return out;
}

void OutboxIndex::put(const std::string& id, std::size_t rcpt, const RecipientStatus& s) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(),
          "INSERT OR REPLACE INTO recipients(id, rcpt, attempts, next_attempt, last_error, delay_warned) "
          "VALUES (?, ?, ?, ?, ?, ?)");
  st.bind(1, id).bind(2, static_cast<std::int64_t>(rcpt)).bind(3, static_cast<std::int64_t>(s.attempts))
      .bind(4, s.next_attempt).bind(5, s.last_error).bind(6, static_cast<std::int64_t>(s.delay_warned)).step();
}

void OutboxIndex::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(), "DELETE FROM recipients WHERE id = ?");
  st.bind(1, id).step();
}

void OutboxIndex::retain(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  std::set<std::string> keep(ids.begin(), ids.end());
  std::vector<std::string> drop;
  {
    Stmt st(db_->raw(), "SELECT DISTINCT id FROM recipients");
    while (st.step())
      if (!keep.count(st.col_text(0))) drop.push_back(st.col_text(0));
  }
  store::Tx tx(*db_);
  Stmt del(db_->raw(), "DELETE FROM recipients WHERE id = ?");
  for (auto& id : drop) {
    del.reset();
    del.bind(1, id).step();
  }
  tx.commit();
}

void OutboxIndex::make_due(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  if (ids.empty()) {
    db_->exec("UPDATE recipients SET next_attempt = 0");
    return;
  }
  Stmt st(db_->raw(), "UPDATE recipients SET next_attempt = 0 WHERE id = ?");
  for (auto& id : ids) {
    st.reset();
    st.bind(1, id).step();
  }
}

}  // namespace tern::spool
