// filter: how the pipeline combines its stages' verdicts, and the policy stages every server runs.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include <boost/asio.hpp>

#include "../temp_dir.hpp"
#include "filter/filter.hpp"
#include "filter/policy.hpp"
#include "smtp/proto/proto.hpp"
#include "store/directory.hpp"

namespace tern::filter {
namespace {

using Action = Verdict::Action;

// A stage that answers every step with a fixed verdict, and counts how often it was asked.
class Fixed : public Stage {
 public:
  Fixed(std::string name, Verdict v, int* asked) : name_(std::move(name)), v_(std::move(v)), asked_(asked) {}
  std::string_view name() const override { return name_; }
  net::awaitable<Verdict> mail(const Context&) override {
    ++*asked_;
    co_return v_;
  }

 private:
  std::string name_;
  Verdict v_;
  int* asked_;
};

Verdict run(const Pipeline& p, Step step, const Context& ctx) {
  std::optional<Verdict> out;
  boost::asio::io_context io;
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> { out = co_await p.run(step, ctx); }, boost::asio::detached);
  io.run();
  EXPECT_TRUE(out);
  return out.value_or(Verdict{});
}

Verdict with(Action a, std::string header = {}, std::string reason = {}) {
  Verdict v;
  v.action = a;
  v.headers = std::move(header);
  if (!reason.empty()) v.reasons.push_back(std::move(reason));
  return v;
}

TEST(Pipeline, NoStagesIsNoObjection) {
  Pipeline p;
  EXPECT_EQ(run(p, Step::mail, {}).action, Action::next);
}

TEST(Pipeline, TheFirstRefusalAnswersAndTheRestAreNotAsked) {
  int a = 0, b = 0, c = 0;
  Pipeline p;
  p.add(std::make_unique<Fixed>("a", with(Action::next, "X-A: 1\r\n", "fine"), &a));
  p.add(std::make_unique<Fixed>("b", Verdict::refuse({451, "4.7.1", "later"}, "busy"), &b));
  p.add(std::make_unique<Fixed>("c", Verdict::refuse({550, "5.7.1", "no"}, "bad"), &c));
  auto v = run(p, Step::mail, {});
  EXPECT_EQ(v.action, Action::tempfail);
  ASSERT_TRUE(v.reply);
  EXPECT_EQ(v.reply->code, 451);
  EXPECT_EQ(v.headers, "X-A: 1\r\n");
  EXPECT_EQ(v.reasons, (std::vector<std::string>{"a: fine", "b: busy"}));
  EXPECT_EQ(a + b + c, 2);
  EXPECT_EQ(Verdict::refuse({550, "5.7.1", "no"}, "").action, Action::reject);
}

TEST(Pipeline, AcceptSkipsTheLaterStages) {
  int a = 0, b = 0;
  Pipeline p;
  p.add(std::make_unique<Fixed>("allow", with(Action::accept), &a));
  p.add(std::make_unique<Fixed>("deny", Verdict::refuse({550, "5.7.1", "no"}, "listed"), &b));
  EXPECT_EQ(run(p, Step::mail, {}).action, Action::accept);
  EXPECT_EQ(b, 0);
}

TEST(Pipeline, JunkIsKeptWhileTheOthersGoOnAndHeadersAddUp) {
  int a = 0, b = 0;
  Pipeline p;
  p.add(std::make_unique<Fixed>("spam", with(Action::junk, "X-Spam: yes\r\n", "score 9"), &a));
  p.add(std::make_unique<Fixed>("auth", with(Action::next, "Authentication-Results: x; none\r\n"), &b));
  auto v = run(p, Step::mail, {});
  EXPECT_EQ(v.action, Action::junk);
  EXPECT_EQ(v.headers, "X-Spam: yes\r\nAuthentication-Results: x; none\r\n");
  EXPECT_EQ(b, 1);
}

TEST(Pipeline, QuarantineOutranksJunkSurvivesAnAllowListAndYieldsToARefusal) {
  auto hold = with(Action::quarantine);
  hold.quarantine = "virus Eicar";
  auto junk = with(Action::junk);
  junk.junk = "score 9";
  int n = 0;
  Pipeline p;
  p.add(std::make_unique<Fixed>("virus", hold, &n));
  p.add(std::make_unique<Fixed>("spam", junk, &n));
  p.add(std::make_unique<Fixed>("allow", with(Action::accept), &n));
  auto v = run(p, Step::mail, {});
  EXPECT_EQ(v.action, Action::quarantine);
  EXPECT_EQ(v.quarantine, "virus: virus Eicar");
  EXPECT_EQ(v.junk, "spam: score 9");

  Pipeline refused;
  refused.add(std::make_unique<Fixed>("virus", hold, &n));
  refused.add(std::make_unique<Fixed>("size", Verdict::refuse({552, "5.3.4", "too big"}, ""), &n));
  EXPECT_EQ(run(refused, Step::mail, {}).action, Action::reject);
}

TEST(Pipeline, AStageIsOnlyAskedAtItsSteps) {
  int a = 0;
  Pipeline p;
  p.add(std::make_unique<Fixed>("mail-only", Verdict::refuse({550, "5.7.1", "no"}, ""), &a));
  EXPECT_EQ(run(p, Step::rcpt, {}).action, Action::next);
  EXPECT_EQ(run(p, Step::data, {}).action, Action::next);
  EXPECT_EQ(a, 0);
}

// --- the policy stages ------------------------------------------------------------------------------

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = store::Directory::create(tmp_ / "tern.db");
    ASSERT_TRUE(d) << d.error().message;
    dir_ = std::move(*d);
    ASSERT_TRUE(dir_->add_domain("tern.test"));
    ASSERT_TRUE(dir_->add_mailslot("bob@tern.test", store::SlotKind::mailbox, "x"));
    ASSERT_TRUE(dir_->add_mailslot("alice@tern.test", store::SlotKind::mailbox, "x"));
    ASSERT_TRUE(dir_->add_alias("sales@tern.test", {"bob@tern.test"}));
    cfg_.limits.max_message_size = 1000;
    cfg_.limits.max_received_headers = 3;
    pipeline_ = default_pipeline(*dir_, pool_, nullptr);
  }

  Context context(std::string_view user = {}) {
    Context ctx;
    ctx.notes = &notes_;
    ctx.config = &cfg_;
    ctx.user = user;
    return ctx;
  }

  smtp::proto::MailFrom mail(std::string arg) {
    auto parsed = smtp::proto::parse_mail(arg);
    EXPECT_TRUE(parsed.value) << arg;
    return parsed.value.value_or(smtp::proto::MailFrom{});
  }

  tern::testing::TempDir tmp_;
  std::unique_ptr<store::Directory> dir_;
  boost::asio::thread_pool pool_{1};
  config::Config cfg_;
  Notes notes_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PolicyTest, AnAnnouncedSizeAboveTheLimitIsRefusedAtMail) {
  auto ctx = context();
  auto big = mail("FROM:<a@example.test> SIZE=1001");
  ctx.mail = &big;
  auto v = run(*pipeline_, Step::mail, ctx);
  ASSERT_EQ(v.action, Action::reject);
  EXPECT_EQ(v.reply->code, 552);
  EXPECT_EQ(v.reply->enhanced, "5.3.4");
  auto fits = mail("FROM:<a@example.test> SIZE=1000");
  ctx.mail = &fits;
  EXPECT_EQ(run(*pipeline_, Step::mail, ctx).action, Action::next);
}

