// imap/proto/requests: STORE, STATUS, LIST/LSUB, APPEND and SELECT/EXAMINE arguments (RFC 9051 6.3.2,
// 6.3.9, 6.3.11, 6.3.12, 6.4.6; RFC 7162 CONDSTORE/QRESYNC; RFC 5258 LIST-EXTENDED; RFC 6154
// SPECIAL-USE; RFC 5819 LIST-STATUS; RFC 3502 MULTIAPPEND; RFC 3516 BINARY; RFC 6855 UTF8 APPEND).
#include <set>
#include <type_traits>

#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

using detail::fail;
using detail::is_word;
using detail::upper;

constexpr const char* system_flags[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};

// Flags from a list (or loose atoms, STORE's flag form): validated, normalized and de-duplicated
// (keywords compare case-insensitively, RFC 9051 2.3.2).
bool read_flags(std::span<const Arg> args, std::vector<std::string>& out, std::string& error) {
  std::set<std::string> seen;
  for (const auto& a : args) {
    // NIL is an atom like any other here: the keyword "NIL" (flag-keyword is an atom, RFC 9051 9).
    if (a.kind != Arg::Kind::atom && a.kind != Arg::Kind::nil) {
      error = "Invalid flag";
      return false;
    }
    if (detail::iequals(a.text, "\\Recent")) {
      error = "\\Recent cannot be set";  // RFC 9051 2.3.2: only the server sets it
      return false;
    }
    auto f = normalize_flag(a.text);
    if (!f) {
      error = "Invalid flag";
      return false;
    }
    if (seen.insert(upper(*f)).second) out.push_back(std::move(*f));
  }
  return true;
}

// Select parameters and QRESYNC sets never hold "*" or "$" (RFC 7162 3.2.5).
std::optional<SequenceSet> plain_set(const Arg& a) {
  if (a.kind != Arg::Kind::atom) return std::nullopt;
  auto s = parse_sequence_set(a.text);
  if (!s || s->saved) return std::nullopt;
  for (const auto& r : s->ranges)
    if (r.lo == 0 || r.hi == 0) return std::nullopt;
  return std::move(*s);
}

}  // namespace

std::optional<std::string> normalize_flag(std::string_view flag) {
  if (flag.empty()) return std::nullopt;
  if (flag[0] == '\\') {
    for (const char* f : system_flags)
      if (detail::iequals(flag, f)) return std::string(f);
    return std::nullopt;  // \Recent, \*, unknown flag-extensions: not storable
  }
  // RFC 9051 9: flag-keyword = atom.
  for (char c : flag)
    if (!detail::atom_char(c)) return std::nullopt;
  return std::string(flag);
}

Parsed<StoreRequest> parse_store(std::span<const Arg> args) {
  StoreRequest req;
  if (args.size() < 3) return fail<StoreRequest>("STORE needs a sequence set, an item and flags");
  if (args[0].kind != Arg::Kind::atom) return fail<StoreRequest>("Invalid sequence set");
  auto set = parse_sequence_set(args[0].text);
  if (!set) return fail<StoreRequest>(set.error);
  req.set = std::move(*set);
  std::size_t i = 1;
  if (args[i].kind == Arg::Kind::list) {
    // RFC 7162 3.1.3: store-modifier (UNCHANGEDSINCE mod-sequence-valzer).
    const auto& mods = args[i].items;
    if (mods.size() != 2 || !is_word(mods[0], "UNCHANGEDSINCE") || mods[1].kind != Arg::Kind::atom)
      return fail<StoreRequest>("Invalid STORE modifier");
    auto n = parse_number64(mods[1].text);
    if (!n) return fail<StoreRequest>("Invalid UNCHANGEDSINCE value");
    req.unchangedsince = *n;
    ++i;
  }
  if (i + 1 >= args.size() || args[i].kind != Arg::Kind::atom) return fail<StoreRequest>("Missing STORE item");
  std::string item = upper(args[i].text);
  if (!item.empty() && (item[0] == '+' || item[0] == '-')) {
    req.mode = item[0] == '+' ? StoreRequest::Mode::add : StoreRequest::Mode::remove;
    item.erase(0, 1);
  }
  if (item == "FLAGS.SILENT") req.silent = true;
  else if (item != "FLAGS") return fail<StoreRequest>("Invalid STORE item");
  ++i;
  std::string error;
  std::span<const Arg> flags = args.subspan(i);
  if (flags.size() == 1 && flags[0].kind == Arg::Kind::list) flags = flags[0].items;
  if (!read_flags(flags, req.flags, error)) return fail<StoreRequest>(std::move(error));
  return detail::done(std::move(req));
}

