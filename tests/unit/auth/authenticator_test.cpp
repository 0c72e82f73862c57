// auth/authenticator: the one login decision of every protocol, against a real directory database.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include <boost/asio.hpp>

#include "../temp_dir.hpp"
#include "auth/authenticator.hpp"
#include "auth/password.hpp"
#include "auth/token.hpp"
#include "store/directory.hpp"

namespace tern::auth {
namespace {

using Outcome = LoginResult::Outcome;

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = store::Directory::create(tmp_ / "tern.db");
    ASSERT_TRUE(d) << d.error().message;
    dir_ = std::move(*d);
    ASSERT_TRUE(dir_->add_domain("tern.test"));
    auto hash = hash_password("secret");
    ASSERT_TRUE(hash);
    ASSERT_TRUE(dir_->add_mailslot("bob@tern.test", store::SlotKind::mailbox, *hash));
    ASSERT_TRUE(dir_->add_mailslot("archive@tern.test", store::SlotKind::archive, ""));
    auth_ = std::make_unique<Authenticator>(*dir_, pool_);
  }

  LoginResult login(std::string authzid, std::string user, std::string password, std::string peer = "192.0.2.1") {
    Credentials creds{std::move(authzid), std::move(user), std::move(password)};
    LoginAttempt attempt{"test", "s1", "PLAIN", peer};
    std::optional<LoginResult> out;
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io, [&]() -> net::awaitable<void> { out = co_await auth_->login(creds, attempt); }, boost::asio::detached);
    io.run();
    EXPECT_TRUE(out);
    return out.value_or(LoginResult{});
  }

  LoginResult login_token(std::string token, std::string peer = "192.0.2.1") {
    const std::string scope = "admin";
    LoginAttempt attempt{"test", "s1", "BEARER", peer};
    std::optional<LoginResult> out;
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io, [&]() -> net::awaitable<void> { out = co_await auth_->login_token(token, scope, attempt); },
        boost::asio::detached);
    io.run();
    EXPECT_TRUE(out);
    return out.value_or(LoginResult{});
  }

  tern::testing::TempDir tmp_;
  std::unique_ptr<store::Directory> dir_;
  boost::asio::thread_pool pool_{2};
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, TheRightPasswordLogsInAsTheDirectorySpellsTheAddress) {
  auto r = login("", "Bob@Tern.TEST", "secret");
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.address, "bob@tern.test");
  EXPECT_EQ(auth_->throttle().addresses(), 0u);
}

TEST_F(AuthenticatorTest, AWrongPasswordAnUnknownUserAndAnArchiveFailAlikeAndCount) {
  EXPECT_EQ(login("", "bob@tern.test", "wrong").outcome, Outcome::failed);
  EXPECT_EQ(login("", "nobody@tern.test", "secret", "192.0.2.2").outcome, Outcome::failed);
  EXPECT_EQ(login("", "archive@tern.test", "", "192.0.2.3").outcome, Outcome::failed);
  EXPECT_EQ(auth_->throttle().addresses(), 3u);
  EXPECT_EQ(auth_->throttle().accounts(), 3u);
}

TEST_F(AuthenticatorTest, TheAuthorizationIdentityMustBeEmptyOrTheUsersOwn) {
  EXPECT_EQ(login("BOB@tern.test", "bob@tern.test", "secret").outcome, Outcome::ok);
  auto r = login("alice@tern.test", "bob@tern.test", "secret");
  EXPECT_EQ(r.outcome, Outcome::not_authorized);
  EXPECT_EQ(r.address, "");
}

TEST_F(AuthenticatorTest, AnAddressWithTooManyFailuresIsRefusedBeforeItsPasswordIsChecked) {
  auto now = LoginThrottle::Clock::now();
  for (std::size_t i = 0; i <= LoginThrottle::max_failures; ++i)
    auth_->throttle().record_failure("192.0.2.9", "", now);
  EXPECT_EQ(login("", "bob@tern.test", "secret", "192.0.2.9").outcome, Outcome::refused);
  EXPECT_EQ(login("", "bob@tern.test", "secret", "192.0.2.10").outcome, Outcome::ok);  // other addresses are not
}

// API tokens: found by their hash while valid; a wrong or revoked one counts as a failed login of the
// client address (the same throttle as passwords), and a refused address is refused for tokens too.
TEST_F(AuthenticatorTest, ApiTokensLogInUntilRevokedAndFailuresCount) {
  ASSERT_TRUE(dir_->set_admin("bob@tern.test", true));
  auto token = make_api_token();
  EXPECT_TRUE(token.starts_with("tern_"));
  EXPECT_EQ(token.size(), 5u + 64u);
  EXPECT_NE(token, make_api_token());
  auto id = dir_->add_api_token("bob@tern.test", "", "admin", api_token_hash(token));
  ASSERT_TRUE(id);
  auto r = login_token(token);
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.address, "bob@tern.test");
  EXPECT_EQ(r.token_id, *id);
  EXPECT_EQ(auth_->throttle().addresses(), 0u);
  ASSERT_TRUE(dir_->revoke_api_token(*id));
  EXPECT_EQ(login_token(token).outcome, Outcome::failed);
  EXPECT_EQ(auth_->throttle().addresses(), 1u);
  auto now = LoginThrottle::Clock::now();
  for (std::size_t i = 0; i <= LoginThrottle::max_failures; ++i) auth_->throttle().record_failure("192.0.2.9", "", now);
  auto fresh = make_api_token();
  ASSERT_TRUE(dir_->add_api_token("bob@tern.test", "", "admin", api_token_hash(fresh)));
  EXPECT_EQ(login_token(fresh, "192.0.2.9").outcome, Outcome::refused);
  EXPECT_EQ(login_token(fresh, "192.0.2.10").outcome, Outcome::ok);
}

}  // namespace
}  // namespace tern::auth
