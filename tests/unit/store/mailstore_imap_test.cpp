// store/mailstore (IMAP side): folders (create, delete, rename with children, INBOX, default folders
// with special use, subscriptions), flags with MODSEQs and UNCHANGEDSINCE, copy/move with COPYUID,
// changes since a MODSEQ (QRESYNC), cached summaries, usage, the version counter, and the index as a
// cache (a rebuild gives every folder a new UIDVALIDITY). Ends with a crash test: a child process
// moving, flagging, copying and deleting folders is killed with SIGKILL at random points, and the
// reopened store must have lost no message.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../temp_dir.hpp"
#include "store/mailstore.hpp"

namespace tern::store {
namespace {

namespace fs = std::filesystem;
using Uids = std::vector<std::uint32_t>;

constexpr const char* alice = "alice@example.test";

#define EXPECT_OK(expr)                                       \
  do {                                                        \
    auto&& r_ = (expr);                                       \
    EXPECT_TRUE(r_) << #expr << ": " << r_.error().message;   \
  } while (0)
#define ASSERT_OK(expr)                                       \
  do {                                                        \
    auto&& r_ = (expr);                                       \
    ASSERT_TRUE(r_) << #expr << ": " << r_.error().message;   \
  } while (0)

std::string message(std::string_view from, std::string_view subject, std::string_view body = "Hello.\r\n") {
  return "From: " + std::string(from) + "\r\nTo: alice@example.test\r\nSubject: " + std::string(subject) +
         "\r\nMessage-ID: <" + std::string(subject) + "@remote.test>\r\n\r\n" + std::string(body);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += s + "\n";
  return out;
}

Uids uids_of(const std::vector<FlagChange>& v) {
  Uids out;
  for (auto& c : v) out.push_back(c.uid);
  return out;
}

Uids uids_of(const std::vector<MessageEntry>& v) {
  Uids out;
  for (auto& e : v) out.push_back(e.uid);
  return out;
}

class MailstoreImapTest : public ::testing::Test {
 protected:
  MailstoreImapTest() { open(); }

  // A fresh Mailstore object, as a restarted server would make (the old one is destroyed first).
  void open() {
    ms_.reset();
    ms_ = std::make_unique<Mailstore>(root(), true);
  }
  void close() { ms_.reset(); }

  fs::path root() const { return tmp_ / "boxes"; }
  Mailstore& ms() { return *ms_; }
  fs::path slot() const { return Mailstore(root(), false).slot_dir(alice); }
  fs::path folder_dir(std::string_view name) const { return slot() / "folders" / encode_path_component(name); }

  std::uint32_t deliver(std::string_view content, std::string_view folder = "INBOX", std::string flags = "",
                        std::int64_t date = 0) {
    NewMessage m{content, "", std::move(flags), date};
    auto r = ms().deliver(alice, folder, {m});
    EXPECT_TRUE(r) << r.error().message;
    return r && r->size() == 1 ? (*r)[0] : 0;
  }

  std::vector<MessageEntry> list(std::string_view folder = "INBOX") {
    auto r = ms().list(alice, folder);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<MessageEntry>{};
  }
  Uids uids(std::string_view folder = "INBOX") { return uids_of(list(folder)); }
  MessageEntry entry(std::string_view folder, std::uint32_t uid) {
    for (auto& e : list(folder))
      if (e.uid == uid) return e;
    ADD_FAILURE() << "no message " << uid << " in " << folder;
    return {};
  }

  FolderInfo info(std::string_view name) {
    auto r = ms().folder(alice, name);
    EXPECT_TRUE(r) << name << ": " << r.error().message;
    return r ? *r : FolderInfo{};
  }
  std::vector<std::string> folder_names() {
    std::vector<std::string> out;
    auto r = ms().folders(alice);
    EXPECT_TRUE(r) << r.error().message;
    if (r)
      for (auto& f : *r) out.push_back(f.name);
    return out;
  }
  std::vector<std::string> subscriptions() {
    auto r = ms().subscriptions(alice);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<std::string>{};
  }
  std::string read(std::string_view folder, std::uint32_t uid) {
    auto r = ms().read(alice, folder, uid);
    EXPECT_TRUE(r) << folder << " " << uid << ": " << r.error().message;
    return r ? *r : std::string();
  }
  Changes changes(std::string_view folder, std::uint64_t since) {
    auto r = ms().changes_since(alice, folder, since);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Changes{};
  }
  StoreResult store(std::string_view folder, const Uids& u, FlagMode mode, const std::vector<std::string>& flags,
                    std::optional<std::uint64_t> unchangedsince = std::nullopt) {
    auto r = ms().store_flags(alice, folder, u, mode, flags, unchangedsince);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : StoreResult{};
  }
  CopyResult copy(std::string_view from, const Uids& u, std::string_view to, bool move) {
    auto r = ms().copy(alice, from, u, to, move);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : CopyResult{};
  }

  // Message files in a directory (names not starting with '.').
  static std::vector<std::string> message_files(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& f : fs::directory_iterator(dir, ec))
      if (!f.path().filename().string().starts_with(".")) out.push_back(f.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  void remove_index() {
    for (auto suffix : {"", "-wal", "-shm"}) fs::remove(slot() / ("index.db" + std::string(suffix)));
  }

  // `tern check` (no repair) from another process's point of view: a healthy store, nothing pending.
  void expect_clean(const std::string& after) {
    auto report = Mailstore(root(), false).check(false);
    EXPECT_TRUE(report.problems.empty()) << "after " << after << ": " << joined(report.problems);
    EXPECT_TRUE(report.notes.empty()) << "after " << after << ": " << joined(report.notes);
  }

  tern::testing::TempDir tmp_;
  std::unique_ptr<Mailstore> ms_;
};

// --- folders ----------------------------------------------------------------------------------------

TEST_F(MailstoreImapTest, DefaultFoldersHaveSpecialUseAndAreSubscribed) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  auto r = ms().folders(alice);
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, std::string> uses;
  std::set<std::uint32_t> validities;
  for (auto& f : *r) {
    uses[f.name] = f.special_use;
    validities.insert(f.uidvalidity);
    EXPECT_EQ(f.messages, 0u);
    EXPECT_EQ(f.uidnext, 1u);
    EXPECT_NE(f.uidvalidity, 0u);
  }
  std::map<std::string, std::string> expected{{"INBOX", ""},          {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
                                              {"Junk", "\\Junk"},     {"Trash", "\\Trash"},   {"Archive", "\\Archive"}};
  EXPECT_EQ(uses, expected);
  EXPECT_EQ(validities.size(), 6u);  // every folder its own UIDVALIDITY
  EXPECT_EQ(folder_names(), (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}));
  EXPECT_EQ(subscriptions(), (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}));
  // The special use is in the .folder file too (it survives a lost index).
  EXPECT_NE(tern::testing::read_file(folder_dir("Sent") / ".folder").find("special-use \\Sent"), std::string::npos);
  expect_clean("ensure_default_folders");

  // A second call changes nothing.
  auto before = *r;
  auto v = ms().version(alice);
  ASSERT_OK(ms().ensure_default_folders(alice));
  auto again = ms().folders(alice);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ((*again)[i].uidvalidity, before[i].uidvalidity);
  EXPECT_EQ(ms().version(alice), v);

