// FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3501 6.4.5 for the RFC822 forms):
//   fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
//           [fetch-modifiers]                                  RFC 7162 CHANGEDSINCE, VANISHED
// Also BINARY / BINARY.PEEK / BINARY.SIZE (RFC 3516) and MODSEQ (RFC 7162 3.1.4).
//
// ENVELOPE, BODY and BODYSTRUCTURE come from the summary cached in the mailbox index (computed at
// delivery, or here once for a message stored without one), and header-only sections (HEADER,
// HEADER.FIELDS, RFC822.HEADER: a client's message list) from the header block the index keeps, so a
// header-list FETCH of 10,000 messages opens no message file. Other sections open the file. Messages
// go in chunks to the worker pool, which builds the response text; a large BODY[] or RFC822 is not
// read there but streamed from the open file afterwards (memory bounds below). A non-PEEK body fetch
// sets \Seen first (durably) and reports the new FLAGS (RFC 9051 6.4.5).
//
// A message whose file is not the size the index gives (truncated or changed on disk) is not sent:
// its RFC822.SIZE and every literal's {N} would not match the octets that follow. The other messages
// are, and the command ends in NO [SERVERBUG] naming it (logged), as Dovecot does for a "cached
// message size wrong" corruption. A file that changes while being streamed ends the session.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "base/log.hpp"
#include "imap/message/message.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"

