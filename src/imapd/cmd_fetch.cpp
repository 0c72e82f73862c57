// FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3501 6.4.5 for the RFC822 forms):
//   fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
//           [fetch-modifiers]                                  RFC 7162 CHANGEDSINCE, VANISHED
// Also BINARY / BINARY.PEEK / BINARY.SIZE (RFC 3516) and MODSEQ (RFC 7162 3.1.4).
//
// ENVELOPE, BODY and BODYSTRUCTURE come from the summary cached in the mailbox index (computed at
// delivery, or here once for a message stored without one), and header-only sections (HEADER,
// HEADER.FIELDS, RFC822.HEADER: a client's message list) from the header block the index keeps, so a
// header-list FETCH of 10,000 messages opens no message file. Other sections open the file. Messages go in chunks to the worker pool, which builds the response text; a non-PEEK body fetch
// sets \Seen first (durably) and reports the new FLAGS (RFC 9051 6.4.5).
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "base/log.hpp"
#include "imap/message/message.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"
#include "store/files.hpp"

namespace tern::imapd {

namespace proto = imap::proto;
namespace msg = imap::message;
using Att = proto::FetchAtt;

namespace {

constexpr std::size_t chunk_size = 100;

// The message's header and the empty line after it (or the whole file when it has no body).
std::string read_header(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  std::string out;
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "read " + path.string());
    }
    if (n == 0) break;
    auto scan_from = out.size() >= 3 ? out.size() - 3 : 0;
    out.append(buf, static_cast<std::size_t>(n));
    auto end = out.find("\r\n\r\n", scan_from);
    if (end != std::string::npos) {
      out.resize(end + 4);
      break;
    }
    if (out.size() > (8u << 20)) break;
  }
  ::close(fd);
  return out;
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
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
};

struct Chunk {
  std::string text;
  std::vector<store::FlagChange> seen;  // \Seen set by this fetch
  bool unknown_cte = false;
  bool expunged = false;  // a message was expunged by another session before its data was read
  Error error;
  bool ok = true;
};

