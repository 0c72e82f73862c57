// The remote half of the spool: host assignments, the scheduler, delivery over smtp::client, the
// pending folder, and the administrator's handles (retry = "Clear Host Assignments", hold, release,
// delete, bounce).
#include <sys/stat.h>

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
#include "net/net.hpp"
#include "smtp/client/client.hpp"
#include "spool/lost_found.hpp"
#include "spool/spool_internal.hpp"
#include "store/directory.hpp"

namespace tern::spool {
namespace fs = std::filesystem;
namespace asio = boost::asio;

void Spool::wake() {
  asio::post(strand_, [this] { wake_timer_.cancel(); });
}

// Every second (or when woken): collects the remote recipients that are due, groups them by
// destination (their host assignment) and starts deliveries within the limits.
asio::awaitable<void> Spool::scheduler_loop() {
  while (!stopping_) {
    wake_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    try {
      start_due_deliveries();
    } catch (const std::exception& e) {
      log::error("outbox scheduler: {}", e.what());
    }
  }
}

void Spool::start_due_deliveries() {
  {
    auto cfg = config();
    auto now = unix_now();
    std::map<std::string, std::shared_ptr<Batch>> by_dest;
    std::vector<std::pair<std::string, std::shared_ptr<Batch>>> starts;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, e] : entries_) {
        if (e->held) continue;
        auto& rcpts = e->q.envelope.recipients;
        std::map<std::string, std::vector<std::size_t>> mine;
        for (std::size_t i = 0; i < rcpts.size(); ++i) {
          if (rcpts[i].state != RcptState::pending || !e->remote[i] || e->busy[i]) continue;
          if (e->status[i].next_attempt > now) continue;
          auto domain = store::domain_of(rcpts[i].address);
          auto* route = match_route(*cfg, domain);
          auto dest = route ? fmt::format("route:{}", route - cfg->routes.data()) : "mx:" + domain;
          auto& b = by_dest[dest];
          if (!b) {
            b = std::make_shared<Batch>();
            if (route) b->route = *route;
            b->domain = domain;
          }
          mine[dest].push_back(i);
        }
        for (auto& [dest, idx] : mine) by_dest[dest]->items.push_back(Batch::Item{e, idx});
      }
      for (auto& [dest, batch] : by_dest) {
        std::size_t pos = 0;
        while (pos < batch->items.size() && active_[dest] < limits_.parallel_per_destination &&
               active_total_ < limits_.parallel_total) {
          auto part = std::make_shared<Batch>();
          part->route = batch->route;
          part->domain = batch->domain;
          for (; pos < batch->items.size() && part->items.size() < limits_.messages_per_connection; ++pos) {
            for (auto i : batch->items[pos].rcpts) batch->items[pos].entry->busy[i] = 1;
            part->items.push_back(batch->items[pos]);
          }
          ++active_[dest];
          ++active_total_;
          starts.emplace_back(dest, part);
        }
      }
    }
    for (auto& [dest, part] : starts) asio::co_spawn(io_, deliver_remote(dest, part), asio::detached);
  }
}

namespace {

struct Target {
  asio::ip::address address;
  std::uint16_t port = 25;
  std::string name;  // for TLS verification and logs
};

struct Targets {
  std::vector<Target> list;
  std::optional<Spool::Outcome> failure;  // set when no target can be tried
};

smtp::client::TlsMode tls_mode(const std::string& route_tls) {
  if (route_tls == "none") return smtp::client::TlsMode::none;
  if (route_tls == "implicit") return smtp::client::TlsMode::implicit;
  return smtp::client::TlsMode::starttls;  // "starttls" and "dane"
}

}  // namespace

// Runs one batch; whatever happens (even an exception), its recipients are released afterwards and
// the scheduler may pick them again.
asio::awaitable<void> Spool::deliver_remote(std::string destination, std::shared_ptr<Batch> batch) {
  try {
    metrics::Timer timer(metrics::delivery_attempt_seconds);
    co_await deliver_batch(destination, batch);
  } catch (const std::exception& e) {
    log::error("outbox {}: delivery aborted: {}", destination, e.what());
  }
  {
    std::lock_guard lock(mu_);
    for (auto& item : batch->items)
      for (auto i : item.rcpts) item.entry->busy[i] = 0;
    --active_[destination];
    --active_total_;
  }
  wake();
}

