#include "store/directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "store/db.hpp"
#include "store/files.hpp"

namespace tern::store {
namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS mailslots(
  address TEXT PRIMARY KEY,
  domain TEXT NOT NULL REFERENCES domains(name),
  kind TEXT NOT NULL CHECK(kind IN ('mailbox', 'archive')),
  password TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL DEFAULT (strftime('%s','now')));
CREATE TABLE IF NOT EXISTS aliases(
  address TEXT NOT NULL,
  target TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY(address, target));
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
)";

// Each step takes the schema from version N to N + 1, in one transaction with the version's update; a
// directory written by an older Tern is brought up to date when it is opened.
constexpr const char* migrations[] = {
    // 2: administrators (`tern user add --admin`, the web console and the API) and API tokens, kept as
    //    SHA-256 hashes (the token itself is shown once, at creation).
    R"(
ALTER TABLE mailslots ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE api_tokens(
  id INTEGER PRIMARY KEY,
  address TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL DEFAULT (strftime('%s','now')),
  revoked INTEGER NOT NULL DEFAULT 0);
)",
    // 3: a mailbox's own quota (NULL: [limits] mailbox_quota) and whether it may log in.
    R"(
ALTER TABLE mailslots ADD COLUMN quota INTEGER;
ALTER TABLE mailslots ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
)",
};

int schema_version(Db& db) {
  Stmt v(db.raw(), "SELECT value FROM meta WHERE key = 'schema_version'");
  return v.step() ? std::atoi(v.col_text(0).c_str()) : 1;
}

// The version is read again inside the transaction: the CLI and the server may open an old file at
// the same moment, and only one of them applies each step.
void migrate(Db& db) {
  constexpr int latest = 1 + static_cast<int>(std::size(migrations));
  while (schema_version(db) < latest) {
    Tx tx(db);
    int version = schema_version(db);
    if (version >= latest) return;
    db.exec(migrations[version - 1]);
    Stmt set(db.raw(), "UPDATE meta SET value = ? WHERE key = 'schema_version'");
    set.bind(1, std::to_string(version + 1)).step();
    tx.commit();
  }
}

// A mailslot from a row: the address at column `address`, then password, admin, quota, enabled from `rest`.
Mailslot slot_of(Stmt& st, int address, SlotKind kind, int rest) {
  Mailslot m{st.col_text(address), kind, st.col_text(rest), st.col_int(rest + 1) != 0};
  if (!st.col_null(rest + 2)) m.quota = static_cast<std::uint64_t>(st.col_int(rest + 2));
  m.enabled = st.col_int(rest + 3) != 0;
  return m;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.') return false;
  for (unsigned char c : d)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return false;
  return d.find("..") == std::string_view::npos;
}

Status check_address(std::string_view a) {
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || !valid_domain(a.substr(at + 1)))
    return Error{fmt::format("'{}' is not an address of the form local@domain", a), Error::Kind::invalid};
  for (unsigned char c : a)
    if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) return Error{fmt::format("'{}': invalid character in address", a), Error::Kind::invalid};
  return ok_status();
}

}  // namespace

std::string_view kind_name(SlotKind k) {
  switch (k) {
    case SlotKind::mailbox: return "mailbox";
    case SlotKind::archive: return "archive";
    case SlotKind::list: return "list";
  }
  return "mailbox";
}

std::optional<SlotKind> parse_slot_kind(std::string_view name) {
  for (auto k : {SlotKind::mailbox, SlotKind::archive, SlotKind::list})
    if (kind_name(k) == name) return k;
  return std::nullopt;
}

std::string normalize_address(std::string_view address) { return to_lower(address); }

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

namespace fs = std::filesystem;

namespace {

std::uintmax_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The directory holds password hashes: owner-only, whatever the umask was when it was created
// (SQLite gives its -wal and -shm files the database file's mode).
void restrict_mode(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0 && (st.st_mode & 077)) ::chmod(p.c_str(), st.st_mode & 0700);
}

// Serialises backups of one data directory across processes (the CLI and the server may both write),
// so the last tern.db.bak renamed into place is also the last one taken. flock on the folder itself:
// never on tern.db, whose POSIX locks SQLite owns (closing another descriptor of it would drop them).
struct FolderLock {
  int fd;
  explicit FolderLock(const fs::path& dir) : fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd >= 0) ::flock(fd, LOCK_EX);
  }
  ~FolderLock() {
    if (fd >= 0) ::close(fd);
  }
};

