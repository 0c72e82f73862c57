#include "spool/spool.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/strings.hpp"
#include "dns/resolver.hpp"
#include "mailauth/arc.hpp"
#include "smtp/client/client.hpp"
#include "spool/spool_internal.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"

namespace tern::spool {
namespace fs = std::filesystem;
namespace asio = boost::asio;

Paths::Paths(const fs::path& data_dir)
    : outbox(data_dir / "mail" / "outbox"), pending(data_dir / "mail" / "pending"),
      lost_found(data_dir / "mail" / "lost+found") {}

void quarantine(const Paths& paths, const fs::path& file, const std::string& why) {
  auto target = store::set_aside_in_lost_found(paths.lost_found, file, why);
  log::warn("moved {} to {}: {}", file.string(), target.string(), why);
}

OutboxName classify(const std::string& name) {
  if (name.ends_with(".msg")) return OutboxName::queue_file;
  if (name.ends_with(".tmp")) return OutboxName::temp_file;
  if (name.ends_with(".hold")) return OutboxName::hold_marker;
  if (name == "index.db" || name.starts_with("index.db-") || name.starts_with("index.db.")) return OutboxName::index;
  return OutboxName::other;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const config::Route* match_route(const config::Config& cfg, std::string_view domain) {
  auto d = to_lower(domain);
  for (auto& r : cfg.routes) {
    if (r.match == "*" || r.match == d) return &r;
    if (r.match.starts_with("*.") && d.size() > r.match.size() - 1 && d.ends_with(r.match.substr(1))) return &r;
  }
  return nullptr;
}

Spool::Spool(Paths paths, std::shared_ptr<const config::Config> cfg, store::Directory& directory,
             store::Mailstore& mailstore, asio::thread_pool& pool, asio::io_context& io)
    : paths_(std::move(paths)), outbox_sync_(paths_.outbox), cfg_(std::move(cfg)), directory_(directory),
      mailstore_(mailstore), router_(directory), delivery_(default_chain(mailstore, [this] { return config()->limits.mailbox_quota; })), pool_(pool), io_(io), strand_(asio::make_strand(io)),
      wake_timer_(strand_) {
  store::ensure_dir(paths_.outbox);
  store::ensure_dir(paths_.pending);
  store::ensure_dir(paths_.lost_found);
}

Spool::~Spool() { stop(); }

std::shared_ptr<const config::Config> Spool::config() const {
  std::lock_guard lock(cfg_mu_);
  return cfg_;
}

void Spool::set_config(std::shared_ptr<const config::Config> cfg) {
  std::lock_guard lock(cfg_mu_);
  cfg_ = std::move(cfg);
}

Spool::EntryPtr Spool::find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

StartReport Spool::load(bool serve) {
  StartReport rep;
  index_ = std::make_unique<OutboxIndex>(paths_.index());
  rep.index_rebuilt = index_->rebuilt();
  auto rows = index_->load();
  std::vector<fs::path> files;
  std::set<std::string> holds;
  for (auto& de : fs::directory_iterator(paths_.outbox)) files.push_back(de.path());
  std::sort(files.begin(), files.end());
  std::vector<EntryPtr> loaded;
  std::vector<std::string> ids;
  for (auto& p : files) {
    auto name = p.filename().string();
    switch (classify(name)) {
      case OutboxName::temp_file:
        // A write that a crash interrupted before its rename: its message was never acknowledged.
        fs::remove(p);
        ++rep.temp_removed;
        continue;
      case OutboxName::hold_marker:
        holds.insert(name.substr(0, name.size() - 5));
        continue;
      case OutboxName::index:
        continue;
      case OutboxName::other:
        quarantine(paths_, p, "not a queue file (unexpected name in the outbox)");
        ++rep.quarantined;
        continue;
      case OutboxName::queue_file:
        break;
    }
    try {
      auto data = std::make_shared<const std::string>(store::read_file(p));
      auto q = parse(*data);
      if (!q) {
        quarantine(paths_, p, "unreadable queue file: " + q.error().message);
        ++rep.quarantined;
        continue;
      }
      auto e = std::make_shared<Entry>();
      e->id = name.substr(0, name.size() - 4);
      e->file = p;
      // e->data stays null: delivery reads the file again, so a large queue is not held in memory at start.
      e->q = std::move(*q);
      e->describe(e->message_in(*data));
      if (e->q.envelope.arrived == 0) {
        struct stat st {};
        e->q.envelope.arrived = ::stat(p.c_str(), &st) == 0 ? st.st_mtime : unix_now();
      }
      e->init_state();
      if (auto it = rows.find(e->id); it != rows.end())
        for (auto& [i, st] : it->second)
          if (i < e->status.size()) e->status[i] = st;
      ids.push_back(e->id);
      loaded.push_back(std::move(e));
      ++rep.queued;
      if (rep.queued % 1000 == 0) log::info("outbox: {} queue files read", rep.queued);
    } catch (const std::exception& ex) {
      log::error("outbox: {}: {}", p.string(), ex.what());
      holds.erase(name.substr(0, name.size() - 4));  // keep its hold marker for the next start
    }
  }
  for (auto& e : loaded) {
    e->held = holds.count(e->id) > 0;
    holds.erase(e->id);
  }
  for (auto& id : holds) fs::remove(paths_.hold_marker(id));  // markers of messages already gone
  index_->retain(ids);
  if (rep.temp_removed) store::fsync_dir(paths_.outbox);
  rep.index_rebuilt = rep.index_rebuilt && rep.queued > 0;  // a new, empty outbox rebuilds nothing
  if (serve)
    log::info("outbox: {} queued message(s) resumed{}, {} moved to lost+found, {} unfinished temp file(s) removed",
              rep.queued, rep.index_rebuilt ? " (index rebuilt from the queue files)" : "", rep.quarantined,
              rep.temp_removed);
  serving_ = serve;
  for (auto& e : loaded) add_entry(e);
  return rep;
}

StartReport Spool::start(dns::Resolver& resolver) {
  auto rep = load(true);
  resolver_ = &resolver;
  client_tls_ = smtp::client::make_client_tls_context();
  asio::co_spawn(strand_, scheduler_loop(), asio::detached);
  asio::co_spawn(strand_, pending_loop(), asio::detached);
  return rep;
}

void Spool::add_entry(EntryPtr e) {
  {
    std::lock_guard lock(mu_);
    entries_[e->id] = e;
  }
  if (serving_) post_local(std::move(e));
}

// RFC 8617: a forwarder seals what it received and checked, so that the next receiver can trust the
// results from before the forwarding broke SPF (and maybe DKIM). With the forwarding domain's RSA key
// (the most widely checked), else its first; "" when it has none.
std::string Spool::arc_seal(std::string_view message, const std::string& domain) {
  auto keys = dkim_ ? dkim_->signing(domain) : nullptr;
  if (!keys) return {};
  const auto signers = keys->signers();
  auto rsa = std::find_if(signers.begin(), signers.end(),
                          [](const auto& s) { return s.key->algorithm() == mailauth::dkim::Algorithm::rsa_sha256; });
  return mailauth::arc::seal(message, rsa != signers.end() ? *rsa : signers.front(), config()->hostname, unix_now());
}

Result<std::string> Spool::enqueue(Envelope env, std::string_view message, std::string id) {
  auto e = std::make_shared<Entry>();
  e->id = id.empty() ? make_unique_id() : std::move(id);
  e->file = paths_.queue_file(e->id);
  env.arrived = unix_now();
  // A local alias whose targets are all elsewhere becomes those targets here, in the one queue file
  // (as Postfix's virtual alias expansion before queueing), instead of a second queued message at
  // delivery. The original address stays as ORCPT (RFC 3461 4.2) for DSNs.
  std::string forwarder;  // the local domain of such an alias: it seals the message (RFC 8617)
  {
    std::vector<Recipient> expanded;
    for (auto& r : env.recipients) {
      auto res = router_.resolve(r.address, config()->postmaster);
      bool forward = res.kind == route::Resolution::remote && res.mailslots.empty() && !res.remote_targets.empty() &&
                     !(res.remote_targets.size() == 1 && iequals(res.remote_targets.front(), r.address));
      if (!forward) {
        expanded.push_back(std::move(r));
        continue;
      }
      if (forwarder.empty()) forwarder = to_lower(r.address.substr(r.address.rfind('@') + 1));
      for (auto& t : res.remote_targets) {
        bool dup = false;
        for (auto& x : expanded) dup = dup || iequals(x.address, t);
        if (dup) continue;
        Recipient n;
        n.address = t;
        n.notify = r.notify;
        n.orcpt = r.orcpt.empty() ? "rfc822;" + r.address : r.orcpt;
        expanded.push_back(std::move(n));
      }
    }
    env.recipients = std::move(expanded);
  }
  std::string sealed = forwarder.empty() ? std::string() : arc_seal(message, forwarder);
  if (!sealed.empty()) {
    sealed += message;
    message = sealed;
  }
  auto data = format(env, message);
  e->q.envelope = std::move(env);
  e->q.message_offset = data.size() - message.size();
  e->describe(message);
  try {
    store::write_file_synced(paths_.outbox / (e->id + ".tmp"), e->file, data);
    outbox_sync_.sync();
  } catch (const std::system_error& ex) {
    std::error_code ec;
    fs::remove(e->file, ec);  // not acknowledged: leave nothing that could be delivered later
    return Error::from(ex);
  }
  // Durable, not yet acknowledged (nor handed to local delivery): a crash here delivers a message whose
  // client saw no 250 (it may send it again: a duplicate inside the crash window, principle 3).
  fault::point("spool.after_queue_file_written");
  e->data = std::make_shared<const std::string>(std::move(data));
  e->init_state();
  auto queued = e->id;
  add_entry(std::move(e));
  metrics::messages_received.add();
  return queued;
}

void Spool::post_local(EntryPtr e) {
  if (stopping_) return;
  ++in_flight_;
  asio::post(pool_, [this, e = std::move(e)] {
    std::string retry;
    try {
      metrics::Timer timer(metrics::delivery_attempt_seconds);
      retry = deliver_local(e);
    } catch (const std::exception& ex) {
      retry = ex.what();
    }
    if (!retry.empty()) {
      log::error("queue {}: local delivery failed: {}; retrying in 5s", e->id, retry);
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
      timer->async_wait([this, timer, e](boost::system::error_code ec) {
        if (!ec && !stopping_) post_local(e);
      });
    }
    if (--in_flight_ == 0) {
      std::lock_guard lock(wait_mu_);
      wait_cv_.notify_all();
    }
  });
}

std::string Spool::deliver_local(const EntryPtr& e) {
  auto& env = e->q.envelope;
  std::vector<std::size_t> mine;
  {
    std::lock_guard lock(mu_);
    if (e->gone || e->held) return {};
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
      if (env.recipients[i].state != RcptState::pending || e->remote[i] || e->busy[i]) continue;
      e->busy[i] = 1;
      mine.push_back(i);
    }
  }
  struct BusyGuard {
    Spool* s;
    const EntryPtr& e;
    std::vector<std::size_t>& idx;
    ~BusyGuard() {
      std::lock_guard lock(s->mu_);
      for (auto i : idx) e->busy[i] = 0;
    }
  } guard{this, e, mine};

  // Route every recipient; a mailslot reached by several recipients gets one copy.
  std::vector<store::Mailslot> slots;
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> routed;  // recipient -> indexes in slots
  std::vector<std::pair<std::size_t, Outcome>> outcomes;
  std::vector<std::string> forwards;  // remote targets of local aliases
  std::string forwarder;              // the local domain whose alias forwards (it seals the ARC set)
  bool any_remote = false;
  for (auto i : mine) {
    auto& r = env.recipients[i];
    auto res = router_.resolve(r.address, config()->postmaster);
    if (res.kind == route::Resolution::unknown_user || res.kind == route::Resolution::loop) {
      bool loop = res.kind == route::Resolution::loop;
      outcomes.push_back({i, Outcome::permanent(loop ? "550 5.4.6 alias loop" : "550 5.1.1 no such user here",
                                                loop ? "5.4.6" : "5.1.1", "", true)});
      continue;
    }
    if (res.kind == route::Resolution::remote && res.mailslots.empty() && res.remote_targets.size() == 1 &&
        iequals(res.remote_targets.front(), r.address)) {
      std::lock_guard lock(mu_);
      e->remote[i] = 1;  // the outbox delivers it
      any_remote = true;
      continue;
    }
    std::vector<std::size_t> mine_slots;
    for (auto& s : res.mailslots) {
      auto at = std::find_if(slots.begin(), slots.end(), [&](const store::Mailslot& x) { return x.address == s.address; });
      if (at == slots.end()) at = slots.insert(slots.end(), s);
      mine_slots.push_back(static_cast<std::size_t>(at - slots.begin()));
    }
    for (auto& t : res.remote_targets)
      if (std::find(forwards.begin(), forwards.end(), t) == forwards.end()) forwards.push_back(t);
    if (!res.remote_targets.empty() && forwarder.empty()) forwarder = to_lower(r.address.substr(r.address.rfind('@') + 1));
    routed.emplace_back(i, std::move(mine_slots));
  }
  if (outcomes.empty() && routed.empty()) {
    if (any_remote) {
      std::lock_guard lock(mu_);
      e->data.reset();
      wake();
    }
    finish_if_done(e);  // a file whose recipients were all done before a crash
    return {};
  }
  auto data = bytes(e);
  auto message = e->message_in(*data);
  std::vector<LocalOutcome> results;
  if (!slots.empty()) {
    // RFC 5321 4.4: the final delivery adds Return-Path with the envelope sender.
    std::string content = "Return-Path: <" + env.from + ">\r\n";
    content.append(message);
    LocalMessage m{e->id, env, content, message};
    for (auto& s : slots) {
      auto o = delivery_.deliver(s, m);
      if (o.kind == LocalOutcome::Kind::stored) {
        log::info("queue {}: delivered to {} (uid {}, folder {})", e->id, s.address, o.uid, o.folder);
        // Stored, its recipient not yet marked DONE: after a crash here the delivery runs again and the
        // mailbox recognises the queue id (origin), so the message is stored once.
        fault::point("spool.after_local_delivery_stored");
      } else {
        log::warn("queue {}: not delivered to {}: {}", e->id, s.address, o.reply);
      }
      for (auto& q : o.queue) {
        auto id = enqueue(std::move(q.envelope), q.message);
        if (!id) throw std::runtime_error(id.error().message);
        log::info("queue {}: delivery to {} queued {}", e->id, s.address, *id);
      }
      results.push_back(std::move(o));
    }
  }
  if (!forwards.empty()) {
    // Local aliases that point elsewhere: a new queued message to those addresses, same sender.
    Envelope fwd;
    fwd.from = env.from;
    for (auto& t : forwards) fwd.recipients.push_back(Recipient{t});
    fwd.body = env.body;
    fwd.smtputf8 = env.smtputf8;
    std::string sealed = arc_seal(message, forwarder);
    if (!sealed.empty()) sealed += message;
    auto q = enqueue(std::move(fwd), sealed.empty() ? message : std::string_view(sealed));
    if (!q) throw std::runtime_error(q.error().message);
    log::info("queue {}: forwarded to {} remote alias target(s) as {}", e->id, forwards.size(), *q);
  }
  // A recipient takes the worst outcome of its mailslots: one still to try keeps it pending.
  std::string retry;
  for (auto& [i, mine_slots] : routed) {
    const LocalOutcome* worst = nullptr;
    for (auto k : mine_slots) {
      auto& o = results[k];
      if (o.kind == LocalOutcome::Kind::temporary) worst = &o;
      else if (o.kind == LocalOutcome::Kind::permanent && (!worst || worst->kind != LocalOutcome::Kind::temporary))
        worst = &o;
    }
    if (!worst)
      outcomes.push_back({i, Outcome::success("250 2.0.0 delivered to the local mailbox", true)});
    else if (worst->kind == LocalOutcome::Kind::permanent)
      outcomes.push_back({i, Outcome::permanent(worst->reply, worst->status, "", true)});
    else
      retry = worst->reply;
  }
  if (!outcomes.empty()) apply(e, outcomes);
  if (any_remote) {
    std::lock_guard lock(mu_);
    e->data.reset();  // only remote recipients are left: read the file again when one is due
  }
  if (any_remote) wake();
  return retry;
}

// Records one attempt's outcomes. Order matters for crash safety:
// - a copy to copy_delivered_to is stored before the DONE mark (the mailbox deduplicates it by origin);
//   if storing the copy fails, the failure is logged and the recipient is still marked done, so a
//   local fault never makes the remote receive the message again;
// - a failure DSN is queued durably before the FAIL mark, so a crash can repeat a DSN but never lose
//   one; if it cannot be queued the recipient stays pending and is tried again later;
// - index updates are a cache: their failure is logged, never fatal.
namespace {

// One line per recipient per attempt, with the fields of Postfix's delivery lines (to, orig_to, relay,
// delay, size, from, message-id, dsn, status with the reply): what a postmaster searches for.
void log_attempt(const Spool::Entry& e, std::size_t i, const Spool::Outcome& o, std::string_view status,
                 std::int64_t now, std::string_view extra = {}) {
  const auto& env = e.q.envelope;
  const auto& r = env.recipients[i];
  std::string orig;
  if (auto semi = r.orcpt.find(';'); semi != std::string::npos && !iequals(r.orcpt.substr(semi + 1), r.address))
    orig = fmt::format(", orig_to=<{}>", r.orcpt.substr(semi + 1));
  auto dsn = !o.status.empty() ? o.status : o.kind == Spool::Outcome::ok ? "2.0.0" : "";
  auto line = fmt::format("queue {}: to=<{}>{}, relay={}, delay={}, size={}, from=<{}>, message-id={}, dsn={}{}, status={} ({})",
                          e.id, r.address, orig, o.local ? "local" : o.remote_mta.empty() ? "none" : o.remote_mta,
                          std::max<std::int64_t>(0, now - env.arrived), e.size, env.from,
                          e.message_id.empty() ? "none" : e.message_id, dsn, extra, status, o.text);
  if (status == "bounced")
    log::warn("{}", line);
  else
    log::info("{}", line);
}

}  // namespace

void Spool::apply(const EntryPtr& e, const std::vector<std::pair<std::size_t, Outcome>>& outcomes) {
  auto cfg = config();
  auto& env = e->q.envelope;
  auto now = unix_now();
  std::vector<DsnRecipient> delayed, succeeded;
  std::vector<std::pair<std::size_t, DsnRecipient>> failing;  // to mark FAIL once their DSN is queued
  std::vector<std::size_t> failing_silent;                     // NOTIFY without FAILURE: no DSN
  auto mark = [&](std::size_t i, RcptState state) {
    store::patch_file_synced(e->file, env.recipients[i].line_offset, keyword(state));
    std::lock_guard lock(mu_);
    env.recipients[i].state = state;
  };
  auto defer = [&](std::size_t i, const Outcome& o, const config::Route* route, DsnRecipient* d) {
    const auto& text = o.text;
    const auto& schedule = route && !route->retry.empty() ? route->retry : cfg->retry;
    RecipientStatus st;
    {
      std::lock_guard lock(mu_);
      auto& s = e->status[i];
      ++s.attempts;
      s.last_error = text;
      auto step = schedule[std::min<std::size_t>(s.attempts - 1, schedule.size() - 1)];
      s.next_attempt = now + step.count();
      if (d && !s.delay_warned && now - env.arrived >= cfg->delay_warning_after.count() &&
          notify_wants(env.recipients[i].notify, DsnAction::delayed)) {
        s.delay_warned = true;
        d->action = DsnAction::delayed;
        delayed.push_back(*d);
      }
      st = s;
    }
    metrics::messages_deferred.add();
    log_attempt(*e, i, o, "deferred", now, fmt::format(", attempt={}, next_in={}s", st.attempts, st.next_attempt - now));
    try {
      index_->put(e->id, i, st);
    } catch (const std::exception& ex) {
      log::error("outbox index: {}", ex.what());
    }
  };

  bool copied = false;
  for (auto& [i, o] : outcomes) {
    auto& r = env.recipients[i];
    DsnRecipient d{r.address, r.orcpt, DsnAction::failed, o.status, o.text, o.remote_mta};
    if (o.kind == Outcome::ok) {
      if (!o.local && !cfg->copy_delivered_to.empty() && !copied) {
        copied = true;
        try {
          copy_delivered(e, cfg->copy_delivered_to);
        } catch (const std::exception& ex) {
          log::error("queue {}: no copy for {}: {}", e->id, cfg->copy_delivered_to, ex.what());
        }
      }
      mark(i, RcptState::done);
      metrics::messages_delivered.add();
      log_attempt(*e, i, o, "sent", now);
      if (notify_wants(r.notify, DsnAction::delivered) && (o.local || !o.remote_dsn)) {
        d.action = o.local ? DsnAction::delivered : DsnAction::relayed;
        succeeded.push_back(d);
      }
      continue;
    }
    const config::Route* route = match_route(*cfg, store::domain_of(r.address));
    auto give_up = route && route->give_up_after ? *route->give_up_after : cfg->give_up_after;
    bool expired = o.kind == Outcome::temp && now - env.arrived >= give_up.count();
    if (o.kind == Outcome::perm || expired) {
      if (expired) {
        d.status = "4.4.7";
        d.diagnostic = fmt::format("gave up after {}: {}",
                                   give_up.count() >= 3600 ? fmt::format("{} hours", give_up.count() / 3600)
                                                           : fmt::format("{} seconds", give_up.count()),
                                   o.text);
      }
      auto shown = o;
      shown.text = d.diagnostic;
      shown.status = d.status;
      log_attempt(*e, i, shown, "bounced", now);
      metrics::messages_bounced.add();
      if (notify_wants(r.notify, DsnAction::failed) && !env.from.empty())
        failing.push_back({i, d});
      else
        failing_silent.push_back(i);
      continue;
    }
    defer(i, o, route, &d);
  }
  // Failures: the DSN first (durable), then the FAIL marks.
  if (!failing.empty()) {
    std::vector<DsnRecipient> rcpts;
    for (auto& [i, d] : failing) rcpts.push_back(d);
    if (send_dsn(e, rcpts)) {
      for (auto& [i, d] : failing) mark(i, RcptState::failed);
    } else {
      for (auto& [i, d] : failing)
        defer(i, Outcome::temporary("the failure DSN could not be queued yet: " + d.diagnostic, d.status, d.remote_mta),
              match_route(*cfg, store::domain_of(env.recipients[i].address)), nullptr);
    }
  }
  for (auto i : failing_silent) mark(i, RcptState::failed);
  send_dsn(e, delayed);
  send_dsn(e, succeeded);
  finish_if_done(e);
}

void Spool::copy_delivered(const EntryPtr& e, const std::string& address) {
  // "Forward copies of outgoing mail": one copy per message, deduplicated by origin across crashes.
  auto slot = directory_.find_mailslot(address);
  if (!slot) {
    log::error("outbound.copy_delivered_to: {} is not a local mailbox or archive; no copy made", address);
    return;
  }
  auto data = bytes(e);
  auto message = e->message_in(*data);
  auto origin = e->id + ".copy";
  auto o = delivery_.deliver(*slot, LocalMessage{origin, e->q.envelope, message, message});
  if (o.kind != LocalOutcome::Kind::stored) throw std::runtime_error(o.reply);
}

void Spool::finish_if_done(const EntryPtr& e) {
  {
    std::lock_guard lock(mu_);
    for (auto& r : e->q.envelope.recipients)
      if (r.state == RcptState::pending) return;
    if (entries_.erase(e->id) == 0) return;
    e->gone = true;
  }
  // Losing this unlink in a crash only repeats deliveries the mailbox then recognises (local) or
  // that were done (remote: at most one more copy, inside the crash window).
  fault::point("spool.before_queue_file_removed");
  std::error_code ec;
  fs::remove(e->file, ec);
  fs::remove(paths_.hold_marker(e->id), ec);
  index_->remove(e->id);
  log::info("queue {}: all recipients done; removed", e->id);
}

std::shared_ptr<const std::string> Spool::bytes(const EntryPtr& e) {
  {
    std::lock_guard lock(mu_);
    if (e->data) return e->data;
  }
  return std::make_shared<const std::string>(store::read_file(e->file));
}

bool Spool::send_dsn(const EntryPtr& e, const std::vector<DsnRecipient>& rcpts) {
  if (rcpts.empty()) return true;
  const auto& env = e->q.envelope;
  if (env.from.empty()) return true;  // never to the null sender (no bounce loops)
  DsnInput in;
  in.reporting_mta = config()->hostname;
  in.sender = env.from;
  in.envid = env.envid;
  in.ret = env.ret;
  in.arrival = std::chrono::system_clock::from_time_t(env.arrived);
  in.recipients = rcpts;
  auto data = bytes(e);
  in.original = e->message_in(*data);
  Envelope dsn;
  dsn.recipients.push_back(Recipient{env.from});
  std::string report = build_dsn(in);
  if (dkim_) report = dkim_->sign(report) + report;  // From: MAILER-DAEMON@hostname, when it has keys
  auto q = enqueue(std::move(dsn), report);
  if (!q) {
    log::error("queue {}: could not queue the DSN to <{}>: {}", e->id, env.from, q.error().message);
    return false;
  }
  log::info("queue {}: DSN to <{}> queued as {}", e->id, env.from, *q);
  return true;
}

void Spool::begin_stop() {
  stopping_ = true;
  wake();
}

std::size_t Spool::active_deliveries() {
  std::lock_guard lock(mu_);
  return active_total_ + in_flight_.load();
}

void Spool::stop() {
  stopping_ = true;
  std::unique_lock lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return in_flight_.load() == 0; });
}

}  // namespace tern::spool
