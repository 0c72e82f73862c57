// Commands of the authenticated state on mailboxes (RFC 9051 6.3):
//   select    = "SELECT" SP mailbox [select-params]        RFC 9051 6.3.2, RFC 7162 3.1.8/3.2.5
//   examine   = "EXAMINE" SP mailbox [select-params]
//   create    = "CREATE" SP mailbox [create-params]        RFC 6154 5.3 (USE)
//   delete    = "DELETE" SP mailbox
//   rename    = "RENAME" SP mailbox SP mailbox
//   subscribe = "SUBSCRIBE" SP mailbox / "UNSUBSCRIBE" SP mailbox
//   list      = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
//                                                          RFC 5258, RFC 5819 (STATUS), RFC 6154
//   lsub      = "LSUB" SP mailbox SP list-mailbox           RFC 3501 6.3.9
//   namespace = "NAMESPACE"                                 RFC 2342
//   status    = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
//   append    = "APPEND" SP mailbox 1*append-message       RFC 3502 MULTIAPPEND, RFC 4315 APPENDUID
//   getquota / getquotaroot / setquota                      RFC 9208
// The hierarchy delimiter is "/"; every user has one personal namespace "".
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"

namespace tern::imapd {

namespace proto = imap::proto;

namespace {

constexpr char delimiter = '/';

// RFC 9051 6.3.9: "*" matches anything, "%" anything but the delimiter. Iterative with backtracking.
bool wildcard_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star_p = std::string_view::npos, star_n = 0;
  std::size_t pct_p = std::string_view::npos, pct_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_n = n;
      pct_p = std::string_view::npos;
    } else if (p < pattern.size() && pattern[p] == '%') {
      pct_p = p++;
      pct_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (pct_p != std::string_view::npos && name[pct_n] != delimiter) {
      p = pct_p + 1;
      n = ++pct_n;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      n = ++star_n;
      pct_p = std::string_view::npos;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%')) ++p;
  return p == pattern.size();
}

// INBOX is case-insensitive (RFC 9051 5.1): match it against an upper-cased pattern head.
bool list_match(const std::string& pattern, const std::string& name) {
  if (name == "INBOX" || name.starts_with("INBOX/")) {
    std::string p = pattern;
    if (p.size() >= 5 && iequals(p.substr(0, 5), "INBOX")) p = "INBOX" + p.substr(5);
    return wildcard_match(p, name);
  }
  return wildcard_match(pattern, name);
}

bool valid_new_name(std::string_view name) {
  if (name.empty() || name.front() == delimiter || name.find("//") != std::string_view::npos) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || c == '*' || c == '%') return false;
  return true;
}

// The parents of "a/b/c": "a", "a/b".
std::vector<std::string> parents_of(std::string_view name) {
  std::vector<std::string> out;
  for (std::size_t i = name.find(delimiter); i != std::string_view::npos; i = name.find(delimiter, i + 1))
    out.emplace_back(name.substr(0, i));
  return out;
}

// RFC 9051 6.3.4: superior names are created as needed (those that exist already are fine). The ones
// this call created are added to `made`, for remove_parents.
Status create_parents(store::Mailstore& ms, const std::string& user, std::string_view name,
                      std::vector<std::string>& made) {
  for (auto& p : parents_of(name)) {
    auto r = ms.create_folder(user, p);
    if (r) made.push_back(p);
    else if (r.error().kind != Error::Kind::exists) return r;
  }
  return ok_status();
}

// A CREATE or RENAME that failed leaves nothing behind: the parents it made are removed again,
// deepest first; one that another session has put a message into meanwhile is kept.
void remove_parents(store::Mailstore& ms, const std::string& user, const std::vector<std::string>& made) {
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    auto f = ms.folder(user, *it);
    if (!f || f->messages != 0) continue;
    if (auto r = ms.delete_folder(user, *it); !r)
      log::warn("imap: {}: could not remove folder {} again: {}", user, *it, r.error().message);
  }
}

// Creates `name`'s parents, then runs `op` (the CREATE or RENAME itself); when either fails, the
// parents made are removed again. A name too long to store is refused before anything is made.
template <typename Op>
Status with_parents(store::Mailstore& ms, const std::string& user, const std::string& name, Op op) {
  if (auto v = store::check_folder_name(name); !v) return v;
  std::vector<std::string> made;
  auto r = create_parents(ms, user, name, made);
  if (r) r = op();
  if (!r) remove_parents(ms, user, made);
  return r;
}

