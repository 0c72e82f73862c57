// store/directory: domains, mailslots (mailbox and archive), passwords and aliases in tern.db.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "store/db.hpp"
#include "store/directory.hpp"

namespace tern::store {
namespace {

using Strings = std::vector<std::string>;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    dir_.reset();
    auto d = Directory::create(tmp_ / "tern.db");
    ASSERT_TRUE(d) << d.error().message;
    dir_ = std::move(*d);
  }

  Directory& dir() { return *dir_; }

  tern::testing::TempDir tmp_;
  std::unique_ptr<Directory> dir_;
};

Strings addresses(const std::vector<Mailslot>& slots) {
  Strings out;
  for (auto& s : slots) out.push_back(s.address);
  return out;
}

// --- domains --------------------------------------------------------------------------------------

TEST_F(DirectoryTest, DomainsAddListDel) {
  EXPECT_TRUE(dir().domains().empty());
  ASSERT_TRUE(dir().add_domain("Example.TEST"));
  ASSERT_TRUE(dir().add_domain("b.test"));
  ASSERT_TRUE(dir().add_domain("a.test"));
  EXPECT_EQ(dir().domains(), (Strings{"a.test", "b.test", "example.test"}));  // lower-cased, sorted
  EXPECT_TRUE(dir().is_local_domain("example.test"));
  EXPECT_TRUE(dir().is_local_domain("EXAMPLE.test"));
  EXPECT_FALSE(dir().is_local_domain("other.test"));
  EXPECT_FALSE(dir().is_local_domain("sub.example.test"));

  ASSERT_TRUE(dir().del_domain("B.TEST"));
  EXPECT_EQ(dir().domains(), (Strings{"a.test", "example.test"}));
  EXPECT_FALSE(dir().is_local_domain("b.test"));
}

TEST_F(DirectoryTest, DuplicateDomainRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  auto again = dir().add_domain("example.test");
  EXPECT_FALSE(again);
  EXPECT_FALSE(dir().add_domain("EXAMPLE.TEST"));  // the same domain in other case
  EXPECT_EQ(dir().domains(), Strings{"example.test"});
}

TEST_F(DirectoryTest, InvalidDomainRefused) {
  for (const char* d : {"", ".example.test", "example.test.", "exa mple.test", "a..b", "a@b.test", "a/b"})
    EXPECT_FALSE(dir().add_domain(d)) << "'" << d << "' accepted";
  EXPECT_TRUE(dir().domains().empty());
}

TEST_F(DirectoryTest, DelUnknownDomainRefused) { EXPECT_FALSE(dir().del_domain("nowhere.test")); }

TEST_F(DirectoryTest, DelDomainWithMailslotsRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$hash"));
  auto del = dir().del_domain("example.test");
  ASSERT_FALSE(del);
  EXPECT_NE(del.error().message.find("mailslot"), std::string::npos) << del.error().message;
  EXPECT_TRUE(dir().is_local_domain("example.test"));
  EXPECT_TRUE(dir().find_mailslot("alice@example.test"));

  ASSERT_TRUE(dir().del_mailslot("alice@example.test", SlotKind::mailbox));
  EXPECT_TRUE(dir().del_domain("example.test"));
  EXPECT_TRUE(dir().domains().empty());
}

TEST_F(DirectoryTest, DelDomainWithArchiveRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("archive@example.test", SlotKind::archive, ""));
  EXPECT_FALSE(dir().del_domain("example.test"));
}

TEST_F(DirectoryTest, DelDomainWithAliasesRefusedNamingThem) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_domain("sub.example.test"));
  ASSERT_TRUE(dir().add_alias("team@example.test", {"a@far.test"}));
  ASSERT_TRUE(dir().add_alias("sales@example.test", {"b@far.test"}));
  ASSERT_TRUE(dir().add_alias("x@sub.example.test", {"c@far.test"}));  // another domain's: not named
  auto del = dir().del_domain("Example.test");
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().kind, Error::Kind::in_use);
  EXPECT_EQ(del.error().message, "domain example.test still has alias(es) sales@example.test, team@example.test; delete them first");
  ASSERT_TRUE(dir().del_alias("team@example.test"));
  ASSERT_TRUE(dir().del_alias("sales@example.test"));
  EXPECT_TRUE(dir().del_domain("example.test"));
  EXPECT_TRUE(dir().is_local_domain("sub.example.test"));
}

