#include "spool/local_delivery.hpp"

#include <fmt/format.h>

namespace tern::spool {

LocalOutcome LocalOutcome::stored_in(std::string folder, std::uint32_t uid, std::string flags) {
  LocalOutcome o;
  o.kind = Kind::stored;
  o.folder = std::move(folder);
  o.uid = uid;
  o.flags = std::move(flags);
  return o;
}

namespace {
LocalOutcome failure(LocalOutcome::Kind kind, std::string reply, std::string status) {
  LocalOutcome o;
  o.kind = kind;
  o.reply = std::move(reply);
  o.status = std::move(status);
  return o;
}
}  // namespace

LocalOutcome LocalOutcome::temporary_failure(std::string reply, std::string status) {
  return failure(Kind::temporary, std::move(reply), std::move(status));
}

LocalOutcome LocalOutcome::permanent_failure(std::string reply, std::string status) {
  return failure(Kind::permanent, std::move(reply), std::move(status));
}

// RFC 3463: X.2.2 mailbox full, X.3.1 mail system full, X.2.0 other mailbox status.
LocalOutcome LocalOutcome::from_store_error(const Error& e) {
  switch (e.kind) {
    case Error::Kind::over_quota: return permanent_failure("552 5.2.2 mailbox full: " + e.message, "5.2.2");
    case Error::Kind::no_space: return temporary_failure("452 4.3.1 mail system full: " + e.message, "4.3.1");
    default: return temporary_failure("451 4.2.0 mailbox unavailable: " + e.message, "4.2.0");
  }
}

Result<std::string> MailboxDelivery::junk_folder(std::string_view address) {
  auto all = mailstore_.folders(address);
  if (all) {
    for (const auto& f : *all)
      if (f.special_use == "\\Junk") return f.name;
  } else if (all.error().kind != Error::Kind::not_found) {
    return all.error();
  }
  if (auto made = mailstore_.create_folder(address, "Junk", "\\Junk"); !made && made.error().kind != Error::Kind::exists)
    return made.error();
  return std::string("Junk");
}

LocalOutcome MailboxDelivery::deliver(const store::Mailslot& slot, const LocalMessage& message) {
  // Junk (the SMTP filters said so: a DMARC quarantine, later spam) goes to a user's Junk folder,
  // made with its \Junk attribute (RFC 6154) when the user has none yet; archives keep everything.
  std::string folder = folder_;
  if (!message.envelope.junk.empty() && slot.kind == store::SlotKind::mailbox) {
    auto r = junk_folder(slot.address);
    if (!r) return LocalOutcome::from_store_error(r.error());
    folder = std::move(*r);
  }
  auto r = mailstore_.deliver(slot.address, folder, {store::NewMessage{message.content, std::string(message.queue_id)}},
                              slot.quota_or(default_quota_ ? default_quota_() : 0));
  if (!r) return LocalOutcome::from_store_error(r.error());
  return LocalOutcome::stored_in(folder, r->front());
}

void DeliveryChain::add(store::SlotKind kind, std::shared_ptr<LocalDelivery> agent) {
  chains_[kind].push_back(std::move(agent));
}

LocalOutcome DeliveryChain::deliver(const store::Mailslot& slot, const LocalMessage& message) const {
  if (auto it = chains_.find(slot.kind); it != chains_.end())
    for (auto& agent : it->second)
      if (auto o = agent->deliver(slot, message); o.kind != LocalOutcome::Kind::pass) return o;
  return LocalOutcome::temporary_failure(
      fmt::format("451 4.3.0 no delivery agent for {} {}", store::kind_name(slot.kind), slot.address), "4.3.0");
}

DeliveryChain default_chain(store::Mailstore& mailstore, std::function<std::uint64_t()> default_quota) {
  DeliveryChain chain;
  auto mailbox = std::make_shared<MailboxDelivery>(mailstore, std::move(default_quota));
  chain.add(store::SlotKind::mailbox, mailbox);
  chain.add(store::SlotKind::archive, mailbox);
  return chain;
}

}  // namespace tern::spool
