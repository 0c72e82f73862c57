// spool/outbox_index: the outbox index (mail/outbox/index.db), a cache of per-recipient delivery
// state that the queue files do not hold: attempts, next attempt time, last error, whether a delay
// warning went out. Principle 2: the queue files are the truth; if this file is missing or damaged,
// open() sets it aside and the spool rebuilds it from the files (attempt counts restart at zero and
// every recipient is due at once). SQLite WAL, synchronous=NORMAL (it is a cache). Thread-safe.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tern::store {
class Db;
}

namespace tern::spool {

struct RecipientStatus {
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = now
  std::string last_error;
  bool delay_warned = false;
};

class OutboxIndex {
 public:
  // Opens or creates; a damaged file is moved aside (index.db.damaged-<time>) and `rebuilt` is set.
  explicit OutboxIndex(const std::filesystem::path& file);
  ~OutboxIndex();
  bool rebuilt() const { return rebuilt_; }

  // All rows: id -> (recipient index -> status).
  std::map<std::string, std::map<std::size_t, RecipientStatus>> load();
  void put(const std::string& id, std::size_t rcpt, const RecipientStatus& st);
  void remove(const std::string& id);
  // Keeps only the ids given (rows of vanished queue files are dropped).
  void retain(const std::vector<std::string>& ids);
  // "Clear Host Assignments": every recipient (of `ids`, or all when empty) due now.
  void make_due(const std::vector<std::string>& ids);

 private:
  std::unique_ptr<store::Db> db_;
  std::mutex mu_;
  bool rebuilt_ = false;
};

}  // namespace tern::spool
