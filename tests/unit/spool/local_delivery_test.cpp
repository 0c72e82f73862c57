// The local delivery seam: which agents run for which mailslot kind, and what their outcomes mean.
#include "spool/local_delivery.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../temp_dir.hpp"

namespace tern::spool {
namespace {

using Kind = LocalOutcome::Kind;

// An agent that records each call and answers what it was told to.
class Scripted final : public LocalDelivery {
 public:
  Scripted(std::string name, LocalOutcome answer, std::vector<std::string>& calls)
      : name_(std::move(name)), answer_(std::move(answer)), calls_(calls) {}
  std::string_view name() const override { return name_; }
  LocalOutcome deliver(const store::Mailslot& slot, const LocalMessage&) override {
    calls_.push_back(name_ + ":" + slot.address);
    return answer_;
  }

 private:
  std::string name_;
  LocalOutcome answer_;
  std::vector<std::string>& calls_;
};

class LocalDeliveryTest : public ::testing::Test {
 protected:
  LocalMessage message(std::string_view content = "Return-Path: <a@b.test>\r\nSubject: x\r\n\r\nbody\r\n") {
    return LocalMessage{"q1", env_, content, content.substr(content.find('\n') + 1)};
  }
  Envelope env_{};
  std::vector<std::string> calls_;
};

const store::Mailslot alice{"alice@example.test", store::SlotKind::mailbox, {}};
const store::Mailslot archive{"archive@example.test", store::SlotKind::archive, {}};
const store::Mailslot list{"team@example.test", store::SlotKind::list, {}};

TEST_F(LocalDeliveryTest, AgentsRunInOrderUntilOneDecides) {
  DeliveryChain chain;
  chain.add(store::SlotKind::mailbox, std::make_shared<Scripted>("sieve", LocalOutcome{}, calls_));  // pass
  chain.add(store::SlotKind::mailbox, std::make_shared<Scripted>("box", LocalOutcome::stored_in("INBOX", 7), calls_));
  chain.add(store::SlotKind::mailbox, std::make_shared<Scripted>("never", LocalOutcome::stored_in("X", 1), calls_));
  auto o = chain.deliver(alice, message());
  EXPECT_EQ(o.kind, Kind::stored);
  EXPECT_EQ(o.folder, "INBOX");
  EXPECT_EQ(o.uid, 7u);
  EXPECT_EQ(calls_, (std::vector<std::string>{"sieve:alice@example.test", "box:alice@example.test"}));
}

TEST_F(LocalDeliveryTest, TheChainIsChosenByTheSlotKind) {
  DeliveryChain chain;
  chain.add(store::SlotKind::mailbox, std::make_shared<Scripted>("box", LocalOutcome::stored_in("INBOX", 1), calls_));
  chain.add(store::SlotKind::archive, std::make_shared<Scripted>("arc", LocalOutcome::stored_in("INBOX", 2), calls_));
  chain.deliver(archive, message());
  chain.deliver(alice, message());
  EXPECT_EQ(calls_, (std::vector<std::string>{"arc:archive@example.test", "box:alice@example.test"}));
}

TEST_F(LocalDeliveryTest, AKindWithoutAgentWaitsInTheQueue) {
  DeliveryChain chain;
  chain.add(store::SlotKind::list, std::make_shared<Scripted>("undecided", LocalOutcome{}, calls_));
  auto o = chain.deliver(list, message());
  EXPECT_EQ(o.kind, Kind::temporary);
  EXPECT_EQ(o.status, "4.3.0");
  EXPECT_EQ(o.reply, "451 4.3.0 no delivery agent for list team@example.test");
  EXPECT_EQ(DeliveryChain{}.deliver(alice, message()).kind, Kind::temporary);
}

TEST_F(LocalDeliveryTest, FailuresCarryTheirReplyAndMessagesToQueue) {
  auto bounce = LocalOutcome::permanent_failure("550 5.7.1 refused by the user's script", "5.7.1");
  bounce.queue.push_back(OutgoingMessage{Envelope{}, "Subject: vacation\r\n\r\naway\r\n"});
  DeliveryChain chain;
  chain.add(store::SlotKind::mailbox, std::make_shared<Scripted>("sieve", bounce, calls_));
  auto o = chain.deliver(alice, message());
  EXPECT_EQ(o.kind, Kind::permanent);
  EXPECT_EQ(o.reply, "550 5.7.1 refused by the user's script");
  ASSERT_EQ(o.queue.size(), 1u);
  EXPECT_EQ(o.queue.front().message, "Subject: vacation\r\n\r\naway\r\n");
}

TEST(LocalOutcomeTest, StoreErrorsByKind) {
  auto quota = LocalOutcome::from_store_error(Error{"5 MB used of 5 MB", Error::Kind::over_quota});
  EXPECT_EQ(quota.kind, Kind::permanent);
  EXPECT_EQ(quota.status, "5.2.2");
  auto full = LocalOutcome::from_store_error(Error{"No space left on device", Error::Kind::no_space});
  EXPECT_EQ(full.kind, Kind::temporary);
  EXPECT_EQ(full.reply, "452 4.3.1 mail system full: No space left on device");
  EXPECT_EQ(LocalOutcome::from_store_error(Error{"disk I/O error"}).kind, Kind::temporary);
}

// The default chain with a real store: mailboxes and archives get the message in INBOX, once per
// queue id however often the spool asks (a retry after a crash).
TEST_F(LocalDeliveryTest, DefaultChainStoresInInboxOncePerQueueId) {
  tern::testing::TempDir tmp;
  store::Mailstore ms(tmp / "boxes", true);
  auto chain = default_chain(ms);
  auto content = std::string("Return-Path: <a@b.test>\r\nSubject: hi\r\n\r\nbody\r\n");
  for (auto& slot : {alice, archive}) {
    auto first = chain.deliver(slot, message(content));
    ASSERT_EQ(first.kind, Kind::stored) << first.reply;
    EXPECT_EQ(first.folder, "INBOX");
    auto again = chain.deliver(slot, message(content));
    ASSERT_EQ(again.kind, Kind::stored) << again.reply;
    auto listed = ms.list(slot.address, "INBOX");
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(listed->size(), 1u) << slot.address;
    auto bytes = ms.read(slot.address, "INBOX", first.uid);
    ASSERT_TRUE(bytes) << bytes.error().message;
    EXPECT_EQ(*bytes, content);
  }
  auto o = chain.deliver(list, message(content));
  EXPECT_EQ(o.kind, Kind::temporary);  // no list agent yet: the message waits
}

}  // namespace
}  // namespace tern::spool