std::string status_items(const proto::StatusItems& it, const store::FolderInfo& f, std::uint64_t append_limit) {
  std::vector<std::string> parts;
  if (it.messages) parts.push_back(fmt::format("MESSAGES {}", f.messages));
  if (it.recent) parts.push_back(fmt::format("RECENT {}", f.recent));
  if (it.uidnext) parts.push_back(fmt::format("UIDNEXT {}", f.uidnext));
  if (it.uidvalidity) parts.push_back(fmt::format("UIDVALIDITY {}", f.uidvalidity));
  if (it.unseen) parts.push_back(fmt::format("UNSEEN {}", f.unseen));
  if (it.deleted) parts.push_back(fmt::format("DELETED {}", f.deleted));
  if (it.size) parts.push_back(fmt::format("SIZE {}", f.size));
  if (it.highestmodseq) parts.push_back(fmt::format("HIGHESTMODSEQ {}", f.highestmodseq));
  if (it.appendlimit) parts.push_back(fmt::format("APPENDLIMIT {}", append_limit));
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

struct Selected {
  std::uint64_t version = 0;
  store::FolderInfo info;
  std::vector<store::MessageEntry> messages;
  std::optional<store::Changes> since;  // QRESYNC
  std::uint32_t recent_from = 0;        // UIDs from here are \Recent in this session (IMAP4rev1)
  Error error;
  bool ok = false;
};

}  // namespace