void fsync_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + p.string());
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(e, std::generic_category(), "fsync " + p.string());
}

fs::path parent_or_dot(const fs::path& p) { return p.parent_path().empty() ? fs::path(".") : p.parent_path(); }

}  // namespace

fs::path backup_path(const fs::path& db_file) { return fs::path(db_file.string() + ".bak"); }

std::string DirectoryHealth::describe() const {
  switch (state) {
    case State::healthy: return "healthy";
    case State::missing: return "missing";
    case State::empty: return "empty (0 bytes)";
    case State::foreign: return "not a Tern directory database (" + detail + ")";
    case State::damaged: return "damaged (" + detail + ")";
  }
  return "unknown";
}

DirectoryHealth inspect_directory(const fs::path& db_file) {
  DirectoryHealth h;
  std::error_code ec;
  if (!fs::exists(db_file, ec)) {
    h.state = DirectoryHealth::State::missing;
    return h;
  }
  if (file_size_or_zero(db_file) == 0) {
    h.state = DirectoryHealth::State::empty;
    return h;
  }
  try {
    Db db(db_file, true, false);
    {
      Stmt chk(db.raw(), "PRAGMA integrity_check");
      std::string problems;
      while (chk.step())
        if (auto r = chk.col_text(0); r != "ok") problems += (problems.empty() ? "" : "; ") + r;
      if (!problems.empty()) {
        h.state = DirectoryHealth::State::damaged;
        h.detail = problems;
        return h;
      }
    }
    try {
      Stmt v(db.raw(), "SELECT value FROM meta WHERE key = 'schema_version'");
      if (!v.step()) throw DbError("no schema_version");
    } catch (const DbError& e) {
      h.state = DirectoryHealth::State::foreign;
      h.detail = e.what();
      return h;
    }
    auto count = [&](const char* sql) {
      Stmt st(db.raw(), sql);
      st.step();
      return static_cast<std::size_t>(st.col_int(0));
    };
    h.domains = count("SELECT count(*) FROM domains");
    h.mailslots = count("SELECT count(*) FROM mailslots");
    h.aliases = count("SELECT count(DISTINCT address) FROM aliases");
  } catch (const DbError& e) {
    h.state = DirectoryHealth::State::damaged;
    h.detail = e.what();
  }
  return h;
}

