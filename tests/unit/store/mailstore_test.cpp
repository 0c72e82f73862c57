// store/mailstore: delivery with UIDs, listing, reading, deduplication by origin, and the index as a
// cache: lost, damaged or behind the files, it is rebuilt from the files with the same UIDs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "store/db.hpp"
#include "store/mailstore.hpp"

namespace tern::store {
namespace {

namespace fs = std::filesystem;
using Uids = std::vector<std::uint32_t>;

constexpr const char* alice = "alice@example.test";

std::string message(std::string_view from, std::string_view subject, std::string_view body = "Hello.\r\n") {
  return "Return-Path: <sender@remote.test>\r\nFrom: " + std::string(from) + "\r\nTo: alice@example.test\r\n" +
         "Subject: " + std::string(subject) + "\r\nMessage-ID: <x@remote.test>\r\n\r\n" + std::string(body);
}

class MailstoreTest : public ::testing::Test {
 protected:
  MailstoreTest() { open(); }

  // A fresh Mailstore object, as a restarted server would make (the old one is destroyed first).
  void open() {
    ms_.reset();
    ms_ = std::make_unique<Mailstore>(root(), true);
  }
  void close() { ms_.reset(); }

  fs::path root() const { return tmp_ / "boxes"; }
  Mailstore& ms() { return *ms_; }
  fs::path slot() const { return Mailstore(root(), false).slot_dir(alice); }
  fs::path inbox_dir() const { return slot() / "folders" / "INBOX"; }

  Uids deliver(std::string_view content, std::string origin = "", std::string_view folder = "INBOX") {
    auto r = ms().deliver(alice, folder, {NewMessage{content, std::move(origin)}});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Uids{};
  }

  std::vector<MessageEntry> list(std::string_view folder = "INBOX") {
    auto r = ms().list(alice, folder);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<MessageEntry>{};
  }

  Uids uids_listed(std::string_view folder = "INBOX") {
    Uids out;
    for (auto& e : list(folder)) out.push_back(e.uid);
    return out;
  }

  // Message files in the folder (names not starting with '.').
  std::vector<std::string> message_files(const fs::path& dir) const {
    std::vector<std::string> out;
    for (auto& f : fs::directory_iterator(dir))
      if (!f.path().filename().string().starts_with(".")) out.push_back(f.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  void remove_index() {
    for (auto suffix : {"", "-wal", "-shm"}) fs::remove(slot() / ("index.db" + std::string(suffix)));
  }

  tern::testing::TempDir tmp_;
  std::unique_ptr<Mailstore> ms_;
};

// --- delivery, list, read -------------------------------------------------------------------------

TEST_F(MailstoreTest, NewMailslotGetsUids123) {
  EXPECT_EQ(deliver(message("a@remote.test", "one")), Uids{1});
  EXPECT_EQ(deliver(message("b@remote.test", "two")), Uids{2});
  EXPECT_EQ(deliver(message("c@remote.test", "three")), Uids{3});
  EXPECT_EQ(uids_listed(), (Uids{1, 2, 3}));
  EXPECT_EQ(message_files(inbox_dir()).size(), 3u);
}

TEST_F(MailstoreTest, BatchDeliveryReturnsOneUidPerMessageInOrder) {
  std::string m1 = message("a@remote.test", "one"), m2 = message("b@remote.test", "two");
  auto r = ms().deliver(alice, "INBOX", {NewMessage{m1, ""}, NewMessage{m2, ""}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Uids{1, 2}));
  EXPECT_EQ(deliver(message("c@remote.test", "three")), Uids{3});
  auto l = list();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].subject, "one");
  EXPECT_EQ(l[1].subject, "two");
  EXPECT_EQ(l[2].subject, "three");
}

TEST_F(MailstoreTest, QuotaRefusesWhatWouldPassItAndCountsARepeatedOriginOnce) {
  const std::string m = message("bob@remote.test", "one");
  const auto q = 2 * m.size() + 10;  // room for two
  auto first = ms().deliver(alice, "INBOX", {NewMessage{m, "q1"}}, q);
  ASSERT_TRUE(first) << first.error().message;
  // A delivery repeated after a crash is not counted again (the mailbox would hold one copy)
  auto again = ms().deliver(alice, "INBOX", {NewMessage{m, "q1"}}, m.size());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *first);
  // A batch that would pass the quota stores none of its messages
  auto batch = ms().deliver(alice, "INBOX", {NewMessage{m, "q2"}, NewMessage{m, "q3"}}, q);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().kind, Error::Kind::over_quota);
  EXPECT_EQ(batch.error().message, "quota exceeded");  // the figures are in the log, not for the sender
  EXPECT_EQ(uids_listed(), Uids{1});
  EXPECT_EQ(message_files(inbox_dir()).size(), 1u);
  EXPECT_TRUE(fs::is_empty(slot() / "tmp"));
  EXPECT_EQ(deliver(m, "q2"), Uids{2});  // without a quota: stored
  EXPECT_EQ(*ms().usage(alice), 2 * m.size());
}

