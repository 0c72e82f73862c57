// Commands that change the selected mailbox:
//   store   = "STORE" SP sequence-set [store-modifier] SP store-att-flags   RFC 9051 6.4.6, RFC 7162 3.1.3
//   copy    = "COPY" SP sequence-set SP mailbox                             RFC 9051 6.4.7, RFC 4315 COPYUID
//   move    = "MOVE" SP sequence-set SP mailbox                             RFC 6851
//   expunge = "EXPUNGE" / "UID EXPUNGE" SP sequence-set                     RFC 9051 6.4.3, RFC 4315 2.1
//   close   = "CLOSE" / "UNSELECT"                                          RFC 9051 6.4.1, 6.4.2
// Each answers OK only after the store made the change durable.
#include <fmt/format.h>

#include <algorithm>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"

namespace tern::imapd {

namespace proto = imap::proto;

net::awaitable<void> Session::cmd_store(const Command& cmd, bool uid) {
  auto req = proto::parse_store(cmd.args);
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  if (mbox_->read_only) {
    no(cmd, "[READ-ONLY] The mailbox is read-only");
    co_return;
  }
  if (req->unchangedsince) enable_condstore();
  auto idx = resolve(req->set, uid);
  if (!idx) {
    bad(cmd, "Invalid message sequence number");
    co_return;
  }
  std::vector<std::uint32_t> uids;
  for (auto i : *idx)
    if (!mbox_->messages[i].expunged) uids.push_back(mbox_->messages[i].uid);
  auto mode = req->mode == proto::StoreRequest::Mode::add      ? store::FlagMode::add
              : req->mode == proto::StoreRequest::Mode::remove ? store::FlagMode::remove
                                                               : store::FlagMode::replace;
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = mbox_->name;
  auto flags = req->flags;
  auto since = req->unchangedsince;
  auto job = [ms, user, folder, uids, mode, flags, since] {
    return ms->store_flags(user, folder, uids, mode, flags, since);
  };
  auto res = *co_await net::offload(*svc_.pool, std::move(job));
  if (!res) {
    store_error(cmd, res.error());
    co_return;
  }
  for (auto& f : req->flags) note_keywords(f);
  auto report = [&](const store::FlagChange& ch, bool changed) {
    auto i = mbox_->index_of(ch.uid);
    if (i == npos) return;
    auto& m = mbox_->messages[i];
    m.flags = ch.flags;
    m.modseq = ch.modseq;
    std::string items;
    // RFC 7162 3.2.4: once CONDSTORE is enabled every FETCH response carries UID and MODSEQ.
    if (uid || condstore_) items += fmt::format("UID {} ", m.uid);
    if (!req->silent) items += flags_item(m) + " ";
    // RFC 7162 3.1.3: with CONDSTORE the new MODSEQ is reported, even for .SILENT.
    if (condstore_ && (changed || !req->silent)) items += fmt::format("MODSEQ ({}) ", m.modseq);
    if (req->silent && !(condstore_ && changed)) return;
    if (items.empty()) return;
    items.pop_back();
    send(fmt::format("* {} FETCH ({})\r\n", i + 1, items));
  };
  // In sequence order, as clients expect.
  std::vector<std::pair<std::uint32_t, std::pair<store::FlagChange, bool>>> all;
  for (auto& ch : res->changed) all.push_back({ch.uid, {ch, true}});
  for (auto& ch : res->unchanged) all.push_back({ch.uid, {ch, false}});
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [u, v] : all) report(v.first, v.second);
  if (!res->modified.empty()) {
    std::vector<std::uint32_t> numbers;
    for (auto u : res->modified) {
      if (uid) numbers.push_back(u);
      else if (auto i = mbox_->index_of(u); i != npos) numbers.push_back(static_cast<std::uint32_t>(i + 1));
    }
    ok(cmd, fmt::format("[MODIFIED {}] Conditional STORE failed for some messages", proto::format_sequence_set(numbers)));
    co_return;
  }
  ok(cmd, "STORE completed");
}