Parsed<StatusItems> parse_status_items(const Arg& list) {
  if (list.kind != Arg::Kind::list || list.items.empty()) return fail<StatusItems>("Invalid STATUS items");
  StatusItems s;
  for (const auto& a : list.items) {
    if (a.kind != Arg::Kind::atom) return fail<StatusItems>("Invalid STATUS item");
    std::string w = upper(a.text);
    if (w == "MESSAGES") s.messages = true;
    else if (w == "UIDNEXT") s.uidnext = true;
    else if (w == "UIDVALIDITY") s.uidvalidity = true;
    else if (w == "UNSEEN") s.unseen = true;
    else if (w == "DELETED") s.deleted = true;
    else if (w == "SIZE") s.size = true;
    else if (w == "HIGHESTMODSEQ") s.highestmodseq = true;
    else if (w == "APPENDLIMIT") s.appendlimit = true;  // RFC 7889 4
    else if (w == "RECENT") s.recent = true;
    else return fail<StatusItems>("Unknown STATUS item");
  }
  return detail::done(s);
}

Parsed<StatusRequest> parse_status(std::span<const Arg> args) {
  if (args.size() != 2) return fail<StatusRequest>("STATUS needs a mailbox and items");
  StatusRequest req;
  auto mb = mailbox_arg(args[0]);
  if (!mb) return fail<StatusRequest>("Invalid mailbox name");
  req.mailbox = std::move(*mb);
  auto items = parse_status_items(args[1]);
  if (!items) return fail<StatusRequest>(items.error);
  req.items = *items;
  return detail::done(std::move(req));
}

Parsed<ListRequest> parse_list(std::span<const Arg> args, bool lsub) {
  ListRequest req;
  std::size_t i = 0;
  if (lsub) {
    req.subscribed = true;
    if (args.size() != 2) return fail<ListRequest>("LSUB needs a reference and a pattern");
  }
  if (!lsub && i < args.size() && args[i].kind == Arg::Kind::list) {
    // RFC 5258 3.1: list-select-opts.
    req.extended = true;
    bool base = false;
    for (const auto& o : args[i].items) {
      if (o.kind != Arg::Kind::atom) return fail<ListRequest>("Invalid LIST selection option");
      std::string w = upper(o.text);
      if (w == "SUBSCRIBED") req.subscribed = base = true;
      else if (w == "REMOTE") req.remote = true;
      else if (w == "RECURSIVEMATCH") req.recursive_match = true;
      else if (w == "SPECIAL-USE") req.special_use_sel = base = true;  // RFC 6154 3
      else return fail<ListRequest>("Unknown LIST selection option");
    }
    // RFC 5258 3.1: RECURSIVEMATCH only modifies another (base) selection option.
    if (req.recursive_match && !base) return fail<ListRequest>("RECURSIVEMATCH needs another selection option");
    ++i;
  }
  if (i + 2 > args.size()) return fail<ListRequest>("LIST needs a reference and a pattern");
  auto ref = astring_arg(args[i]);
  if (!ref) return fail<ListRequest>("Invalid reference");
  req.reference = std::string(*ref);
  ++i;
  const Arg& pat = args[i++];
  if (pat.kind == Arg::Kind::list) {
    // RFC 5258 3: several patterns in a list.
    if (lsub || pat.items.empty()) return fail<ListRequest>("Invalid mailbox pattern");
    req.extended = true;
    for (const auto& p : pat.items) {
      auto s = astring_arg(p);
      if (!s) return fail<ListRequest>("Invalid mailbox pattern");
      req.patterns.emplace_back(*s);
    }
  } else {
    req.patterns.emplace_back(*astring_arg(pat));
  }
  if (i < args.size()) {
    // RFC 5258 3.2: "RETURN" SP "(" [return-option *(SP return-option)] ")".
    if (lsub || i + 2 != args.size() || !is_word(args[i], "RETURN") || args[i + 1].kind != Arg::Kind::list)
      return fail<ListRequest>("Invalid LIST arguments");
    req.extended = true;
    const auto& opts = args[i + 1].items;
    for (std::size_t j = 0; j < opts.size(); ++j) {
      const Arg& o = opts[j];
      if (is_word(o, "SUBSCRIBED")) req.ret_subscribed = true;
      else if (is_word(o, "CHILDREN")) req.ret_children = true;
      else if (is_word(o, "SPECIAL-USE")) req.ret_special_use = true;
      else if (is_word(o, "STATUS") && j + 1 < opts.size() && !req.ret_status) {
        // RFC 5819 2
        auto items = parse_status_items(opts[++j]);
        if (!items) return fail<ListRequest>(items.error);
        req.ret_status = *items;
      } else {
        return fail<ListRequest>("Unknown LIST return option");
      }
    }
  }
  return detail::done(std::move(req));
}

