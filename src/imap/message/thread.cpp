// THREAD=ORDEREDSUBJECT (RFC 5256 3) and THREAD=REFERENCES (RFC 5256 4), step by step as the RFC
// numbers them, and the thread-list response syntax (RFC 5256 5).
#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "mime/text.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {

namespace {

// Ancestors a loop check walks before it gives up (and refuses the link): no real thread is that deep.
constexpr int kMaxWalk = 1000;

// A node of the thread tree; msg < 0 is a dummy (a referenced message that is not in the set).
struct Node {
  int msg = -1;
  int parent = -1;
  std::vector<int> children;
};

class Forest {
 public:
  explicit Forest(const std::vector<ThreadMessage>& m) : msgs_(m) {}

  int add(int msg) {
    nodes_.push_back(Node{msg, -1, {}});
    return static_cast<int>(nodes_.size()) - 1;
  }
  int size() const { return static_cast<int>(nodes_.size()); }
  Node& operator[](int i) { return nodes_[static_cast<std::size_t>(i)]; }
  bool dummy(int i) { return (*this)[i].msg < 0; }
  const ThreadMessage& message(int i) { return msgs_[static_cast<std::size_t>((*this)[i].msg)]; }

  // Whether making `of` a child of `node` could close a loop: `node` is `of` or below it. Only a node
  // with children has anything below it (the common case: a reference seen for the first time). The
  // walk up stops after kMaxWalk ancestors and then answers yes, so a node that deep takes no new
  // link: a hostile chain of references costs at most kMaxWalk steps per reference, not the depth.
  bool may_loop(int node, int of) {
    if (node == of) return true;
    if ((*this)[of].children.empty()) return false;
    int steps = 0;
    for (int n = node; n >= 0; n = (*this)[n].parent)
      if (n == of || ++steps > kMaxWalk) return true;
    return false;
  }
  void link(int parent, int child) {
    (*this)[child].parent = parent;
    (*this)[parent].children.push_back(child);
  }
  void unlink(int child) {
    int p = (*this)[child].parent;
    if (p < 0) return;
    auto& siblings = (*this)[p].children;
    siblings.erase(std::remove(siblings.begin(), siblings.end(), child), siblings.end());
    (*this)[child].parent = -1;
  }

  // RFC 5256 2.2 order: sent date, then the order of the request (the id); a dummy sorts as its
  // first child (whose siblings are sorted first).
  std::tuple<std::int64_t, std::uint32_t> key(int n) {
    while (dummy(n) && !(*this)[n].children.empty()) n = (*this)[n].children.front();
    if (dummy(n)) return {0, 0};
    return {message(n).sent_date, message(n).id};
  }
  void sort_siblings(std::vector<int>& list) {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return key(a) < key(b); });
  }
  // The trees below `tops` (included), parents before children. Every walk of the trees is a loop over
  // this list or an explicit stack, never a recursion: a thread is as deep as the chain of references
  // a sender chose, and a deep recursion would overflow the stack.
  std::vector<int> preorder(const std::vector<int>& tops) {
    std::vector<int> out;
    std::vector<int> todo(tops.rbegin(), tops.rend());
    while (!todo.empty()) {
      int n = todo.back();
      todo.pop_back();
      out.push_back(n);
      auto& children = (*this)[n].children;
      todo.insert(todo.end(), children.rbegin(), children.rend());
    }
    return out;
  }

  void sort_tree(std::vector<int>& roots) {  // the deepest siblings first (RFC 5256 4 step 6)
    auto order = preorder(roots);
    for (auto it = order.rbegin(); it != order.rend(); ++it) sort_siblings((*this)[*it].children);
    sort_siblings(roots);
  }

  // RFC 5256 5: a message, then its only child after a space, or each child in parentheses; a dummy
  // is only its children, each in parentheses.
  void write(std::string& out, int top) {
    struct Step {
      int node;
      char text;  // not 0: append this instead
    };
    std::vector<Step> todo{{top, 0}};
    while (!todo.empty()) {
      Step s = todo.back();
      todo.pop_back();
      if (s.text) {
        out += s.text;
        continue;
      }
      const auto& children = (*this)[s.node].children;
      bool parens = dummy(s.node) || children.size() > 1;
      if (!dummy(s.node)) {
        out += fmt::format("{}", message(s.node).id);
        if (!children.empty()) out += ' ';
      }
      for (auto c = children.rbegin(); c != children.rend(); ++c) {
        if (parens) todo.push_back({-1, ')'});
        todo.push_back({*c, 0});
        if (parens) todo.push_back({-1, '('});
      }
    }
  }
  std::string write_roots(const std::vector<int>& roots) {
    std::string out;
    for (int r : roots) {
      out += '(';
      write(out, r);
      out += ')';
    }
    return out;
  }

 private:
  const std::vector<ThreadMessage>& msgs_;
  std::vector<Node> nodes_;
};

}  // namespace

