// route/router: local mailslots, unknown users, remote addresses, and alias expansion (nested, to remote
// targets, loops, the depth limit).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "route/router.hpp"

namespace tern::route {
namespace {

using Strings = std::vector<std::string>;
using store::SlotKind;

Strings sorted(Strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = store::Directory::create(tmp_ / "tern.db");
    ASSERT_TRUE(d) << d.error().message;
    dir_ = std::move(*d);
    ASSERT_TRUE(dir_->add_domain("example.test"));
    ASSERT_TRUE(dir_->add_domain("other.test"));
    for (const char* u : {"alice@example.test", "bob@example.test", "carol@other.test"})
      ASSERT_TRUE(dir_->add_mailslot(u, SlotKind::mailbox, "$y$x"));
    ASSERT_TRUE(dir_->add_mailslot("archive@example.test", SlotKind::archive, ""));
    router_ = std::make_unique<Router>(*dir_);
  }

  void alias(const std::string& address, const Strings& targets) {
    auto s = dir_->add_alias(address, targets);
    ASSERT_TRUE(s) << s.error().message;
  }

  Resolution resolve(std::string_view a) { return router_->resolve(a); }

  tern::testing::TempDir tmp_;
  std::unique_ptr<store::Directory> dir_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, LocalUser) {
  auto r = resolve("alice@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"});
  EXPECT_TRUE(r.remote_targets.empty());
}

TEST_F(RouterTest, LocalUserAnyCase) {
  auto r = resolve("Alice@EXAMPLE.Test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"});
}