namespace {

// ArgT is const Arg (copy the messages) or Arg (move them out: they may be 64 MiB each).
template <typename ArgT>
Parsed<AppendRequest> append_impl(std::span<ArgT> args) {
  AppendRequest req;
  if (args.size() < 2) return fail<AppendRequest>("APPEND needs a mailbox and a message");
  auto mb = mailbox_arg(args[0]);
  if (!mb) return fail<AppendRequest>("Invalid mailbox name");
  req.mailbox = std::move(*mb);
  std::size_t i = 1;
  // RFC 3502 6: append-message *(SP append-message), each [SP flag-list] [SP date-time] SP literal.
  while (i < args.size()) {
    AppendMessage m;
    if (args[i].kind == Arg::Kind::list) {
      std::string error;
      if (!read_flags(args[i].items, m.flags, error)) return fail<AppendRequest>(std::move(error));
      ++i;
    }
    if (i < args.size() && args[i].kind == Arg::Kind::string && !args[i].literal) {
      auto d = parse_date_time(args[i].text);
      if (!d) return fail<AppendRequest>("Invalid date-time");
      m.date = *d;
      ++i;
    }
    if (i >= args.size()) return fail<AppendRequest>("Missing message literal");
    ArgT& c = args[i++];
    if (c.kind == Arg::Kind::string && c.literal) {
      if constexpr (std::is_const_v<ArgT>) m.content = c.text;
      else m.content = std::move(c.text);
      m.binary = c.literal8;
    } else if (is_word(c, "UTF8") && i < args.size() && args[i].kind == Arg::Kind::list &&
               args[i].items.size() == 1 && args[i].items[0].literal8) {
      // RFC 6855 4: append-data =/ "UTF8" SP "(" literal8 ")".
      if constexpr (std::is_const_v<ArgT>) m.content = args[i++].items[0].text;
      else m.content = std::move(args[i++].items[0].text);
      m.utf8 = true;
    } else {
      return fail<AppendRequest>("The message must be a literal");
    }
    req.messages.push_back(std::move(m));
  }
  return detail::done(std::move(req));
}

}  // namespace

Parsed<AppendRequest> parse_append(std::span<const Arg> args) { return append_impl(args); }

Parsed<AppendRequest> parse_append(std::vector<Arg>&& args) { return append_impl(std::span<Arg>(args)); }

Parsed<SelectRequest> parse_select(std::span<const Arg> args) {
  if (args.empty() || args.size() > 2) return fail<SelectRequest>("SELECT needs a mailbox");
  SelectRequest req;
  auto mb = mailbox_arg(args[0]);
  if (!mb) return fail<SelectRequest>("Invalid mailbox name");
  req.mailbox = std::move(*mb);
  if (args.size() == 1) return detail::done(std::move(req));
  if (args[1].kind != Arg::Kind::list) return fail<SelectRequest>("Invalid SELECT parameters");
  const auto& params = args[1].items;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (is_word(params[i], "CONDSTORE") && !req.condstore) {
      req.condstore = true;  // RFC 7162 3.1.8
      continue;
    }
    if (!is_word(params[i], "QRESYNC") || req.qresync || i + 1 >= params.size() ||
        params[i + 1].kind != Arg::Kind::list)
      return fail<SelectRequest>("Invalid SELECT parameter");
    // RFC 7162 3.2.5: "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")".
    const auto& q = params[++i].items;
    if (q.size() < 2 || q.size() > 4 || q[0].kind != Arg::Kind::atom || q[1].kind != Arg::Kind::atom)
      return fail<SelectRequest>("Invalid QRESYNC parameter");
    SelectRequest::Qresync r;
    auto uv = parse_nz_number(q[0].text);
    auto ms = parse_number64(q[1].text);
    if (!uv || !ms || *ms == 0) return fail<SelectRequest>("Invalid QRESYNC parameter");
    r.uidvalidity = *uv;
    r.modseq = *ms;
    std::size_t j = 2;
    if (j < q.size() && q[j].kind == Arg::Kind::atom) {
      r.known_uids = plain_set(q[j]);
      if (!r.known_uids) return fail<SelectRequest>("Invalid QRESYNC known UIDs");
      ++j;
    }
    if (j < q.size()) {
      const Arg& m = q[j++];
      if (m.kind != Arg::Kind::list || m.items.size() != 2) return fail<SelectRequest>("Invalid QRESYNC match data");
      auto seqs = plain_set(m.items[0]);
      auto uids = plain_set(m.items[1]);
      if (!seqs || !uids) return fail<SelectRequest>("Invalid QRESYNC match data");
      r.seq_match = std::make_pair(std::move(*seqs), std::move(*uids));
    }
    if (j != q.size()) return fail<SelectRequest>("Invalid QRESYNC parameter");
    req.qresync = std::move(r);
  }
  return detail::done(std::move(req));
}

}  // namespace tern::imap::proto