TEST_F(MailstoreTest, AddressIsCaseInsensitive) {
  auto r = ms().deliver("Alice@EXAMPLE.test", "INBOX", {NewMessage{message("a@remote.test", "x"), ""}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(uids_listed(), Uids{1});
}

TEST_F(MailstoreTest, ListDecodesFromAndSubject) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  std::string m = message("=?iso-8859-1?Q?J=F6rg_M=FCller?= <jorg@remote.test>", "=?utf-8?B?R3LDvMOfZQ==?=");
  deliver(m);
  deliver(message("Plain Sender <p@remote.test>", "=?UTF-8?Q?Caf=C3=A9?= =?utf-8?B?IOKCrA==?= menu"));
  auto l = list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].uid, 1u);
  EXPECT_EQ(l[0].from, "J\xc3\xb6rg M\xc3\xbcller <jorg@remote.test>");
  EXPECT_EQ(l[0].subject, "Gr\xc3\xbc\xc3\x9f" "e");
  EXPECT_EQ(l[0].size, m.size());
  EXPECT_EQ(l[0].flags, "");
  EXPECT_NEAR(static_cast<double>(l[0].internal_date), static_cast<double>(now), 60.0);
  EXPECT_TRUE(fs::exists(inbox_dir() / l[0].file));
  EXPECT_EQ(l[1].from, "Plain Sender <p@remote.test>");
  EXPECT_EQ(l[1].subject, "Caf\xc3\xa9 \xe2\x82\xac menu");
}

TEST_F(MailstoreTest, ReadReturnsTheExactBytes) {
  std::string m1 = message("a@remote.test", "one", "Line 1\r\n.\r\nLine with trailing space \r\n\xff\xfe\x00 end");
  m1.push_back('\0');
  std::string m2 = message("b@remote.test", "two");
  deliver(m1);
  deliver(m2);
  auto r1 = ms().read(alice, "INBOX", 1);
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(*r1, m1);
  auto r2 = ms().read(alice, "INBOX", 2);
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(*r2, m2);
  EXPECT_FALSE(ms().read(alice, "INBOX", 3));
  EXPECT_FALSE(ms().read(alice, "INBOX", 0));
  EXPECT_FALSE(ms().read(alice, "Archive", 1));
}

TEST_F(MailstoreTest, FoldersHaveTheirOwnUids) {
  EXPECT_EQ(deliver(message("a@remote.test", "in 1")), Uids{1});
  EXPECT_EQ(deliver(message("a@remote.test", "sent 1"), "", "Sent Items"), Uids{1});
  EXPECT_EQ(deliver(message("a@remote.test", "in 2")), Uids{2});
  EXPECT_EQ(uids_listed("Sent Items"), Uids{1});
  EXPECT_EQ(list("Sent Items")[0].subject, "sent 1");
  EXPECT_TRUE(list("Nonexistent").empty());
}