  // Unsubscribe and subscribe again.
  ASSERT_OK(ms().subscribe(alice, "Junk", false));
  EXPECT_EQ(subscriptions(), (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Sent", "Trash"}));
  ASSERT_OK(ms().subscribe(alice, "Junk", true));
  ASSERT_OK(ms().subscribe(alice, "Junk", true));  // twice: still once
  EXPECT_EQ(subscriptions().size(), 6u);
  close();
  open();
  EXPECT_EQ(subscriptions().size(), 6u);
  EXPECT_EQ(info("Trash").special_use, "\\Trash");
  expect_clean("reopen");
}

TEST_F(MailstoreImapTest, DefaultFolderSkippedWhenAnotherFolderHasItsSpecialUse) {
  ASSERT_OK(ms().create_folder(alice, "Sent Items", "\\Sent"));
  ASSERT_OK(ms().ensure_default_folders(alice));
  auto names = folder_names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "Sent"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "Sent Items"), 1);
  EXPECT_EQ(info("Sent Items").special_use, "\\Sent");
  expect_clean("ensure_default_folders");
}

TEST_F(MailstoreImapTest, CreateExistingFolderFailsWithExists) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  ASSERT_OK(ms().create_folder(alice, "Work"));
  auto r = ms().create_folder(alice, "Work");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::exists);
  auto inbox = ms().create_folder(alice, "INBOX");
  ASSERT_FALSE(inbox);
  EXPECT_EQ(inbox.error().kind, Error::Kind::exists);
  EXPECT_TRUE(fs::exists(folder_dir("Work") / ".folder"));
  EXPECT_EQ(info("Work").special_use, "");
  EXPECT_EQ(info("Work").messages, 0u);

  // Missing folders: not_found everywhere.
  auto f = ms().folder(alice, "Nope");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, Error::Kind::not_found);
  auto d = ms().delete_folder(alice, "Nope");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, Error::Kind::not_found);
  auto rn = ms().rename_folder(alice, "Nope", "Other");
  ASSERT_FALSE(rn);
  EXPECT_EQ(rn.error().kind, Error::Kind::not_found);
  auto c = ms().copy(alice, "INBOX", {1}, "Nope", false);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, Error::Kind::not_found);
  auto sf = ms().store_flags(alice, "Nope", {1}, FlagMode::add, {"\\Seen"});
  ASSERT_FALSE(sf);
  EXPECT_EQ(sf.error().kind, Error::Kind::not_found);
  auto ch = ms().changes_since(alice, "Nope", 0);
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error().kind, Error::Kind::not_found);
  // Rename onto an existing folder.
  auto onto = ms().rename_folder(alice, "Work", "Sent");
  ASSERT_FALSE(onto);
  EXPECT_EQ(onto.error().kind, Error::Kind::exists);
  EXPECT_TRUE(ms().folder(alice, "Work"));
  expect_clean("failed operations");
}