struct Job {
  store::Mailstore* ms;
  std::string user, folder;
  std::vector<Item> items;
  const std::vector<Att>* atts;
  // uid_cmd: UID first in every response (UID commands, and any FETCH once CONDSTORE is enabled:
  // RFC 7162 3.2.4 asks a QRESYNC server for UID and MODSEQ in every FETCH response then).
  bool uid_cmd, set_seen, with_modseq, file, header_file, summary;
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
    if (set_seen) {
      std::vector<std::uint32_t> unseen;
      for (auto& it : items)
        if (!has_flag(it.flags, "\\Seen")) unseen.push_back(it.uid);
      if (!unseen.empty()) {
        auto r = ms->store_flags(user, folder, unseen, store::FlagMode::add, {"\\Seen"});
        if (!r) {
          c.ok = false;
          c.error = r.error();
          return;
        }
        for (auto& ch : r->changed) {
          c.seen.push_back(ch);
          for (auto& it : items)
            if (it.uid == ch.uid) {
              it.flags = ch.flags;
              it.modseq = ch.modseq;
            }
        }
      }
    }
    std::vector<std::string> summaries;
    std::vector<std::pair<std::uint32_t, std::string>> computed;
    if (summary) {
      std::vector<std::uint32_t> uids;
      for (auto& it : items) uids.push_back(it.uid);
      auto r = ms->summaries(user, folder, uids);
      if (r) summaries = std::move(*r);
      summaries.resize(items.size());
    }
    // Header-only sections come from the header blocks the index keeps (no file opened).
    std::vector<std::string> headers;
    if (file && header_file) {
      std::vector<std::uint32_t> uids;
      for (auto& it : items) uids.push_back(it.uid);
      auto r = ms->headers(user, folder, uids);
      if (r) headers = std::move(*r);
      headers.resize(items.size());
    }
    for (std::size_t k = 0; k < items.size(); ++k) {
      auto& it = items[k];
      std::string raw;
      bool have_raw = false;
      // The file only when something needs it: a FLAGS or ENVELOPE fetch of a large mailbox opens none.
      std::optional<std::filesystem::path> path;
      bool gone = false;
      auto load = [&](bool header) {
        if (have_raw || gone) return;
        if (header && k < headers.size() && !headers[k].empty()) {
          raw = std::move(headers[k]);
          return;
        }
        if (!path) {
          auto p = ms->path_of(user, folder, it.uid);
          if (!p) {
            gone = true;  // expunged meanwhile: nothing to say about it (RFC 9051 7.5.1)
            return;
          }
          path = *p;
        }
        try {
          raw = header ? read_header(*path) : store::read_file(*path);
        } catch (const std::system_error&) {
          gone = true;  // expunged between the lookup and the read
          return;
        }
        have_raw = !header;
      };
      std::optional<msg::Summary> sum;
      if (summary) {
        sum = msg::Summary::decode(summaries[k]);
        if (!sum) {
          load(false);
          sum = msg::summarize(raw);
          computed.emplace_back(it.uid, sum->encode());
        }
      }
      if (file) load(header_file);
      if (gone) {
        c.expunged = true;
        continue;
      }
      std::optional<msg::Parsed> parsed;
      auto get_parsed = [&]() -> msg::Parsed& {
        if (!parsed) parsed.emplace(raw);
        return *parsed;
      };
      std::string out = fmt::format("* {} FETCH (", it.seq);
      bool first = true;
      auto sep = [&] {
        if (!first) out += ' ';
        first = false;
      };
      bool uid_done = false, modseq_done = false;
      if (uid_cmd) {
        sep();
        out += fmt::format("UID {}", it.uid);
        uid_done = true;
      }
      for (auto& a : *atts) {
        switch (a.kind) {
          case Att::Kind::uid:
            if (uid_done) break;
            sep();
            out += fmt::format("UID {}", it.uid);
            uid_done = true;
            break;
          case Att::Kind::flags:
            sep();
            out += "FLAGS (" + it.flags + ")";
            break;
          case Att::Kind::internaldate:
            sep();
            out += "INTERNALDATE \"" + proto::format_date_time(it.internal_date) + "\"";
            break;
          case Att::Kind::rfc822_size:
            sep();
            out += fmt::format("RFC822.SIZE {}", it.size);
            break;
          case Att::Kind::modseq:
            if (modseq_done) break;
            sep();
            out += fmt::format("MODSEQ ({})", it.modseq);
            modseq_done = true;
            break;
          case Att::Kind::save_date:
            sep();
            out += "SAVEDATE NIL";
            break;
          case Att::Kind::envelope:
            sep();
            out += "ENVELOPE " + sum->envelope;
            break;
          case Att::Kind::body_structure:
            sep();
            out += "BODYSTRUCTURE " + sum->body_structure;
            break;
          case Att::Kind::body:
            sep();
            out += "BODY " + sum->body;
            break;
          case Att::Kind::body_section: {
            sep();
            std::string data = a.section.part.empty() && a.section.text == proto::Section::Text::none
                                   ? raw
                                   : get_parsed().section(a.section.part, section_text(a.section.text), a.section.fields);
            out += a.name + " ";
            append_literal(out, partial_of(data, a), false);
            break;
          }
          case Att::Kind::rfc822:
            sep();
            out += "RFC822 ";
            append_literal(out, raw, false);
            break;
          case Att::Kind::rfc822_header:
            sep();
            out += "RFC822.HEADER ";
            append_literal(out, get_parsed().section({}, msg::SectionText::header), false);
            break;
          case Att::Kind::rfc822_text:
            sep();
            out += "RFC822.TEXT ";
            append_literal(out, get_parsed().section({}, msg::SectionText::text), false);
            break;
          case Att::Kind::binary: {
            auto b = get_parsed().binary(a.section.part);
            if (!b.ok) {
              c.unknown_cte = true;
              return;
            }
            sep();
            auto data = partial_of(b.data, a);
            out += a.name + " ";
            append_literal(out, data, data.find('\0') != std::string_view::npos);
            break;
          }
          case Att::Kind::binary_size: {
            auto n = get_parsed().binary_size(a.section.part);
            if (!n) {
              c.unknown_cte = true;
              return;
            }
            sep();
            out += fmt::format("{} {}", a.name, *n);
            break;
          }
        }
      }
      // RFC 9051 6.4.5: a \Seen set by this fetch is reported with the data.
      if (!flags_asked)
        for (auto& ch : c.seen)
          if (ch.uid == it.uid) {
            sep();
            out += "FLAGS (" + it.flags + ")";
          }
      if (with_modseq && !modseq_done) {
        sep();
        out += fmt::format("MODSEQ ({})", it.modseq);
      }
      out += ")\r\n";
      c.text += out;
    }
    if (!computed.empty()) {
      auto r = ms->set_summaries(user, folder, computed);
      if (!r) log::warn("imap: caching summaries in {}: {}", folder, r.error().message);
    }
  }
};

}  // namespace

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
  if (want_modseq) condstore_ = true;  // RFC 7162 3.1: a CONDSTORE-using command enables it
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
    all.push_back(Item{i + 1, m.uid, m.flags, m.modseq, m.size, m.internal_date});
  }
  // Items the view holds (FLAGS, UID, sizes, dates, MODSEQ): formatted here, without a trip to the
  // worker pool (a client's flag resync of a large mailbox).
  bool view_only = !file && !summary && !set_seen;
  std::size_t step = view_only ? all.size() + 1 : chunk_size;
  for (std::size_t start = 0; start < all.size(); start += step) {
    auto end = std::min(all.size(), start + step);
    Job job{svc_.mailstore, user_, mbox_->name, std::vector<Item>(all.begin() + start, all.begin() + end),
            &req->atts, uid || condstore_, set_seen, condstore_, file, header_file, summary};
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
    out_ += chunk.text;
    expunged = expunged || chunk.expunged;
    if (chunk.unknown_cte) {
      no(cmd, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
      co_return;
    }
    if (out_.size() > 256 * 1024) co_await flush();
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