namespace tern::imapd {

namespace proto = imap::proto;
namespace msg = imap::message;
using Att = proto::FetchAtt;

namespace {

// Memory of a FETCH (issue: 100 messages of 5 MB were formatted in memory before anything was
// written). One trip to the worker pool formats at most chunk_size messages and at most about
// chunk_bytes of message data; a literal of more than inline_max octets of a message file is not
// read there but streamed afterwards from the open file, a block at a time, each block written
// before the next is read (Session::write_file). So what a session buffers is bounded by about
// chunk_bytes plus one read block whatever the message sizes, and a client that does not read holds
// no more (its writes wait; the command timeout ends it).
constexpr std::size_t chunk_size = 100;
constexpr std::uint64_t chunk_bytes = 512 * 1024;
constexpr std::uint64_t inline_max = 64 * 1024;
// What a streamed message counts against chunk_bytes: it costs no memory, but holds a file open until
// it is sent, so a chunk holds at most chunk_bytes / streamed_cost of them.
constexpr std::uint64_t streamed_cost = chunk_bytes / 16;

// The message's header and the empty line after it (or the whole file when it has no body).
std::string read_header(const store::MessageStream& f) {
  std::string out;
  constexpr std::size_t block = 8192;
  constexpr std::size_t max_header = 8u << 20;
  for (std::uint64_t off = 0; off < f.size() && out.size() <= max_header; off += block) {
    auto scan_from = out.size() >= 3 ? out.size() - 3 : 0;
    out += f.read(off, std::min<std::uint64_t>(block, f.size() - off));
    if (auto end = out.find("\r\n\r\n", scan_from); end != std::string::npos) {
      out.resize(end + 4);
      break;
    }
  }
  return out;
}

// BODY[] and RFC822 (with or without a partial range): the file's bytes as they are, so they can be
// sent from the file without parsing it.
bool whole_message(const Att& a) {
  if (a.kind == Att::Kind::rfc822) return true;
  return a.kind == Att::Kind::body_section && a.section.part.empty() && a.section.text == proto::Section::Text::none;
}

// The octets a whole-message attribute sends: all, or its <origin.count> (RFC 9051 6.4.5: an origin
// past the end gives an empty string).
std::pair<std::uint64_t, std::uint64_t> range_of(std::uint64_t size, const Att& a) {
  if (!a.partial) return {0, size};
  auto [origin, count] = *a.partial;
  if (origin >= size) return {size, 0};
  return {origin, std::min<std::uint64_t>(count, size - origin)};
}

bool needs_file(const Att& a) {
  switch (a.kind) {
    case Att::Kind::body_section:
    case Att::Kind::binary:
    case Att::Kind::binary_size:
    case Att::Kind::rfc822:
    case Att::Kind::rfc822_header:
    case Att::Kind::rfc822_text:
      return true;
    default:
      return false;
  }
}

bool header_only(const Att& a) {
  if (a.kind == Att::Kind::rfc822_header) return true;
  if (a.kind != Att::Kind::body_section || !a.section.part.empty()) return false;
  using T = proto::Section::Text;
  return a.section.text == T::header || a.section.text == T::header_fields || a.section.text == T::header_fields_not;
}

bool needs_summary(const Att& a) {
  return a.kind == Att::Kind::envelope || a.kind == Att::Kind::body_structure || a.kind == Att::Kind::body;
}

bool sets_seen(const Att& a) {
  switch (a.kind) {
    case Att::Kind::body_section:
    case Att::Kind::binary:
      return !a.peek;
    case Att::Kind::rfc822:
    case Att::Kind::rfc822_text:
      return true;
    default:
      return false;
  }
}

msg::SectionText section_text(proto::Section::Text t) {
  using T = proto::Section::Text;
  switch (t) {
    case T::none: return msg::SectionText::none;
    case T::header: return msg::SectionText::header;
    case T::header_fields: return msg::SectionText::header_fields;
    case T::header_fields_not: return msg::SectionText::header_fields_not;
    case T::text: return msg::SectionText::text;
    case T::mime: return msg::SectionText::mime;
  }
  return msg::SectionText::none;
}

void append_literal(std::string& out, std::string_view data, bool literal8) {
  out += fmt::format("{}{{{}}}\r\n", literal8 ? "~" : "", data.size());
  out += data;
}

std::string_view partial_of(std::string_view data, const Att& a) {
  if (!a.partial) return data;
  auto [origin, count] = *a.partial;
  if (origin >= data.size()) return {};
  return data.substr(origin, count);
}

// One message's input to the response builder (a copy: the pool must not touch the session).
struct Item {
  std::size_t seq = 0;
  std::uint32_t uid = 0;
  std::string flags;
  std::uint64_t modseq = 0;
  std::uint64_t size = 0;  // as the index says: what RFC822.SIZE announces
  std::int64_t internal_date = 0;
  bool recent = false;  // \Recent in this session (IMAP4rev1)
};

// FLAGS as the client sees them: the stored flags, with \Recent first where this session has it.
std::string flags_item(const Item& it) {
  if (!it.recent) return "FLAGS (" + it.flags + ")";
  return it.flags.empty() ? "FLAGS (\\Recent)" : "FLAGS (\\Recent " + it.flags + ")";
}

// A piece of the response: text, then (when `file` is set) `length` octets of the file from `offset`:
// a literal's data, streamed by the session after the text that announced its size.
struct Piece {
  std::string text;
  std::shared_ptr<store::MessageStream> file;
  std::uint64_t offset = 0, length = 0;
};

struct Chunk {
  std::vector<Piece> pieces;
  std::vector<store::FlagChange> seen;  // \Seen set by this fetch
  std::vector<DamagedFile> damaged;     // not sent
  bool unknown_cte = false;
  bool expunged = false;  // a message was expunged by another session before its data was read
  Error error;
  bool ok = true;

  void add_text(std::string text) {
    if (pieces.empty() || pieces.back().file) pieces.emplace_back();
    auto& p = pieces.back();
    if (p.text.empty()) p.text = std::move(text);
    else p.text += text;
  }
  void add_file(std::shared_ptr<store::MessageStream> f, std::uint64_t offset, std::uint64_t length) {
    if (pieces.empty() || pieces.back().file) pieces.emplace_back();
    auto& p = pieces.back();
    p.file = std::move(f);
    p.offset = offset;
    p.length = length;
  }
};

// One message's content, opened and read only as far as the attributes asked need it: a FLAGS or
// ENVELOPE fetch of a large mailbox opens no file; a BODY[] of a large message reads none of it here.
struct Content {
  store::Mailstore* ms;
  const std::string& user;
  const std::string& folder;
  const Item& it;
  std::string raw;        // the whole message (have_raw), or its header block
  bool have_raw = false;
  bool have_header = false;
  bool gone = false;      // expunged meanwhile: nothing to say about it (RFC 9051 7.5.1)
  bool damaged = false;   // the file's size is not the indexed one: never announce a wrong literal
  std::shared_ptr<store::MessageStream> file;
  std::optional<msg::Parsed> parsed_;  // a view of raw

