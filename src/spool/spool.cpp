#include "spool/spool.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "store/files.hpp"

namespace tern::spool {
namespace fs = std::filesystem;

Paths::Paths(const fs::path& data_dir)
    : outbox(data_dir / "mail" / "outbox"), pending(data_dir / "mail" / "pending"),
      lost_found(data_dir / "mail" / "lost+found") {}

void quarantine(const Paths& paths, const fs::path& file, const std::string& why) {
  store::ensure_dir(paths.lost_found);
  auto name = file.filename().string();
  auto target = paths.lost_found / name;
  for (int i = 1; fs::exists(target) || fs::exists(target.string() + ".why"); ++i)
    target = paths.lost_found / fmt::format("{}.{}", name, i);
  auto note = fmt::format("{}\nfrom: {}\nwhen: {}\n", why, file.string(), rfc5322_date());
  store::write_file_synced(target.string() + ".why.tmp", target.string() + ".why", note);
  fs::rename(file, target);
  store::fsync_dir(paths.lost_found);
  store::fsync_dir(file.parent_path());
  log::warn("moved {} to {}: {}", file.string(), target.string(), why);
}

struct Spool::Entry {
  std::string id;
  fs::path file;
  std::shared_ptr<const std::string> data;  // the whole queue file
  QueueFile q;
};

Spool::Spool(Paths paths, store::Directory& directory, store::Mailstore& mailstore, boost::asio::thread_pool& pool,
             boost::asio::io_context& io)
    : paths_(std::move(paths)), outbox_sync_(paths_.outbox), directory_(directory), mailstore_(mailstore), router_(directory), pool_(pool), io_(io) {
  store::ensure_dir(paths_.outbox);
  store::ensure_dir(paths_.pending);
  store::ensure_dir(paths_.lost_found);
}

Spool::~Spool() { stop(); }

StartReport Spool::start() {
  StartReport rep;
  std::vector<fs::path> files;
  for (auto& de : fs::directory_iterator(paths_.outbox)) files.push_back(de.path());
  std::sort(files.begin(), files.end());
  for (auto& p : files) {
    auto name = p.filename().string();
    if (name.ends_with(".tmp")) {
      // A write that a crash interrupted before its rename: its message was never acknowledged.
      fs::remove(p);
      ++rep.temp_removed;
      continue;
    }
    if (!fs::is_regular_file(p) || !name.ends_with(".msg")) {
      quarantine(paths_, p, "not a queue file (unexpected name or type in the outbox)");
      ++rep.quarantined;
      continue;
    }
    try {
      auto data = std::make_shared<const std::string>(store::read_file(p));
      auto q = parse(*data);
      if (!q) {
        quarantine(paths_, p, "unreadable queue file: " + q.error().message);
        ++rep.quarantined;
        continue;
      }
      auto e = std::make_shared<Entry>(Entry{name.substr(0, name.size() - 4), p, data, std::move(*q)});
      schedule(std::move(e));
      ++rep.queued;
    } catch (const std::exception& ex) {
      log::error("outbox: {}: {}", p.string(), ex.what());
    }
  }
  if (rep.temp_removed) store::fsync_dir(paths_.outbox);
  log::info("outbox: {} queued message(s) resumed, {} moved to lost+found, {} unfinished temp file(s) removed",
            rep.queued, rep.quarantined, rep.temp_removed);
  return rep;
}

Result<std::string> Spool::enqueue(Envelope env, std::string_view message, std::string id) {
  auto e = std::make_shared<Entry>();
  e->id = id.empty() ? make_unique_id() : std::move(id);
  e->file = paths_.outbox / (e->id + ".msg");
  env.arrived = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto data = format(env, message);
  e->q.envelope = std::move(env);
  e->q.message_offset = data.size() - message.size();
  try {
    store::write_file_synced(paths_.outbox / (e->id + ".tmp"), e->file, data);
    outbox_sync_.sync();
  } catch (const std::system_error& ex) {
    std::error_code ec;
    fs::remove(e->file, ec);  // not acknowledged: leave nothing that could be delivered later
    return Error{ex.what(), ex.code().value()};
  }
  e->data = std::make_shared<const std::string>(std::move(data));
  auto queued = e->id;
  schedule(std::move(e));
  return queued;
}

void Spool::schedule(std::shared_ptr<Entry> e) {
  if (stopping_) return;
  ++in_flight_;
  boost::asio::post(pool_, [this, e = std::move(e)] {
    try {
      deliver(e);
    } catch (const std::exception& ex) {
      log::error("queue {}: delivery failed: {}; retrying in 30s", e->id, ex.what());
      retry_later(e, std::chrono::seconds(30));
    }
    if (--in_flight_ == 0) {
      std::lock_guard lock(wait_mu_);
      wait_cv_.notify_all();
    }
  });
}

void Spool::retry_later(std::shared_ptr<Entry> e, std::chrono::seconds after) {
  if (stopping_) return;
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, after);
  timer->async_wait([this, timer, e = std::move(e)](boost::system::error_code ec) mutable {
    if (!ec) schedule(std::move(e));
  });
}

void Spool::deliver(const std::shared_ptr<Entry>& e) {
  auto& env = e->q.envelope;
  std::string_view message(*e->data);
  message.remove_prefix(e->q.message_offset);

  // Route every pending recipient; a mailslot reached by several recipients gets one copy.
  std::vector<std::string> slots;
  std::vector<RcptState> new_state(env.recipients.size(), RcptState::pending);
  bool waiting_remote = false;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    auto& r = env.recipients[i];
    if (r.state != RcptState::pending) {
      new_state[i] = r.state;
      continue;
    }
    auto res = router_.resolve(r.address);
    if (res.kind == route::Resolution::unknown_user || res.kind == route::Resolution::loop) {
      log::warn("queue {}: <{}>: {}; recipient failed", e->id, r.address,
                res.kind == route::Resolution::loop ? "alias loop" : "no such user");
      new_state[i] = RcptState::failed;
      continue;
    }
    for (auto& s : res.mailslots)
      if (std::find(slots.begin(), slots.end(), s) == slots.end()) slots.push_back(s);
    if (res.remote_targets.empty()) {
      new_state[i] = RcptState::done;
    } else {
      waiting_remote = true;  // stays pending for the outbox; local copies are made now (deduplicated)
    }
  }

  if (!slots.empty()) {
    // RFC 5321 4.4: the final delivery adds Return-Path with the envelope sender.
    std::string content = "Return-Path: <" + env.from + ">\r\n";
    content.append(message);
    for (auto& s : slots) {
      auto r = mailstore_.deliver(s, "INBOX", {store::NewMessage{content, e->id}});
      if (!r) throw std::runtime_error(r.error().message);
      log::info("queue {}: delivered to {} (uid {})", e->id, s, r->front());
    }
  }

  bool all_done = std::none_of(new_state.begin(), new_state.end(), [](RcptState s) { return s == RcptState::pending; });
  if (all_done) {
    // Losing this unlink in a crash only repeats deliveries that the origin check then skips.
    fs::remove(e->file);
    log::info("queue {}: all recipients done; removed", e->id);
    return;
  }
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    if (new_state[i] == env.recipients[i].state) continue;
    store::patch_file_synced(e->file, env.recipients[i].line_offset, keyword(new_state[i]));
    env.recipients[i].state = new_state[i];
  }
  if (waiting_remote)
    log::info("queue {}: remote recipients wait in the outbox (remote delivery is not built yet)", e->id);
}

void Spool::stop() {
  stopping_ = true;
  std::unique_lock lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return in_flight_.load() == 0; });
}

}  // namespace tern::spool