TEST(FolderNames, LimitIsTheEncodedDirectoryName) {
  EXPECT_TRUE(check_folder_name(std::string(max_folder_dir_name, 'x')));
  auto too_long = check_folder_name(std::string(max_folder_dir_name + 1, 'x'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().kind, Error::Kind::limit);
  EXPECT_TRUE(check_folder_name(std::string(85, '#')));   // "%23" x 85 = 255 bytes
  EXPECT_FALSE(check_folder_name(std::string(86, '#')));  // 258
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += i ? "/A" : "A";  // 64 + 63 x 3 = 253
  EXPECT_TRUE(check_folder_name(deep));
  EXPECT_FALSE(check_folder_name(deep + "/A"));
}

TEST_F(MailstoreImapTest, TooLongNamesChangeNothing) {
  auto before = folder_names();
  auto r = ms().create_folder(alice, std::string(300, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::limit);
  ASSERT_TRUE(ms().create_folder(alice, "P"));
  ASSERT_TRUE(ms().create_folder(alice, "P/" + std::string(200, 'c')));
  deliver("Subject: kept\r\n\r\nbody\r\n", "P/" + std::string(200, 'c'));
  // The child's new name ("QQ...%2Fccc...", 263 bytes) is too long: nothing is renamed.
  r = ms().rename_folder(alice, "P", std::string(60, 'Q'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::limit);
  r = ms().rename_folder(alice, "P", std::string(300, 'Q'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::limit);
  auto after = before;
  after.push_back("P");
  after.push_back("P/" + std::string(200, 'c'));
  std::sort(after.begin(), after.end());
  auto names = folder_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, after);
  EXPECT_EQ(list("P/" + std::string(200, 'c')).size(), 1u);
}

TEST_F(MailstoreImapTest, DeleteFolderRemovesItsFilesAndKeepsChildren) {
  ASSERT_OK(ms().create_folder(alice, "Work"));
  ASSERT_OK(ms().create_folder(alice, "Work/Sub"));
  deliver(message("a@remote.test", "w1"), "Work");
  deliver(message("a@remote.test", "w2"), "Work");
  auto sub = message("a@remote.test", "s1");
  deliver(sub, "Work/Sub");
  ASSERT_EQ(message_files(folder_dir("Work")).size(), 2u);

  ASSERT_OK(ms().delete_folder(alice, "Work"));
  EXPECT_FALSE(fs::exists(folder_dir("Work")));
  EXPECT_TRUE(message_files(slot() / "tmp").empty());
  auto f = ms().folder(alice, "Work");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, Error::Kind::not_found);
  EXPECT_TRUE(list("Work").empty());
  EXPECT_FALSE(ms().read(alice, "Work", 1));
  EXPECT_EQ(folder_names(), std::vector<std::string>{"Work/Sub"});
  EXPECT_EQ(uids("Work/Sub"), Uids{1});
  EXPECT_EQ(read("Work/Sub", 1), sub);
  EXPECT_EQ(*ms().usage(alice), sub.size());
  expect_clean("delete_folder");
  close();
  open();
  EXPECT_EQ(folder_names(), std::vector<std::string>{"Work/Sub"});
  expect_clean("reopen");
}

TEST_F(MailstoreImapTest, DeletedThenRecreatedFolderHasADifferentUidvalidity) {
  ASSERT_OK(ms().create_folder(alice, "INBOX"));
  ASSERT_OK(ms().create_folder(alice, "Work"));
  deliver(message("a@remote.test", "w1"), "Work");
  deliver(message("a@remote.test", "w2"), "Work");
  auto old = info("Work");
  ASSERT_OK(ms().delete_folder(alice, "Work"));
  ASSERT_OK(ms().create_folder(alice, "Work"));
  auto fresh = info("Work");
  // RFC 9051 2.3.1.1: UIDs 1 and 2 of the new folder are other messages than the old ones.
  EXPECT_NE(fresh.uidvalidity, old.uidvalidity);
  EXPECT_GT(fresh.uidvalidity, old.uidvalidity);
  EXPECT_EQ(fresh.messages, 0u);
  EXPECT_EQ(deliver(message("a@remote.test", "new"), "Work"), 1u);
  expect_clean("recreate");

  // Same through a restart between delete and create.
  auto second = info("Work");
  ASSERT_OK(ms().delete_folder(alice, "Work"));
  close();
  open();
  ASSERT_OK(ms().create_folder(alice, "Work"));
  EXPECT_NE(info("Work").uidvalidity, second.uidvalidity);
  EXPECT_NE(info("Work").uidvalidity, old.uidvalidity);
  expect_clean("recreate after reopen");
}

TEST_F(MailstoreImapTest, RenameWithChildrenKeepsUidsAndUidvalidity) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  for (auto name : {"Projects", "Projects/A", "Projects/A/Deep", "ProjectsOld"})
    ASSERT_OK(ms().create_folder(alice, name));
  std::map<std::string, std::string> content;
  for (auto name : {"Projects", "Projects/A", "Projects/A/Deep", "ProjectsOld"}) {
    deliver(message("x@remote.test", std::string(name) + "-1"), name);
    content[name] = message("x@remote.test", std::string(name) + "-2");
    deliver(content[name], name);
  }
  ASSERT_OK(ms().expunge(alice, "Projects/A", {1}));  // UIDs with a gap: {2}
  store("Projects/A", {2}, FlagMode::add, {"\\Flagged", "$Work"});
  ASSERT_OK(ms().subscribe(alice, "Projects", true));
  ASSERT_OK(ms().subscribe(alice, "Projects/A", true));
  std::map<std::string, FolderInfo> before;
  for (auto name : {"Projects", "Projects/A", "Projects/A/Deep", "ProjectsOld"}) before[name] = info(name);

  ASSERT_OK(ms().rename_folder(alice, "Projects", "Work"));
  const std::map<std::string, std::string> renamed{
      {"Projects", "Work"}, {"Projects/A", "Work/A"}, {"Projects/A/Deep", "Work/A/Deep"}, {"ProjectsOld", "ProjectsOld"}};
  auto verify = [&](const std::string& when, bool rebuilt) {
    SCOPED_TRACE(when);
    auto names = folder_names();
    for (auto& [from, to] : renamed) {
      if (from != to) {
        EXPECT_EQ(std::count(names.begin(), names.end(), from), 0) << from;
        EXPECT_FALSE(fs::exists(folder_dir(from))) << from;
      }
      auto f = info(to);
      if (rebuilt) {
        EXPECT_GT(f.uidvalidity, before[from].uidvalidity) << to;
      } else {
        EXPECT_EQ(f.uidvalidity, before[from].uidvalidity) << to;
        EXPECT_EQ(f.uidnext, before[from].uidnext) << to;
      }
      EXPECT_EQ(uids(to), from == "Projects/A" ? Uids{2} : (Uids{1, 2})) << to;
      EXPECT_EQ(read(to, 2), content[from]) << to;
      // The .folder file names the folder it is in.
      EXPECT_NE(tern::testing::read_file(folder_dir(to) / ".folder").find("name " + to + "\n"), std::string::npos)
          << to;
    }
    EXPECT_EQ(entry("Work/A", 2).flags, rebuilt ? "" : "\\Flagged $Work");
    auto subs = subscriptions();
    EXPECT_EQ(std::count(subs.begin(), subs.end(), "Work"), 1);
    EXPECT_EQ(std::count(subs.begin(), subs.end(), "Work/A"), 1);
    EXPECT_EQ(std::count(subs.begin(), subs.end(), "Projects"), 0);
    EXPECT_EQ(std::count(subs.begin(), subs.end(), "Projects/A"), 0);
    expect_clean(when);
  };
  verify("rename", false);
  close();
  open();
  verify("reopen", false);
  close();
  remove_index();
  open();
  verify("index lost", true);
}

TEST_F(MailstoreImapTest, RenameInboxMovesMessagesAndLeavesInboxEmpty) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  ASSERT_OK(ms().create_folder(alice, "INBOX/Child"));
  std::vector<std::string> msgs{message("a@remote.test", "one"), message("b@remote.test", "two"),
                                message("c@remote.test", "three")};
  deliver(msgs[0], "INBOX", "\\Seen", 1000000000);
  deliver(msgs[1]);
  deliver(msgs[2], "INBOX", "\\Flagged");
  deliver(message("d@remote.test", "child"), "INBOX/Child");
  auto inbox_before = info("INBOX");
  auto hs = inbox_before.highestmodseq;

  ASSERT_OK(ms().rename_folder(alice, "INBOX", "Old Mail"));
  auto inbox = info("INBOX");
  EXPECT_EQ(inbox.messages, 0u);
  EXPECT_EQ(inbox.uidvalidity, inbox_before.uidvalidity);
  EXPECT_EQ(inbox.uidnext, 4u);
  EXPECT_TRUE(message_files(folder_dir("INBOX")).empty());
  EXPECT_EQ(changes("INBOX", hs).expunged, (Uids{1, 2, 3}));
  EXPECT_GT(changes("INBOX", hs).highestmodseq, hs);

  auto moved = list("Old Mail");
  ASSERT_EQ(moved.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(read("Old Mail", moved[i].uid), msgs[i]);
  EXPECT_EQ(moved[0].flags, "\\Seen");
  EXPECT_EQ(moved[0].internal_date, 1000000000);
  EXPECT_EQ(moved[2].flags, "\\Flagged");
  EXPECT_EQ(message_files(folder_dir("Old Mail")).size(), 3u);
  // INBOX's children are not renamed (RFC 9051 6.3.6).
  EXPECT_EQ(uids("INBOX/Child"), Uids{1});
  EXPECT_FALSE(ms().folder(alice, "Old Mail/Child"));
  expect_clean("rename INBOX");

  // New mail goes on with INBOX's UIDs.
  EXPECT_EQ(deliver(message("e@remote.test", "after")), 4u);
  close();
  open();
  EXPECT_EQ(uids("INBOX"), Uids{4});
  EXPECT_EQ(list("Old Mail").size(), 3u);
  expect_clean("reopen");
}

// --- flags and MODSEQs --------------------------------------------------------------------------------

TEST_F(MailstoreImapTest, StoreFlagsAddRemoveReplace) {
  for (int i = 1; i <= 3; ++i) deliver(message("a@remote.test", "m" + std::to_string(i)));
  auto m0 = info("INBOX").highestmodseq;
  auto delivered = entry("INBOX", 3).modseq;
  EXPECT_GT(delivered, 0u);

  auto r1 = store("INBOX", {1, 2}, FlagMode::add, {"\\Seen"});
  EXPECT_EQ(uids_of(r1.changed), (Uids{1, 2}));
  EXPECT_TRUE(r1.unchanged.empty());
  EXPECT_TRUE(r1.modified.empty());
  ASSERT_EQ(r1.changed.size(), 2u);
  auto m1 = r1.changed[0].modseq;
  EXPECT_GT(m1, m0);
  EXPECT_EQ(r1.changed[1].modseq, m1);
  EXPECT_EQ(r1.changed[0].flags, "\\Seen");
  EXPECT_EQ(info("INBOX").highestmodseq, m1);
  EXPECT_EQ(info("INBOX").unseen, 1u);
  expect_clean("store add");

  // Case-insensitive duplicates: "\seen" is "\Seen".
  auto r2 = store("INBOX", {1}, FlagMode::add, {"\\seen", "$Label", "$label"});
  ASSERT_EQ(r2.changed.size(), 1u);
  EXPECT_EQ(r2.changed[0].flags, "\\Seen $Label");
  auto m2 = r2.changed[0].modseq;
  EXPECT_GT(m2, m1);
  EXPECT_EQ(entry("INBOX", 1).flags, "\\Seen $Label");

  // Nothing to change: message 2 keeps its MODSEQ, no new HIGHESTMODSEQ.
  auto r3 = store("INBOX", {2}, FlagMode::add, {"\\SEEN"});
  EXPECT_TRUE(r3.changed.empty());
  ASSERT_EQ(r3.unchanged.size(), 1u);
  EXPECT_EQ(r3.unchanged[0].uid, 2u);
  EXPECT_EQ(r3.unchanged[0].modseq, m1);
  EXPECT_EQ(r3.unchanged[0].flags, "\\Seen");
  EXPECT_EQ(entry("INBOX", 2).modseq, m1);
  EXPECT_EQ(info("INBOX").highestmodseq, m2);

  // Remove compares case-insensitively; message 3 had nothing to remove.
  auto r4 = store("INBOX", {1, 2, 3, 99}, FlagMode::remove, {"\\SEEN"});
  EXPECT_EQ(uids_of(r4.changed), (Uids{1, 2}));
  EXPECT_EQ(uids_of(r4.unchanged), Uids{3});
  EXPECT_EQ(entry("INBOX", 1).flags, "$Label");
  EXPECT_EQ(entry("INBOX", 2).flags, "");
  EXPECT_EQ(entry("INBOX", 3).modseq, delivered);
  EXPECT_EQ(info("INBOX").unseen, 3u);
  expect_clean("store remove");

  // Replace, with duplicates; a replace with the same set (other order, other case) changes nothing.
  auto r5 = store("INBOX", {3}, FlagMode::replace, {"\\Flagged", "\\flagged", "$A", "\\Deleted"});
  ASSERT_EQ(r5.changed.size(), 1u);
  EXPECT_EQ(r5.changed[0].flags, "\\Flagged $A \\Deleted");
  EXPECT_EQ(info("INBOX").deleted, 1u);
  auto m5 = r5.changed[0].modseq;
  auto r6 = store("INBOX", {3}, FlagMode::replace, {"\\deleted", "$a", "\\FLAGGED"});
  EXPECT_TRUE(r6.changed.empty());
  EXPECT_EQ(uids_of(r6.unchanged), Uids{3});
  EXPECT_EQ(entry("INBOX", 3).modseq, m5);
  auto r7 = store("INBOX", {3}, FlagMode::replace, {});
  ASSERT_EQ(r7.changed.size(), 1u);
  EXPECT_EQ(entry("INBOX", 3).flags, "");
  EXPECT_EQ(info("INBOX").deleted, 0u);
  // UIDs that do not exist: neither changed nor unchanged.
  auto r8 = store("INBOX", {42}, FlagMode::add, {"\\Seen"});
  EXPECT_TRUE(r8.changed.empty() && r8.unchanged.empty() && r8.modified.empty());
  expect_clean("store replace");
}

TEST_F(MailstoreImapTest, StoreUnchangedSinceReportsModified) {
  for (int i = 1; i <= 3; ++i) deliver(message("a@remote.test", "m" + std::to_string(i)));
  auto r = store("INBOX", {1}, FlagMode::add, {"\\Seen"});
  ASSERT_EQ(r.changed.size(), 1u);
  auto m1 = r.changed[0].modseq;
  auto m_deliv = entry("INBOX", 2).modseq;
  ASSERT_LT(m_deliv, m1);

  // Message 1 changed after m1-1: it fails; 2 and 3 did not: they change.
  auto r2 = store("INBOX", {1, 2, 3}, FlagMode::add, {"\\Flagged"}, m1 - 1);
  EXPECT_EQ(r2.modified, Uids{1});
  EXPECT_EQ(uids_of(r2.changed), (Uids{2, 3}));
  EXPECT_EQ(entry("INBOX", 1).flags, "\\Seen");
  EXPECT_EQ(entry("INBOX", 1).modseq, m1);
  EXPECT_EQ(entry("INBOX", 2).flags, "\\Flagged");

  // UNCHANGEDSINCE equal to the message's MODSEQ succeeds.
  auto r3 = store("INBOX", {1}, FlagMode::add, {"\\Answered"}, m1);
  EXPECT_TRUE(r3.modified.empty());
  EXPECT_EQ(uids_of(r3.changed), Uids{1});
  // UNCHANGEDSINCE 0 fails for every message (RFC 7162 3.1.3).
  auto r4 = store("INBOX", {1, 2, 3}, FlagMode::add, {"$X"}, 0);
  EXPECT_EQ(r4.modified, (Uids{1, 2, 3}));
  EXPECT_TRUE(r4.changed.empty());
  EXPECT_EQ(entry("INBOX", 1).flags.find("$X"), std::string::npos);
  expect_clean("unchangedsince");
}

TEST_F(MailstoreImapTest, AnOpenMessageReadsAtAnyOffsetAndOutlivesItsExpunge) {
  auto m1 = message("a@remote.test", "one");
  ASSERT_EQ(deliver(m1), 1u);
  auto opened = ms().open_message(alice, "INBOX", 1);
  ASSERT_TRUE(opened) << opened.error().message;
  const auto& m = **opened;
  EXPECT_EQ(m.size(), m1.size());
  std::string whole(m.size(), '\0');
  EXPECT_EQ(m.read_at(whole.data(), whole.size(), 0), static_cast<ssize_t>(m1.size()));
  EXPECT_EQ(whole, m1);
  std::string tail(100, '\0');  // short only at the end
  EXPECT_EQ(m.read_at(tail.data(), tail.size(), m1.size() - 4), 4);
  EXPECT_EQ(tail.substr(0, 4), m1.substr(m1.size() - 4));
  ASSERT_OK(ms().expunge(alice, "INBOX", {1}));
  std::string again(m.size(), '\0');  // another session expunged it: this one still reads its bytes
  EXPECT_EQ(m.read_at(again.data(), again.size(), 0), static_cast<ssize_t>(m1.size()));
  EXPECT_EQ(again, m1);
  auto gone = ms().open_message(alice, "INBOX", 1);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, Error::Kind::not_found);
}

