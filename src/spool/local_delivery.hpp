// spool/local_delivery: the seam where a queued message meets a local mailslot.
//
// The spool routes each local recipient to mailslots (route::Router) and hands every mailslot to the
// DeliveryChain, which runs the agents registered for the mailslot's kind in order until one gives an
// outcome other than `pass`: a user's Sieve script (later) before the mailbox, a mailing list agent
// (later) for `list` slots, the mailbox agent for mailboxes and archives. An agent never writes files:
// it stores through the store (store::Mailstore) and returns messages it wants sent (redirects, vacation
// replies, list posts) for the spool to queue, so every new message gets the same durability promise.
//
// Outcomes, per mailslot, become the outcome of each recipient that led to the slot:
//   stored      the message is in `folder` (with `flags`); the recipient is done
//   failed      temporary (the spool tries again later; the store deduplicates by queue id, so a slot
//               that stored already does not get a second copy) or permanent (a DSN with `reply`)
//   pass        this agent does nothing with it; the next agent of the chain is asked
// A kind with no agent that takes the message fails temporarily: mail for a feature not yet running
// waits in the queue instead of being lost.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spool/queue_file.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::spool {

// The message as local agents see it.
struct LocalMessage {
  std::string_view queue_id;  // also the deduplication key in the mailbox
  const Envelope& envelope;
  std::string_view content;  // with the Return-Path header of the final delivery (RFC 5321 4.4)
  std::string_view message;  // as received, without Return-Path (for redirects)
};

// A message an agent wants sent; the spool queues it like any other.
struct OutgoingMessage {
  Envelope envelope;
  std::string message;
};

struct LocalOutcome {
  enum class Kind { stored, temporary, permanent, pass };
  Kind kind = Kind::pass;
  std::string folder;                  // stored: where
  std::string flags;                   // stored: as the store keeps them (space-separated)
  std::uint32_t uid = 0;               // stored: the new message's UID
  std::vector<OutgoingMessage> queue;  // any kind but pass: messages to queue
  std::string reply;                   // failures: the reply for logs and DSNs ("550 5.2.1 ...")
  std::string status;                  // failures: the enhanced status code ("5.2.1")

  static LocalOutcome stored_in(std::string folder, std::uint32_t uid, std::string flags = {});
  static LocalOutcome temporary_failure(std::string reply, std::string status);
  static LocalOutcome permanent_failure(std::string reply, std::string status);
  // The failure a store error calls for: over quota is permanent (as Dovecot's LMTP with
  // quota_full_tempfail=no), everything else may pass with time.
  static LocalOutcome from_store_error(const Error& e);
};

class LocalDelivery {
 public:
  virtual ~LocalDelivery() = default;
  virtual std::string_view name() const = 0;
  // Blocking (the store fsyncs): the spool calls it on the worker pool.
  virtual LocalOutcome deliver(const store::Mailslot& slot, const LocalMessage& message) = 0;
};

// Stores into a folder of the mailslot (INBOX for mailboxes and archives); a message the filters judged
// junk (Envelope::junk) into a mailbox's Junk folder (the one with the \Junk attribute, made if none).
// A mailbox's quota (its own, else default_quota(): [limits] mailbox_quota) bounds what it stores: a
// message that would pass it fails permanently, 552 5.2.2. Archives have none.
class MailboxDelivery final : public LocalDelivery {
 public:
  explicit MailboxDelivery(store::Mailstore& mailstore, std::function<std::uint64_t()> default_quota = {},
                           std::string folder = "INBOX")
      : mailstore_(mailstore), default_quota_(std::move(default_quota)), folder_(std::move(folder)) {}
  std::string_view name() const override { return "mailbox"; }
  LocalOutcome deliver(const store::Mailslot& slot, const LocalMessage& message) override;

 private:
  Result<std::string> junk_folder(std::string_view address);
  store::Mailstore& mailstore_;
  std::function<std::uint64_t()> default_quota_;
  std::string folder_;
};

class DeliveryChain {
 public:
  // Appends `agent` to the chain of `kind` (agents run in the order added).
  void add(store::SlotKind kind, std::shared_ptr<LocalDelivery> agent);
  LocalOutcome deliver(const store::Mailslot& slot, const LocalMessage& message) const;

 private:
  std::map<store::SlotKind, std::vector<std::shared_ptr<LocalDelivery>>> chains_;
};

// The chain Tern runs today: the mailbox agent for mailboxes and archives; nothing yet for lists.
DeliveryChain default_chain(store::Mailstore& mailstore, std::function<std::uint64_t()> default_quota = {});

}  // namespace tern::spool
