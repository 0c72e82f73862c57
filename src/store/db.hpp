// store/db: a thin RAII layer over SQLite 3 (connections, prepared statements, transactions).
//
// Error contract: SQLite failures throw DbError (a store-internal exception); the store's public
// functions catch it and return Result values, so nothing throws across the module boundary.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tern::store {

struct DbError : std::runtime_error {
  explicit DbError(const std::string& what, int code = 0) : std::runtime_error(what), code(code) {}
  int code;  // SQLite's primary result code (SQLITE_CORRUPT, SQLITE_BUSY, ...), 0 when not from SQLite
  // The file is not a usable database (as opposed to busy, full, or an I/O error).
  bool damaged() const;
};

// The Error for an exception caught at the store's boundary, with the kind set from SQLite's result
// code (busy or locked: temporary; full: no_space) or from the errno of a refused system call.
Error failure(std::string message, const std::exception& e);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind_null(int i);
  bool step();  // true: a row is ready; false: done
  void reset();
  std::int64_t col_int(int i) const;
  std::string col_text(int i) const;
  bool col_null(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

class Db {
 public:
  // Opens (creating if needed, unless create is false) in WAL mode with a busy timeout, so the CLI and
  // the server share it. synchronous_full: principle 1 (committed means on disk); false for caches.
  Db(const std::filesystem::path& file, bool synchronous_full, bool create = true);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);
  sqlite3* raw() { return db_; }
  std::int64_t last_insert_id() const;
  int changes() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() ran.
class Tx {
 public:
  explicit Tx(Db& db);
  ~Tx();
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace tern::store