TEST_F(MailstoreTest, MailslotsAreSeparate) {
  deliver(message("a@remote.test", "for alice"));
  auto r = ms().deliver("bob@example.test", "INBOX", {NewMessage{message("a@remote.test", "for bob"), ""}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, Uids{1});
  auto bob = ms().list("bob@example.test", "INBOX");
  ASSERT_TRUE(bob);
  ASSERT_EQ(bob->size(), 1u);
  EXPECT_EQ((*bob)[0].subject, "for bob");
  EXPECT_EQ(list().size(), 1u);
}

// --- deduplication --------------------------------------------------------------------------------

TEST_F(MailstoreTest, SameOriginStoresNothingNew) {
  EXPECT_EQ(deliver(message("a@remote.test", "first"), "q1.0"), Uids{1});
  EXPECT_EQ(deliver(message("a@remote.test", "other"), "q2.0"), Uids{2});
  auto files_before = message_files(inbox_dir());
  EXPECT_EQ(deliver(message("a@remote.test", "first"), "q1.0"), Uids{1});  // a repeat after a crash
  EXPECT_EQ(deliver(message("a@remote.test", "other"), "q2.0"), Uids{2});
  EXPECT_EQ(message_files(inbox_dir()), files_before);
  EXPECT_TRUE(message_files(slot() / "tmp").empty());
  EXPECT_EQ(uids_listed(), (Uids{1, 2}));
  EXPECT_EQ(deliver(message("a@remote.test", "next"), "q3.0"), Uids{3});  // UIDs not consumed by repeats
}

TEST_F(MailstoreTest, EmptyOriginIsNeverDeduplicated) {
  std::string m = message("a@remote.test", "same");
  EXPECT_EQ(deliver(m), Uids{1});
  EXPECT_EQ(deliver(m), Uids{2});
  EXPECT_EQ(message_files(inbox_dir()).size(), 2u);
}

TEST_F(MailstoreTest, BatchWithOneRepeatedOrigin) {
  deliver(message("a@remote.test", "first"), "q1.0");
  std::string m1 = message("a@remote.test", "first"), m2 = message("a@remote.test", "second");
  auto r = ms().deliver(alice, "INBOX", {NewMessage{m1, "q1.0"}, NewMessage{m2, "q1.1"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Uids{1, 2}));
  EXPECT_EQ(message_files(inbox_dir()).size(), 2u);
}

// --- the index is a cache -------------------------------------------------------------------------

TEST_F(MailstoreTest, DeletedIndexRebuiltWithSameUidsAndSubjects) {
  deliver(message("a@remote.test", "one"), "q1.0");
  deliver(message("=?utf-8?Q?B=C3=B6b?= <b@remote.test>", "=?utf-8?B?R3LDvMOfZQ==?="));
  deliver(message("c@remote.test", "three"), "q3.0");
  auto before = list();
  ASSERT_EQ(before.size(), 3u);
  close();
  ASSERT_TRUE(fs::exists(slot() / "index.db"));
  remove_index();
  ASSERT_FALSE(fs::exists(slot() / "index.db"));
  {
    // A lost index is a healthy state: `tern check` notes it, the next open rebuilds it.
    auto report = Mailstore(root(), false).check(false);
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    EXPECT_FALSE(report.notes.empty());
  }

  open();
  auto after = list();
  ASSERT_EQ(after.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(after[i].uid, before[i].uid);
    EXPECT_EQ(after[i].subject, before[i].subject);
    EXPECT_EQ(after[i].from, before[i].from);
    EXPECT_EQ(after[i].size, before[i].size);
    EXPECT_EQ(after[i].file, before[i].file);
  }
  EXPECT_EQ(after[1].subject, "Gr\xc3\xbc\xc3\x9f" "e");
  EXPECT_EQ(after[1].from, "B\xc3\xb6" "b <b@remote.test>");
  auto r = ms().read(alice, "INBOX", 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, message("=?utf-8?Q?B=C3=B6b?= <b@remote.test>", "=?utf-8?B?R3LDvMOfZQ==?="));

  // UIDs continue after the highest one, and origins are still known (no duplicate after a crash).
  EXPECT_EQ(deliver(message("d@remote.test", "four")), Uids{4});
  EXPECT_EQ(deliver(message("a@remote.test", "one"), "q1.0"), Uids{1});
  EXPECT_EQ(deliver(message("c@remote.test", "three"), "q3.0"), Uids{3});
  EXPECT_EQ(message_files(inbox_dir()).size(), 4u);
}

TEST_F(MailstoreTest, GarbageIndexMovedAsideAndRebuilt) {
  deliver(message("a@remote.test", "one"));
  deliver(message("b@remote.test", "two"));
  close();
  remove_index();
  std::mt19937 rng(42);
  std::string garbage(8192, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng());
  tern::testing::write_file(slot() / "index.db", garbage);

  open();
  auto l = list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].uid, 1u);
  EXPECT_EQ(l[0].subject, "one");
  EXPECT_EQ(l[1].uid, 2u);
  EXPECT_EQ(l[1].subject, "two");

  // The damaged file is kept for inspection, never deleted.
  std::vector<fs::path> damaged;
  for (auto& f : fs::directory_iterator(slot()))
    if (f.path().filename().string().starts_with("index.db.damaged-")) damaged.push_back(f.path());
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_EQ(tern::testing::read_file(damaged[0]), garbage);
  EXPECT_EQ(deliver(message("c@remote.test", "three")), Uids{3});
}