namespace {

bool special(store::Mailstore& ms, std::string_view user, std::string_view folder, std::string_view use) {
  if (iequals(folder, use.substr(1))) return true;  // "Junk" without the attribute, as clients make it
  auto info = ms.folder(user, folder);
  return info && iequals(info->special_use, use);
}

}  // namespace

// A message copied or moved into Junk is learnt as spam; out of Junk (not into Trash), as ham: the
// user's verdict, as mox and Thunderbird's junk controls take it. Blocking: on the worker pool.
Session::Training Session::train_moved(store::Mailstore& ms, spam::Learner& learner, const std::string& user,
                                       const std::string& from, const std::string& to,
                                       const std::vector<std::uint32_t>& uids) {
  Training t;
  bool into = special(ms, user, to, "\\Junk") && !special(ms, user, from, "\\Junk");
  bool out = special(ms, user, from, "\\Junk") && !special(ms, user, to, "\\Junk") && !special(ms, user, to, "\\Trash");
  if (!into && !out) return t;
  t.spam = into;
  for (auto uid : uids) {
    auto message = ms.read(user, from, uid);
    if (!message) {
      t.error = message.error().message;
      continue;
    }
    auto learnt = learner.train(user, *message, t.spam);
    if (!learnt) t.error = learnt.error().message;
    else if (*learnt) ++t.count;
  }
  return t;
}