TEST_F(MailstoreImapTest, FlagsModseqsAndNewMessageFieldsPersistAcrossReopen) {
  auto m1 = message("a@remote.test", "one");
  EXPECT_EQ(deliver(m1, "INBOX", "\\Seen  \\seen $Work", 1000000000), 1u);
  deliver(message("b@remote.test", "two"));
  store("INBOX", {2}, FlagMode::add, {"\\Flagged", "$Later"});
  auto before = list();
  auto hs = info("INBOX").highestmodseq;
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].flags, "\\Seen $Work");
  EXPECT_EQ(before[0].internal_date, 1000000000);

  auto p = ms().path_of(alice, "INBOX", 1);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(tern::testing::read_file(*p), m1);
  EXPECT_EQ(p->parent_path(), folder_dir("INBOX"));
  auto missing = ms().path_of(alice, "INBOX", 99);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Error::Kind::not_found);

  close();
  open();
  auto after = list();
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after[i].flags, before[i].flags);
    EXPECT_EQ(after[i].modseq, before[i].modseq);
    EXPECT_EQ(after[i].internal_date, before[i].internal_date);
  }
  EXPECT_EQ(info("INBOX").highestmodseq, hs);
  EXPECT_EQ(info("INBOX").unseen, 1u);
  // MODSEQs go on upwards.
  auto r = store("INBOX", {1}, FlagMode::remove, {"$Work"});
  ASSERT_EQ(r.changed.size(), 1u);
  EXPECT_GT(r.changed[0].modseq, hs);
  expect_clean("reopen");
}

// --- copy, move, changes ------------------------------------------------------------------------------

TEST_F(MailstoreImapTest, CopyGivesCopyuidAndTheSameBytes) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  ms().set_summarizer([](std::string_view c) { return "sum:" + std::to_string(c.size()); });
  std::vector<std::string> msgs{message("a@remote.test", "one"), message("b@remote.test", "two", "Body two\r\n"),
                                message("c@remote.test", "three", "Body three, longer\r\n")};
  for (auto& m : msgs) deliver(m);
  store("INBOX", {3}, FlagMode::add, {"\\Seen", "$Keep"});
  deliver(message("z@remote.test", "already archived"), "Archive");
  auto archive = info("Archive");
  auto usage_before = *ms().usage(alice);

  auto r = copy("INBOX", {3, 1, 99}, "Archive", false);
  EXPECT_EQ(r.uidvalidity, archive.uidvalidity);
  using Pairs = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
  EXPECT_EQ(r.uids, (Pairs{{3, 2}, {1, 3}}));
  EXPECT_EQ(read("Archive", 2), msgs[2]);
  EXPECT_EQ(read("Archive", 3), msgs[0]);
  auto copied = entry("Archive", 2);
  EXPECT_EQ(copied.flags, "\\Seen $Keep");
  EXPECT_EQ(copied.subject, "three");
  EXPECT_EQ(copied.size, msgs[2].size());
  EXPECT_GT(copied.modseq, archive.highestmodseq);
  auto s = ms().summaries(alice, "Archive", {2, 3});
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (std::vector<std::string>{"sum:" + std::to_string(msgs[2].size()), "sum:" + std::to_string(msgs[0].size())}));
  EXPECT_EQ(info("Archive").uidnext, 4u);
  EXPECT_EQ(info("Archive").messages, 3u);
  // The source is unchanged; the copy is a hard link.
  EXPECT_EQ(uids("INBOX"), (Uids{1, 2, 3}));
  EXPECT_EQ(entry("INBOX", 3).flags, "\\Seen $Keep");
  auto src = ms().path_of(alice, "INBOX", 3);
  auto dst = ms().path_of(alice, "Archive", 2);
  ASSERT_TRUE(src && dst);
  EXPECT_TRUE(fs::equivalent(*src, *dst));
  EXPECT_EQ(fs::hard_link_count(*src), 2u);
  EXPECT_EQ(*ms().usage(alice), usage_before + msgs[2].size() + msgs[0].size());
  expect_clean("copy");

  // A copy within one folder gets new UIDs there.
  auto same = copy("INBOX", {2}, "INBOX", false);
  EXPECT_EQ(same.uids, (Pairs{{2, 4}}));
  EXPECT_EQ(read("INBOX", 4), msgs[1]);
  // Expunging one copy leaves the other intact.
  ASSERT_OK(ms().expunge(alice, "INBOX", {3}));
  EXPECT_EQ(read("Archive", 2), msgs[2]);
  EXPECT_EQ(fs::hard_link_count(*dst), 1u);
  expect_clean("expunge after copy");
  close();
  open();
  EXPECT_EQ(read("Archive", 2), msgs[2]);
  EXPECT_EQ(entry("Archive", 2).flags, "\\Seen $Keep");
}

