#include "app/check.hpp"

#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "app/control.hpp"
#include "spool/admin.hpp"
#include "spool/queue_file.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::app {
namespace fs = std::filesystem;

int run_check(const config::Config& cfg, bool repair, bool as_json) {
  std::vector<std::string> problems, notes;
  bool running = server_running(cfg.data_dir);
  if (repair && running) {
    std::cerr << "tern: tern serve is running on " << cfg.data_dir.string()
              << "; stop it first (it makes the same repairs itself at start)\n";
    return 1;
  }
  if (!fs::exists(cfg.data_dir)) {
    std::cerr << "tern: " << cfg.data_dir.string() << ": no data directory\n";
    return 1;
  }

  // The directory.
  if (auto dir = store::Directory::open(cfg.data_dir / "tern.db"); !dir) {
    problems.push_back("tern.db: " + dir.error().message);
  } else if (auto p = (*dir)->integrity_problems(); !p.empty()) {
    problems.push_back("tern.db: integrity check failed: " + p);
  }

  // The outbox.
  spool::Paths paths(cfg.data_dir);
  std::size_t queued = 0;
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

  std::size_t lost = 0;
  if (fs::exists(paths.lost_found))
    for (auto& de : fs::directory_iterator(paths.lost_found))
      if (de.path().extension() == ".why") ++lost;
  if (lost) notes.push_back(fmt::format("lost+found holds {} file(s), each with a .why note", lost));

  // The mailslots.
  store::Mailstore ms(cfg.data_dir / "mail" / "boxes", false);
  auto rep = ms.check(repair);
  for (auto& p : rep.problems) problems.push_back(p);
  for (auto& n : rep.notes) notes.push_back(n);

  bool healthy = problems.empty();
  if (as_json) {
    boost::json::array jp, jn;
    for (auto& p : problems) jp.emplace_back(p);
    for (auto& n : notes) jn.emplace_back(n);
    std::cout << boost::json::serialize(boost::json::object{{"healthy", healthy},
                                                            {"queued", queued},
                                                            {"mailslots", rep.mailslots},
                                                            {"messages", rep.messages},
                                                            {"lost_found", lost},
                                                            {"problems", jp},
                                                            {"notes", jn}})
              << "\n";
  } else {
    for (auto& p : problems) std::cout << "problem: " << p << "\n";
    for (auto& n : notes) std::cout << "note: " << n << "\n";
    std::cout << fmt::format("tern check: {} ({} queued, {} mailslot(s), {} message(s), {} in lost+found)\n",
                             healthy ? "healthy" : fmt::format("{} problem(s)", problems.size()), queued,
                             rep.mailslots, rep.messages, lost);
  }
  return healthy ? 0 : 1;
}

}  // namespace tern::app