Result<std::string> restore_directory(const fs::path& db_file) {
  auto bak = backup_path(db_file);
  auto from = inspect_directory(bak);
  if (!from.usable())
    return Error{fmt::format("{}: no usable backup ({} is {})", db_file.string(), bak.filename().string(), from.describe()),
                 Error::Kind::not_found};
  try {
    auto dir = parent_or_dot(db_file);
    FolderLock lock(dir);
    // 1. Set the unusable file aside with its WAL and shared memory: a stale WAL must never be applied
    //    to the restored file. Kept, never deleted (principle 2).
    auto suffix = fmt::format(".damaged-{}", static_cast<long long>(std::time(nullptr)));
    std::string aside;
    for (auto ext : {"", "-wal", "-shm"}) {
      fs::path p(db_file.string() + ext);
      std::error_code ec;
      if (!fs::exists(p, ec)) continue;
      fs::rename(p, fs::path(db_file.string() + suffix + ext));
      if (*ext == 0) aside = db_file.filename().string() + suffix;
    }
    // 2. Copy the backup to a temporary file, fsync it, rename it into place, fsync the folder.
    write_file_synced(db_file.string() + ".restore-tmp", db_file, read_file(bak));
    restrict_mode(db_file);
    fsync_dir(dir);
    struct stat st {};
    ::stat(bak.c_str(), &st);
    char when[64] = "";
    std::tm tm {};
    std::time_t t = st.st_mtime;
    gmtime_r(&t, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return fmt::format("restored {} from {} (written {}: {} domain(s), {} mailslot(s), {} alias(es)){}",
                       db_file.filename().string(), bak.filename().string(), when, from.domains, from.mailslots,
                       from.aliases, aside.empty() ? "" : "; the unusable file was kept as " + aside);
  } catch (const std::exception& e) {
    return failure(fmt::format("{}: restore failed: {}", db_file.string(), e.what()), e);
  }
}

Result<std::unique_ptr<Directory>> Directory::open(const fs::path& db_file) { return open_db(db_file, false); }
Result<std::unique_ptr<Directory>> Directory::create(const fs::path& db_file) { return open_db(db_file, true); }

Result<std::unique_ptr<Directory>> Directory::open_db(const fs::path& db_file, bool create) {
  bool fresh = file_size_or_zero(db_file) == 0;
  if (fresh && !create) {
    std::error_code ec;
    bool exists = fs::exists(db_file, ec);
    return Error{fmt::format("{}: {}", db_file.string(), exists ? "empty directory database (0 bytes)" : "no directory database"),
                 Error::Kind::not_found};
  }
  try {
    auto db = std::make_unique<Db>(db_file, true, create);
    if (!fresh) {
      // An existing file must already be Tern's: never add a schema to a stranger's database.
      try {
        Stmt v(db->raw(), "SELECT value FROM meta WHERE key = 'schema_version'");
        if (!v.step()) throw DbError("no schema_version in meta");
      } catch (const DbError& e) {
        if (e.damaged()) throw;
        return Error{fmt::format("{}: not a Tern directory database ({})", db_file.string(), e.what()),
                     Error::Kind::invalid};
      }
    }
    db->exec(schema);
    migrate(*db);
    restrict_mode(db_file);
    std::unique_ptr<Directory> dir(new Directory(std::move(db)));
    std::error_code ec;
    if (fresh || !fs::exists(backup_path(db_file), ec)) {
      std::lock_guard lock(dir->mu_);
      if (auto s = dir->backup_locked(); !s) log::warn("{}", s.error().message);
    }
    return dir;
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
}

Status Directory::backup() {
  std::lock_guard lock(mu_);
  return backup_locked();
}

// A consistent snapshot (VACUUM INTO reads inside one transaction), made durable before it replaces the
// previous backup: 1. VACUUM INTO a new temporary file; 2. fsync it; 3. rename over tern.db.bak;
// 4. fsync the folder.
Status Directory::backup_locked() {
  static std::atomic<unsigned> counter{0};
  auto file = db_->file();
  auto dir = parent_or_dot(file);
  auto tmp = fs::path(fmt::format("{}.bak-tmp.{}.{}", file.string(), ::getpid(), counter++));
  try {
    FolderLock lock(dir);
    // Under the lock no other process is writing one: any temporary copy left is a killed writer's.
    auto stale_prefix = file.filename().string() + ".bak-tmp.";
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec))
      if (e.path().filename().string().starts_with(stale_prefix)) fs::remove(e.path(), ec);
    Stmt st(db_->raw(), "VACUUM INTO ?");
    st.bind(1, tmp.string()).step();
    restrict_mode(tmp);
    fsync_file(tmp);
    fs::rename(tmp, backup_path(file));
    fsync_dir(dir);
    return ok_status();
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return failure(fmt::format("{}: cannot write the backup: {}", backup_path(file).string(), e.what()), e);
  }
}

template <typename F>
Status Directory::change(F&& f) {
  std::lock_guard lock(mu_);
  Status s = ok_status();
  try {
    s = f();
  } catch (const DbError& e) {
    return failure(e.what(), e);
  }
  if (s) {
    // The change is committed; a failed backup does not undo it, but is said loudly.
    if (auto b = backup_locked(); !b) log::warn("{}", b.error().message);
  }
  return s;
}