TEST_F(MailstoreImapTest, MoveRemovesFromSourceAndReportsTheExpunge) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  std::vector<std::string> msgs{message("a@remote.test", "one"), message("b@remote.test", "two"),
                                message("c@remote.test", "three")};
  for (auto& m : msgs) deliver(m);
  store("INBOX", {2}, FlagMode::add, {"\\Flagged"});
  auto src_before = info("INBOX");
  auto file2 = entry("INBOX", 2).file;
  auto usage_before = *ms().usage(alice);

  auto r = copy("INBOX", {2}, "Trash", true);
  EXPECT_EQ(r.uidvalidity, info("Trash").uidvalidity);
  ASSERT_EQ(r.uids.size(), 1u);
  EXPECT_EQ(r.uids[0].first, 2u);
  auto nuid = r.uids[0].second;
  EXPECT_EQ(uids("INBOX"), (Uids{1, 3}));
  EXPECT_FALSE(fs::exists(folder_dir("INBOX") / file2));
  EXPECT_FALSE(ms().read(alice, "INBOX", 2));
  EXPECT_EQ(read("Trash", nuid), msgs[1]);
  EXPECT_EQ(entry("Trash", nuid).flags, "\\Flagged");
  EXPECT_EQ(fs::hard_link_count(*ms().path_of(alice, "Trash", nuid)), 1u);
  EXPECT_EQ(*ms().usage(alice), usage_before);
  auto c = changes("INBOX", src_before.highestmodseq);
  EXPECT_EQ(c.expunged, Uids{2});
  EXPECT_TRUE(c.changed.empty());
  EXPECT_GT(c.highestmodseq, src_before.highestmodseq);
  EXPECT_EQ(info("INBOX").highestmodseq, c.highestmodseq);
  EXPECT_EQ(info("INBOX").uidnext, src_before.uidnext);
  expect_clean("move");

  // Into the same folder (RFC 6851 3.3, issue 11): a new UID, the old one expunged, one file.
  auto self = ms().copy(alice, "INBOX", {1}, "INBOX", true);
  ASSERT_TRUE(self) << self.error().message;
  ASSERT_EQ(self->uids.size(), 1u);
  EXPECT_EQ(self->uids.front().first, 1u);
  auto moved_uid = self->uids.front().second;
  EXPECT_GE(moved_uid, src_before.uidnext);
  EXPECT_EQ(uids("INBOX"), (Uids{3, moved_uid}));
  EXPECT_EQ(fs::hard_link_count(*ms().path_of(alice, "INBOX", moved_uid)), 1u);
  EXPECT_EQ(*ms().usage(alice), usage_before);
  expect_clean("move into the same folder");
  // Killed between the commit and the unlink of the old name: the old name is a second link to the
  // indexed file; the next open removes it instead of indexing the message twice.
  auto new_path = *ms().path_of(alice, "INBOX", moved_uid);
  auto old_name = folder_dir("INBOX") / ("1." + new_path.filename().string().substr(new_path.filename().string().find('.') + 1));
  fs::create_hard_link(new_path, old_name);
  close();
  open();
  EXPECT_EQ(uids("INBOX"), (Uids{3, moved_uid}));
  EXPECT_FALSE(fs::exists(old_name));
  EXPECT_TRUE(fs::exists(new_path));
  expect_clean("reopen after a crashed move into the same folder");
  // A file without a row whose other link is outside the folder (a backup made with hard links) is
  // a message to index, not a leftover.
  auto backup = tmp_ / "backup-copy";
  auto lone = folder_dir("INBOX") / "77.lonely";
  tern::testing::write_file(lone, "Subject: lone\r\n\r\nbody\r\n");
  fs::create_hard_link(lone, backup);
  close();
  open();
  EXPECT_EQ(uids("INBOX"), (Uids{3, moved_uid, 77}));
  ASSERT_EQ(ms().expunge(alice, "INBOX", {77}).value(), 1u);
  // The expunges are remembered across a restart.
  close();
  open();
  EXPECT_EQ(changes("INBOX", src_before.highestmodseq).expunged, (Uids{1, 2, 77}));
  expect_clean("reopen");
}

TEST_F(MailstoreImapTest, ChangesSinceListsNewDeliveriesAndFlagChanges) {
  deliver(message("a@remote.test", "one"));
  deliver(message("a@remote.test", "two"));
  deliver(message("a@remote.test", "three"));
  auto m0 = info("INBOX").highestmodseq;
  EXPECT_TRUE(changes("INBOX", m0).changed.empty());
  EXPECT_EQ(changes("INBOX", m0).highestmodseq, m0);

  deliver(message("a@remote.test", "four"));
  store("INBOX", {2}, FlagMode::add, {"\\Seen"});
  auto c = changes("INBOX", m0);
  EXPECT_EQ(uids_of(c.changed), (Uids{2, 4}));
  EXPECT_TRUE(c.expunged.empty());
  EXPECT_EQ(c.highestmodseq, info("INBOX").highestmodseq);
  ASSERT_EQ(c.changed.size(), 2u);
  EXPECT_EQ(c.changed[0].flags, "\\Seen");
  EXPECT_EQ(c.changed[1].subject, "four");
  for (auto& e : c.changed) EXPECT_GT(e.modseq, m0);
  EXPECT_EQ(uids_of(changes("INBOX", 0).changed), (Uids{1, 2, 3, 4}));
  EXPECT_TRUE(changes("INBOX", c.highestmodseq).changed.empty());

  // Only the last change counts: a later flag change moves message 2 past m1.
  auto m1 = c.highestmodseq;
  store("INBOX", {1}, FlagMode::add, {"$A"});
  EXPECT_EQ(uids_of(changes("INBOX", m1).changed), Uids{1});
  expect_clean("changes");
}