TEST_F(RouterTest, ArchiveIsLocal) {
  auto r = resolve("archive@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"archive@example.test"});
  EXPECT_EQ(r.mailslots.front().kind, store::SlotKind::archive);
}

TEST_F(RouterTest, UnknownUserInLocalDomain) {
  auto r = resolve("nobody@example.test");
  EXPECT_EQ(r.kind, Resolution::unknown_user);
  EXPECT_TRUE(r.mailslots.empty());
  EXPECT_TRUE(r.remote_targets.empty());
  EXPECT_EQ(resolve("alice@other.test").kind, Resolution::unknown_user);  // alice lives in example.test
}

TEST_F(RouterTest, NonLocalDomainIsRemote) {
  auto r = resolve("someone@remote.test");
  EXPECT_EQ(r.kind, Resolution::remote);
  EXPECT_TRUE(r.mailslots.empty());
  ASSERT_EQ(r.remote_targets.size(), 1u);
  EXPECT_TRUE(store::normalize_address(r.remote_targets[0]) == "someone@remote.test") << r.remote_targets[0];
  EXPECT_EQ(resolve("alice@sub.example.test").kind, Resolution::remote);  // a subdomain is another domain
}

TEST_F(RouterTest, AliasToTwoUsers) {
  alias("team@example.test", {"alice@example.test", "bob@example.test"});
  auto r = resolve("Team@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(sorted(slot_addresses(r)), (Strings{"alice@example.test", "bob@example.test"}));
  EXPECT_TRUE(r.remote_targets.empty());
}

TEST_F(RouterTest, AliasAcrossLocalDomains) {
  alias("all@example.test", {"carol@other.test", "archive@example.test"});
  auto r = resolve("all@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(sorted(slot_addresses(r)), (Strings{"archive@example.test", "carol@other.test"}));
}

TEST_F(RouterTest, NestedAliasThreeLevels) {
  alias("level1@example.test", {"level2@example.test"});
  alias("level2@example.test", {"level3@other.test", "bob@example.test"});
  alias("level3@other.test", {"alice@example.test", "carol@other.test"});
  auto r = resolve("level1@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(sorted(slot_addresses(r)), (Strings{"alice@example.test", "bob@example.test", "carol@other.test"}));
  EXPECT_TRUE(r.remote_targets.empty());
}

TEST_F(RouterTest, UserReachedTwiceIsDeliveredOnce) {
  alias("a@example.test", {"alice@example.test", "b@example.test"});
  alias("b@example.test", {"alice@example.test", "bob@example.test"});
  auto r = resolve("a@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(sorted(slot_addresses(r)), (Strings{"alice@example.test", "bob@example.test"}));
}

TEST_F(RouterTest, AliasToRemoteAddress) {
  alias("fwd@example.test", {"someone@remote.test"});
  auto r = resolve("fwd@example.test");
  EXPECT_EQ(r.kind, Resolution::remote);
  EXPECT_TRUE(r.mailslots.empty());
  EXPECT_EQ(r.remote_targets, Strings{"someone@remote.test"});
}

TEST_F(RouterTest, AliasWithLocalAndRemoteTargets) {
  alias("both@example.test", {"alice@example.test", "Someone@Remote.test", "x@elsewhere.test"});
  auto r = resolve("both@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"});
  EXPECT_EQ(sorted(r.remote_targets), (Strings{"someone@remote.test", "x@elsewhere.test"}));
}

TEST_F(RouterTest, AliasLoop) {
  alias("a@example.test", {"b@example.test"});
  alias("b@example.test", {"a@example.test"});
  auto r = resolve("a@example.test");
  EXPECT_EQ(r.kind, Resolution::loop);
  EXPECT_TRUE(r.mailslots.empty());
  EXPECT_TRUE(r.remote_targets.empty());
  EXPECT_EQ(resolve("b@example.test").kind, Resolution::loop);
}

TEST_F(RouterTest, AliasToItself) {
  alias("me@example.test", {"me@example.test"});
  EXPECT_EQ(resolve("me@example.test").kind, Resolution::loop);
}

TEST_F(RouterTest, LoopWithAnExitStillDelivers) {
  alias("a@example.test", {"b@example.test"});
  alias("b@example.test", {"a@example.test", "alice@example.test"});
  auto r = resolve("a@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"});
}

TEST_F(RouterTest, DepthLimit) {
  // chain0 -> chain1 -> ... -> chainN -> alice: N + 1 alias hops before the user.
  auto chain = [&](const std::string& prefix, int hops) {
    for (int i = 0; i < hops; ++i) {
      std::string next = i + 1 < hops ? prefix + std::to_string(i + 1) + "@example.test" : "alice@example.test";
      alias(prefix + std::to_string(i) + "@example.test", {next});
    }
  };
  chain("ok", max_alias_depth);
  auto r = resolve("ok0@example.test");
  EXPECT_EQ(r.kind, Resolution::local) << "a chain of max_alias_depth aliases resolves";
  EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"});

  chain("deep", max_alias_depth + 5);
  auto d = resolve("deep0@example.test");
  EXPECT_NE(d.kind, Resolution::local) << "expansion stops at the depth limit";
  EXPECT_TRUE(d.mailslots.empty());
  EXPECT_TRUE(d.remote_targets.empty());
}

TEST_F(RouterTest, IsLocalDomain) {
  EXPECT_TRUE(router_->is_local_domain("example.test"));
  EXPECT_TRUE(router_->is_local_domain("OTHER.test"));
  EXPECT_FALSE(router_->is_local_domain("remote.test"));
}

// --- postmaster (RFC 5321 4.5.1), issue 10 item 9 ---------------------------------------------------

TEST_F(RouterTest, PostmasterGoesToTheDomainsFirstMailbox) {
  // alice was created before bob; the archive is no mailbox.
  for (const char* a : {"postmaster@example.test", "PostMaster@Example.TEST"}) {
    auto r = resolve(a);
    EXPECT_EQ(r.kind, Resolution::local) << a;
    EXPECT_EQ(slot_addresses(r), Strings{"alice@example.test"}) << a;
  }
  EXPECT_EQ(slot_addresses(resolve("postmaster@other.test")), Strings{"carol@other.test"});
  EXPECT_EQ(resolve("postmaster2@example.test").kind, Resolution::unknown_user);  // only postmaster
  EXPECT_EQ(resolve("postmaster@remote.test").kind, Resolution::remote);          // not ours
}

TEST_F(RouterTest, PostmasterOfADomainWithoutMailboxesGoesToTheFirstMailboxCreated) {
  ASSERT_TRUE(dir_->add_domain("empty.test"));
  EXPECT_EQ(slot_addresses(resolve("postmaster@empty.test")), Strings{"alice@example.test"});
}

TEST_F(RouterTest, ConfiguredPostmaster) {
  auto r = router_->resolve("postmaster@example.test", "Bob@example.test");
  EXPECT_EQ(r.kind, Resolution::local);
  EXPECT_EQ(slot_addresses(r), Strings{"bob@example.test"});
  // Through an alias, or remote (the outbox delivers it).
  alias("admins@example.test", {"carol@other.test"});
  EXPECT_EQ(slot_addresses(router_->resolve("postmaster@other.test", "admins@example.test")), Strings{"carol@other.test"});
  r = router_->resolve("postmaster@example.test", "admin@remote.test");
  EXPECT_EQ(r.kind, Resolution::remote);
  EXPECT_EQ(r.remote_targets, Strings{"admin@remote.test"});
  // A configured address that leads nowhere falls back to the first mailbox.
  EXPECT_EQ(slot_addresses(router_->resolve("postmaster@example.test", "gone@example.test")), Strings{"alice@example.test"});
  EXPECT_EQ(slot_addresses(router_->resolve("postmaster@example.test", "postmaster@example.test")),
            Strings{"alice@example.test"});
}

TEST_F(RouterTest, ExplicitPostmasterAliasOrMailboxWins) {
  alias("postmaster@example.test", {"bob@example.test"});
  EXPECT_EQ(slot_addresses(router_->resolve("postmaster@example.test", "carol@other.test")), Strings{"bob@example.test"});
  ASSERT_TRUE(dir_->add_mailslot("postmaster@other.test", SlotKind::mailbox, "$y$x"));
  EXPECT_EQ(slot_addresses(router_->resolve("postmaster@other.test", "bob@example.test")), Strings{"postmaster@other.test"});
}

TEST_F(RouterTest, PostmasterWithoutDomain) {
  EXPECT_EQ(router_->postmaster_domain("Example.test"), "example.test");     // the hostname, when ours
  EXPECT_EQ(router_->postmaster_domain("mx.example.test"), "example.test");  // else the first by name
}

}  // namespace
}  // namespace tern::route
