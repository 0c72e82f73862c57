// spam/bayes: tokens, Fisher's combining, learning and unlearning, the minimum before a vote.
#include <gtest/gtest.h>

#include "../temp_dir.hpp"
#include "spam/bayes.hpp"

namespace tern::spam {
namespace {

std::vector<std::string> words(std::string text) {
  Reading r;
  r.text = std::move(text);
  return tokens(r);
}

TEST(Tokens, DistinctLowerCaseWordsWithPrefixes) {
  Reading r;
  r.subject = "Cheap WATCHES";
  r.text = "Buy buy BUY now: a an of it's -x- 1234567890123456789012345";
  r.url_hosts = {"shop.example"};
  r.from_address = "x@sender.example";
  r.attachments = {"list.exe"};
  auto t = tokens(r);
  auto has = [&](const char* s) { return std::find(t.begin(), t.end(), s) != t.end(); };
  EXPECT_TRUE(has("s:cheap"));
  EXPECT_TRUE(has("s:watches"));
  EXPECT_TRUE(has("buy"));
  EXPECT_TRUE(has("now"));
  EXPECT_TRUE(has("it's"));
  EXPECT_TRUE(has("u:shop.example"));
  EXPECT_TRUE(has("f:sender.example"));
  EXPECT_TRUE(has("a:exe"));
  EXPECT_FALSE(has("an"));  // shorter than 3
  EXPECT_FALSE(has("1234567890123456789012345"));  // longer than 24
  EXPECT_EQ(std::count(t.begin(), t.end(), "buy"), 1);
}

TEST(Fisher, BoundsAndDirection) {
  EXPECT_DOUBLE_EQ(fisher_combine({}), 0.5);
  EXPECT_GT(fisher_combine({0.99, 0.99, 0.95}), 0.95);
  EXPECT_LT(fisher_combine({0.01, 0.02, 0.05}), 0.05);
  double mixed = fisher_combine({0.99, 0.01});
  EXPECT_NEAR(mixed, 0.5, 0.05);
  std::vector<double> many(150, 0.99);
  double p = fisher_combine(many);
  EXPECT_LE(p, 1.0);
  EXPECT_GE(p, 0.0);
}

TEST(Bayes, LearnsUnlearnsAndVotesOnlyWithEnoughSamples) {
  testing::TempDir tmp;
  Bayes b(tmp.path() / "sub" / "c.db");
  EXPECT_EQ(b.counts()->spam, 0);  // no file yet
  EXPECT_FALSE(*b.classify(words("casino"), 1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(*b.learn("s" + std::to_string(i), words("casino jackpot bonus winner " + std::to_string(i)), true));
    ASSERT_TRUE(*b.learn("h" + std::to_string(i), words("meeting agenda minutes budget " + std::to_string(i)), false));
  }
  EXPECT_FALSE(*b.learn("s0", words("casino jackpot bonus winner 0"), true));  // the same again: nothing
  auto c = *b.counts();
  EXPECT_EQ(c.spam, 5);
  EXPECT_EQ(c.ham, 5);
  EXPECT_FALSE(*b.classify(words("casino"), 6));  // below the minimum: no vote
  auto spam = *b.classify(words("casino jackpot winner"), 5);
  ASSERT_TRUE(spam);
  EXPECT_GT(*spam, 0.9);
  auto ham = *b.classify(words("meeting budget agenda"), 5);
  ASSERT_TRUE(ham);
  EXPECT_LT(*ham, 0.1);
  EXPECT_DOUBLE_EQ(**b.classify(words("unrelated words entirely"), 5), 0.5);

  // A spam message moved back out of Junk: unlearnt as spam, learnt as ham.
  ASSERT_TRUE(*b.learn("s0", words("casino jackpot bonus winner 0"), false));
  c = *b.counts();
  EXPECT_EQ(c.spam, 4);
  EXPECT_EQ(c.ham, 6);
}

}  // namespace
}  // namespace tern::spam