TEST_F(PolicyTest, AnAuthenticatedUserSendsAsHimselfOrHisAliasesOnly) {
  auto ctx = context("bob@tern.test");
  for (std::string own : {"FROM:<bob@tern.test>", "FROM:<BOB@tern.test>", "FROM:<sales@tern.test>"}) {
    auto m = mail(own);
    ctx.mail = &m;
    EXPECT_EQ(run(*pipeline_, Step::mail, ctx).action, Action::next) << own;
  }
  for (std::string other : {"FROM:<alice@tern.test>", "FROM:<x@example.test>", "FROM:<>"}) {
    auto m = mail(other);
    ctx.mail = &m;
    auto v = run(*pipeline_, Step::mail, ctx);
    EXPECT_EQ(v.action, Action::reject) << other;
    EXPECT_EQ(v.reply->code, 553) << other;
  }
  auto anyone = context();  // unauthenticated (MX): any sender
  auto m = mail("FROM:<alice@tern.test>");
  anyone.mail = &m;
  EXPECT_EQ(run(*pipeline_, Step::mail, anyone).action, Action::next);
}

TEST_F(PolicyTest, OnlyAuthenticatedSessionsRelay) {
  auto rcpt = smtp::proto::parse_rcpt("TO:<x@elsewhere.test>", false);
  ASSERT_TRUE(rcpt.value);
  route::Resolution remote;
  remote.kind = route::Resolution::remote;
  remote.remote_targets = {"x@elsewhere.test"};
  auto ctx = context();
  ctx.rcpt = &*rcpt.value;
  ctx.route = &remote;
  auto v = run(*pipeline_, Step::rcpt, ctx);
  ASSERT_EQ(v.action, Action::reject);
  EXPECT_EQ(v.reply->code, 554);
  EXPECT_EQ(v.reply->text, "<x@elsewhere.test>: Relay access denied");
  auto user = context("bob@tern.test");
  user.rcpt = ctx.rcpt;
  user.route = &remote;
  EXPECT_EQ(run(*pipeline_, Step::rcpt, user).action, Action::next);
  // A local alias forwarding elsewhere is this server's own forwarding, not relaying.
  auto alias = smtp::proto::parse_rcpt("TO:<fwd@tern.test>", false);
  ctx.rcpt = &*alias.value;
  EXPECT_EQ(run(*pipeline_, Step::rcpt, ctx).action, Action::next);
}

TEST_F(PolicyTest, TooManyReceivedFieldsIsALoop) {
  auto ctx = context();
  std::string three = "Received: a\r\nReceived: b\r\nReceived: c\r\nSubject: x\r\n\r\nbody\r\n";
  ctx.message = three;
  auto v = run(*pipeline_, Step::data, ctx);
  ASSERT_EQ(v.action, Action::reject);
  EXPECT_EQ(v.reply->enhanced, "5.4.6");
  std::string two = "Received: a\r\nReceived: b\r\nSubject: x\r\n\r\nbody\r\n";
  ctx.message = two;
  EXPECT_EQ(run(*pipeline_, Step::data, ctx).action, Action::next);
}

}  // namespace
}  // namespace tern::filter