TEST_F(MailstoreImapTest, ExpungeRecordsExpungedUids) {
  for (int i = 1; i <= 4; ++i) deliver(message("a@remote.test", "m" + std::to_string(i)));
  auto m0 = info("INBOX").highestmodseq;
  auto v = ms().version(alice);
  auto n = ms().expunge(alice, "INBOX", {1, 3, 99});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_GT(ms().version(alice), v);
  auto c = changes("INBOX", m0);
  EXPECT_EQ(c.expunged, (Uids{1, 3}));
  EXPECT_TRUE(c.changed.empty());
  EXPECT_GT(c.highestmodseq, m0);
  EXPECT_EQ(uids_of(changes("INBOX", 0).changed), (Uids{2, 4}));
  EXPECT_EQ(message_files(folder_dir("INBOX")).size(), 2u);
  auto m1 = c.highestmodseq;
  ASSERT_OK(ms().expunge(alice, "INBOX", {4}));
  EXPECT_EQ(changes("INBOX", m1).expunged, Uids{4});
  EXPECT_EQ(changes("INBOX", m0).expunged, (Uids{1, 3, 4}));
  // Nothing to expunge: no new MODSEQ.
  auto hs = info("INBOX").highestmodseq;
  auto none = ms().expunge(alice, "INBOX", {1, 99});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(info("INBOX").highestmodseq, hs);
  expect_clean("expunge");
  close();
  open();
  EXPECT_EQ(changes("INBOX", m0).expunged, (Uids{1, 3, 4}));
  EXPECT_EQ(deliver(message("a@remote.test", "m5")), 5u);  // expunged UIDs are never reused
}

// --- summaries, usage, version ------------------------------------------------------------------------

TEST_F(MailstoreImapTest, SummariesFromTheSummarizerAndSetSummaries) {
  auto plain = message("a@remote.test", "before summarizer");
  deliver(plain, "Old");
  ms().set_summarizer([](std::string_view c) { return "S(" + std::to_string(c.size()) + ")"; });
  auto m1 = message("a@remote.test", "one"), m2 = message("a@remote.test", "two", "LF only\n");
  deliver(m1);
  deliver(m2);
  auto crlf2 = message("a@remote.test", "two", "LF only\r\n");  // stored with CRLF; summarized as stored
  auto s = ms().summaries(alice, "INBOX", {2, 1, 99});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, (std::vector<std::string>{"S(" + std::to_string(crlf2.size()) + ")",
                                          "S(" + std::to_string(m1.size()) + ")", ""}));
  auto old = ms().summaries(alice, "Old", {1});
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, std::vector<std::string>{""});

  ASSERT_OK(ms().set_summaries(alice, "Old", {{1, "cached later"}, {7, "no such message"}}));
  ASSERT_OK(ms().set_summaries(alice, "INBOX", {{1, std::string("bin\0ary", 7)}}));
  EXPECT_EQ((*ms().summaries(alice, "Old", {1}))[0], "cached later");
  EXPECT_EQ((*ms().summaries(alice, "INBOX", {1}))[0], std::string("bin\0ary", 7));
  auto nf = ms().summaries(alice, "Nope", {1});
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().kind, Error::Kind::not_found);
  auto nf2 = ms().set_summaries(alice, "Nope", {{1, "x"}});
  ASSERT_FALSE(nf2);
  EXPECT_EQ(nf2.error().kind, Error::Kind::not_found);
  expect_clean("summaries");
  close();
  open();  // no summarizer set: stored summaries stay
  EXPECT_EQ((*ms().summaries(alice, "Old", {1}))[0], "cached later");
  EXPECT_EQ((*ms().summaries(alice, "INBOX", {2}))[0], "S(" + std::to_string(crlf2.size()) + ")");
}

TEST_F(MailstoreImapTest, UsageCountsEveryFolder) {
  EXPECT_EQ(*ms().usage(alice), 0u);
  auto a = message("a@remote.test", "one"), b = message("a@remote.test", "two", std::string(5000, 'x') + "\r\n");
  auto c = message("a@remote.test", "three", "bare\nLF\n");
  deliver(a);
  deliver(b, "Work");
  deliver(c, "Work");
  auto c_stored = message("a@remote.test", "three", "bare\r\nLF\r\n");
  EXPECT_EQ(*ms().usage(alice), a.size() + b.size() + c_stored.size());
  EXPECT_EQ(info("Work").size, b.size() + c_stored.size());
  ASSERT_OK(ms().expunge(alice, "Work", {1}));
  EXPECT_EQ(*ms().usage(alice), a.size() + c_stored.size());
  ASSERT_OK(ms().delete_folder(alice, "Work"));
  EXPECT_EQ(*ms().usage(alice), a.size());
  EXPECT_EQ(*ms().usage("bob@example.test"), 0u);
  expect_clean("usage");
}

TEST_F(MailstoreImapTest, VersionIncreasesAfterEachChange) {
  auto v = ms().version(alice);
  auto bumped = [&](const char* what) {
    auto now = ms().version(alice);
    EXPECT_GT(now, v) << what;
    v = now;
    expect_clean(what);
  };
  ASSERT_OK(ms().ensure_default_folders(alice));
  bumped("ensure_default_folders");
  deliver(message("a@remote.test", "one"));
  deliver(message("a@remote.test", "two"));
  deliver(message("a@remote.test", "three"));
  bumped("deliver");
  store("INBOX", {1}, FlagMode::add, {"\\Seen"});
  bumped("store_flags");
  copy("INBOX", {1}, "Archive", false);
  bumped("copy");
  copy("INBOX", {2}, "Archive", true);
  bumped("move");
  ASSERT_OK(ms().expunge(alice, "INBOX", {3}));
  bumped("expunge");
  ASSERT_OK(ms().create_folder(alice, "Work"));
  bumped("create_folder");
  ASSERT_OK(ms().rename_folder(alice, "Work", "Play"));
  bumped("rename_folder");
  ASSERT_OK(ms().delete_folder(alice, "Play"));
  bumped("delete_folder");
  deliver(message("a@remote.test", "four"));
  ASSERT_OK(ms().rename_folder(alice, "INBOX", "Older"));
  bumped("rename INBOX");
  // Another mailslot's changes do not count here.
  ASSERT_TRUE(ms().deliver("bob@example.test", "INBOX", {NewMessage{message("a@remote.test", "bob"), ""}}));
  EXPECT_EQ(ms().version(alice), v);
}

// --- the index is a cache -----------------------------------------------------------------------------

TEST_F(MailstoreImapTest, LostIndexRebuiltWithSameUidsAndNewUidvalidity) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  ASSERT_OK(ms().create_folder(alice, "Work"));
  ASSERT_OK(ms().create_folder(alice, "Work/Sub"));
  for (int i = 1; i <= 3; ++i) deliver(message("a@remote.test", "in" + std::to_string(i)));
  ASSERT_OK(ms().expunge(alice, "INBOX", {2}));
  deliver(message("a@remote.test", "w1"), "Work/Sub");
  store("INBOX", {1, 3}, FlagMode::add, {"\\Seen", "$Label"});
  store("Work/Sub", {1}, FlagMode::add, {"\\Flagged"});
  ASSERT_OK(ms().subscribe(alice, "Junk", false));
  auto before = ms().folders(alice);
  ASSERT_TRUE(before);
  std::map<std::string, FolderInfo> old;
  for (auto& f : *before) old[f.name] = f;
  close();
  remove_index();

  open();
  auto after = ms().folders(alice);
  ASSERT_TRUE(after) << after.error().message;
  std::vector<std::string> names;
  for (auto& f : *after) {
    names.push_back(f.name);
    ASSERT_TRUE(old.count(f.name)) << f.name;
    EXPECT_GT(f.uidvalidity, old[f.name].uidvalidity) << f.name;
    EXPECT_EQ(f.special_use, old[f.name].special_use) << f.name;
    EXPECT_EQ(f.messages, old[f.name].messages) << f.name;
    // The new UIDVALIDITY is in the .folder file (so a second loss gives yet another one).
    EXPECT_NE(tern::testing::read_file(folder_dir(f.name) / ".folder")
                  .find("uidvalidity " + std::to_string(f.uidvalidity) + "\n"),
              std::string::npos)
        << f.name;
  }
  EXPECT_EQ(names.size(), old.size());
  EXPECT_EQ(uids("INBOX"), (Uids{1, 3}));
  EXPECT_EQ(uids("Work/Sub"), Uids{1});
  for (auto& e : list("INBOX")) EXPECT_EQ(e.flags, "") << e.uid;
  EXPECT_EQ(entry("Work/Sub", 1).flags, "");
  EXPECT_EQ(entry("INBOX", 3).subject, "in3");
  // Nothing remembers subscriptions any more: every folder is subscribed.
  EXPECT_EQ(subscriptions(), names);
  EXPECT_EQ(deliver(message("a@remote.test", "in4")), 4u);
  expect_clean("rebuild");

  // A reopen of the rebuilt index keeps the new UIDVALIDITYs.
  auto rebuilt = info("INBOX").uidvalidity;
  close();
  open();
  EXPECT_EQ(info("INBOX").uidvalidity, rebuilt);
}