net::awaitable<void> Session::cmd_copy(const Command& cmd, bool uid, bool move) {
  if (cmd.args.size() != 2 || cmd.args[0].kind != Arg::Kind::atom) {
    bad(cmd, move ? "MOVE needs a sequence set and a mailbox" : "COPY needs a sequence set and a mailbox");
    co_return;
  }
  auto set = proto::parse_sequence_set(cmd.args[0].text);
  if (!set) {
    bad(cmd, set.error);
    co_return;
  }
  auto target = mailbox_name_in(cmd.args[1]);
  if (!target) {
    bad(cmd, "Invalid mailbox name");
    co_return;
  }
  if (move && mbox_->read_only) {
    no(cmd, "[READ-ONLY] The mailbox is read-only");
    co_return;
  }
  auto idx = resolve(*set, uid);
  if (!idx) {
    bad(cmd, "Invalid message sequence number");
    co_return;
  }
  std::vector<std::uint32_t> uids;
  std::uint64_t octets = 0;
  for (auto i : *idx) {
    auto& m = mbox_->messages[i];
    if (m.expunged) continue;
    uids.push_back(m.uid);
    octets += m.size;
  }
  if (uids.empty()) {
    ok(cmd, move ? "MOVE completed (nothing to move)" : "COPY completed (nothing to copy)");
    co_return;
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, from = mbox_->name, to = *target;
  std::uint64_t quota = move ? 0 : quota_;
  struct Outcome {
    Result<store::CopyResult> copied = Error{};
    bool over_quota = false;
    Training trained;
  };
  spam::Learner* learner = svc_.learner;
  auto job = [ms, user, from, to, uids, move, quota, octets, learner]() {
    Outcome o;
    if (quota) {
      auto used = ms->usage(user);
      if (used && *used + octets > quota) {
        o.over_quota = true;
        return o;
      }
    }
    // Learnt before the copy: a crash between the two leaves the message where it was, learnt, and the
    // client that sees no OK copies it again, which learns nothing twice. Never for a missing target.
    if (learner && ms->folder(user, to)) o.trained = train_moved(*ms, *learner, user, from, to, uids);
    o.copied = ms->copy(user, from, uids, to, move);
    return o;
  };
  auto res = *co_await net::offload(*svc_.pool, std::move(job));
  if (res.over_quota) {
    no(cmd, "[OVERQUOTA] Storage quota exceeded");
    co_return;
  }
  if (!res.copied) {
    if (res.copied.error().kind == Error::Kind::not_found) {
      // The source folder is the selected one, so it is the target that is missing.
      no(cmd, "[TRYCREATE] No such mailbox");
      co_return;
    }
    store_error(cmd, res.copied.error());
    co_return;
  }
  if (res.trained.count)
    log::info("imap {}: {} trained {} message(s) as {} ({} -> {})", id_, user, res.trained.count,
              res.trained.spam ? "spam" : "ham", from, to);
  if (!res.trained.error.empty()) log::warn("imap {}: spam training: {}", id_, res.trained.error);
  std::vector<std::uint32_t> src, dst;
  for (auto& [a, b] : res.copied->uids) {
    src.push_back(a);
    dst.push_back(b);
  }
  // COPYUID lists both sets in the same order (RFC 4315 3); format_sequence_set sorts, which keeps
  // the pairing because the store assigns new UIDs in ascending source order.
  auto copyuid = src.empty() ? std::string()
                             : fmt::format("[COPYUID {} {} {}] ", res.copied->uidvalidity, proto::format_sequence_set(src),
                                           proto::format_sequence_set(dst));
  if (!move) {
    ok(cmd, copyuid + "COPY completed");
    co_return;
  }
  // RFC 6851 4.3: COPYUID in an untagged OK before the expunges.
  if (!copyuid.empty()) send("* OK " + copyuid + "Moved\r\n");
  send_expunges(src);
  ok(cmd, "MOVE completed");
}

net::awaitable<void> Session::cmd_expunge(const Command& cmd, bool uid) {
  if (mbox_->read_only) {
    no(cmd, "[READ-ONLY] The mailbox is read-only");
    co_return;
  }
  std::optional<proto::SequenceSet> set;
  if (uid) {
    if (cmd.args.size() != 1 || cmd.args[0].kind != Arg::Kind::atom) {
      bad(cmd, "UID EXPUNGE needs a UID set");
      co_return;
    }
    auto p = proto::parse_sequence_set(cmd.args[0].text);
    if (!p) {
      bad(cmd, p.error);
      co_return;
    }
    set = *p;
  }
  std::vector<std::uint32_t> uids;
  for (auto& m : mbox_->messages) {
    if (m.expunged || !has_flag(m.flags, "\\Deleted")) continue;
    if (set && !(set->saved ? std::find(mbox_->saved.begin(), mbox_->saved.end(), m.uid) != mbox_->saved.end()
                            : set->contains(m.uid, mbox_->max_uid())))
      continue;
    uids.push_back(m.uid);
  }
  if (!uids.empty()) {
    auto* ms = svc_.mailstore;
    std::string user = user_, folder = mbox_->name;
    auto job = [ms, user, folder, uids] { return ms->expunge(user, folder, uids); };
    auto res = *co_await net::offload(*svc_.pool, std::move(job));
    if (!res) {
      store_error(cmd, res.error());
      co_return;
    }
    send_expunges(uids);
  }
  ok(cmd, "EXPUNGE completed");
}

net::awaitable<void> Session::cmd_close(const Command& cmd, bool expunge) {
  if (expunge && !mbox_->read_only) {
    // RFC 9051 6.4.1: CLOSE expunges silently.
    std::vector<std::uint32_t> uids;
    for (auto& m : mbox_->messages)
      if (!m.expunged && has_flag(m.flags, "\\Deleted")) uids.push_back(m.uid);
    if (!uids.empty()) {
      auto* ms = svc_.mailstore;
      std::string user = user_, folder = mbox_->name;
      auto job = [ms, user, folder, uids] { return ms->expunge(user, folder, uids); };
      auto res = *co_await net::offload(*svc_.pool, std::move(job));
      if (!res) {
        store_error(cmd, res.error());
        co_return;
      }
    }
  }
  mbox_.reset();
  state_ = State::authenticated;
  ok(cmd, expunge ? "CLOSE completed" : "UNSELECT completed");
}

}  // namespace tern::imapd