net::awaitable<void> Session::cmd_select(const Command& cmd, bool read_only) {
  auto req = proto::parse_select(cmd.args);
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  if (req->qresync && !qresync_) {
    bad(cmd, "QRESYNC must be enabled first (RFC 7162 3.2.3)");
    co_return;
  }
  auto name = mailbox_name_in(req->mailbox);
  if (mbox_) {
    // RFC 7162 3.2.11: the end of the previous selection is marked before the new one's data.
    send("* OK [CLOSED] Previous mailbox closed\r\n");
    mbox_.reset();
    state_ = State::authenticated;
  }
  if (!name) {
    no(cmd, "[CANNOT] Invalid mailbox name");
    co_return;
  }
  if (req->condstore) condstore_ = true;
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  std::optional<std::uint64_t> since;
  if (req->qresync) since = req->qresync->modseq;
  // RFC 3501 2.3.2: a read-write IMAP4rev1 session takes \Recent for what no session had; EXAMINE
  // shows it without taking it; IMAP4rev2 has no \Recent (RFC 9051 E.1).
  bool wants_recent = !rev2_;
  auto job = [ms, user, folder, since, wants_recent, read_only]() {
    Selected s;
    s.version = ms->version(user);
    auto snap = ms->snapshot(user, folder);
    if (!snap) {
      s.error = snap.error();
      return s;
    }
    s.info = std::move(snap->folder);
    s.messages = std::move(snap->messages);
    s.recent_from = std::numeric_limits<std::uint32_t>::max();
    if (wants_recent) {
      auto through = s.messages.empty() ? 0 : s.messages.back().uid;
      if (auto r = ms->recent_from(user, folder, through, !read_only)) s.recent_from = *r;
    }
    if (since) {
      auto ch = ms->changes_since(user, folder, *since);
      if (ch) s.since = std::move(*ch);
    }
    s.ok = true;
    return s;
  };
  auto sel = *co_await net::offload(*svc_.pool, std::move(job));
  if (!sel.ok) {
    store_error(cmd, sel.error);
    co_return;
  }
  Mailbox mb;
  mb.name = folder;
  mb.read_only = read_only;
  mb.uidvalidity = sel.info.uidvalidity;
  mb.uidnext = sel.info.uidnext;
  mb.modseq = sel.info.highestmodseq;
  mb.version = sel.version;
  mb.messages.reserve(sel.messages.size());
  std::set<std::string> flagsets;
  for (auto& e : sel.messages) {
    mb.messages.push_back(Message{e.uid, e.flags, e.modseq, e.size, e.internal_date, false});
    mb.modseq = std::max(mb.modseq, e.modseq);
    if (!e.flags.empty()) flagsets.insert(e.flags);
  }
  for (auto& fs : flagsets)
    for (auto f : split_words(fs))
      if (f[0] != '\\') mb.keywords.insert(std::string(f));
  mb.uidnext = std::max(mb.uidnext, mb.max_uid() + 1);
  mbox_ = std::move(mb);
  state_ = State::selected;
  recent_.clear();
  for (auto& m : mbox_->messages)
    if (m.uid >= sel.recent_from) recent_.insert(m.uid);

  send(fmt::format("* FLAGS ({})\r\n", flags_list()));
  if (read_only)
    send("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
  else
    send(fmt::format("* OK [PERMANENTFLAGS ({} \\*)] Flags permitted\r\n", flags_list()));
  send(fmt::format("* {} EXISTS\r\n", mbox_->messages.size()));
  if (!rev2_) {
    send(fmt::format("* {} RECENT\r\n", recent_.size()));
    // IMAP4rev1 clients look for the first unseen message here (RFC 3501 6.3.1).
    for (std::size_t i = 0; i < mbox_->messages.size(); ++i)
      if (!has_flag(mbox_->messages[i].flags, "\\Seen")) {
        send(fmt::format("* OK [UNSEEN {}] First unseen\r\n", i + 1));
        break;
      }
  }
  send(fmt::format("* OK [UIDVALIDITY {}] UIDs valid\r\n", mbox_->uidvalidity));
  send(fmt::format("* OK [UIDNEXT {}] Predicted next UID\r\n", mbox_->uidnext));
  send(fmt::format("* OK [HIGHESTMODSEQ {}] Highest\r\n", mbox_->modseq));
  if (rev2_) send(fmt::format("* LIST () \"/\" {}\r\n", mailbox_name_out(folder)));
  // RFC 7162 3.2.5.1: with a matching UIDVALIDITY, what changed since the client's MODSEQ.
  if (req->qresync && req->qresync->uidvalidity == mbox_->uidvalidity && sel.since) {
    auto& q = *req->qresync;
    std::vector<std::uint32_t> vanished;
    for (auto u : sel.since->expunged)
      if (!q.known_uids || q.known_uids->contains(u, mbox_->max_uid())) vanished.push_back(u);
    if (!vanished.empty()) send(fmt::format("* VANISHED (EARLIER) {}\r\n", proto::format_sequence_set(vanished)));
    for (auto& e : sel.since->changed) {
      auto i = mbox_->index_of(e.uid);
      if (i == npos) continue;
      auto& m = mbox_->messages[i];
      send(fmt::format("* {} FETCH (UID {} {} MODSEQ ({}))\r\n", i + 1, m.uid, flags_item(m), m.modseq));
    }
  }
  ok(cmd, fmt::format("[{}] {} completed", read_only ? "READ-ONLY" : "READ-WRITE", read_only ? "EXAMINE" : "SELECT"));
}

net::awaitable<void> Session::cmd_create(const Command& cmd) {
  if (cmd.args.empty() || cmd.args.size() > 2) {
    bad(cmd, "CREATE needs a mailbox name");
    co_return;
  }
  auto name = mailbox_name_in(cmd.args[0]);
  if (!name) {
    bad(cmd, "Invalid mailbox name");
    co_return;
  }
  // RFC 9051 6.3.4: a trailing delimiter only says the client means to create children.
  while (!name->empty() && name->back() == delimiter) name->pop_back();
  if (iequals(*name, "INBOX")) {
    no(cmd, "[ALREADYEXISTS] INBOX always exists");
    co_return;
  }
  if (!valid_new_name(*name)) {
    no(cmd, "[CANNOT] Invalid mailbox name");
    co_return;
  }
  std::string use;
  if (cmd.args.size() == 2) {
    // RFC 6154 3: CREATE name (USE (\Sent))
    auto& params = cmd.args[1];
    if (params.kind != Arg::Kind::list || params.items.size() != 2 || !iequals(params.items[0].text, "USE") ||
        params.items[1].kind != Arg::Kind::list) {
      bad(cmd, "Unknown CREATE parameters");
      co_return;
    }
    static const std::set<std::string> uses = {"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT", "\\TRASH"};
    for (auto& u : params.items[1].items) {
      auto up = to_upper_ascii(u.text);
      if (!uses.count(up) || up == "\\ALL" || up == "\\FLAGGED") {
        no(cmd, "[USEATTR] Unsupported special-use attribute");
        co_return;
      }
      if (!use.empty()) {
        no(cmd, "[USEATTR] One special use per mailbox");
        co_return;
      }
      use = "\\" + std::string(1, up[1]) + to_lower(up.substr(2));
    }
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  auto job = [ms, user, folder, use]() -> Status {
    return with_parents(*ms, user, folder, [&] { return ms->create_folder(user, folder, use); });
  };
  auto made = *co_await net::offload(*svc_.pool, std::move(job));
  if (!made) {
    store_error(cmd, made.error());
    co_return;
  }
  ok(cmd, "CREATE completed");
}

net::awaitable<void> Session::cmd_delete(const Command& cmd) {
  if (cmd.args.size() != 1) {
    bad(cmd, "DELETE needs a mailbox name");
    co_return;
  }
  auto name = mailbox_name_in(cmd.args[0]);
  if (!name) {
    bad(cmd, "Invalid mailbox name");
    co_return;
  }
  if (*name == "INBOX") {
    no(cmd, "[CANNOT] INBOX cannot be deleted");
    co_return;
  }
  if (mbox_ && mbox_->name == *name) {
    // Deleting the selected mailbox: deselect it first, as Dovecot does.
    mbox_.reset();
    state_ = State::authenticated;
    send("* OK [CLOSED] Mailbox deselected\r\n");
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  auto job = [ms, user, folder] { return ms->delete_folder(user, folder); };
  auto done = *co_await net::offload(*svc_.pool, std::move(job));
  if (!done) {
    store_error(cmd, done.error());
    co_return;
  }
  ok(cmd, "DELETE completed");
}

net::awaitable<void> Session::cmd_rename(const Command& cmd) {
  if (cmd.args.size() != 2) {
    bad(cmd, "RENAME needs two mailbox names");
    co_return;
  }
  auto from = mailbox_name_in(cmd.args[0]);
  auto to = mailbox_name_in(cmd.args[1]);
  if (!from || !to) {
    bad(cmd, "Invalid mailbox name");
    co_return;
  }
  while (!to->empty() && to->back() == delimiter) to->pop_back();
  if (iequals(*to, "INBOX")) {
    no(cmd, "[ALREADYEXISTS] INBOX always exists");
    co_return;
  }
  if (!valid_new_name(*to) || to->starts_with(*from + "/")) {
    no(cmd, "[CANNOT] Invalid new mailbox name");
    co_return;
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, a = *from, b = *to;
  auto job = [ms, user, a, b]() -> Status {
    return with_parents(*ms, user, b, [&] { return ms->rename_folder(user, a, b); });
  };
  auto done = *co_await net::offload(*svc_.pool, std::move(job));
  if (!done) {
    store_error(cmd, done.error());
    co_return;
  }
  if (mbox_ && mbox_->name == a && a != "INBOX") mbox_->name = b;
  ok(cmd, "RENAME completed");
}

net::awaitable<void> Session::cmd_subscribe(const Command& cmd, bool on) {
  if (cmd.args.size() != 1) {
    bad(cmd, "Needs a mailbox name");
    co_return;
  }
  auto name = mailbox_name_in(cmd.args[0]);
  if (!name) {
    bad(cmd, "Invalid mailbox name");
    co_return;
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  auto job = [ms, user, folder, on]() -> Status {
    // RFC 9051 6.3.7: subscribing to a name that does not exist is an error for this server.
    if (on) {
      auto f = ms->folder(user, folder);
      if (!f) return f.error();
    }
    return ms->subscribe(user, folder, on);
  };
  auto done = *co_await net::offload(*svc_.pool, std::move(job));
  if (!done) {
    store_error(cmd, done.error());
    co_return;
  }
  ok(cmd, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

namespace {

struct ListData {
  std::vector<store::FolderInfo> folders;
  std::vector<std::string> subscriptions;
  Error error;
  bool ok = false;
};

}  // namespace

net::awaitable<void> Session::cmd_list(const Command& cmd, bool lsub) {
  auto req = proto::parse_list(cmd.args, lsub);
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  // The reference and the patterns in the session's encoding (modified UTF-7 for rev1 clients).
  auto decode = [&](const std::string& s) -> std::string {
    if (utf8()) return s;
    if (auto d = proto::mutf7_decode(s)) return *d;
    return s;
  };
  std::string reference = decode(req->reference);
  auto* ms = svc_.mailstore;
  std::string user = user_;
  auto job = [ms, user]() {
    ListData d;
    auto f = ms->folders(user);
    if (!f) {
      d.error = f.error();
      return d;
    }
    d.folders = std::move(*f);
    auto s = ms->subscriptions(user);
    if (!s) {
      d.error = s.error();
      return d;
    }
    d.subscriptions = std::move(*s);
    d.ok = true;
    return d;
  };
  auto data = *co_await net::offload(*svc_.pool, std::move(job));
  if (!data.ok) {
    store_error(cmd, data.error);
    co_return;
  }
  const char* verb = lsub ? "LSUB" : "LIST";
  // RFC 9051 6.3.9: an empty pattern asks for the delimiter and the root.
  if (req->patterns.size() == 1 && req->patterns[0].empty() && !req->extended) {
    send(fmt::format("* {} (\\Noselect) \"/\" \"\"\r\n", verb));
    ok(cmd, std::string(verb) + " completed");
    co_return;
  }
  std::map<std::string, const store::FolderInfo*> existing;
  for (auto& f : data.folders) existing[f.name] = &f;
  std::set<std::string> subscribed(data.subscriptions.begin(), data.subscriptions.end());
  // Every name that exists, is subscribed, or is the parent of one: a parent that does not exist is
  // shown as \NonExistent (RFC 5258) / \Noselect (RFC 3501) when a pattern matches it.
  std::set<std::string> names;
  for (auto& [n, f] : existing) {
    names.insert(n);
    for (auto& p : parents_of(n)) names.insert(p);
  }
  for (auto& s : subscribed) names.insert(s);
  auto has_children = [&](const std::string& n) {
    auto it = names.upper_bound(n + "/");
    auto lb = names.lower_bound(n + "/");
    (void)it;
    return lb != names.end() && lb->starts_with(n + "/");
  };
  bool only_subscribed = lsub || req->subscribed;
  auto matches = [&](const std::string& n) {
    for (auto& p : req->patterns)
      if (list_match(reference + decode(p), n)) return true;
    return false;
  };
  // A subscribed descendant that the patterns do not match themselves: RFC 5258 3.5 (CHILDINFO with
  // RECURSIVEMATCH) and RFC 3501 6.3.9 (LSUB "%" shows such a parent as \Noselect).
  auto subscribed_child_unmatched = [&](const std::string& n) {
    for (auto it = subscribed.lower_bound(n + "/"); it != subscribed.end() && it->starts_with(n + "/"); ++it)
      if (!matches(*it)) return true;
    return false;
  };
  for (auto& n : names) {
    if (!matches(n)) continue;
    bool exists = existing.count(n) > 0;
    bool sub = subscribed.count(n) > 0;
    bool childinfo = only_subscribed && (req->recursive_match || lsub) && subscribed_child_unmatched(n);
    if (only_subscribed && !sub && !childinfo) continue;
    if (!only_subscribed && !exists && !has_children(n)) continue;
    if (req->special_use_sel && (!exists || existing[n]->special_use.empty())) continue;
    std::vector<std::string> attrs;
    if (lsub && !sub) attrs.push_back("\\Noselect");
    else if (!exists) attrs.push_back(lsub || !req->extended ? "\\Noselect" : "\\NonExistent");
    if (!lsub) attrs.push_back(has_children(n) ? "\\HasChildren" : "\\HasNoChildren");
    if (sub && !lsub && (req->ret_subscribed || req->subscribed)) attrs.push_back("\\Subscribed");
    if (exists && !existing[n]->special_use.empty() && !lsub) attrs.push_back(existing[n]->special_use);
    std::string a;
    for (auto& x : attrs) a += (a.empty() ? "" : " ") + x;
    std::string extra = childinfo && !lsub && req->recursive_match ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : "";
    send(fmt::format("* {} ({}) \"/\" {}{}\r\n", verb, a, mailbox_name_out(n), extra));
    if (req->ret_status && exists)
      send(fmt::format("* STATUS {} ({})\r\n", mailbox_name_out(n), status_items(*req->ret_status, *existing[n], cfg_.limits.max_message_size)));
  }
  ok(cmd, std::string(verb) + " completed");
}

void Session::cmd_namespace(const Command& cmd) {
  send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  ok(cmd, "NAMESPACE completed");
}

net::awaitable<void> Session::cmd_status(const Command& cmd) {
  auto req = proto::parse_status(cmd.args);
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  auto name = mailbox_name_in(req->mailbox);
  if (!name) {
    no(cmd, "[CANNOT] Invalid mailbox name");
    co_return;
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  auto job = [ms, user, folder] { return ms->folder(user, folder); };
  auto info = *co_await net::offload(*svc_.pool, std::move(job));
  if (!info) {
    store_error(cmd, info.error());
    co_return;
  }
  send(fmt::format("* STATUS {} ({})\r\n", mailbox_name_out(folder), status_items(req->items, *info, cfg_.limits.max_message_size)));
  ok(cmd, "STATUS completed");
}

namespace {

struct Appended {
  std::uint32_t uidvalidity = 0;
  std::vector<std::uint32_t> uids;
  Error error;
  bool ok = false;
};

}  // namespace

net::awaitable<void> Session::cmd_append(Command& cmd) {
  // Moved, not copied: the messages may be tens of megabytes.
  auto req = proto::parse_append(std::move(cmd.args));
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  auto name = mailbox_name_in(req->mailbox);
  if (!name) {
    no(cmd, "[CANNOT] Invalid mailbox name");
    co_return;
  }
  for (auto& m : req->messages) {
    if (m.content.empty()) {
      no(cmd, "[CANNOT] Empty messages cannot be stored");
      co_return;
    }
    // RFC 3516 4.4: a message with NUL octets can come only as literal8; Tern stores it as it came.
  }
  auto* ms = svc_.mailstore;
  std::string user = user_, folder = *name;
  std::uint64_t quota = quota_;
  auto* messages = &req->messages;
  auto job = [ms, user, folder, quota, messages]() {
    Appended a;
    auto info = ms->folder(user, folder);
    if (!info) {
      a.error = info.error();
      return a;
    }
    a.uidvalidity = info->uidvalidity;
    std::vector<store::NewMessage> batch;
    for (auto& m : *messages) {
      std::string flags;
      for (auto& f : m.flags) flags += (flags.empty() ? "" : " ") + f;
      batch.push_back(store::NewMessage{m.content, "", flags, m.date.value_or(0)});
    }
    // The quota is checked by the store, under the mailbox's lock: two APPENDs cannot pass it together.
    auto uids = ms->deliver(user, folder, batch, quota);
    if (!uids) {
      a.error = uids.error();
      return a;
    }
    a.uids = std::move(*uids);
    a.ok = true;
    return a;
  };
  auto done = *co_await net::offload(*svc_.pool, std::move(job));
  if (!done.ok) {  // over the quota: [OVERQUOTA] (store_error)
    if (done.error.kind == Error::Kind::not_found) {
      // RFC 9051 6.3.12: the client may CREATE the mailbox and try again.
      no(cmd, "[TRYCREATE] No such mailbox");
      co_return;
    }
    store_error(cmd, done.error);
    co_return;
  }
  ok(cmd, fmt::format("[APPENDUID {} {}] APPEND completed", done.uidvalidity, proto::format_sequence_set(done.uids)));
}

net::awaitable<void> Session::cmd_quota(const Command& cmd) {
  if (cmd.name == "SETQUOTA") {
    no(cmd, "[NOPERM] Quotas are set by the administrator");
    co_return;
  }
  if (cmd.args.size() != 1) {
    bad(cmd, "Needs one argument");
    co_return;
  }
  std::uint64_t quota = quota_;
  std::string root_line;
  if (cmd.name == "GETQUOTAROOT") {
    auto name = mailbox_name_in(cmd.args[0]);
    if (!name) {
      bad(cmd, "Invalid mailbox name");
      co_return;
    }
    root_line = fmt::format("* QUOTAROOT {}{}\r\n", mailbox_name_out(*name), quota ? " \"\"" : "");
  } else {
    auto root = proto::astring_arg(cmd.args[0]);
    if (!root || !root->empty() || !quota) {
      no(cmd, "[NONEXISTENT] No such quota root");
      co_return;
    }
  }
  auto* ms = svc_.mailstore;
  std::string user = user_;
  auto job = [ms, user] { return ms->usage(user); };
  auto used = *co_await net::offload(*svc_.pool, std::move(job));
  if (!used) {
    store_error(cmd, used.error());
    co_return;
  }
  send(root_line);
  // RFC 9208 5.1: STORAGE in units of 1024 octets.
  if (quota) send(fmt::format("* QUOTA \"\" (STORAGE {} {})\r\n", (*used + 1023) / 1024, quota / 1024));
  ok(cmd, cmd.name + " completed");
}

}  // namespace tern::imapd
