#include "store/db.hpp"

#include <sqlite3.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "base/log.hpp"

namespace tern::store {

bool DbError::damaged() const { return code == SQLITE_CORRUPT || code == SQLITE_NOTADB; }

Error failure(std::string message, const std::exception& e) {
  if (auto* se = dynamic_cast<const std::system_error*>(&e)) return Error::system(std::move(message), se->code());
  Error out{std::move(message)};
  if (auto* de = dynamic_cast<const DbError*>(&e)) {
    switch (de->code) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED: out.kind = Error::Kind::temporary; break;
      case SQLITE_FULL: out.kind = Error::Kind::no_space; break;
      default: break;
    }
  }
  return out;
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr) != SQLITE_OK)
    throw DbError(fmt::format("prepare: {}: {}", sqlite3_errmsg(db), sql), sqlite3_errcode(db) & 0xff);
}
Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}
bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw DbError(fmt::format("step: {}", sqlite3_errmsg(db_)), rc & 0xff);
}
void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}
std::int64_t Stmt::col_int(int i) const { return sqlite3_column_int64(st_, i); }
std::string Stmt::col_text(int i) const {
  auto* p = sqlite3_column_text(st_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i)))
           : std::string();
}
bool Stmt::col_null(int i) const { return sqlite3_column_type(st_, i) == SQLITE_NULL; }

Db::Db(const std::filesystem::path& file, bool synchronous_full, bool create) : file_(file) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    int code = db_ ? sqlite3_errcode(db_) & 0xff : SQLITE_NOMEM;
    sqlite3_close(db_);
    throw DbError(fmt::format("{}: {}", file.string(), msg), code);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    // Switching a new file to WAL takes an exclusive lock and may answer SQLITE_BUSY at once, without
    // the busy handler, when another process (the CLI, the server) opens the same file this instant.
    for (int attempt = 0;; ++attempt) {
      try {
        exec("PRAGMA journal_mode=WAL");
        break;
      } catch (const DbError& e) {
        if ((e.code != SQLITE_BUSY && e.code != SQLITE_LOCKED) || attempt >= 250) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close(db_);  // the destructor does not run for a constructor that throws
    db_ = nullptr;
    throw;
  }
}
Db::~Db() { sqlite3_close(db_); }

void Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw DbError(fmt::format("{}: {}", file_.string(), msg), sqlite3_errcode(db_) & 0xff);
  }
}
std::int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

Tx::Tx(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
Tx::~Tx() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const std::exception& e) {
      // SQLite rolls back an open transaction itself when the connection closes or the next BEGIN
      // fails; a destructor must not throw, so the failure is only logged.
      log::warn("{}: rollback failed: {}", db_.file().string(), e.what());
    }
  }
}
void Tx::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace tern::store