TEST_F(MailstoreTest, FileAddedBehindTheIndexIsPickedUpAtNextOpen) {
  deliver(message("a@remote.test", "one"));
  deliver(message("b@remote.test", "two"));
  close();
  // A crash between the rename into the folder and the index row leaves exactly this.
  std::string m = message("late@remote.test", "=?utf-8?Q?late_arrival?=");
  tern::testing::write_file(inbox_dir() / "7.q7.0", m);

  {
    Mailstore cli(root(), false);  // `tern check` while nothing else runs
    auto report = cli.check(false);
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    ASSERT_FALSE(report.notes.empty());
    bool names_file = false;
    for (auto& n : report.notes) names_file = names_file || n.find("7.q7.0") != std::string::npos;
    EXPECT_TRUE(names_file) << report.notes.front();
    EXPECT_EQ(report.rows_added, 1u);
    EXPECT_EQ(report.mailslots, 1u);
    EXPECT_EQ(report.messages, 3u);
  }

  open();
  auto l = list();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[2].uid, 7u);
  EXPECT_EQ(l[2].subject, "late arrival");
  EXPECT_EQ(l[2].from, "late@remote.test");
  EXPECT_EQ(l[2].size, m.size());
  auto r = ms().read(alice, "INBOX", 7);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, m);
  EXPECT_EQ(deliver(message("d@remote.test", "after")), Uids{8});  // UIDNEXT after the highest UID
  EXPECT_EQ(deliver(message("a@remote.test", "x"), "q7.0"), Uids{7});  // its origin came from the name

  close();
  auto clean = Mailstore(root(), false).check(false);
  EXPECT_TRUE(clean.problems.empty());
  EXPECT_TRUE(clean.notes.empty()) << clean.notes.front();
  EXPECT_EQ(clean.messages, 4u);
}

TEST_F(MailstoreTest, RowWithoutFileDroppedAtNextOpen) {
  deliver(message("a@remote.test", "one"));
  deliver(message("b@remote.test", "two"));
  auto l = list();
  ASSERT_EQ(l.size(), 2u);
  close();
  fs::remove(inbox_dir() / l[0].file);
  {
    auto report = Mailstore(root(), false).check(false);
    EXPECT_TRUE(report.problems.empty());
    EXPECT_EQ(report.rows_dropped, 1u);
    EXPECT_FALSE(report.notes.empty());
  }
  open();
  EXPECT_EQ(uids_listed(), Uids{2});
  EXPECT_EQ(deliver(message("c@remote.test", "three")), Uids{3});  // a UID is never reused
}

