#include "store/directory.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "store/db.hpp"

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

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.') return false;
  for (unsigned char c : d)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return false;
  return d.find("..") == std::string_view::npos;
}

Status check_address(std::string_view a) {
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || !valid_domain(a.substr(at + 1)))
    return Error{fmt::format("'{}' is not an address of the form local@domain", a)};
  for (unsigned char c : a)
    if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) return Error{fmt::format("'{}': invalid character in address", a)};
  return ok_status();
}

template <typename F>
auto guarded(std::mutex& mu, F&& f) -> decltype(f()) {
  std::lock_guard lock(mu);
  try {
    return f();
  } catch (const DbError& e) {
    return Error{e.what()};
  }
}

}  // namespace

std::string_view kind_name(SlotKind k) { return k == SlotKind::mailbox ? "mailbox" : "archive"; }

std::string normalize_address(std::string_view address) { return to_lower(address); }

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

Result<std::unique_ptr<Directory>> Directory::open(const std::filesystem::path& db_file) {
  try {
    auto db = std::make_unique<Db>(db_file, true);
    db->exec(schema);
    return std::unique_ptr<Directory>(new Directory(std::move(db)));
  } catch (const DbError& e) {
    return Error{e.what()};
  }
}

Directory::Directory(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Directory::~Directory() = default;

Status Directory::add_domain(std::string_view name) {
  auto d = to_lower(name);
  if (!valid_domain(d)) return Error{fmt::format("'{}' is not a valid domain name", name)};
  return guarded(mu_, [&]() -> Status {
    Stmt st(db_->raw(), "INSERT OR IGNORE INTO domains(name) VALUES (?)");
    st.bind(1, d).step();
    if (db_->changes() == 0) return Error{fmt::format("domain {} exists already", d)};
    return ok_status();
  });
}

Status Directory::del_domain(std::string_view name) {
  auto d = to_lower(name);
  return guarded(mu_, [&]() -> Status {
    Stmt count(db_->raw(), "SELECT count(*) FROM mailslots WHERE domain = ?");
    count.bind(1, d).step();
    if (auto n = count.col_int(0); n > 0)
      return Error{fmt::format("domain {} still has {} mailslot(s); delete them first", d, n)};
    Stmt st(db_->raw(), "DELETE FROM domains WHERE name = ?");
    st.bind(1, d).step();
    if (db_->changes() == 0) return Error{fmt::format("no domain {}", d)};
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

Status Directory::add_mailslot(std::string_view address, SlotKind kind, std::string_view password_hash) {
  auto a = normalize_address(address);
  if (auto s = check_address(a); !s) return s;
  return guarded(mu_, [&]() -> Status {
    auto d = domain_of(a);
    Stmt dom(db_->raw(), "SELECT 1 FROM domains WHERE name = ?");
    if (!dom.bind(1, d).step()) return Error{fmt::format("{} is not a local domain (add it with: tern domain add {})", d, d)};
    Stmt al(db_->raw(), "SELECT 1 FROM aliases WHERE address = ?");
    if (al.bind(1, a).step()) return Error{fmt::format("{} is an alias; delete the alias first", a)};
    Stmt st(db_->raw(), "INSERT OR IGNORE INTO mailslots(address, domain, kind, password) VALUES (?, ?, ?, ?)");
    st.bind(1, a).bind(2, d).bind(3, kind_name(kind)).bind(4, password_hash).step();
    if (db_->changes() == 0) return Error{fmt::format("{} exists already", a)};
    return ok_status();
  });
}

Status Directory::del_mailslot(std::string_view address, SlotKind kind) {
  auto a = normalize_address(address);
  return guarded(mu_, [&]() -> Status {
    Stmt st(db_->raw(), "DELETE FROM mailslots WHERE address = ? AND kind = ?");
    st.bind(1, a).bind(2, kind_name(kind)).step();
    if (db_->changes() == 0) return Error{fmt::format("no {} {}", kind_name(kind), a)};
    return ok_status();
  });
}

Status Directory::set_password(std::string_view address, std::string_view password_hash) {
  auto a = normalize_address(address);
  return guarded(mu_, [&]() -> Status {
    Stmt st(db_->raw(), "UPDATE mailslots SET password = ? WHERE address = ? AND kind = 'mailbox'");
    st.bind(1, password_hash).bind(2, a).step();
    if (db_->changes() == 0) return Error{fmt::format("no user {}", a)};
    return ok_status();
  });
}

std::optional<Mailslot> Directory::find_mailslot(std::string_view address) {
  std::lock_guard lock(mu_);
  Stmt st(db_->raw(), "SELECT address, kind, password FROM mailslots WHERE address = ?");
  if (!st.bind(1, normalize_address(address)).step()) return std::nullopt;
  return Mailslot{st.col_text(0), st.col_text(1) == "archive" ? SlotKind::archive : SlotKind::mailbox,
                  st.col_text(2)};
}

std::vector<Mailslot> Directory::mailslots(SlotKind kind) {
  std::lock_guard lock(mu_);
  std::vector<Mailslot> out;
  Stmt st(db_->raw(), "SELECT address, password FROM mailslots WHERE kind = ? ORDER BY domain, address");
  st.bind(1, kind_name(kind));
  while (st.step()) out.push_back(Mailslot{st.col_text(0), kind, st.col_text(1)});
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
  if (targets.empty()) return Error{"an alias needs at least one target"};
  for (auto& t : targets)
    if (auto s = check_address(normalize_address(t)); !s) return s;
  return guarded(mu_, [&]() -> Status {
    auto d = domain_of(a);
    Stmt dom(db_->raw(), "SELECT 1 FROM domains WHERE name = ?");
    if (!dom.bind(1, d).step()) return Error{fmt::format("{} is not a local domain (add it with: tern domain add {})", d, d)};
    Stmt ms(db_->raw(), "SELECT 1 FROM mailslots WHERE address = ?");
    if (ms.bind(1, a).step()) return Error{fmt::format("{} is a mailslot; an alias cannot have its name", a)};
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

Status Directory::del_alias(std::string_view address) {
  auto a = normalize_address(address);
  return guarded(mu_, [&]() -> Status {
    Stmt st(db_->raw(), "DELETE FROM aliases WHERE address = ?");
    st.bind(1, a).step();
    if (db_->changes() == 0) return Error{fmt::format("no alias {}", a)};
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