Directory::Directory(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Directory::~Directory() = default;

Status Directory::add_domain(std::string_view name) {
  auto d = to_lower(name);
  if (!valid_domain(d)) return Error{fmt::format("'{}' is not a valid domain name", name), Error::Kind::invalid};
  return change([&]() -> Status {
    Stmt st(db_->raw(), "INSERT OR IGNORE INTO domains(name) VALUES (?)");
    st.bind(1, d).step();
    if (db_->changes() == 0) return Error{fmt::format("domain {} exists already", d), Error::Kind::exists};
    return ok_status();
  });
}

Status Directory::del_domain(std::string_view name) {
  auto d = to_lower(name);
  return change([&]() -> Status {
    Stmt count(db_->raw(), "SELECT count(*) FROM mailslots WHERE domain = ?");
    count.bind(1, d).step();
    if (auto n = count.col_int(0); n > 0)
      return Error{fmt::format("domain {} still has {} mailslot(s); delete them first", d, n), Error::Kind::in_use};
    // An alias of a domain that is gone would never be reached (the domain is no longer local).
    Stmt al(db_->raw(), "SELECT DISTINCT address FROM aliases WHERE address LIKE '%@' || ? ORDER BY address");
    al.bind(1, d);
    std::vector<std::string> aliases;
    while (al.step())
      if (domain_of(al.col_text(0)) == d) aliases.push_back(al.col_text(0));
    if (!aliases.empty())
      return Error{fmt::format("domain {} still has alias(es) {}; delete them first", d, fmt::join(aliases, ", ")),
                   Error::Kind::in_use};
    Stmt st(db_->raw(), "DELETE FROM domains WHERE name = ?");
    st.bind(1, d).step();
    if (db_->changes() == 0) return Error{fmt::format("no domain {}", d), Error::Kind::not_found};
    return ok_status();
  });
}

std::vector<std::string> Directory::domains() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  Stmt st(db_->raw(), "SELECT name FROM domains ORDER BY name");
  while (st.step()) out.push_back(st.col_text(0));
  return out;
}

bool Directory::is_local_domain(std::string_view name) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(), "SELECT 1 FROM domains WHERE name = ?");
  return st.bind(1, to_lower(name)).step();
}

Status Directory::add_mailslot(std::string_view address, SlotKind kind, std::string_view password_hash, bool admin) {
  auto a = normalize_address(address);
  if (auto s = check_address(a); !s) return s;
  return change([&]() -> Status {
    auto d = domain_of(a);
    Stmt dom(db_->raw(), "SELECT 1 FROM domains WHERE name = ?");
    if (!dom.bind(1, d).step()) return Error{fmt::format("{} is not a local domain (add it with: tern domain add {})", d, d), Error::Kind::invalid};
    Stmt al(db_->raw(), "SELECT 1 FROM aliases WHERE address = ?");
    if (al.bind(1, a).step()) return Error{fmt::format("{} is an alias; delete the alias first", a), Error::Kind::exists};
    if (admin && kind != SlotKind::mailbox)
      return Error{fmt::format("{}: only a user (a mailbox) can be an administrator", a), Error::Kind::invalid};
    Stmt st(db_->raw(),
            "INSERT OR IGNORE INTO mailslots(address, domain, kind, password, admin) VALUES (?, ?, ?, ?, ?)");
    st.bind(1, a).bind(2, d).bind(3, kind_name(kind)).bind(4, password_hash).bind(5, std::int64_t{admin}).step();
    if (db_->changes() == 0) return Error{fmt::format("{} exists already", a), Error::Kind::exists};
    return ok_status();
  });
}

Status Directory::del_mailslot(std::string_view address, SlotKind kind) {
  auto a = normalize_address(address);
  return change([&]() -> Status {
    Stmt st(db_->raw(), "DELETE FROM mailslots WHERE address = ? AND kind = ?");
    st.bind(1, a).bind(2, kind_name(kind)).step();
    if (db_->changes() == 0) return Error{fmt::format("no {} {}", kind_name(kind), a), Error::Kind::not_found};
    return ok_status();
  });
}

Status Directory::set_password(std::string_view address, std::string_view password_hash) {
  return change_mailbox(address, {.password_hash = std::string(password_hash)});
}

Status Directory::set_quota(std::string_view address, std::optional<std::uint64_t> quota) {
  return change_mailbox(address, {.quota = quota});
}

Status Directory::set_enabled(std::string_view address, bool enabled) {
  return change_mailbox(address, {.enabled = enabled});
}

Status Directory::set_admin(std::string_view address, bool admin) {
  return change_mailbox(address, {.admin = admin});
}