TEST_F(MailstoreTest, UidNextContinuesAfterMaxUidWhenRebuilt) {
  deliver(message("a@remote.test", "one"));
  close();
  tern::testing::write_file(inbox_dir() / "41.manual", message("x@remote.test", "forty-one"));
  remove_index();
  open();
  EXPECT_EQ(uids_listed(), (Uids{1, 41}));
  EXPECT_EQ(deliver(message("b@remote.test", "next")), Uids{42});
}

TEST_F(MailstoreTest, CheckOfAHealthyStore) {
  deliver(message("a@remote.test", "one"));
  deliver(message("a@remote.test", "two"), "", "Archive");
  close();
  auto report = Mailstore(root(), false).check(false);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_TRUE(report.notes.empty()) << report.notes.front();
  EXPECT_EQ(report.mailslots, 1u);
  EXPECT_EQ(report.messages, 2u);
  EXPECT_EQ(report.rows_added, 0u);
  EXPECT_EQ(report.rows_dropped, 0u);
}

TEST_F(MailstoreTest, CheckReportsADamagedIndexAndRepairFixesIt) {
  deliver(message("a@remote.test", "one"));
  close();
  remove_index();
  tern::testing::write_file(slot() / "index.db", std::string(4096, 'x'));
  {
    auto report = Mailstore(root(), false).check(false);
    EXPECT_FALSE(report.problems.empty());
  }
  {
    Mailstore repairer(root(), false);
    auto report = repairer.check(true);
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  }
  auto after = Mailstore(root(), false).check(false);
  EXPECT_TRUE(after.problems.empty()) << after.problems.front();
  EXPECT_TRUE(after.notes.empty()) << after.notes.front();
  open();
  ASSERT_EQ(list().size(), 1u);
  EXPECT_EQ(list()[0].subject, "one");
}

TEST_F(MailstoreTest, StrayFileInAFolderIsAProblemAndLeftInPlace) {
  deliver(message("a@remote.test", "one"));
  close();
  tern::testing::write_file(inbox_dir() / "notes.txt", "hello");
  auto report = Mailstore(root(), false).check(false);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("notes.txt"), std::string::npos);
  EXPECT_TRUE(fs::exists(inbox_dir() / "notes.txt"));
}

// --- integrity of message files ------------------------------------------------------------------

TEST_F(MailstoreTest, ReadRefusesAFileThatNoLongerMatchesItsIndexRow) {
  auto uid = deliver(message("a@remote.test", "s", "The amount is 100.\r\n"))[0];
  auto file = inbox_dir() / list()[0].file;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-6, std::ios::end);
    f << "9";  // same size, other content
  }
  auto r = ms().read(alice, "INBOX", uid);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::invalid);
  fs::resize_file(file, 20);
  r = ms().read(alice, "INBOX", uid);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("20 octets on disk"), std::string::npos) << r.error().message;
  // check reports it; repair indexes the file again under a new UID, with its content as found.
  close();
  Mailstore cli(root(), false);
  auto rep = cli.check(false);
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("is damaged"), std::string::npos) << rep.problems[0];
  rep = cli.check(true);
  EXPECT_TRUE(rep.problems.empty()) << rep.problems[0];
  auto after = cli.list(alice, "INBOX");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_GT((*after)[0].uid, uid);
  EXPECT_EQ((*after)[0].size, 20u);
  EXPECT_TRUE(cli.read(alice, "INBOX", (*after)[0].uid));
  EXPECT_TRUE(cli.check(false).problems.empty());
}