TEST_F(MailstoreImapTest, LostIndexGetsNewUidvalidityEvenAfterCheckWithoutRepair) {
  deliver(message("a@remote.test", "one"));
  store("INBOX", {1}, FlagMode::add, {"\\Seen"});
  auto old = info("INBOX");
  close();
  remove_index();
  {
    // `tern check` while the server is down: reports, and must change nothing.
    auto report = Mailstore(root(), false).check(false);
    EXPECT_TRUE(report.problems.empty()) << joined(report.problems);
  }
  EXPECT_FALSE(fs::exists(slot() / "index.db")) << "check(false) created an index";
  open();
  auto now = info("INBOX");
  EXPECT_EQ(entry("INBOX", 1).flags, "");  // flags were lost with the index...
  EXPECT_GT(now.uidvalidity, old.uidvalidity) << "...so the UIDVALIDITY must change";
}

TEST_F(MailstoreImapTest, OldLayoutIndexIsSetAsideAndRebuilt) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  std::vector<std::string> msgs{message("a@remote.test", "one"), message("a@remote.test", "two")};
  deliver(msgs[0]);
  deliver(msgs[1]);
  auto w = message("a@remote.test", "work");
  deliver(w, "Work");
  auto old_inbox = info("INBOX");
  close();
  remove_index();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((slot() / "index.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db,
                          "CREATE TABLE messages(folder INTEGER, uid INTEGER);"
                          "INSERT INTO messages VALUES (1, 1), (1, 2), (2, 1);"
                          "PRAGMA user_version = 0;",
                          nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  open();
  EXPECT_EQ(uids("INBOX"), (Uids{1, 2}));
  EXPECT_EQ(read("INBOX", 1), msgs[0]);
  EXPECT_EQ(read("INBOX", 2), msgs[1]);
  EXPECT_EQ(read("Work", 1), w);
  EXPECT_EQ(info("Sent").special_use, "\\Sent");
  EXPECT_GT(info("INBOX").uidvalidity, old_inbox.uidvalidity);
  EXPECT_EQ(deliver(message("a@remote.test", "three")), 3u);
  // The old file is kept, not deleted.
  std::vector<fs::path> aside;
  for (auto& f : fs::directory_iterator(slot())) {
    auto n = f.path().filename().string();
    if (n.starts_with("index.db.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")) aside.push_back(f.path());
  }
  ASSERT_EQ(aside.size(), 1u);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(aside[0].c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  expect_clean("old layout rebuilt");
}

TEST_F(MailstoreImapTest, FolderDirectoryRemovedBehindTheIndexIsDroppedAtNextOpen) {
  ASSERT_OK(ms().create_folder(alice, "Work"));
  auto keep = message("a@remote.test", "keep");
  deliver(keep);
  deliver(message("a@remote.test", "w1"), "Work");
  deliver(message("a@remote.test", "w2"), "Work");
  auto old = info("Work");
  close();
  fs::remove_all(folder_dir("Work"));
  {
    auto report = Mailstore(root(), false).check(false);
    EXPECT_TRUE(report.problems.empty()) << joined(report.problems);
    EXPECT_FALSE(report.notes.empty());
  }
  open();
  EXPECT_EQ(folder_names(), std::vector<std::string>{"INBOX"});
  auto f = ms().folder(alice, "Work");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, Error::Kind::not_found);
  EXPECT_TRUE(list("Work").empty());
  EXPECT_EQ(*ms().usage(alice), keep.size());
  expect_clean("folder dropped");
  ASSERT_OK(ms().create_folder(alice, "Work"));
  EXPECT_NE(info("Work").uidvalidity, old.uidvalidity);
  EXPECT_EQ(info("Work").messages, 0u);
  expect_clean("recreated");
}

// A crash after delete_folder's rename into tmp/ and before the files there were removed.
TEST_F(MailstoreImapTest, InterruptedFolderDeleteInTmpIsClearedAtNextOpen) {
  ASSERT_OK(ms().create_folder(alice, "Work"));
  deliver(message("a@remote.test", "in"));
  deliver(message("a@remote.test", "w1"), "Work");
  deliver(message("a@remote.test", "w2"), "Work");
  close();
  fs::rename(folder_dir("Work"), slot() / "tmp" / "deleted-interrupted");
  ASSERT_FALSE(message_files(slot() / "tmp" / "deleted-interrupted").empty());
  open();
  auto r = ms().folders(alice);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(folder_names(), std::vector<std::string>{"INBOX"});
  EXPECT_EQ(uids("INBOX"), Uids{1});
  EXPECT_TRUE(message_files(slot() / "tmp").empty());
  expect_clean("interrupted delete");
}

// A crash in a move after the commit and before the source file was unlinked: the file brings the
// message back into the source. It may not then be reported both present and expunged.
TEST_F(MailstoreImapTest, MoveInterruptedBeforeUnlinkIsNotBothPresentAndExpunged) {
  ASSERT_OK(ms().create_folder(alice, "Archive"));
  auto m = message("a@remote.test", "one");
  deliver(m);
  deliver(message("a@remote.test", "two"));
  auto file = entry("INBOX", 1).file;
  auto r = copy("INBOX", {1}, "Archive", true);
  ASSERT_EQ(r.uids.size(), 1u);
  auto moved = *ms().path_of(alice, "Archive", r.uids[0].second);
  close();
  fs::create_hard_link(moved, folder_dir("INBOX") / file);
  open();
  EXPECT_EQ(read("Archive", r.uids[0].second), m);
  auto c = changes("INBOX", 0);
  auto present = uids_of(c.changed);
  for (auto uid : c.expunged)
    EXPECT_EQ(std::count(present.begin(), present.end(), uid), 0) << "UID " << uid << " both present and expunged";
  expect_clean("interrupted move");
}

// A crash in rename_folder after the directory's rename and before the commit: the index still has
// the old name (with flags and MODSEQs), the disk the new one. The folder found under the new name has
// lost its flags, so it may not keep a UIDVALIDITY a client has seen with them: renamed back and forth
// (Work -> Play committed, Play -> Work interrupted), "Work" would otherwise come back with the
// UIDVALIDITY clients cached for it, MODSEQs restarted and flags gone.
TEST_F(MailstoreImapTest, FolderRenamedBehindTheIndexGetsANewUidvalidity) {
  ASSERT_OK(ms().create_folder(alice, "Work"));
  auto m = message("a@remote.test", "w1");
  deliver(m, "Work");
  store("Work", {1}, FlagMode::add, {"\\Seen", "$Important"});
  auto old = info("Work");
  close();
  fs::rename(folder_dir("Work"), folder_dir("Play"));
  open();
  EXPECT_FALSE(ms().folder(alice, "Work"));
  EXPECT_EQ(uids("Play"), Uids{1});
  EXPECT_EQ(read("Play", 1), m);
  EXPECT_EQ(entry("Play", 1).flags, "");  // flags lost with the row...
  EXPECT_NE(info("Play").uidvalidity, old.uidvalidity) << "...so the UIDVALIDITY must change";
  expect_clean("rename behind the index");
}

// --- crash test ---------------------------------------------------------------------------------------

// The child: moves messages between A and B, changes flags, and makes, fills, renames and deletes
// scratch folders, until it is killed. Exits (with a code naming the failed step) only on an error.
[[noreturn]] void crash_child(const fs::path& root, unsigned seed) {
  Mailstore ms(root, true);
  std::mt19937 rng(seed);
  auto pick = [&](const std::vector<MessageEntry>& l) {
    Uids out;
    for (auto& e : l)
      if (rng() % 3 == 0) out.push_back(e.uid);
    if (out.empty() && !l.empty()) out.push_back(l[rng() % l.size()].uid);
    return out;
  };
  for (unsigned i = 0;; ++i) {
    switch (rng() % 4) {
      case 0:
      case 1: {  // move
        bool a_to_b = rng() % 2;
        auto from = a_to_b ? "A" : "B", to = a_to_b ? "B" : "A";
        auto l = ms.list(alice, from);
        if (!l) ::_exit(20);
        if (!ms.copy(alice, from, pick(*l), to, true)) ::_exit(21);
        break;
      }
      case 2: {  // flags
        auto folder = rng() % 2 ? "A" : "B";
        auto l = ms.list(alice, folder);
        if (!l) ::_exit(30);
        auto mode = static_cast<FlagMode>(rng() % 3);
        std::vector<std::string> flags{"\\Seen"};
        if (rng() % 2) flags.push_back("$K" + std::to_string(rng() % 3));
        std::optional<std::uint64_t> since;
        if (rng() % 4 == 0) since = rng() % 50;
        if (!ms.store_flags(alice, folder, pick(*l), mode, flags, since)) ::_exit(31);
        break;
      }
      case 3: {  // scratch folder: create, copy into, maybe rename, delete
        auto name = "T" + std::to_string(seed) + "-" + std::to_string(i);
        if (!ms.create_folder(alice, name)) ::_exit(40);
        auto l = ms.list(alice, "A");
        if (!l) ::_exit(41);
        if (!l->empty() && !ms.copy(alice, "A", pick(*l), name, false)) ::_exit(42);
        if (rng() % 2) {
          auto renamed = "U" + name.substr(1);
          if (!ms.rename_folder(alice, name, renamed)) ::_exit(43);
          name = renamed;
        }
        if (!ms.delete_folder(alice, name)) ::_exit(44);
        break;
      }
    }
  }
}

TEST_F(MailstoreImapTest, CrashAtRandomPointsLosesNoMessage) {
  ASSERT_OK(ms().ensure_default_folders(alice));
  ASSERT_OK(ms().create_folder(alice, "A"));
  ASSERT_OK(ms().create_folder(alice, "B"));
  std::set<std::string> delivered;
  for (int i = 0; i < 12; ++i) {
    auto m = message("s" + std::to_string(i) + "@remote.test", "crash " + std::to_string(i),
                     "Body " + std::to_string(i) + "\r\n" + std::string(static_cast<std::size_t>(i) * 100, 'z') + "\r\n");
    deliver(m, i % 3 ? "A" : "B");
    delivered.insert(m);
  }
  close();

  std::mt19937 rng(20240601);
  int killed_in_the_act = 0, rounds_with_progress = 0, duplicates = 0;
  std::uint64_t modseqs = 0;
  for (unsigned round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ::fflush(nullptr);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) crash_child(root(), round + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 110));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) FAIL() << "the child failed a step by itself: exit code " << WEXITSTATUS(status);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ++killed_in_the_act;

    open();
    auto now_modseqs = info("A").highestmodseq + info("B").highestmodseq;
    if (now_modseqs > modseqs) ++rounds_with_progress;
    modseqs = now_modseqs;
    // Every message delivered before the crashes is still in A or B: once, or twice after a move
    // interrupted between its link and its unlink. Every indexed message reads.
    std::map<std::string, int> count;
    for (auto folder : {"A", "B"}) {
      auto l = ms().list(alice, folder);
      ASSERT_TRUE(l) << l.error().message;
      auto f = info(folder);
      for (auto& e : *l) {
        auto r = ms().read(alice, folder, e.uid);
        ASSERT_TRUE(r) << folder << " " << e.uid << ": " << r.error().message;
        ++count[*r];
        EXPECT_LT(e.uid, f.uidnext) << folder;
        EXPECT_LE(e.modseq, f.highestmodseq) << folder;
      }
    }
    for (auto& m : delivered) {
      EXPECT_GE(count[m], 1) << "message lost: " << m.substr(0, 60);
      EXPECT_LE(count[m], 2) << "message multiplied: " << m.substr(0, 60);
    }
    EXPECT_EQ(count.size(), delivered.size()) << "a message in A or B that was never delivered";
    {
      auto repaired = ms().check(true);
      EXPECT_TRUE(repaired.problems.empty()) << joined(repaired.problems);
    }
    expect_clean("crash round " + std::to_string(round));

    // Back to one copy of each, so the next round starts from the same invariant.
    auto b = ms().list(alice, "B");
    ASSERT_TRUE(b);
    std::map<std::string, std::uint32_t> in_b;
    Uids extra_b;
    for (auto& e : *b) {
      auto content = read("B", e.uid);
      if (in_b.count(content)) extra_b.push_back(e.uid);
      else in_b[content] = e.uid;
    }
    auto a = ms().list(alice, "A");
    ASSERT_TRUE(a);
    std::set<std::string> in_a;
    Uids extra_a;
    for (auto& e : *a) {
      auto content = read("A", e.uid);
      if (in_a.count(content) || in_b.count(content)) extra_a.push_back(e.uid);
      in_a.insert(content);
    }
    duplicates += static_cast<int>(extra_a.size() + extra_b.size());
    if (!extra_a.empty()) ASSERT_OK(ms().expunge(alice, "A", extra_a));
    if (!extra_b.empty()) ASSERT_OK(ms().expunge(alice, "B", extra_b));
    if (::testing::Test::HasFatalFailure()) return;
    close();
  }
  EXPECT_EQ(killed_in_the_act, 10);
  // The child got to work before it was killed (else this tests nothing).
  EXPECT_GE(rounds_with_progress, 5);
  std::printf("crash test: %d kills, %d rounds with changes, %d copies left by interrupted moves\n",
              killed_in_the_act, rounds_with_progress, duplicates);
}

}  // namespace
}  // namespace tern::store