  // The message parsed once for its sections: what was loaded, the whole message or only its header
  // block when every section asked is of the header (header_file).
  msg::Parsed& parsed() {
    if (!parsed_) parsed_.emplace(raw);
    return *parsed_;
  }

  // Opens the file and checks its size against the index's (principle 2: the file is the truth, but
  // RFC822.SIZE and every literal's {N} come from sizes that must be the file's).
  bool open() {
    if (file) return true;
    if (gone || damaged) return false;
    auto opened = ms->open_message(user, folder, it.uid);
    if (!opened) {
      if (opened.error().kind != Error::Kind::not_found) throw std::runtime_error(opened.error().message);
      gone = true;
      return false;
    }
    file = std::move(*opened);
    damaged = file->size() != it.size;
    return !damaged;
  }
  // header: the header block is enough (`cached`, from the index, when there is one).
  void load(bool header, std::string* cached) {
    if (have_raw || (header && have_header)) return;
    if (header && cached && !cached->empty()) {
      raw = std::move(*cached);
      have_header = true;
      return;
    }
    if (!open()) return;
    raw = header ? read_header(*file) : file->read(0, file->size());
    have_raw = !header;
    have_header = true;
  }
};

struct Job {
  store::Mailstore* ms;
  std::string user, folder;
  std::vector<Item> items;
  const std::vector<Att>* atts;
  // uid_cmd: UID first in every response (UID commands, and any FETCH once CONDSTORE is enabled:
  // RFC 7162 3.2.4 asks a QRESYNC server for UID and MODSEQ in every FETCH response then).
  bool uid_cmd, set_seen, with_modseq, file, header_file, summary;
  bool whole_only;           // every attribute that needs the file is BODY[] or RFC822
  bool flags_asked = false;  // set once per job from atts

  Chunk operator()() {
    Chunk c;
    for (auto& a : *atts) flags_asked = flags_asked || a.kind == Att::Kind::flags;
    try {
      run(c);
    } catch (const std::exception& e) {
      c.ok = false;
      c.error = Error{e.what()};
    }
    return c;
  }

  void run(Chunk& c) {
    if (set_seen && !mark_seen(c)) return;
    std::vector<std::string> summaries;
    std::vector<std::pair<std::uint32_t, std::string>> computed;
    if (summary) {
      auto r = ms->summaries(user, folder, uids());
      if (r) summaries = std::move(*r);
      summaries.resize(items.size());
    }
    // Header-only sections come from the header blocks the index keeps (no file opened).
    std::vector<std::string> headers;
    if (file && header_file) {
      auto r = ms->headers(user, folder, uids());
      if (r) headers = std::move(*r);
      headers.resize(items.size());
    }
    for (std::size_t k = 0; k < items.size(); ++k) {
      auto& it = items[k];
      Content m{ms, user, folder, it};
      std::optional<msg::Summary> sum;
      if (summary) {
        sum = msg::Summary::decode(summaries[k]);
        if (!sum) {
          m.load(false, nullptr);
          if (m.have_raw) {
            sum = msg::summarize(m.raw);
            computed.emplace_back(it.uid, sum->encode());
          }
        }
      }
      if (file) {
        // A large message asked for only as a whole is not read here: it is streamed from the file.
        if (whole_only && it.size > inline_max) m.open();
        else m.load(header_file, k < headers.size() ? &headers[k] : nullptr);
      }
      if (m.gone) {
        c.expunged = true;
        continue;
      }
      if (m.damaged) {
        c.damaged.push_back(DamagedFile{it.uid, m.file->size(), it.size});
        continue;
      }
      if (!format(c, it, m, sum)) return;
    }
    if (!computed.empty()) {
      auto r = ms->set_summaries(user, folder, computed);
      if (!r) log::warn("imap: caching summaries in {}: {}", folder, r.error().message);
    }
  }