Status Directory::change_mailbox(std::string_view address, const MailboxChange& c) {
  auto a = normalize_address(address);
  if (c.quota && *c.quota && **c.quota > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return Error{"the quota is too large", Error::Kind::invalid};
  // "address = address" keeps the statement valid (and the existence check) when nothing changes.
  std::string set = "address = address";
  if (c.password_hash) set += ", password = ?";
  if (c.quota) set += ", quota = ?";
  if (c.enabled) set += ", enabled = ?";
  if (c.admin) set += ", admin = ?";
  return change([&]() -> Status {
    Stmt st(db_->raw(), fmt::format("UPDATE mailslots SET {} WHERE address = ? AND kind = 'mailbox'", set));
    int i = 0;  // the parameters in the order of `set`
    if (c.password_hash) st.bind(++i, *c.password_hash);
    if (c.quota) {
      if (*c.quota) st.bind(++i, static_cast<std::int64_t>(**c.quota));
      else st.bind_null(++i);  // the server's default
    }
    if (c.enabled) st.bind(++i, std::int64_t{*c.enabled});
    if (c.admin) st.bind(++i, std::int64_t{*c.admin});
    st.bind(++i, a).step();
    if (db_->changes() == 0) return Error{fmt::format("no user {}", a), Error::Kind::not_found};
    return ok_status();
  });
}

std::optional<Mailslot> Directory::find_mailslot(std::string_view address) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(), "SELECT address, kind, password, admin, quota, enabled FROM mailslots WHERE address = ?");
  if (!st.bind(1, normalize_address(address)).step()) return std::nullopt;
  // A kind this version does not know (a newer schema) is never taken for a mailbox.
  auto kind = parse_slot_kind(st.col_text(1));
  if (!kind) return std::nullopt;
  return slot_of(st, 0, *kind, 2);
}

std::vector<Mailslot> Directory::mailslots(SlotKind kind) {
  std::lock_guard lock(mu_);
  std::vector<Mailslot> out;
  Stmt st(db_->raw(),
          "SELECT address, password, admin, quota, enabled FROM mailslots WHERE kind = ? ORDER BY domain, address");
  st.bind(1, kind_name(kind));
  while (st.step()) out.push_back(slot_of(st, 0, kind, 1));
  return out;
}

std::optional<std::string> Directory::first_mailbox(std::string_view domain) {
  std::lock_guard lock(mu_);
  // rowid grows with each insert, so it orders mailslots created within the same second too.
  Stmt st(db_->raw(), "SELECT address FROM mailslots WHERE kind = 'mailbox' AND (?1 = '' OR domain = ?1) "
                      "ORDER BY created, rowid LIMIT 1");
  if (!st.bind(1, normalize_address(domain)).step()) return std::nullopt;
  return st.col_text(0);
}

Status Directory::add_alias(std::string_view address, const std::vector<std::string>& targets) {
  auto a = normalize_address(address);
  if (auto s = check_address(a); !s) return s;
  if (targets.empty()) return Error{"an alias needs at least one target", Error::Kind::invalid};
  for (auto& t : targets)
    if (auto s = check_address(normalize_address(t)); !s) return s;
  return change([&]() -> Status {
    auto d = domain_of(a);
    Stmt dom(db_->raw(), "SELECT 1 FROM domains WHERE name = ?");
    if (!dom.bind(1, d).step()) return Error{fmt::format("{} is not a local domain (add it with: tern domain add {})", d, d), Error::Kind::invalid};
    Stmt ms(db_->raw(), "SELECT 1 FROM mailslots WHERE address = ?");
    if (ms.bind(1, a).step()) return Error{fmt::format("{} is a mailslot; an alias cannot have its name", a), Error::Kind::exists};
    Tx tx(*db_);
    Stmt pos(db_->raw(), "SELECT coalesce(max(position), 0) FROM aliases WHERE address = ?");
    pos.bind(1, a).step();
    auto next = pos.col_int(0) + 1;
    Stmt st(db_->raw(), "INSERT OR IGNORE INTO aliases(address, target, position) VALUES (?, ?, ?)");
    for (auto& t : targets) {
      st.reset();
      st.bind(1, a).bind(2, normalize_address(t)).bind(3, next++).step();
    }
    tx.commit();
    return ok_status();
  });
}