TEST_F(DirectoryTest, SetAliasReplacesTargetsOfAnExistingAlias) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  EXPECT_EQ(dir().set_alias("team@example.test", {"a@far.test"}).error().kind, Error::Kind::not_found);
  ASSERT_TRUE(dir().add_alias("team@example.test", {"a@far.test", "b@far.test"}));
  ASSERT_TRUE(dir().set_alias("Team@example.test", {"C@far.test", "a@far.test"}));
  EXPECT_EQ(dir().alias_targets("team@example.test"), (std::vector<std::string>{"c@far.test", "a@far.test"}));
  EXPECT_EQ(dir().set_alias("team@example.test", {}).error().kind, Error::Kind::invalid);
  EXPECT_EQ(dir().alias_targets("team@example.test").size(), 2u);
}

// --- mailslots ------------------------------------------------------------------------------------

TEST_F(DirectoryTest, MailslotAddressNormalizedToLowerCase) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("Alice.Smith@Example.TEST", SlotKind::mailbox, "$y$hash1"));
  for (const char* lookup : {"alice.smith@example.test", "ALICE.SMITH@EXAMPLE.TEST", "Alice.Smith@Example.TEST"}) {
    auto m = dir().find_mailslot(lookup);
    ASSERT_TRUE(m) << lookup;
    EXPECT_EQ(m->address, "alice.smith@example.test");
    EXPECT_EQ(m->kind, SlotKind::mailbox);
    EXPECT_EQ(m->password_hash, "$y$hash1");
  }
  EXPECT_FALSE(dir().find_mailslot("alice@example.test"));
  EXPECT_FALSE(dir().add_mailslot("ALICE.SMITH@example.test", SlotKind::mailbox, "x"));  // a duplicate
  EXPECT_FALSE(dir().add_mailslot("alice.smith@example.test", SlotKind::archive, ""));   // in either kind
}