  std::vector<std::uint32_t> uids() const {
    std::vector<std::uint32_t> out;
    for (auto& it : items) out.push_back(it.uid);
    return out;
  }

  // A non-PEEK body fetch sets \Seen first, durably (RFC 9051 6.4.5). false: the store failed.
  bool mark_seen(Chunk& c) {
    std::vector<std::uint32_t> unseen;
    for (auto& it : items)
      if (!has_flag(it.flags, "\\Seen")) unseen.push_back(it.uid);
    if (unseen.empty()) return true;
    auto r = ms->store_flags(user, folder, unseen, store::FlagMode::add, {"\\Seen"});
    if (!r) {
      c.ok = false;
      c.error = r.error();
      return false;
    }
    for (auto& ch : r->changed) {
      c.seen.push_back(ch);
      for (auto& it : items)
        if (it.uid == ch.uid) {
          it.flags = ch.flags;
          it.modseq = ch.modseq;
        }
    }
    return true;
  }

  // BODY[] or RFC822 (whole or partial): a large one is streamed from the file after the text so far
  // (the literal's size is the checked file size), a small one goes inline.
  void whole(Chunk& c, std::string& out, Content& m, const Att& a) {
    auto [offset, length] = range_of(m.it.size, a);
    if (length > inline_max && m.open()) {
      out += fmt::format("{{{}}}\r\n", length);
      c.add_text(std::move(out));
      out.clear();
      c.add_file(m.file, offset, length);
      return;
    }
    if (m.have_raw) append_literal(out, std::string_view(m.raw).substr(offset, length), false);
    else if (m.open()) append_literal(out, m.file->read(offset, length), false);
  }

  // One response line being built: items separated by spaces.
  struct Line {
    std::string out;
    bool first = true;
    bool uid_done = false, modseq_done = false;
    void sep() {
      if (!first) out += ' ';
      first = false;
    }
    void item(std::string_view s) {
      sep();
      out += s;
    }
  };

  // One message's FETCH response into the chunk. false: stop the command (UNKNOWN-CTE).
  bool format(Chunk& c, Item& it, Content& m, const std::optional<msg::Summary>& sum) {
    Line line{fmt::format("* {} FETCH (", it.seq)};
    if (uid_cmd) {
      line.item(fmt::format("UID {}", it.uid));
      line.uid_done = true;
    }
    for (auto& a : *atts) {
      if (!needs_file(a)) view_item(line, it, a, sum);
      else if (!body_item(c, line, m, a)) return false;
    }
    // RFC 9051 6.4.5: a \Seen set by this fetch is reported with the data.
    if (!flags_asked)
      for (auto& ch : c.seen)
        if (ch.uid == it.uid) line.item(flags_item(it));
    if (with_modseq && !line.modseq_done) line.item(fmt::format("MODSEQ ({})", it.modseq));
    line.out += ")\r\n";
    c.add_text(std::move(line.out));
    return true;
  }

  // The items the session's view and the cached summary answer.
  static void view_item(Line& line, const Item& it, const Att& a, const std::optional<msg::Summary>& sum) {
    switch (a.kind) {
      case Att::Kind::uid:
        if (line.uid_done) break;
        line.item(fmt::format("UID {}", it.uid));
        line.uid_done = true;
        break;
      case Att::Kind::flags: line.item(flags_item(it)); break;
      case Att::Kind::internaldate:
        line.item("INTERNALDATE \"" + proto::format_date_time(it.internal_date) + "\"");
        break;
      case Att::Kind::rfc822_size: line.item(fmt::format("RFC822.SIZE {}", it.size)); break;
      case Att::Kind::modseq:
        if (line.modseq_done) break;
        line.item(fmt::format("MODSEQ ({})", it.modseq));
        line.modseq_done = true;
        break;
      case Att::Kind::save_date: line.item("SAVEDATE NIL"); break;
      case Att::Kind::envelope: line.item("ENVELOPE " + sum->envelope); break;
      case Att::Kind::body_structure: line.item("BODYSTRUCTURE " + sum->body_structure); break;
      case Att::Kind::body: line.item("BODY " + sum->body); break;
      default: break;
    }
  }