asio::awaitable<void> Spool::deliver_batch(const std::string& destination, std::shared_ptr<Batch> batch) {
  auto cfg = config();
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::vector<std::pair<std::size_t, Outcome>>> results(batch->items.size());
  auto fail_all = [&](const Outcome& o) {
    for (std::size_t k = 0; k < batch->items.size(); ++k)
      for (auto i : batch->items[k].rcpts)
        if (results[k].empty() || results[k].back().first != i) results[k].push_back({i, o});
  };

  // 1. Where to: the route's relay, or the domain's MX hosts (RFC 5321 5.1), as addresses.
  Targets targets;
  std::uint16_t port = batch->route ? batch->route->relay.port : cfg->mx_port;
  std::vector<std::string> hosts;
  if (batch->route) {
    hosts.push_back(batch->route->relay.host);
  } else {
    auto mx = co_await resolver_->mx(batch->domain);
    switch (mx.status) {
      case dns::MxAnswer::null_mx:
        targets.failure = Outcome::permanent(
            fmt::format("556 5.1.10 {} does not accept mail (null MX, RFC 7505)", batch->domain), "5.1.10");
        break;
      case dns::MxAnswer::nxdomain:
        targets.failure = Outcome::permanent(fmt::format("550 5.1.2 domain {} not found", batch->domain), "5.1.2");
        break;
      case dns::MxAnswer::temp_failure:
        targets.failure =
            Outcome::temporary(fmt::format("451 4.4.3 DNS lookup of MX {} failed: {}", batch->domain, mx.error), "4.4.3");
        break;
      case dns::MxAnswer::no_records:
        hosts.push_back(batch->domain);  // no MX: the domain's own address records
        break;
      case dns::MxAnswer::ok:
        for (auto& h : mx.hosts) hosts.push_back(h.name);
        break;
    }
  }
  std::string last_dns_error;
  for (auto& h : hosts) {
    auto a = co_await resolver_->addresses(h);
    if (a.status != dns::AddressAnswer::ok) {
      last_dns_error = fmt::format("{}: {}", h, a.error.empty() ? "no address" : a.error);
      continue;
    }
    for (auto& addr : a.addresses) targets.list.push_back(Target{addr, port, h});
  }
  if (!targets.failure && targets.list.empty())
    targets.failure = Outcome::temporary(fmt::format("451 4.4.4 no usable address for {} ({})", destination, last_dns_error), "4.4.4");

  // 2. Connect: the first target that answers (the next MX on failure).
  std::unique_ptr<smtp::client::Connection> conn;
  std::string connect_error;
  std::string remote;
  if (!targets.failure) {
    for (auto& t : targets.list) {
      smtp::client::Options opt;
      opt.helo = cfg->hostname;
      opt.tls_context = client_tls_.get();
      opt.tls_name = t.name;
      if (batch->route) {
        opt.tls = tls_mode(batch->route->tls);
        // "dane" until DANE (RFC 7672) is built: STARTTLS with a certificate that verifies by WebPKI.
        opt.require_verified_tls = batch->route->tls == "dane";
        if (batch->route->auth) opt.auth = std::make_pair(batch->route->auth->user, batch->route->auth->password);
      }
      auto c = co_await smtp::client::Connection::open(ex, t.address, t.port, opt);
      remote = fmt::format("{}[{}]:{}", t.name, t.address.to_string(), t.port);  // Postfix's relay= form
      if (c) {
        conn = std::move(*c);
        break;
      }
      connect_error = fmt::format("{}: {}", remote, c.error().message);
      log::info("outbox {}: {}", destination, connect_error);
    }
    if (!conn)
      // Every host failed before a transaction: temporary, whatever they answered (Postfix's
      // smtp_skip_5xx_greeting: a 5xx greeting skips the host, it does not bounce the message).
      targets.failure =
          Outcome::temporary(fmt::format("451 4.4.1 could not deliver: {}", connect_error), "4.4.1", remote);
  }
  if (targets.failure) fail_all(*targets.failure);

  // 3. The messages, one transaction each.
  if (conn) {
    auto& info = conn->info();
    log::info("outbox {}: connected to {} ({})", destination, remote,
              info.tls ? fmt::format("TLS {}, certificate {}", info.tls_description, info.tls_verified ? "verified" : "NOT verified")
                       : "no TLS");
    for (std::size_t k = 0; k < batch->items.size(); ++k) {
      auto& item = batch->items[k];
      if (!conn->usable()) {
        for (auto i : item.rcpts) results[k].push_back({i, Outcome::temporary("451 4.4.2 connection lost", "4.4.2", remote)});
        continue;
      }
      const auto& env = item.entry->q.envelope;
      smtp::client::Envelope ce;
      ce.from = env.from;
      ce.envid = env.envid;
      ce.ret = env.ret;
      ce.smtputf8 = env.smtputf8;
      ce.eight_bit = env.body == "8BITMIME";
      for (auto i : item.rcpts)
        ce.recipients.push_back(smtp::client::Recipient{env.recipients[i].address, env.recipients[i].notify,
                                                        env.recipients[i].orcpt});
      auto entry = item.entry;
      auto read_job = [this, entry] { return bytes(entry); };
      auto data = *co_await net::offload(pool_, std::move(read_job));
      auto body = to_crlf(entry->message_in(*data));
      data.reset();
      auto tr = co_await conn->send(ce, body);
      for (std::size_t j = 0; j < item.rcpts.size(); ++j) {
        auto rep = tr.outcome(j);
        auto text = rep.str();
        auto status = status_of(rep.code, rep.enhanced);
        if (rep.positive())
          results[k].push_back({item.rcpts[j], Outcome::success(text, false, remote, info.dsn)});
        else if (rep.permanent())
          results[k].push_back({item.rcpts[j], Outcome::permanent(text, status, remote)});
        else
          results[k].push_back({item.rcpts[j], Outcome::temporary(text, status, remote)});
      }
      // Principle 3: marked done on disk right after the remote 250, before the next message, so a
      // crash repeats at most the one transaction in flight.
      co_await record(item.entry, std::move(results[k]));
      results[k].clear();
    }
    co_await conn->quit();
  }

  // 4. Record what is left (failures before any transaction) off the event loop.
  for (std::size_t k = 0; k < batch->items.size(); ++k)
    if (!results[k].empty()) co_await record(batch->items[k].entry, std::move(results[k]));
}