TEST_F(DirectoryTest, MailslotInUnknownDomainRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  auto r = dir().add_mailslot("bob@other.test", SlotKind::mailbox, "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("other.test"), std::string::npos) << r.error().message;
  EXPECT_FALSE(dir().find_mailslot("bob@other.test"));
  EXPECT_FALSE(dir().add_mailslot("bob@sub.example.test", SlotKind::archive, ""));
}

TEST_F(DirectoryTest, MalformedAddressesRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  for (const char* a : {"", "bob", "@example.test", "bob@", "bob smith@example.test", "<bob@example.test>",
                        "bob@example.test@", "bob\t@example.test"})
    EXPECT_FALSE(dir().add_mailslot(a, SlotKind::mailbox, "x")) << "'" << a << "' accepted";
  EXPECT_TRUE(dir().mailslots(SlotKind::mailbox).empty());
}

TEST_F(DirectoryTest, ArchiveAndMailboxKinds) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_domain("a.test"));
  ASSERT_TRUE(dir().add_mailslot("bob@example.test", SlotKind::mailbox, "$y$b"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$a"));
  ASSERT_TRUE(dir().add_mailslot("zed@a.test", SlotKind::mailbox, "$y$z"));
  ASSERT_TRUE(dir().add_mailslot("Archive@Example.test", SlotKind::archive, ""));

  EXPECT_EQ(addresses(dir().mailslots(SlotKind::mailbox)),
            (Strings{"zed@a.test", "alice@example.test", "bob@example.test"}));  // by domain, then address
  EXPECT_EQ(addresses(dir().mailslots(SlotKind::archive)), Strings{"archive@example.test"});
  auto a = dir().find_mailslot("archive@example.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, SlotKind::archive);
  EXPECT_EQ(a->password_hash, "");
  EXPECT_EQ(kind_name(SlotKind::archive), "archive");
  EXPECT_EQ(kind_name(SlotKind::mailbox), "mailbox");

  // Deleting takes the kind: `tern user del` never removes an archive, nor `tern archive del` a user.
  EXPECT_FALSE(dir().del_mailslot("archive@example.test", SlotKind::mailbox));
  EXPECT_FALSE(dir().del_mailslot("bob@example.test", SlotKind::archive));
  EXPECT_TRUE(dir().find_mailslot("archive@example.test"));
  EXPECT_TRUE(dir().find_mailslot("bob@example.test"));
  EXPECT_TRUE(dir().del_mailslot("ARCHIVE@example.test", SlotKind::archive));
  EXPECT_TRUE(dir().del_mailslot("bob@example.test", SlotKind::mailbox));
  EXPECT_FALSE(dir().find_mailslot("archive@example.test"));
  EXPECT_FALSE(dir().find_mailslot("bob@example.test"));
  EXPECT_FALSE(dir().del_mailslot("bob@example.test", SlotKind::mailbox));  // gone already
}

TEST_F(DirectoryTest, ChangeMailboxChangesAllFieldsOrNone) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$old"));
  ASSERT_TRUE(dir().change_mailbox("Alice@example.test", {std::string("$y$new"), std::optional<std::uint64_t>(5000), false, true}));
  auto a = dir().find_mailslot("alice@example.test");
  EXPECT_EQ(a->password_hash, "$y$new");
  EXPECT_EQ(a->quota, std::optional<std::uint64_t>(5000));
  EXPECT_FALSE(a->enabled);
  EXPECT_TRUE(a->admin);
  // A quota out of range refuses the whole change: the other fields stay as they were
  auto bad = dir().change_mailbox("alice@example.test", {std::string("$y$other"), std::optional<std::uint64_t>(~0ull), true, false});
  EXPECT_EQ(bad.error().kind, Error::Kind::invalid);
  a = dir().find_mailslot("alice@example.test");
  EXPECT_EQ(a->password_hash, "$y$new");
  EXPECT_FALSE(a->enabled);
  EXPECT_TRUE(a->admin);
  // Back to the server's default quota; nothing named: only whether the mailbox exists
  ASSERT_TRUE(dir().change_mailbox("alice@example.test", {.quota = std::optional<std::uint64_t>()}));
  EXPECT_EQ(dir().find_mailslot("alice@example.test")->quota, std::nullopt);
  EXPECT_TRUE(dir().change_mailbox("alice@example.test", {}));
  EXPECT_EQ(dir().change_mailbox("nobody@example.test", {}).error().kind, Error::Kind::not_found);
}

TEST_F(DirectoryTest, SetPassword) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$old"));
  ASSERT_TRUE(dir().set_password("ALICE@example.test", "$y$new"));
  EXPECT_EQ(dir().find_mailslot("alice@example.test")->password_hash, "$y$new");
  EXPECT_FALSE(dir().set_password("nobody@example.test", "$y$x"));
  ASSERT_TRUE(dir().add_mailslot("archive@example.test", SlotKind::archive, ""));
  EXPECT_FALSE(dir().set_password("archive@example.test", "$y$x"));  // an archive has no login
  EXPECT_EQ(dir().find_mailslot("archive@example.test")->password_hash, "");
}

// --- aliases --------------------------------------------------------------------------------------

TEST_F(DirectoryTest, AliasTargetsKeepTheirOrder) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  Strings targets{"zoe@example.test", "Adam@Example.test", "someone@remote.test", "mike@example.test"};
  ASSERT_TRUE(dir().add_alias("Team@Example.TEST", targets));
  EXPECT_EQ(dir().alias_targets("team@example.test"),
            (Strings{"zoe@example.test", "adam@example.test", "someone@remote.test", "mike@example.test"}));
  EXPECT_EQ(dir().alias_targets("TEAM@example.test"), dir().alias_targets("team@example.test"));
  auto all = dir().aliases();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->first, "team@example.test");
  EXPECT_EQ(all.begin()->second, dir().alias_targets("team@example.test"));
  EXPECT_TRUE(dir().alias_targets("nobody@example.test").empty());
  EXPECT_FALSE(dir().find_mailslot("team@example.test"));  // an alias is not a mailslot
}