namespace tern::store {
namespace {

// Deliveries commit their index rows without an fsync (the files are the truth). A crash that loses
// such commits must not let a MODSEQ a client saw be given again: the rows added back from the files
// get a MODSEQ above every one the lost commits could have handed out.
TEST_F(MailstoreImapTest, RowsLostInACrashComeBackAboveEveryModseqGivenOut) {
  deliver(message("a@remote.test", "kept"));
  auto before = info("INBOX").highestmodseq;
  deliver(message("a@remote.test", "lost 1"));
  deliver(message("a@remote.test", "lost 2"));
  auto seen = info("INBOX").highestmodseq;  // what a client could have been told
  ASSERT_EQ(seen, before + 2);
  close();
  {
    // The crash: the two delivery commits never reached the disk (rows and HIGHESTMODSEQ as before).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((slot() / "index.db").c_str(), &db), SQLITE_OK);
    auto sql = "DELETE FROM messages WHERE uid > 1; UPDATE folders SET highestmodseq = " + std::to_string(before) +
               ", uidnext = 2 WHERE name = 'INBOX';";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  open();
  auto back = list("INBOX");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_GT(back[1].modseq, seen);
  EXPECT_GT(back[2].modseq, seen);
  // A change after the restart gets a new MODSEQ, never one a client may hold.
  auto r = store("INBOX", {1}, FlagMode::add, {"\\Seen"});
  ASSERT_EQ(r.changed.size(), 1u);
  EXPECT_GT(r.changed[0].modseq, seen);
  EXPECT_EQ(info("INBOX").uidnext, 4u);
}

}  // namespace
}  // namespace tern::store
