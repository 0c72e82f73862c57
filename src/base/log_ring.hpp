// base/log_ring: the recent log lines kept in memory, for the console's live log (GET /api/v1/logs
// and its Server-Sent Events stream, api/logs).
//
// A bounded ring (at most max_lines lines and max_bytes octets of text; each line's text cut at
// max_line_text) fed by an spdlog sink that log::init installs beside stderr. Each line gets an id
// (1, 2, ... in the order written, never reused while the process lives), its time (Unix seconds),
// level, protocol (from the line's first word: "smtp 1a2b: ..." is smtp, "" when none is known) and
// text. The process's ring (ring()) numbers from the time it started in microseconds, so a client that
// resumes a stream with the last id it saw from an earlier run of the server (Last-Event-ID) gets every
// line of this run: its ids are all greater (a run would have to log more than a line a microsecond to
// overtake the clock). Below 2^53, so JavaScript numbers hold them exactly.
//
// Subscribers get every new line that passes their filter in a queue of their own, bounded: when a
// subscriber does not take its lines fast enough, the newest are dropped and counted, so writing a log
// line never waits for a reader and never grows memory without bound. A subscriber is told that its
// queue went from empty to not empty by its `wake` function, called with the ring's lock held: it must
// only post work (asio::post), never log or block. Thread-safe.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::log {

enum class Level { debug, info, warn, error };
std::optional<Level> parse_level(std::string_view name);  // "debug", "info", "warn", "error"
std::string_view level_name(Level level);
// The protocol a log line is about, from its first word ("smtp", "imap", "pop3", "http", "queue",
// ...); "" when the first word names none.
std::string_view protocol_of(std::string_view text);

struct Line {
  std::uint64_t id = 0;
  std::int64_t time = 0;  // Unix seconds
  Level level = Level::info;
  std::string protocol;
  std::string text;
};

// Which lines a search or a subscriber wants; every part is optional.
struct Filter {
  std::string q;                          // a substring of the text (a queue id, an address)
  Level min_level = Level::debug;
  std::optional<std::string> protocol;    // exactly this protocol ("" for lines of none)
  std::int64_t since = 0;                 // time >= since
  std::int64_t until = std::numeric_limits<std::int64_t>::max();  // time <= until
  bool matches(const Line& line) const;
};

class Subscriber {
 public:
  static constexpr std::size_t default_capacity = 1000;
  Subscriber(Filter filter, std::function<void()> wake, std::size_t capacity = default_capacity)
      : filter_(std::move(filter)), wake_(std::move(wake)), capacity_(capacity) {}

  struct Batch {
    std::vector<Line> lines;
    std::uint64_t dropped = 0;  // lines lost since the last take because the queue was full
    bool empty() const { return lines.empty() && dropped == 0; }
  };
  // What arrived since the last take; the next line to arrive wakes the subscriber again.
  Batch take();

 private:
  friend class Ring;
  void push(const Line& line);  // under the ring's lock

  Filter filter_;
  std::function<void()> wake_;
  std::size_t capacity_;
  std::mutex mu_;
  std::deque<Line> queue_;
  std::uint64_t dropped_ = 0;
  bool woken_ = false;  // wake_ was called and take() has not run since
};

class Ring {
 public:
  static constexpr std::size_t default_lines = 10000;
  static constexpr std::size_t default_bytes = 4 * 1024 * 1024;
  static constexpr std::size_t max_line_text = 4096;
  explicit Ring(std::size_t max_lines = default_lines, std::size_t max_bytes = default_bytes, std::uint64_t first_id = 1)
      : max_lines_(max_lines), max_bytes_(max_bytes), next_id_(first_id) {}

  std::uint64_t add(Level level, std::int64_t time, std::string_view text);  // the line's id
  // The newest `limit` lines that match, oldest first.
  std::vector<Line> search(const Filter& filter, std::size_t limit) const;
  // The newest `limit` lines that match, newest first.
  std::vector<Line> newest(const Filter& filter, std::size_t limit) const;
  std::uint64_t last_id() const;  // first_id - 1 before the first line
  // From now on `s` gets every matching line; first, when `after` is set, the matching lines still
  // in the ring whose id is greater (a stream resumed with Last-Event-ID), so none is missed or doubled.
  void subscribe(const std::shared_ptr<Subscriber>& s, std::optional<std::uint64_t> after);
  void unsubscribe(const Subscriber* s);
  std::size_t subscribers() const;

 private:
  std::size_t max_lines_, max_bytes_;
  mutable std::mutex mu_;
  std::deque<Line> lines_;
  std::size_t bytes_ = 0;
  std::uint64_t next_id_ = 1;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
};

// The process's ring, fed by the logger of log::init.
Ring& ring();

}  // namespace tern::log