std::string thread_orderedsubject(std::vector<ThreadMessage> msgs) {
  Forest f(msgs);
  // Sort by base subject, then sent date; split into threads of one subject; each thread's first
  // message is its root, all others are its children; threads in the order of their first message.
  std::vector<std::string> folded;
  for (auto& m : msgs) folded.push_back(mime::casefold(m.base_subject));
  std::vector<int> order(msgs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    auto& ma = msgs[static_cast<std::size_t>(a)];
    auto& mb = msgs[static_cast<std::size_t>(b)];
    return std::tie(folded[static_cast<std::size_t>(a)], ma.sent_date, ma.id) <
           std::tie(folded[static_cast<std::size_t>(b)], mb.sent_date, mb.id);
  });
  std::vector<int> roots;
  for (std::size_t i = 0; i < order.size(); ++i) {
    int node = f.add(order[i]);
    if (i > 0 && folded[static_cast<std::size_t>(order[i])] == folded[static_cast<std::size_t>(order[i - 1])])
      f.link(roots.back(), node);
    else
      roots.push_back(node);
  }
  f.sort_siblings(roots);
  return f.write_roots(roots);
}

std::string thread_references(std::vector<ThreadMessage> msgs) {
  Forest f(msgs);
  std::unordered_map<std::string, int> id_table;

  // (1) Link messages by their references.
  auto container = [&](const std::string& id) {
    auto it = id_table.find(id);
    if (it != id_table.end()) return it->second;
    int n = f.add(-1);
    id_table.emplace(id, n);
    return n;
  };
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto& m = msgs[i];
    int self = -1;
    // A message with no Message-ID, or one already taken by another message, gets a unique one.
    if (!m.message_id.empty()) {
      auto it = id_table.find(m.message_id);
      if (it == id_table.end()) {
        self = f.add(static_cast<int>(i));
        id_table.emplace(m.message_id, self);
      } else if (f.dummy(it->second)) {
        self = it->second;
        f[self].msg = static_cast<int>(i);
      }
    }
    if (self < 0) self = f.add(static_cast<int>(i));

    // No usable References: the first In-Reply-To msg-id is the only reference.
    std::vector<std::string> refs = m.references;
    if (refs.empty() && !m.in_reply_to.empty()) refs.push_back(m.in_reply_to);

    // (1.A) Chain the references parent to child; keep existing links; never make a loop.
    int prev = -1;
    for (auto& r : refs) {
      int cur = container(r);
      if (prev >= 0 && f[cur].parent < 0 && !f.may_loop(prev, cur)) f.link(prev, cur);
      prev = cur;
    }
    // (1.B) The last reference is this message's parent, replacing any earlier link.
    f.unlink(self);
    if (prev >= 0 && !f.may_loop(prev, self)) f.link(prev, self);
  }

  // (2) Every node without a parent is a child of the (implicit) root.
  std::vector<int> roots;
  for (int n = 0; n < f.size(); ++n)
    if (f[n].parent < 0) roots.push_back(n);

  // (3) Prune dummies: a childless one goes, one with children is replaced by them, except at the
  // root, where it stays unless it has only one child. Children first: each node's list is pruned
  // after those of every node below it (reverse preorder).
  auto prune = [&](const std::vector<int>& list, int parent, bool at_root) {
    std::vector<int> out;
    for (int n : list) {
      if (f.dummy(n)) {
        if (f[n].children.empty()) continue;
        if (!at_root || f[n].children.size() == 1) {
          for (int c : f[n].children) {
            f[c].parent = parent;
            out.push_back(c);
          }
          f[n].children.clear();
          continue;
        }
      }
      out.push_back(n);
    }
    return out;
  };
  auto order = f.preorder(roots);
  for (auto it = order.rbegin(); it != order.rend(); ++it) f[*it].children = prune(f[*it].children, *it, false);
  roots = prune(roots, -1, true);

  // (4) Sort the root's children by sent date; a dummy sorts as its (sorted) first child.
  for (int n : roots)
    if (f.dummy(n)) f.sort_siblings(f[n].children);
  f.sort_siblings(roots);

  // (5) Merge threads under the root whose subjects match.
  auto subject = [&](int n) -> std::string {
    if (f.dummy(n)) n = f[n].children.front();
    return mime::casefold(f.message(n).base_subject);
  };
  auto reply = [&](int n) { return !f.dummy(n) && f.message(n).reply_or_forward; };
  std::unordered_map<std::string, int> subjects;
  for (int n : roots) {  // (5.B)
    auto s = subject(n);
    if (s.empty()) continue;
    auto [it, added] = subjects.emplace(s, n);
    if (!added && !f.dummy(it->second) && (f.dummy(n) || (reply(it->second) && !reply(n)))) it->second = n;
  }
  std::vector<char> gone(static_cast<std::size_t>(f.size()), 0);
  auto merged_roots = roots;
  for (int n : roots) {  // (5.C)
    if (f[n].parent >= 0) continue;  // already merged under a new dummy
    auto s = subject(n);
    if (s.empty()) continue;
    int& t = subjects[s];
    if (t == n) continue;
    if (f.dummy(t) && f.dummy(n)) {
      for (int c : f[n].children) f.link(t, c);
      f[n].children.clear();
    } else if (f.dummy(t)) {
      f.link(t, n);
    } else if (reply(n) && !reply(t)) {
      f.link(t, n);
    } else {
      int d = f.add(-1);
      gone.push_back(0);
      std::replace(merged_roots.begin(), merged_roots.end(), t, d);
      f.link(d, t);
      f.link(d, n);
      t = d;
    }
    gone[static_cast<std::size_t>(n)] = 1;
  }
  roots.clear();
  for (int n : merged_roots)
    if (!gone[static_cast<std::size_t>(n)]) roots.push_back(n);

  // (6) Sort every set of siblings, the deepest first.
  f.sort_tree(roots);
  return f.write_roots(roots);
}

}  // namespace tern::imap::message
