// spool/admin: read-only views of the queue for `tern queue list/show`, safe while a server runs
// (it never writes: no temp-file removal, no quarantine, the index opened read-only if at all).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "spool/spool.hpp"

namespace tern::spool {

struct QueueRecipientView {
  std::string address;
  std::string state;  // queued | delivered | failed | held
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;
  std::string last_error;
};

struct QueueView {
  std::string id;
  std::string from;
  std::int64_t arrived = 0;
  std::uint64_t size = 0;
  bool held = false;
  std::string problem;  // non-empty: the file is unreadable (the server moves it to lost+found)
  std::vector<QueueRecipientView> recipients;
};

std::vector<QueueView> list_queue(const Paths& paths);
// Messages offset .. offset+limit of list_queue, reading only their files; `total` gets how many are
// queued. (A file gone between the listing and its reading is left out of the page.)
std::vector<QueueView> list_queue_page(const Paths& paths, std::size_t offset, std::size_t limit, std::size_t* total);
// One message's view; not_found when it is not (or no longer) queued.
Result<QueueView> show_queue(const Paths& paths, const std::string& id);
// The ids the outbox index has rows for; an Error when the index exists but cannot be read.
Result<std::vector<std::string>> index_ids(const Paths& paths);

// The whole queue file for `tern queue show`.
Result<std::string> show_queue_file(const Paths& paths, const std::string& id);

}  // namespace tern::spool