TEST_F(DirectoryTest, AliasDel) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_alias("a@example.test", {"x@example.test"}));
  ASSERT_TRUE(dir().add_alias("b@example.test", {"y@example.test", "z@example.test"}));
  ASSERT_TRUE(dir().del_alias("A@example.test"));
  EXPECT_TRUE(dir().alias_targets("a@example.test").empty());
  EXPECT_EQ(dir().alias_targets("b@example.test"), (Strings{"y@example.test", "z@example.test"}));
  EXPECT_EQ(dir().aliases().size(), 1u);
  EXPECT_FALSE(dir().del_alias("a@example.test"));
}

TEST_F(DirectoryTest, AliasAndMailslotNamesNeverClash) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$a"));
  auto r = dir().add_alias("Alice@example.test", {"bob@example.test"});
  EXPECT_FALSE(r);
  EXPECT_TRUE(dir().alias_targets("alice@example.test").empty());

  ASSERT_TRUE(dir().add_alias("sales@example.test", {"alice@example.test"}));
  EXPECT_FALSE(dir().add_mailslot("SALES@example.test", SlotKind::mailbox, "$y$s"));
  EXPECT_FALSE(dir().add_mailslot("sales@example.test", SlotKind::archive, ""));
  EXPECT_FALSE(dir().find_mailslot("sales@example.test"));
}

TEST_F(DirectoryTest, BadAliasesRefused) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  EXPECT_FALSE(dir().add_alias("a@other.test", {"b@example.test"}));  // not a local domain
  EXPECT_FALSE(dir().add_alias("a@example.test", {}));                // no target
  EXPECT_FALSE(dir().add_alias("a@example.test", {"not an address"}));
  EXPECT_FALSE(dir().add_alias("a@example.test", {"b@example.test", "bad"}));
  EXPECT_FALSE(dir().add_alias("nodomain", {"b@example.test"}));
  EXPECT_TRUE(dir().aliases().empty());
}

// --- persistence and health -----------------------------------------------------------------------

TEST_F(DirectoryTest, ChangesSurviveReopen) {
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$a"));
  ASSERT_TRUE(dir().add_mailslot("arch@example.test", SlotKind::archive, ""));
  ASSERT_TRUE(dir().add_alias("all@example.test", {"alice@example.test", "arch@example.test"}));
  reopen();
  EXPECT_EQ(dir().domains(), Strings{"example.test"});
  EXPECT_EQ(dir().find_mailslot("alice@example.test")->password_hash, "$y$a");
  EXPECT_EQ(dir().find_mailslot("arch@example.test")->kind, SlotKind::archive);
  EXPECT_EQ(dir().alias_targets("all@example.test"), (Strings{"alice@example.test", "arch@example.test"}));
  EXPECT_EQ(dir().integrity_problems(), "");
}

TEST_F(DirectoryTest, IntegrityProblemsEmptyWhenHealthy) {
  EXPECT_EQ(dir().integrity_problems(), "");
  ASSERT_TRUE(dir().add_domain("example.test"));
  ASSERT_TRUE(dir().add_mailslot("alice@example.test", SlotKind::mailbox, "$y$a"));
  EXPECT_EQ(dir().integrity_problems(), "");
}

TEST(DirectoryOpen, UnopenableFileIsAnErrorNotAThrow) {
  tern::testing::TempDir tmp;
  auto d = Directory::open(tmp / "missing-folder" / "tern.db");
  EXPECT_FALSE(d);
}

// Only create() (tern init) makes a database: a missing or empty tern.db is an error, never silently
// a new empty directory (which would route local mail as remote).
TEST(DirectoryOpen, MissingOrEmptyIsNotFoundAndNothingIsCreated) {
  tern::testing::TempDir tmp;
  auto missing = Directory::open(tmp / "tern.db");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Error::Kind::not_found);
  EXPECT_FALSE(std::filesystem::exists(tmp / "tern.db"));
  { std::ofstream(tmp / "tern.db"); }
  auto empty = Directory::open(tmp / "tern.db");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, Error::Kind::not_found);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos) << empty.error().message;
  EXPECT_EQ(std::filesystem::file_size(tmp / "tern.db"), 0u);
  EXPECT_EQ(inspect_directory(tmp / "tern.db").state, DirectoryHealth::State::empty);
}

