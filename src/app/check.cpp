#include "app/check.hpp"

#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "app/control.hpp"
#include "imap/message/message.hpp"
#include "spool/admin.hpp"
#include "spool/queue_file.hpp"
#include "spool/lost_found.hpp"
#include "spool/quarantine.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::app {
namespace fs = std::filesystem;

namespace {

std::string held_text(const MailHeld& held) {
  return fmt::format("{} mailslot(s), {} queued message(s)", held.mailslots, held.queued);
}

// tern.db and its backup. Never creates a directory database (only `tern init` does): a missing one
// is a problem, restored from tern.db.bak by --repair.
void check_directory(const fs::path& data_dir, bool repair, std::vector<std::string>& problems,
                     std::vector<std::string>& notes) {
  auto db_file = data_dir / "tern.db";
  auto health = store::inspect_directory(db_file);
  auto bak = store::inspect_directory(store::backup_path(db_file));
  if (!health.usable()) {
    auto held = mail_held(data_dir);
    if (repair && bak.usable()) {
      if (auto r = store::restore_directory(db_file); r)
        notes.push_back(fmt::format("tern.db: was {}; {}", health.describe(), *r));
      else
        problems.push_back("tern.db: " + health.describe() + "; " + r.error().message);
      return;
    }
    problems.push_back(fmt::format(
        "tern.db: {}{}; {}", health.describe(),
        held.any() ? fmt::format(" while the data directory holds mail ({})", held_text(held)) : "",
        bak.usable() ? fmt::format("tern check --repair restores it from tern.db.bak ({} domain(s), {} mailslot(s), "
                                   "{} alias(es))", bak.domains, bak.mailslots, bak.aliases)
                     : fmt::format("no usable tern.db.bak ({}): restore it from your own backup{}", bak.describe(),
                                   held.any() ? "" : ", or create a new one with tern init")));
    return;
  }
  if (!bak.usable()) {
    if (!repair) {
      notes.push_back(fmt::format("tern.db.bak: {} (written at the next change, or by tern check --repair)", bak.describe()));
      return;
    }
    auto dir = store::Directory::open(db_file);
    auto s = dir ? (*dir)->backup() : Status(dir.error());
    if (s)
      notes.push_back(fmt::format("tern.db.bak: was {}; written again from tern.db", bak.describe()));
    else
      problems.push_back("tern.db.bak: " + s.error().message);
  }
}

}  // namespace

MailHeld mail_held(const fs::path& data_dir) {
  MailHeld held;
  std::error_code ec;
  for (auto& dom : fs::directory_iterator(data_dir / "mail" / "boxes", ec))
    for (auto& box : fs::directory_iterator(dom.path(), ec))
      if (box.is_directory(ec)) ++held.mailslots;
  for (auto& f : fs::directory_iterator(data_dir / "mail" / "outbox", ec))
    if (spool::classify(f.path().filename().string()) == spool::OutboxName::queue_file) ++held.queued;
  return held;
}

std::string directory_refusal(const config::Config& cfg, const Error& e, const std::string& config_file) {
  auto db_file = cfg.data_dir / "tern.db";
  auto held = mail_held(cfg.data_dir);
  bool bak = store::inspect_directory(store::backup_path(db_file)).usable();
  if (held.any())
    return fmt::format("{}; the data directory holds mail ({}) that would be misrouted without it: not going on. {}",
                       e.message, held_text(held),
                       bak ? fmt::format("Restore it from tern.db.bak with: tern check --repair --config {}", config_file)
                           : "There is no usable tern.db.bak: restore tern.db from your own backup");
  if (e.kind == Error::Kind::not_found)
    return fmt::format("{}; create one with: tern init --config {}", e.message, config_file);
  return e.message + (bak ? fmt::format("; tern check --repair --config {} restores it from tern.db.bak", config_file) : "");
}