Status Directory::set_alias(std::string_view address, const std::vector<std::string>& targets) {
  auto a = normalize_address(address);
  if (targets.empty()) return Error{"targets: an alias needs at least one target", Error::Kind::invalid};
  for (auto& t : targets)
    if (auto s = check_address(normalize_address(t)); !s) return Error{"targets: " + s.error().message, Error::Kind::invalid};
  return change([&]() -> Status {
    Stmt had(db_->raw(), "SELECT 1 FROM aliases WHERE address = ?");
    if (!had.bind(1, a).step()) return Error{fmt::format("no alias {}", a), Error::Kind::not_found};
    Tx tx(*db_);
    Stmt del(db_->raw(), "DELETE FROM aliases WHERE address = ?");
    del.bind(1, a).step();
    Stmt st(db_->raw(), "INSERT OR IGNORE INTO aliases(address, target, position) VALUES (?, ?, ?)");
    std::int64_t position = 1;
    for (auto& t : targets) {
      st.reset();
      st.bind(1, a).bind(2, normalize_address(t)).bind(3, position++).step();
    }
    tx.commit();
    return ok_status();
  });
}

Status Directory::del_alias(std::string_view address) {
  auto a = normalize_address(address);
  return change([&]() -> Status {
    Stmt st(db_->raw(), "DELETE FROM aliases WHERE address = ?");
    st.bind(1, a).step();
    if (db_->changes() == 0) return Error{fmt::format("no alias {}", a), Error::Kind::not_found};
    return ok_status();
  });
}

std::vector<std::string> Directory::alias_targets(std::string_view address) {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  Stmt st(db_->raw(), "SELECT target FROM aliases WHERE address = ? ORDER BY position");
  st.bind(1, normalize_address(address));
  while (st.step()) out.push_back(st.col_text(0));
  return out;
}

std::map<std::string, std::vector<std::string>> Directory::aliases() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<std::string>> out;
  Stmt st(db_->raw(), "SELECT address, target FROM aliases ORDER BY address, position");
  while (st.step()) out[st.col_text(0)].push_back(st.col_text(1));
  return out;
}

Result<std::int64_t> Directory::add_api_token(std::string_view address, std::string_view name, std::string_view scope,
                                              std::string_view hash) {
  auto a = normalize_address(address);
  std::int64_t id = 0;
  auto s = change([&]() -> Status {
    Stmt user(db_->raw(), "SELECT admin FROM mailslots WHERE address = ? AND kind = 'mailbox'");
    if (!user.bind(1, a).step()) return Error{fmt::format("no user {}", a), Error::Kind::not_found};
    if (scope == "admin" && user.col_int(0) == 0)
      return Error{fmt::format("{} is not an administrator (tern user admin {})", a, a), Error::Kind::invalid};
    Stmt st(db_->raw(), "INSERT INTO api_tokens(address, name, scope, hash) VALUES (?, ?, ?, ?)");
    st.bind(1, a).bind(2, name).bind(3, scope).bind(4, hash).step();
    id = db_->last_insert_id();
    return ok_status();
  });
  if (!s) return s.error();
  return id;
}

namespace {

ApiToken token_of(const Stmt& st) {
  return ApiToken{st.col_int(0), st.col_text(1), st.col_text(2), st.col_text(3), st.col_int(4), st.col_int(5)};
}

constexpr const char* token_columns = "SELECT id, address, name, scope, created, revoked FROM api_tokens";

}  // namespace

std::vector<ApiToken> Directory::api_tokens() {
  std::lock_guard lock(mu_);
  std::vector<ApiToken> out;
  Stmt st(db_->raw(), std::string(token_columns) + " ORDER BY id");
  while (st.step()) out.push_back(token_of(st));
  return out;
}

Status Directory::revoke_api_token(std::int64_t id) {
  return change([&]() -> Status {
    Stmt st(db_->raw(), "UPDATE api_tokens SET revoked = strftime('%s','now') WHERE id = ? AND revoked = 0");
    st.bind(1, id).step();
    if (db_->changes() == 0) return Error{fmt::format("no valid API token {}", id), Error::Kind::not_found};
    return ok_status();
  });
}

std::optional<ApiToken> Directory::find_api_token(std::string_view hash) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(), std::string(token_columns) + " WHERE hash = ? AND revoked = 0");
  if (!st.bind(1, hash).step()) return std::nullopt;
  return token_of(st);
}

std::string Directory::integrity_problems() {
  std::lock_guard lock(mu_);
  try {
    Stmt st(db_->raw(), "PRAGMA integrity_check");
    std::string out;
    while (st.step()) {
      auto r = st.col_text(0);
      if (r != "ok") out += r + "\n";
    }
    return out;
  } catch (const DbError& e) {
    return e.what();
  }
}

}  // namespace tern::store
