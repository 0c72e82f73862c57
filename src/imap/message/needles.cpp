// NeedleSet: an Aho-Corasick automaton (Aho and Corasick, "Efficient string matching", CACM 1975) over
// ASCII-lowered bytes. Transitions are sparse (sorted per node) except at the root, where most of a
// text's bytes are read; failure links make a scan one pass; dictionary links lead from a node to the
// needles ending at its suffixes, and a node reported once is not walked again, so a scan costs the
// text's length plus the needles found, never text x needles.
#include "imap/message/needles.hpp"

#include <algorithm>
#include <array>
#include <deque>

#include "mime/text.hpp"

namespace tern::imap::message {

namespace {

unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(lower(static_cast<unsigned char>(c)));
  return out;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace

struct NeedleSet::Automaton {
  struct Node {
    std::vector<std::pair<unsigned char, std::int32_t>> next;  // sorted by byte
    std::int32_t fail = 0;                                     // longest proper suffix in the trie
    std::int32_t dict = 0;                                     // nearest suffix ending a needle (0: none)
    std::vector<std::uint32_t> ids;                            // the needles ending here
  };
  std::vector<Node> nodes = std::vector<Node>(1);
  std::array<std::int32_t, 256> root{};  // the root's transitions (0: stay at the root)

  // The child of `n` by byte `c`, or 0.
  std::int32_t child(std::int32_t n, unsigned char c) const {
    if (n == 0) return root[c];
    auto& nx = nodes[static_cast<std::size_t>(n)].next;
    auto it = std::lower_bound(nx.begin(), nx.end(), c, [](const auto& e, unsigned char b) { return e.first < b; });
    return it != nx.end() && it->first == c ? it->second : 0;
  }

  // `needle` is lowered already and not empty.
  void insert(std::string_view needle, std::uint32_t id) {
    std::int32_t n = 0;
    for (unsigned char c : needle) {
      auto& nx = nodes[static_cast<std::size_t>(n)].next;
      auto it = std::lower_bound(nx.begin(), nx.end(), c, [](const auto& e, unsigned char b) { return e.first < b; });
      if (it != nx.end() && it->first == c) {
        n = it->second;
        continue;
      }
      auto fresh = static_cast<std::int32_t>(nodes.size());
      nx.insert(it, {c, fresh});
      nodes.emplace_back();  // invalidates nx: not used after this
      n = fresh;
    }
    nodes[static_cast<std::size_t>(n)].ids.push_back(id);
  }

  // Failure and dictionary links, breadth first (a node's links point to shallower nodes).
  void link() {
    std::deque<std::int32_t> queue;
    for (auto [c, v] : nodes[0].next) {
      root[c] = v;
      queue.push_back(v);
    }
    while (!queue.empty()) {
      auto u = queue.front();
      queue.pop_front();
      for (auto [c, v] : nodes[static_cast<std::size_t>(u)].next) {
        auto f = nodes[static_cast<std::size_t>(u)].fail;
        while (f != 0 && child(f, c) == 0) f = nodes[static_cast<std::size_t>(f)].fail;
        auto w = child(f, c);
        auto& node = nodes[static_cast<std::size_t>(v)];
        node.fail = w;
        auto& suffix = nodes[static_cast<std::size_t>(w)];
        node.dict = w != 0 && !suffix.ids.empty() ? w : suffix.dict;
        queue.push_back(v);
      }
    }
  }

  struct Scan {
    std::int32_t state = 0;
    std::vector<bool> reported;  // per node: its needles (and its dictionary chain's) are found
  };

  // Reads `text` from the scan's state; marks what it finds; false once nothing is left to find.
  bool feed(Scan& s, std::string_view text, std::vector<bool>& found, std::size_t& left) const {
    for (unsigned char raw : text) {
      auto c = lower(raw);
      auto n = s.state;
      std::int32_t to;
      while ((to = child(n, c)) == 0 && n != 0) n = nodes[static_cast<std::size_t>(n)].fail;
      s.state = to;
      auto hit = nodes[static_cast<std::size_t>(to)].ids.empty() ? nodes[static_cast<std::size_t>(to)].dict : to;
      for (; hit != 0 && !s.reported[static_cast<std::size_t>(hit)]; hit = nodes[static_cast<std::size_t>(hit)].dict) {
        s.reported[static_cast<std::size_t>(hit)] = true;
        for (auto id : nodes[static_cast<std::size_t>(hit)].ids)
          if (!found[id]) {
            found[id] = true;
            if (--left == 0) return false;
          }
      }
    }
    return true;
  }

  void scan(std::initializer_list<std::string_view> parts, std::vector<bool>& found, std::size_t& left) const {
    Scan s;
    s.reported.assign(nodes.size(), false);
    for (auto p : parts)
      if (!feed(s, p, found, left)) return;
  }
};

NeedleSet::NeedleSet() = default;
NeedleSet::~NeedleSet() = default;
NeedleSet::NeedleSet(NeedleSet&&) noexcept = default;
NeedleSet& NeedleSet::operator=(NeedleSet&&) noexcept = default;

std::uint32_t NeedleSet::add(std::string_view needle) {
  auto key = ascii_lower(needle);
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  auto id = static_cast<std::uint32_t>(needles_.size());
  needles_.emplace_back(needle);
  index_.emplace(std::move(key), id);
  return id;
}

void NeedleSet::build() {
  plain_ = std::make_unique<Automaton>();
  folded_ = std::make_unique<Automaton>();
  for (auto& [lowered, id] : index_) {
    if (lowered.empty()) {
      empty_.push_back(id);  // RFC 9051 6.4.4 gives no exception; contains() matches everything
      continue;
    }
    plain_->insert(lowered, id);
    if (!has_8bit(lowered)) continue;
    eight_bit_.push_back(id);
    auto folded = ascii_lower(mime::casefold(needles_[id]));
    if (folded.empty()) empty_.push_back(id);
    else folded_->insert(folded, id);
  }
  plain_->link();
  folded_->link();
}

std::vector<bool> NeedleSet::find(std::initializer_list<std::string_view> parts) const {
  std::vector<bool> found(needles_.size(), false);
  std::size_t left = needles_.size();
  for (auto id : empty_)
    if (!found[id]) {
      found[id] = true;
      --left;
    }
  if (left == 0 || !plain_) return found;
  plain_->scan(parts, found, left);
  bool fold = std::any_of(eight_bit_.begin(), eight_bit_.end(), [&](std::uint32_t id) { return !found[id]; });
  if (!fold) return found;
  // Folded as one text, as contains() folds its haystack (a sequence may span parts).
  std::string joined;
  for (auto p : parts) joined += p;
  auto folded = mime::casefold(joined);
  folded_->scan({folded}, found, left);
  return found;
}

}  // namespace tern::imap::message