asio::awaitable<void> Spool::record(EntryPtr entry, std::vector<std::pair<std::size_t, Outcome>> outcomes) {
  auto job = [this, entry, outcomes = std::move(outcomes)] {
    try {
      apply(entry, outcomes);
    } catch (const std::exception& e) {
      log::error("queue {}: recording delivery results failed: {}", entry->id, e.what());
    }
    return true;
  };
  co_await net::offload(pool_, std::move(job));
}

// --- The pending folder ----------------------------------------------------------------------------

asio::awaitable<void> Spool::pending_loop() {
  asio::steady_timer timer(strand_);
  std::map<std::string, std::pair<std::uintmax_t, std::int64_t>> seen;
  while (!stopping_) {
    timer.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    auto* seen_ptr = &seen;
    auto job = [this, seen_ptr] {
      try {
        scan_pending(*seen_ptr);
      } catch (const std::exception& e) {
        log::error("pending: {}", e.what());
      }
      return true;
    };
    co_await net::offload(pool_, std::move(job));
  }
}

// A file is taken once its size and modification time have not changed between two scans at least a
// second apart (a file still being written is left alone), or at once when renamed into place long
// after it was written. Taking it is a rename into the outbox: exactly once, even across a crash.
// A file dropped into pending/ without ARRIVED: gets its arrival time and a Received field (RFC 5321
// 4.4: each system that takes a message adds one), written over the pending file itself (temp file,
// fsync, rename, fsync of the folder) before it moves into the outbox. A crash at any point leaves
// either the file as dropped or the stamped one, never both, and a stamped file is not stamped again.
void Spool::stamp_pending(const fs::path& file, const std::string& id, std::string& data, QueueFile& q) {
  auto message = std::string_view(data).substr(q.message_offset);
  // The file's own line ends (Mailtraq's files have LF), so the message does not mix them.
  auto lf = message.find('\n');
  std::string_view eol = lf != std::string_view::npos && lf > 0 && message[lf - 1] == '\r' ? "\r\n" : "\n";
  auto received = fmt::format("Received: by {} (Tern) via pending id {};{}\t{}{}", config()->hostname, id, eol,
                              rfc5322_date(), eol);
  std::string stamped_message = received;
  // The local outbox is trusted (only local users write pending/): its mail is signed like a submission,
  // when the From domain has keys. Signed as it will be sent (CRLF), written in the file's line ends.
  if (dkim_) {
    std::string signature = dkim_->sign(eol == "\r\n" ? std::string(message) : to_crlf(message));
    if (eol != "\r\n") std::erase(signature, '\r');
    stamped_message += signature;
  }
  stamped_message.append(message);
  q.envelope.arrived = unix_now();
  auto stamped = format(q.envelope, stamped_message);
  auto tmp = file.parent_path() / ("." + file.filename().string() + ".stamp");
  store::write_file_synced(tmp, file, stamped);
  store::fsync_dir(file.parent_path());
  auto reparsed = parse(stamped);
  if (!reparsed) throw std::runtime_error("stamped file does not parse: " + reparsed.error().message);
  data = std::move(stamped);
  q = std::move(*reparsed);
}