  // The items that read the message: sections, the RFC822 forms, BINARY. false: UNKNOWN-CTE.
  bool body_item(Chunk& c, Line& line, Content& m, const Att& a) {
    auto& out = line.out;
    switch (a.kind) {
      case Att::Kind::body_section:
        line.item(a.name + " ");
        if (whole_message(a)) whole(c, out, m, a);
        else
          append_literal(out, partial_of(m.parsed().section(a.section.part, section_text(a.section.text), a.section.fields), a),
                         false);
        return true;
      case Att::Kind::rfc822:
        line.item("RFC822 ");
        whole(c, out, m, a);
        return true;
      case Att::Kind::rfc822_header:
        line.item("RFC822.HEADER ");
        append_literal(out, m.parsed().section({}, msg::SectionText::header), false);
        return true;
      case Att::Kind::rfc822_text:
        line.item("RFC822.TEXT ");
        append_literal(out, m.parsed().section({}, msg::SectionText::text), false);
        return true;
      case Att::Kind::binary: {
        auto b = m.parsed().binary(a.section.part);
        if (!b.ok) break;
        auto data = partial_of(b.data, a);
        line.item(a.name + " ");
        append_literal(out, data, data.find('\0') != std::string_view::npos);
        return true;
      }
      case Att::Kind::binary_size: {
        auto n = m.parsed().binary_size(a.section.part);
        if (!n) break;
        line.item(fmt::format("{} {}", a.name, *n));
        return true;
      }
      default:
        return true;
    }
    c.unknown_cte = true;
    return false;
  }
};

// Where the chunk that starts at `start` ends: chunk_size messages, and when message data is read
// (bodies) about chunk_bytes of it (at least one message, whatever its size).
std::size_t chunk_end(const std::vector<Item>& all, std::size_t start, bool bodies, bool whole_only) {
  std::size_t end = start;
  std::uint64_t bytes = 0;
  while (end < all.size() && end - start < chunk_size) {
    auto size = all[end].size;
    auto cost = whole_only && size > inline_max ? streamed_cost : size;
    if (bodies && end > start && bytes + cost > chunk_bytes) break;
    bytes += cost;
    ++end;
  }
  return end;
}

}  // namespace

// Dovecot answers a "cached message size wrong" corruption the same way: the command fails, the
// client is told the server is at fault, and nothing it cannot send is announced.
void Session::refuse_damaged(const Command& cmd, const std::vector<DamagedFile>& damaged) {
  std::vector<std::uint32_t> uids;
  for (auto& d : damaged) {
    log::error("imap {}: {} {}: message UID {} is damaged: its file has {} octets, the index says {}; not sent",
               id_, user_, log_safe(mbox_->name), d.uid, d.on_disk, d.indexed);
    uids.push_back(d.uid);
  }
  std::sort(uids.begin(), uids.end());
  no(cmd, fmt::format("[SERVERBUG] Message UID {} is damaged on the server and was not sent; the other "
                      "messages were (session {})", proto::format_sequence_set(uids), id_));
}

net::awaitable<void> Session::cmd_fetch(const Command& cmd, bool uid) {
  auto req = proto::parse_fetch(cmd.args, uid);
  if (!req) {
    bad(cmd, req.error);
    co_return;
  }
  if (req->vanished && !qresync_) {
    bad(cmd, "VANISHED needs QRESYNC enabled");
    co_return;
  }
  bool want_modseq = req->changedsince.has_value();
  for (auto& a : req->atts) want_modseq = want_modseq || a.kind == Att::Kind::modseq;
  if (want_modseq) enable_condstore();  // RFC 7162 3.1: a CONDSTORE-using command enables it
  auto idx = resolve(req->set, uid);
  if (!idx) {
    bad(cmd, "Invalid message sequence number");
    co_return;
  }
  bool file = false, header_file = true, summary = false, set_seen = false;
  for (auto& a : req->atts) {
    if (needs_file(a)) {
      file = true;
      header_file = header_file && header_only(a);
    }
    summary = summary || needs_summary(a);
    set_seen = set_seen || sets_seen(a);
  }
  if (!file) header_file = false;
  set_seen = set_seen && !mbox_->read_only;
  // RFC 7162 3.2.6: VANISHED (EARLIER) for UIDs in the set expunged since CHANGEDSINCE.
  if (req->vanished && req->changedsince) {
    auto* ms = svc_.mailstore;
    std::string user = user_, folder = mbox_->name;
    auto since = *req->changedsince;
    auto job = [ms, user, folder, since] { return ms->changes_since(user, folder, since); };
    auto ch = *co_await net::offload(*svc_.pool, std::move(job));
    if (ch) {
      std::vector<std::uint32_t> gone;
      for (auto u : ch->expunged)
        if (req->set.contains(u, mbox_->max_uid())) gone.push_back(u);
      if (!gone.empty()) send(fmt::format("* VANISHED (EARLIER) {}\r\n", proto::format_sequence_set(gone)));
    }
  }
  std::vector<Item> all;
  bool expunged = false;
  for (auto i : *idx) {
    auto& m = mbox_->messages[i];
    if (m.expunged && file) {
      expunged = true;
      continue;
    }
    if (req->changedsince && m.modseq <= *req->changedsince) continue;
    all.push_back(Item{i + 1, m.uid, m.flags, m.modseq, m.size, m.internal_date, recent_.count(m.uid) > 0});
  }
  // Items the view holds (FLAGS, UID, sizes, dates, MODSEQ): formatted here, without a trip to the
  // worker pool (a client's flag resync of a large mailbox).
  bool view_only = !file && !summary && !set_seen;
  bool whole_only = file && !header_file;
  for (auto& a : req->atts) whole_only = whole_only && (!needs_file(a) || whole_message(a));
  std::vector<DamagedFile> damaged;
  for (std::size_t start = 0, end = 0; start < all.size(); start = end) {
    end = view_only ? all.size() : chunk_end(all, start, file && !header_file, whole_only);
    Job job{svc_.mailstore, user_, mbox_->name, std::vector<Item>(all.begin() + start, all.begin() + end),
            &req->atts, uid || condstore_, set_seen, condstore_, file, header_file, summary, whole_only};
    std::optional<Chunk> done;
    if (view_only) done = job();
    else done = *co_await net::offload(*svc_.pool, std::move(job));
    auto& chunk = *done;
    if (!chunk.ok) {
      store_error(cmd, chunk.error);
      co_return;
    }
    for (auto& ch : chunk.seen) {
      if (auto i = mbox_->index_of(ch.uid); i != npos) {
        mbox_->messages[i].flags = ch.flags;
        mbox_->messages[i].modseq = ch.modseq;
      }
    }
    for (auto& p : chunk.pieces) {
      if (out_.empty()) out_.swap(p.text);
      else out_ += p.text;
      std::string().swap(p.text);
      if (p.file) co_await write_file(*p.file, p.offset, p.length);
      else if (out_.size() > flush_at) co_await flush();
    }
    expunged = expunged || chunk.expunged;
    damaged.insert(damaged.end(), chunk.damaged.begin(), chunk.damaged.end());
    if (chunk.unknown_cte) {
      no(cmd, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
      co_return;
    }
  }
  if (!damaged.empty()) {
    refuse_damaged(cmd, damaged);
    co_return;
  }
  if (expunged) {
    // RFC 9051 7.1 (RFC 2180 4.1.2): the data of messages another session expunged is gone; the
    // EXPUNGE responses come at the next command that allows them.
    no(cmd, "[EXPUNGEISSUED] Some messages were expunged before they could be fetched");
    co_return;
  }
  ok(cmd, "FETCH completed");
}

}  // namespace tern::imapd