TEST(DirectoryOpen, ForeignDatabaseIsRefusedUnchanged) {
  tern::testing::TempDir tmp;
  { Db other(tmp / "tern.db", true); other.exec("CREATE TABLE t(x)"); }
  auto d = Directory::open(tmp / "tern.db");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, Error::Kind::invalid);
  EXPECT_EQ(inspect_directory(tmp / "tern.db").state, DirectoryHealth::State::foreign);
}

TEST(DirectoryBackup, EveryChangeIsInTheBackupAndRestoreBringsItBack) {
  tern::testing::TempDir tmp;
  auto db = tmp / "tern.db";
  {
    auto d = Directory::create(db);
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_TRUE((*d)->add_domain("example.test"));
    ASSERT_TRUE((*d)->add_mailslot("alice@example.test", SlotKind::mailbox, "$y$a"));
    ASSERT_TRUE((*d)->add_alias("all@example.test", {"alice@example.test"}));
  }
  auto bak = inspect_directory(backup_path(db));
  ASSERT_EQ(bak.state, DirectoryHealth::State::healthy) << bak.describe();
  EXPECT_EQ(bak.domains, 1u);
  EXPECT_EQ(bak.mailslots, 1u);
  EXPECT_EQ(bak.aliases, 1u);
  // Owner-only: the file holds password hashes.
  EXPECT_EQ(std::filesystem::status(db).permissions() & std::filesystem::perms::others_all, std::filesystem::perms::none);
  EXPECT_EQ(std::filesystem::status(backup_path(db)).permissions() & std::filesystem::perms::group_all,
            std::filesystem::perms::none);

  // Garble the database: open refuses it, restore sets it aside and copies the backup back.
  {
    std::ofstream f(db, std::ios::binary | std::ios::trunc);
    f << std::string(8192, 'x');
  }
  std::filesystem::remove(db.string() + "-wal");
  EXPECT_FALSE(Directory::open(db));
  EXPECT_EQ(inspect_directory(db).state, DirectoryHealth::State::damaged);
  auto r = restore_directory(db);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find("1 mailslot(s)"), std::string::npos) << *r;
  auto d = Directory::open(db);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE((*d)->find_mailslot("alice@example.test"));
  EXPECT_EQ((*d)->alias_targets("all@example.test"), Strings{"alice@example.test"});
  std::size_t aside = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path()))
    if (e.path().filename().string().starts_with("tern.db.damaged-")) ++aside;
  EXPECT_EQ(aside, 1u);
}

TEST(DirectoryBackup, RestoreWithoutBackupIsAnError) {
  tern::testing::TempDir tmp;
  auto r = restore_directory(tmp / "tern.db");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::not_found);
}

TEST(AddressHelpers, NormalizeAndDomainOf) {
  EXPECT_EQ(normalize_address("Alice@Example.TEST"), "alice@example.test");
  EXPECT_EQ(domain_of("alice@Example.TEST"), "example.test");
  EXPECT_EQ(domain_of("\"a@b\"@example.test"), "example.test");  // the last '@'
  EXPECT_EQ(domain_of("alice"), "");
}

}  // namespace
}  // namespace tern::store