void Spool::scan_pending(std::map<std::string, std::pair<std::uintmax_t, std::int64_t>>& seen) {
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::set<std::string> present;
  for (auto& de : fs::directory_iterator(paths_.pending)) {
    auto name = de.path().filename().string();
    if (name.starts_with(".") || !de.is_regular_file()) continue;
    present.insert(name);
    struct stat st {};
    if (::stat(de.path().c_str(), &st) != 0) continue;
    std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    auto sig = std::make_pair(static_cast<std::uintmax_t>(st.st_size), mtime);
    auto it = seen.find(name);
    bool changed = it != seen.end() && it->second != sig;
    seen[name] = sig;
    bool quiet = now_ns - mtime >= 1000000000;  // untouched for a second
    if (!quiet || changed) continue;            // still being written: look again later
    seen.erase(name);
    std::string data;
    try {
      data = store::read_file(de.path());
    } catch (const std::exception& e) {
      quarantine(paths_, de.path(), std::string("unreadable: ") + e.what());
      continue;
    }
    auto q = parse(data);
    if (!q) {
      quarantine(paths_, de.path(), "not a valid pending file: " + q.error().message);
      continue;
    }
    try {
      take(de.path(), std::move(data), std::move(*q), "pending");
    } catch (const std::exception& ex) {
      log::error("pending: {}: {}; trying again later", name, ex.what());
    }
  }
  for (auto it = seen.begin(); it != seen.end();) it = present.count(it->first) ? std::next(it) : seen.erase(it);
}

// --- Administration --------------------------------------------------------------------------------

std::size_t Spool::queued() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Result<std::string> Spool::retry(const std::vector<std::string>& ids) {
  std::size_t n = 0;
  {
    std::lock_guard lock(mu_);
    for (auto& id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end()) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
      if (it->second->held) return Error{fmt::format("{} is held; release it first (tern queue release {})", id, id), Error::Kind::in_use};
    }
    for (auto& [id, e] : entries_) {
      if (!ids.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
      if (e->held) continue;  // "retry all" leaves held messages held
      for (auto& s : e->status) s.next_attempt = 0;
      // Forget the routing decision: the next pass routes local/remote afresh.
      for (std::size_t i = 0; i < e->remote.size(); ++i)
        if (!e->busy[i]) e->remote[i] = 0;
      ++n;
    }
  }
  index_->make_due(ids);
  if (resolver_) resolver_->flush();
  if (serving_) {
    std::vector<EntryPtr> all;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, e] : entries_)
        if (ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end()) all.push_back(e);
    }
    for (auto& e : all) post_local(e);
    wake();
  }
  log::info("queue: {} message(s) rerouted and made due by the administrator{}", n,
            ids.empty() ? " (retry of every message)" : "");
  return fmt::format("{} message(s) rerouted and due now", n);
}

// Takes a parsed file (from pending/ or lost+found) into the queue under a new id: stamped first when
// it has no arrival time, then one rename into the outbox, which is the moment it is queued: before
// it the file is where it was, after it only in the outbox (a crash between them loses or doubles
// nothing). Throws when stamping fails (the file stays where it was).
std::string Spool::take(const fs::path& file, std::string data, QueueFile q, std::string_view from) {
  auto e = std::make_shared<Entry>();
  e->id = make_unique_id();
  e->file = paths_.queue_file(e->id);
  if (q.envelope.arrived == 0) {
    stamp_pending(file, e->id, data, q);
    fault::point("spool.after_pending_stamped");
  }
  fs::rename(file, e->file);
  try {
    outbox_sync_.sync();
    store::fsync_dir(file.parent_path());
  } catch (const std::exception& ex) {
    // The rename happened: the message is in the outbox now and must be queued whatever the sync said.
    log::error("{}: {}: {}", from, file.filename().string(), ex.what());
  }
  fault::point(from == "pending" ? "spool.after_pending_taken" : "spool.after_lost_found_requeued");
  e->data = std::make_shared<const std::string>(std::move(data));
  e->q = std::move(q);
  e->describe(e->message_in(*e->data));
  if (e->q.envelope.arrived == 0) e->q.envelope.arrived = unix_now();
  e->init_state();
  std::size_t pending = 0;
  for (auto& r : e->q.envelope.recipients) pending += r.state == RcptState::pending;
  log::info("{}: {} taken as queue {} ({} recipient(s) to deliver)", from, file.filename().string(), e->id, pending);
  metrics::messages_received.add();
  auto id = e->id;
  add_entry(e);
  finish_if_done(e);  // a copy whose recipients were all done already
  return id;
}

