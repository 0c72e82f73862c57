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
  EXPECT_FALSE(has("1234567890123456789012345"));  // longer than 24: its first letter and length
  EXPECT_TRUE(has("skip:1 20"));
  EXPECT_EQ(std::count(t.begin(), t.end(), "buy"), 1);
}

TEST(Tokens, LinksGiveTheirParentDomainsAndPathWords) {
  auto r = read_message(
      "From: a@b.example\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n"
      "<a href=\"http://www.shop.example.com/cheap/pills.php?id=42\">here</a>\r\n");
  auto t = tokens(r);
  auto has = [&](const char* s) { return std::find(t.begin(), t.end(), s) != t.end(); };
  EXPECT_TRUE(has("u:www.shop.example.com"));
  EXPECT_TRUE(has("u:shop.example.com"));
  EXPECT_TRUE(has("u:example.com"));
  EXPECT_FALSE(has("u:com"));
  EXPECT_TRUE(has("up:cheap"));
  EXPECT_TRUE(has("up:pills"));
  EXPECT_TRUE(has("up:php"));
  EXPECT_FALSE(has("cheap"));  // the link is not the text
}

TEST(Tokens, ShapesOfDateAndMessageId) {
  auto r = read_message(
      "From: a@b.example\r\nDate: Wed, 17 Jul 2002 19:09:57\r\n"
      "Message-ID: <00c701c200d9$a14bd540$5db8869f@r60qn>\r\n\r\nhello\r\n");
  auto t = tokens(r);
  auto has = [&](const char* s) { return std::find(t.begin(), t.end(), s) != t.end(); };
  EXPECT_TRUE(has("h:date:Aaa, 99 Aaa 9999 99:99:99"));
  EXPECT_TRUE(has("h:midshape:<9a9a9a9$a9a9$9a9a"));  // digit and letter runs folded
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

TEST(Reputation, FromLearntMessagesAndCorrespondents) {
  testing::TempDir tmp;
  Bayes b(tmp.path() / "r.db");
  EXPECT_EQ(b.reputation("pest@pest.test")->spam, 0);  // no file yet
  auto pest = [](std::string n) {
    return tokens(read_message("From: Pest <Pest@Pest.test>\r\nSubject: offer " + n + "\r\n\r\ncheap\r\n"));
  };
  ASSERT_TRUE(*b.learn("p1", pest("1"), true));
  ASSERT_TRUE(*b.learn("p2", pest("2"), true));
  ASSERT_TRUE(b.record_sent({"Friend@Friend.test", "friend@friend.test"}));
  auto r = *b.reputation("PEST@pest.test");
  EXPECT_EQ(r.spam, 2);
  EXPECT_EQ(r.ham, 0);
  EXPECT_EQ(r.domain_spam, 2);
  EXPECT_EQ(b.reputation("friend@friend.test")->sent, 2);
  ASSERT_TRUE(b.record_inbox({"News@News.test"}));
  ASSERT_TRUE(b.record_inbox({"news@news.test"}));
  EXPECT_EQ(b.reputation("news@news.test")->inbox, 2);
  EXPECT_EQ(b.reputation("news@news.test")->sent, 0);
  // Moved out of Junk: the sender's count moves with the message.
  ASSERT_TRUE(*b.learn("p2", pest("2"), false));
  r = *b.reputation("pest@pest.test");
  EXPECT_EQ(r.spam, 1);
  EXPECT_EQ(r.ham, 1);
  // The sender's own token never votes in the classifier: only one distinguishes these two.
  auto c = *b.classify(std::vector<std::string>{"r:pest@pest.test"}, 1);
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(*c, 0.5);
}

TEST(Reputation, Rules) {
  auto score = [](Reputation r, bool verified) {
    Report out;
    reputation_rules(r, verified, "x", out);
    return out.score;
  };
  EXPECT_EQ(score({0, 0, 1, 0, 0}, true), -3.0);   // KNOWN_CORRESPONDENT
  EXPECT_EQ(score({0, 0, 1, 0, 0}, false), 0.0);   // unverified: no credit
  EXPECT_EQ(score({0, 2, 0, 0, 0}, true), -2.0);   // SENDER_REP_HAM
  EXPECT_EQ(score({0, 0, 0, 0, 0, 3}, true), -1.0);  // SENDER_REP_INBOX
  EXPECT_EQ(score({0, 0, 0, 0, 0, 3}, false), 0.0);
  EXPECT_EQ(score({1, 0, 0, 0, 0, 9}, true), 0.0);  // once learnt as spam, deliveries count nothing
  EXPECT_EQ(score({0, 0, 0, 0, 0, 2}, true), 0.0);
  EXPECT_EQ(score({1, 2, 0, 0, 0}, true), 0.0);    // mixed: nothing
  EXPECT_EQ(score({2, 0, 0, 0, 0}, false), 3.0);   // SENDER_REP_SPAM, verified or not
  EXPECT_EQ(score({2, 0, 1, 0, 0}, false), 0.0);   // but never against a correspondent
  EXPECT_EQ(score({0, 0, 0, 5, 0}, false), 1.5);   // DOMAIN_REP_SPAM
  EXPECT_EQ(score({0, 0, 0, 5, 1}, false), 0.0);
}

TEST(Bayes, AFileOverItsBoundForgetsTheTokensOfASingleMessage) {
  testing::TempDir tmp;
  Bayes b(tmp.path() / "small.db", 256 * 1024);
  for (int i = 0; i < 400; ++i) {
    std::string text = "casino jackpot";  // in every message
    for (int w = 0; w < 40; ++w) text += " unique" + std::to_string(i) + "x" + std::to_string(w);
    ASSERT_TRUE(b.learn("m" + std::to_string(i), words(text), true));
  }
  auto c = *b.counts();
  EXPECT_EQ(c.spam, 400);
  EXPECT_LT(c.tokens, 400 * 40);  // single-message tokens were forgotten on the way
  EXPECT_LT(std::filesystem::file_size(tmp.path() / "small.db"), 2u * 1024 * 1024);
  // What many messages share is kept, and still votes.
  ASSERT_TRUE(b.learn("h", words("meeting agenda"), false));
  auto p = *b.classify(words("casino jackpot"), 1);
  ASSERT_TRUE(p);
  EXPECT_GT(*p, 0.9);
}

}  // namespace
}  // namespace tern::spam
