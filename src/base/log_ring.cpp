#include "base/log_ring.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace tern::log {

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn" || name == "warning") return Level::warn;
  if (name == "error") return Level::error;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::warn: return "warn";
    case Level::error: return "error";
    default: return "info";
  }
}

std::string_view protocol_of(std::string_view text) {
  // The first word of Tern's log lines names the service or listener ("smtp 1a2b: ...",
  // "submissions 1a2b: refused ...", "queue 9f: delivered ...").
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> words{{
      {"smtp", "smtp"}, {"submission", "smtp"}, {"submissions", "smtp"}, {"imap", "imap"}, {"imaps", "imap"},
      {"pop3", "pop3"}, {"pop3s", "pop3"}, {"http", "http"}, {"https", "http"}, {"api", "http"},
      {"queue", "queue"}, {"outbox", "queue"}, {"pending", "queue"}, {"outbound", "queue"},
  }};
  auto end = text.find_first_of(" :");
  auto word = text.substr(0, end);
  for (auto& [w, p] : words)
    if (w == word) return p;
  return {};
}

bool Filter::matches(const Line& line) const {
  if (line.level < min_level || line.time < since || line.time > until) return false;
  if (protocol && *protocol != line.protocol) return false;
  return q.empty() || line.text.find(q) != std::string::npos;
}

Subscriber::Batch Subscriber::take() {
  std::lock_guard lock(mu_);
  Batch b;
  b.lines.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  b.dropped = std::exchange(dropped_, 0);
  woken_ = false;
  return b;
}

void Subscriber::push(const Line& line) {
  if (!filter_.matches(line)) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_)
      ++dropped_;
    else
      queue_.push_back(line);
    wake = !std::exchange(woken_, true);
  }
  if (wake && wake_) wake_();
}

std::uint64_t Ring::add(Level level, std::int64_t time, std::string_view text) {
  if (text.size() > max_line_text) text = text.substr(0, max_line_text);
  Line line{0, time, level, std::string(protocol_of(text)), std::string(text)};
  std::lock_guard lock(mu_);
  line.id = next_id_++;
  bytes_ += line.text.size();
  lines_.push_back(std::move(line));
  while (lines_.size() > max_lines_ || (bytes_ > max_bytes_ && lines_.size() > 1)) {
    bytes_ -= lines_.front().text.size();
    lines_.pop_front();
  }
  for (auto& s : subscribers_) s->push(lines_.back());
  return lines_.back().id;
}

std::vector<Line> Ring::newest(const Filter& filter, std::size_t limit) const {
  std::vector<Line> out;
  std::lock_guard lock(mu_);
  for (auto it = lines_.rbegin(); it != lines_.rend() && out.size() < limit; ++it)
    if (filter.matches(*it)) out.push_back(*it);
  return out;
}

std::vector<Line> Ring::search(const Filter& filter, std::size_t limit) const {
  auto out = newest(filter, limit);
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t Ring::last_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

void Ring::subscribe(const std::shared_ptr<Subscriber>& s, std::optional<std::uint64_t> after) {
  std::lock_guard lock(mu_);
  if (after) {
    auto first = std::lower_bound(lines_.begin(), lines_.end(), *after + 1,
                                  [](const Line& l, std::uint64_t id) { return l.id < id; });
    for (auto it = first; it != lines_.end(); ++it) s->push(*it);
  }
  subscribers_.push_back(s);
}

void Ring::unsubscribe(const Subscriber* s) {
  std::lock_guard lock(mu_);
  std::erase_if(subscribers_, [s](auto& p) { return p.get() == s; });
}

std::size_t Ring::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

Ring& ring() {
  static Ring r(Ring::default_lines, Ring::default_bytes,
                static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()));
  return r;
}

}  // namespace tern::log