// A file of lost+found back into the queue (`tern lost-found requeue`): refused while it still cannot
// be read as a queue file (it would only come back). Its .why note goes after the file is queued; a
// crash between leaves a note without its file, which lost+found listings skip.
Result<std::string> Spool::requeue_lost(const std::string& name) {
  if (!valid_lost_name(name))
    return Error{fmt::format("'{}' is not a lost+found file name", name), Error::Kind::invalid};
  auto file = paths_.lost_found / name;
  std::string data;
  try {
    if (!fs::is_regular_file(file)) return Error{fmt::format("lost+found has no file {}", name), Error::Kind::not_found};
    data = store::read_file(file);
  } catch (const std::exception& e) {
    return Error{fmt::format("lost+found/{}: {}", name, e.what())};
  }
  auto q = parse(data);
  if (!q)
    return Error{fmt::format("lost+found/{} is still not a valid queue file ({}); correct it first", name,
                             q.error().message),
                 Error::Kind::invalid};
  try {
    auto id = take(file, std::move(data), std::move(*q), "lost+found");
    std::error_code ec;
    fs::remove(file.string() + ".why", ec);
    store::fsync_dir(paths_.lost_found);
    return id;
  } catch (const std::exception& e) {
    return Error{fmt::format("lost+found/{}: {}", name, e.what())};
  }
}

Result<std::string> Spool::hold(const std::string& id) {
  auto e = find(id);
  if (!e) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  {
    std::lock_guard lock(mu_);
    if (e->held) return Error{fmt::format("{} is held already", id), Error::Kind::in_use};
  }
  store::write_file_synced(paths_.outbox / (id + ".hold.tmp"), paths_.hold_marker(id), "held\n");
  outbox_sync_.sync();
  std::lock_guard lock(mu_);
  e->held = true;
  log::info("queue {}: held by the administrator", id);
  return fmt::format("{} held", id);
}

Result<std::string> Spool::release(const std::string& id) {
  auto e = find(id);
  if (!e) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
  {
    std::lock_guard lock(mu_);
    if (!e->held) return Error{fmt::format("{} is not held; nothing changed", id), Error::Kind::in_use};
  }
  std::error_code ec;
  fs::remove(paths_.hold_marker(id), ec);
  outbox_sync_.sync();
  {
    std::lock_guard lock(mu_);
    e->held = false;
    for (auto& s : e->status) s.next_attempt = 0;
  }
  index_->make_due({id});
  if (serving_) {
    post_local(e);  // its local recipients waited too
    wake();
  }
  log::info("queue {}: released by the administrator", id);
  return fmt::format("{} released", id);
}

Result<std::string> Spool::remove(const std::string& id) {
  EntryPtr e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
    e = it->second;
    for (auto b : e->busy)
      if (b) return Error{fmt::format("{} is being delivered right now; try again in a moment", id), Error::Kind::temporary};
    entries_.erase(it);
    e->gone = true;
  }
  std::error_code ec;
  fs::remove(e->file, ec);
  fs::remove(paths_.hold_marker(id), ec);
  outbox_sync_.sync();
  index_->remove(id);
  log::info("queue {}: deleted by the administrator", id);
  return fmt::format("{} deleted", id);
}

Result<std::string> Spool::bounce(const std::string& id) {
  EntryPtr e;
  std::vector<std::pair<std::size_t, Outcome>> outcomes;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Error{fmt::format("no queued message {}", id), Error::Kind::not_found};
    e = it->second;
    for (auto b : e->busy)
      if (b) return Error{fmt::format("{} is being delivered right now; try again in a moment", id), Error::Kind::temporary};
    auto& rcpts = e->q.envelope.recipients;
    for (std::size_t i = 0; i < rcpts.size(); ++i)
      if (rcpts[i].state == RcptState::pending) {
        e->busy[i] = 1;
        outcomes.push_back({i, Outcome::permanent("550 5.0.0 returned to the sender by the administrator", "5.0.0")});
      }
  }
  try {
    apply(e, outcomes);
  } catch (...) {
    std::lock_guard lock(mu_);
    for (auto& [i, o] : outcomes) e->busy[i] = 0;
    throw;
  }
  std::lock_guard lock(mu_);
  for (auto& [i, o] : outcomes) e->busy[i] = 0;
  return fmt::format("{} returned to its sender ({} recipient(s))", id, outcomes.size());
}

}  // namespace tern::spool