namespace tern::store {
namespace {

// --- administrators and API tokens (schema 2) -----------------------------------------------------

TEST_F(DirectoryTest, AdministratorRole) {
  ASSERT_TRUE(dir().add_domain("tern.test"));
  ASSERT_TRUE(dir().add_mailslot("root@tern.test", SlotKind::mailbox, "$y$x", true));
  ASSERT_TRUE(dir().add_mailslot("bob@tern.test", SlotKind::mailbox, "$y$x"));
  EXPECT_TRUE(dir().find_mailslot("root@tern.test")->admin);
  EXPECT_FALSE(dir().find_mailslot("bob@tern.test")->admin);
  auto s = dir().add_mailslot("log@tern.test", SlotKind::archive, "", true);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, Error::Kind::invalid);
  ASSERT_TRUE(dir().set_admin("BOB@tern.test", true));
  EXPECT_TRUE(dir().find_mailslot("bob@tern.test")->admin);
  ASSERT_TRUE(dir().set_admin("bob@tern.test", false));
  EXPECT_FALSE(dir().mailslots(SlotKind::mailbox).at(0).admin);
  EXPECT_EQ(dir().set_admin("nobody@tern.test", true).error().kind, Error::Kind::not_found);
}

TEST_F(DirectoryTest, ApiTokensAreFoundByHashUntilRevoked) {
  ASSERT_TRUE(dir().add_domain("tern.test"));
  ASSERT_TRUE(dir().add_mailslot("root@tern.test", SlotKind::mailbox, "$y$x", true));
  ASSERT_TRUE(dir().add_mailslot("bob@tern.test", SlotKind::mailbox, "$y$x"));
  EXPECT_EQ(dir().add_api_token("bob@tern.test", "", "admin", "h0").error().kind, Error::Kind::invalid);
  EXPECT_EQ(dir().add_api_token("nobody@tern.test", "", "admin", "h0").error().kind, Error::Kind::not_found);
  auto id = dir().add_api_token("Root@tern.test", "backup", "admin", "h1");
  ASSERT_TRUE(id) << id.error().message;
  auto t = dir().find_api_token("h1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, *id);
  EXPECT_EQ(t->address, "root@tern.test");
  EXPECT_EQ(t->name, "backup");
  EXPECT_EQ(t->scope, "admin");
  EXPECT_FALSE(dir().find_api_token("h2"));
  ASSERT_TRUE(dir().revoke_api_token(*id));
  EXPECT_FALSE(dir().find_api_token("h1"));
  EXPECT_EQ(dir().revoke_api_token(*id).error().kind, Error::Kind::not_found);
  ASSERT_EQ(dir().api_tokens().size(), 1u);
  EXPECT_GT(dir().api_tokens()[0].revoked, 0);
}

TEST(DirectoryMigration, Version1FileGainsAdminsAndTokens) {
  tern::testing::TempDir tmp;
  auto file = tmp / "tern.db";
  {
    Db db(file, true, true);
    db.exec(R"(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE domains(name TEXT PRIMARY KEY);
CREATE TABLE mailslots(address TEXT PRIMARY KEY, domain TEXT NOT NULL REFERENCES domains(name),
  kind TEXT NOT NULL CHECK(kind IN ('mailbox', 'archive')), password TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL DEFAULT (strftime('%s','now')));
CREATE TABLE aliases(address TEXT NOT NULL, target TEXT NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY(address, target));
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO domains VALUES ('tern.test');
INSERT INTO mailslots(address, domain, kind, password) VALUES ('bob@tern.test', 'tern.test', 'mailbox', '$y$x');
)");
  }
  auto d = Directory::open(file);
  ASSERT_TRUE(d) << d.error().message;
  auto bob = (*d)->find_mailslot("bob@tern.test");
  ASSERT_TRUE(bob);
  EXPECT_FALSE(bob->admin);
  EXPECT_EQ(bob->password_hash, "$y$x");
  EXPECT_TRUE(bob->enabled);             // schema 3: every existing user may log in
  EXPECT_FALSE(bob->quota.has_value());  // and has [limits] mailbox_quota
  ASSERT_TRUE((*d)->set_admin("bob@tern.test", true));
  ASSERT_TRUE((*d)->set_quota("bob@tern.test", 4096));
  ASSERT_TRUE((*d)->set_enabled("bob@tern.test", false));
  EXPECT_TRUE((*d)->add_api_token("bob@tern.test", "", "admin", "h"));
  d->reset();
  Db db(file, true, false);
  Stmt v(db.raw(), "SELECT value FROM meta WHERE key = 'schema_version'");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.col_text(0), "3");
  // opened again: nothing to do, nothing lost
  auto again = Directory::open(file);
  ASSERT_TRUE(again);
  auto after = (*again)->find_mailslot("bob@tern.test");
  EXPECT_TRUE(after->admin);
  EXPECT_EQ(after->quota, std::optional<std::uint64_t>(4096));
  EXPECT_FALSE(after->enabled);
  ASSERT_TRUE((*again)->set_quota("bob@tern.test", std::nullopt));
  EXPECT_FALSE((*again)->find_mailslot("bob@tern.test")->quota.has_value());
  EXPECT_EQ((*again)->set_enabled("nobody@tern.test", true).error().kind, Error::Kind::not_found);
}

}  // namespace
}  // namespace tern::store