// An index written before it kept checksums (layout 3) is migrated in place: flags stay, no rebuild.
TEST_F(MailstoreTest, IndexOfLayout3IsMigratedKeepingFlags) {
  auto uid = deliver(message("a@remote.test", "s"))[0];
  ASSERT_TRUE(ms().store_flags(alice, "INBOX", {uid}, FlagMode::add, {"\\Seen", "$Important"}));
  auto validity = ms().folder(alice, "INBOX")->uidvalidity;
  close();
  {
    Db db(slot() / "index.db", true);
    db.exec("ALTER TABLE messages DROP COLUMN crc");
    db.exec("PRAGMA user_version = 3");
  }
  open();
  auto entries = list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].flags, "\\Seen $Important");
  EXPECT_EQ(ms().folder(alice, "INBOX")->uidvalidity, validity);
  EXPECT_TRUE(ms().read(alice, "INBOX", uid));  // no checksum yet: only the size is compared
  close();
  Mailstore cli(root(), false);
  EXPECT_TRUE(cli.check(true).problems.empty());  // fills the checksum in
  Db db(slot() / "index.db", true);
  Stmt st(db.raw(), "SELECT crc FROM messages");
  ASSERT_TRUE(st.step());
  EXPECT_FALSE(st.col_null(0));
}

// \Recent (issue 11): one claim per message; an index of layout 4 gets the column with nothing
// recent (mail from before the upgrade is new to nobody); later deliveries are recent.
TEST_F(MailstoreTest, RecentIsClaimedOnceAndMigratedAsSeen) {
  auto u1 = deliver(message("a@remote.test", "one"))[0];
  auto u2 = deliver(message("a@remote.test", "two"))[0];
  EXPECT_EQ(ms().folder(alice, "INBOX")->recent, 2u);
  EXPECT_EQ(*ms().recent_from(alice, "INBOX", u2, false), 1u);  // a peek claims nothing
  EXPECT_EQ(*ms().recent_from(alice, "INBOX", u2, true), 1u);   // this session gets 1 and 2
  EXPECT_EQ(*ms().recent_from(alice, "INBOX", u2, true), u2 + 1);  // the next session none
  EXPECT_EQ(ms().folder(alice, "INBOX")->recent, 0u);
  auto u3 = deliver(message("a@remote.test", "three"))[0];
  EXPECT_EQ(ms().folder(alice, "INBOX")->recent, 1u);
  EXPECT_EQ(*ms().recent_from(alice, "INBOX", u3, true), u3);
  EXPECT_FALSE(ms().recent_from(alice, "NoSuch", u3, true));
  close();
  {
    Db db(slot() / "index.db", true);
    db.exec("ALTER TABLE folders DROP COLUMN first_recent_uid");
    db.exec("PRAGMA user_version = 4");
  }
  open();
  deliver(message("a@remote.test", "four"));
  auto f = ms().folder(alice, "INBOX");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->messages, 4u);
  EXPECT_EQ(f->recent, 1u);  // only the message delivered after the upgrade
  (void)u1;
}

// --- path components ------------------------------------------------------------------------------

TEST(PathComponent, EncodeDecodeRoundTrip) {
  EXPECT_EQ(encode_path_component("Sent Items"), "Sent%20Items");
  EXPECT_EQ(encode_path_component("INBOX"), "INBOX");
  EXPECT_EQ(encode_path_component(".."), "%2E.");
  EXPECT_EQ(encode_path_component("a/b"), "a%2Fb");
  for (std::string s : {"Sent Items", "..", ".hidden", "a/b", "Gr\xc3\xbc\xc3\x9f" "e", "100%", "x%41"})
    EXPECT_EQ(decode_path_component(encode_path_component(s)), s) << s;
}

TEST(PathComponent, InvalidEscapesAreNotDecoded) {
  for (std::string s : {"%zz", "odd%", "%4", "%G0", "a%2"}) EXPECT_FALSE(decode_path_component(s)) << s;
  EXPECT_EQ(decode_path_component("%41%62"), "Ab");
}

TEST(PathComponent, SlotDirIsLowerCasedDomainThenLocal) {
  Mailstore ms("/data/mail/boxes", false);
  EXPECT_EQ(ms.slot_dir("Alice@Example.TEST"), fs::path("/data/mail/boxes/example.test/alice"));
  EXPECT_EQ(ms.slot_dir("a b@example.test"), fs::path("/data/mail/boxes/example.test/a%20b"));
}

}  // namespace
}  // namespace tern::store