Result<CheckOutcome> check_data_dir(const config::Config& cfg, bool repair, bool in_server) {
  CheckOutcome out;
  auto& problems = out.problems;
  auto& notes = out.notes;
  bool running = in_server || server_running(cfg.data_dir);
  if (repair && running)
    return Error{fmt::format("tern serve is running on {}; stop it first (it makes the same repairs itself at start)",
                             cfg.data_dir.string()),
                 Error::Kind::in_use};
  if (!fs::exists(cfg.data_dir)) return Error{cfg.data_dir.string() + ": no data directory", Error::Kind::not_found};

  check_directory(cfg.data_dir, repair, problems, notes);

  // The outbox.
  spool::Paths paths(cfg.data_dir);
  std::size_t& queued = out.queued;
  if (fs::exists(paths.outbox)) {
    for (auto& de : fs::directory_iterator(paths.outbox)) {
      auto name = de.path().filename().string();
      auto kind = spool::classify(name);
      if (kind == spool::OutboxName::index) continue;  // a cache; the server rebuilds it when damaged
      if (kind == spool::OutboxName::hold_marker) {
        if (!fs::exists(paths.queue_file(name.substr(0, name.size() - 5))))
          notes.push_back(fmt::format("{}: hold marker without its queue file (removed at next start)", name));
        continue;
      }
      if (kind == spool::OutboxName::temp_file) {
        if (running) continue;  // a write in progress
        notes.push_back(fmt::format("{}: temp file of an interrupted write (never acknowledged; removed at start)", name));
        if (repair) fs::remove(de.path());
        continue;
      }
      std::string why;
      if (!de.is_regular_file() || kind != spool::OutboxName::queue_file) {
        why = "not a queue file (unexpected name or type in the outbox)";
      } else {
        try {
          auto q = spool::parse(store::read_file(de.path()));
          if (!q) why = "unreadable queue file: " + q.error().message;
        } catch (const std::exception& e) {
          if (!fs::exists(de.path())) continue;  // delivered meanwhile
          why = e.what();
        }
      }
      if (why.empty()) {
        ++queued;
        continue;
      }
      if (repair) {
        spool::quarantine(paths, de.path(), why);
        notes.push_back(fmt::format("outbox/{}: moved to lost+found: {}", name, why));
      } else {
        problems.push_back(fmt::format("outbox/{}: {} (tern check --repair or a restart moves it to lost+found)", name, why));
      }
    }
  }
  // The outbox index against the files: a cache, so a mismatch is a note (the server heals it at
  // start); an unreadable index is set aside and rebuilt by the server, or here with --repair.
  if (auto ids = spool::index_ids(paths); !ids) {
    notes.push_back("outbox index unreadable (" + ids.error().message + "); rebuilt from the queue files at next start");
    if (repair) {
      auto aside = paths.index().string() + ".damaged-check";
      std::error_code ec;
      fs::rename(paths.index(), aside, ec);
      fs::remove(paths.index().string() + "-wal", ec);
      fs::remove(paths.index().string() + "-shm", ec);
    }
  } else {
    for (auto& id : *ids)
      if (!fs::exists(paths.queue_file(id)))
        notes.push_back(fmt::format("outbox index: entry for {} whose queue file is gone (dropped at next start)", id));
  }

  // The quarantine: every held file must read back whole (it is released into the outbox as is).
  spool::Quarantine quarantine(cfg.data_dir);
  std::size_t& held = out.held;
  if (auto list = quarantine.list(); !list) {
    problems.push_back("quarantine: " + list.error().message);
  } else {
    for (const auto& h : *list) {
      if (h.problem.empty()) {
        ++held;
        continue;
      }
      auto file = quarantine.folder() / (h.id + ".msg");
      if (repair) {
        spool::quarantine(paths, file, "damaged quarantine file: " + h.problem);
        notes.push_back(fmt::format("quarantine/{}.msg: moved to lost+found: {}", h.id, h.problem));
      } else {
        problems.push_back(fmt::format("quarantine/{}.msg: {} (tern check --repair moves it to lost+found)", h.id, h.problem));
      }
    }
  }
  if (std::error_code ec; !running && fs::exists(quarantine.folder(), ec)) {
    for (auto& de : fs::directory_iterator(quarantine.folder())) {
      if (de.path().extension() != ".tmp") continue;
      notes.push_back(fmt::format("quarantine/{}: temp file of an interrupted hold (never acknowledged){}",
                                  de.path().filename().string(), repair ? "; removed" : ""));
      if (repair) fs::remove(de.path());
    }
  }
  if (held) notes.push_back(fmt::format("the quarantine holds {} message(s) (tern quarantine list)", held));

  std::size_t& lost = out.lost;
  if (auto files = spool::LostFound(cfg.data_dir).list(); files) lost = files->size();
  if (lost) notes.push_back(fmt::format("lost+found holds {} file(s), each with a .why note", lost));

  // The mailslots.
  store::Mailstore ms(cfg.data_dir / "mail" / "boxes", false);
  ms.set_summarizer([](std::string_view raw) { return imap::message::summarize(raw).encode(); });
  auto rep = ms.check(repair);
  for (auto& p : rep.problems) problems.push_back(p);
  for (auto& n : rep.notes) notes.push_back(n);
  out.mailslots = rep.mailslots;
  out.messages = rep.messages;
  return out;
}

int run_check(const config::Config& cfg, bool repair, bool as_json) {
  auto r = check_data_dir(cfg, repair, false);
  if (!r) {
    std::cerr << "tern: " << r.error().message << "\n";
    return 1;
  }
  const auto& problems = r->problems;
  const auto& notes = r->notes;
  auto queued = r->queued, held = r->held, lost = r->lost;
  bool healthy = problems.empty();
  if (as_json) {
    boost::json::array jp, jn;
    for (auto& p : problems) jp.emplace_back(p);
    for (auto& n : notes) jn.emplace_back(n);
    std::cout << boost::json::serialize(boost::json::object{{"healthy", healthy},
                                                            {"queued", queued},
                                                            {"mailslots", r->mailslots},
                                                            {"messages", r->messages},
                                                            {"lost_found", lost},
                                                            {"quarantined", held},
                                                            {"problems", jp},
                                                            {"notes", jn}})
              << "\n";
  } else {
    for (auto& p : problems) std::cout << "problem: " << p << "\n";
    for (auto& n : notes) std::cout << "note: " << n << "\n";
    std::cout << fmt::format("tern check: {} ({} queued, {} mailslot(s), {} message(s), {} in lost+found)\n",
                             healthy ? "healthy" : fmt::format("{} problem(s)", problems.size()), queued,
                             r->mailslots, r->messages, lost);
  }
  return healthy ? 0 : 1;
}

}  // namespace tern::app
