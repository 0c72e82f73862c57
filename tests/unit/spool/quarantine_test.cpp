// spool/quarantine: holding a message, listing and showing it, releasing it into pending/ (one rename)
// and deleting it; ids that could reach outside the folder are refused.
#include "spool/quarantine.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../temp_dir.hpp"
#include "store/files.hpp"

namespace tern::spool {
namespace {

namespace fs = std::filesystem;

Envelope envelope() {
  Envelope env;
  env.from = "sender@example.test";
  env.recipients.push_back(Recipient{"bob@tern.test"});
  env.recipients.push_back(Recipient{"carol@tern.test"});
  env.client = "192.0.2.1";
  env.arrived = 12345;  // replaced: the outbox stamps the arrival at release
  return env;
}

constexpr std::string_view kMessage = "Subject: held\r\n\r\nbody\r\n";

TEST(Quarantine, HoldListShowReleaseDelete) {
  testing::TempDir dir;
  Quarantine q(dir.path());
  auto first = q.hold(envelope(), kMessage, "virus: Eicar\r\nInjected: yes");
  ASSERT_TRUE(first) << first.error().message;
  auto second = q.hold(envelope(), kMessage, "attachments: a.exe (executable)", "given-id");
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, "given-id");

  auto held = q.list();
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 2u);
  const auto& h = held->front().id == *first ? held->front() : held->back();
  EXPECT_EQ(h.why, "virus: Eicar??Injected: yes");  // one line, whatever the stage wrote
  EXPECT_EQ(h.from, "sender@example.test");
  EXPECT_EQ(h.recipients, (std::vector<std::string>{"bob@tern.test", "carol@tern.test"}));
  EXPECT_EQ(h.client, "192.0.2.1");
  EXPECT_EQ(h.size, kMessage.size());
  EXPECT_EQ(h.problem, "");
  EXPECT_GT(h.held_at, 1700000000);

  auto shown = q.show(*first);
  ASSERT_TRUE(shown);
  EXPECT_TRUE(shown->second.ends_with(kMessage));
  auto parsed = parse(shown->second);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->envelope.arrived, 0);

  ASSERT_TRUE(q.release(*first));
  EXPECT_FALSE(fs::exists(q.folder() / (*first + ".msg")));
  auto pending = dir.path() / "mail" / "pending" / (*first + ".msg");
  ASSERT_TRUE(fs::exists(pending));
  EXPECT_EQ(store::read_file(pending), shown->second);  // the very file, renamed
  auto again = q.release(*first);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, Error::Kind::not_found);

  ASSERT_TRUE(q.remove("given-id"));
  EXPECT_TRUE(q.list()->empty());
}

TEST(Quarantine, IdsNeverReachOutsideTheFolder) {
  testing::TempDir dir;
  Quarantine q(dir.path());
  for (std::string id : std::vector<std::string>{"../tern", "", "a/b", std::string(65, 'a'), ".hidden"}) {
    auto r = q.show(id);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().kind, Error::Kind::invalid) << id;
    EXPECT_FALSE(q.remove(id));
    EXPECT_FALSE(q.release(id));
  }
}

TEST(Quarantine, ADamagedFileIsListedWithItsErrorAndNotReleased) {
  testing::TempDir dir;
  Quarantine q(dir.path());
  auto id = q.hold(envelope(), kMessage, "x");
  ASSERT_TRUE(id);
  auto file = q.folder() / (*id + ".msg");
  auto data = store::read_file(file);
  data.back() = 'X';  // the CHECKSUM no longer matches
  std::ofstream(file, std::ios::binary | std::ios::trunc) << data;
  auto held = q.list();
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 1u);
  EXPECT_NE(held->front().problem.find("CHECKSUM"), std::string::npos) << held->front().problem;
  EXPECT_FALSE(q.release(*id));
  EXPECT_TRUE(fs::exists(file));
}

TEST(Quarantine, AnEmptyOrMissingFolderListsNothing) {
  testing::TempDir dir;
  Quarantine q(dir.path() / "nowhere");
  auto held = q.list();
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->empty());
}

}  // namespace
}  // namespace tern::spool
