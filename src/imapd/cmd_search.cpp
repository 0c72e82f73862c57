// SEARCH, SORT and THREAD:
//   search = "SEARCH" [search-return-opts] SP search-program    RFC 9051 6.4.4, RFC 4731 ESEARCH,
//                                                                RFC 5182 SEARCHRES, RFC 7162 MODSEQ
//   sort   = "SORT" [sort-return-opts] SP sort-criteria SP charset 1*(SP search-key)
//                                                                RFC 5256, RFC 5267 ESORT, RFC 5957
//   thread = "THREAD" SP thread-alg SP charset 1*(SP search-key) RFC 5256
// Flags, sizes, UIDs, sequence numbers and internal dates come from the session's view; sent dates
// and sort keys from the cached summaries; text keys read and parse the message (imap/message),
// once per message however many keys there are. All of it runs on the worker pool.
//
// Bounds (a client controls both the program and, by APPEND, the messages): the BODY and TEXT
// strings of a program are matched together, one pass over each message's decoded text
// (imap/message/needles), so a tree of thousands of keys costs about what one key costs; a command
// runs for at most search_time_limit (checked between messages; then NO [LIMIT], RFC 5530); and it
// stops between messages when the client closes the connection or the server shuts down (a
// watcher on the session's strand looks every client_check_interval).
//
// Errors: a message expunged meanwhile (its row or file gone) is no match; any other failure to read
// one fails the command (logged, NO [SERVERBUG] with the session id): a SEARCH never answers as if
// an unreadable message did not match.
#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <system_error>
#include <unordered_map>

#include "base/log.hpp"
#include "base/strings.hpp"
#include "mime/address.hpp"
#include "imap/message/message.hpp"
#include "imap/message/needles.hpp"
#include "imapd/session.hpp"
#include "imapd/util.hpp"
#include "store/files.hpp"

namespace tern::imapd {

namespace proto = imap::proto;
namespace msg = imap::message;
using Key = proto::SearchKey;
using Op = Key::Op;

// Long enough for an honest search of a large mailbox (Dovecot sets no limit at all), short enough
// that clients, which mostly give up after a minute or two, still get the answer.
inline constexpr std::chrono::seconds search_time_limit{60};
inline constexpr std::chrono::milliseconds client_check_interval{200};

namespace {

struct Candidate {
  std::uint32_t seq = 0;
  std::uint32_t uid = 0;
  std::string flags;
  std::uint64_t modseq = 0;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
  bool recent = false;  // \Recent in this session (IMAP4rev1)
};

std::int64_t day_of(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

// What evaluating a key needs beyond the view: the cached summary (sent dates), the header (cached
// in the index too), or the whole message (BODY, TEXT).
void needs(const Key& k, bool& summary, bool& header, bool& body) {
  switch (k.op) {
    case Op::sentbefore: case Op::senton: case Op::sentsince:
      summary = true;
      break;
    case Op::bcc: case Op::cc: case Op::from: case Op::to: case Op::subject: case Op::header:
      header = true;
      break;
    case Op::body: case Op::text:
      body = true;
      break;
    default:
      break;
  }
  for (auto& c : k.children) needs(c, summary, header, body);
}

bool uses_modseq(const Key& k) {
  if (k.op == Op::modseq) return true;
  for (auto& c : k.children)
    if (uses_modseq(c)) return true;
  return false;
}

struct Context {
  std::uint32_t messages = 0;  // '*' for sequence numbers
  std::uint32_t max_uid = 0;   // '*' for UIDs
  const std::vector<std::uint32_t>* saved = nullptr;
};

bool any_header(const msg::Parsed& p, std::string_view name, std::string_view needle) {
  for (auto& v : p.header_values(name))
    if (msg::contains(v, needle)) return true;
  return false;
}

// FROM, TO, CC and BCC match as Dovecot's do: the decoded field (display names, groups), or the
// addr-spec of any address in it with its local part unquoted, so "bob"@x matches bob@x.
bool any_address(const msg::Parsed& p, std::string_view name, std::string_view needle) {
  for (auto& v : p.header_values(name)) {
    if (msg::contains(v, needle)) return true;
    for (auto& a : mime::parse_addresses(v))
      if (a.kind == mime::Address::Kind::mailbox && msg::contains(a.mailbox + "@" + a.host, needle))
        return true;
  }
  return false;
}

// The BODY and TEXT strings of one program, each in the NeedleSet of its key (BODY reads the body
// text, TEXT the header text and then the body text).
struct TextKeys {
  msg::NeedleSet body, text;
  std::unordered_map<const Key*, std::uint32_t> index;  // leaf -> its string in body or text

  explicit TextKeys(const Key& program) {
    collect(program);
    body.build();
    text.build();
  }
  void collect(const Key& k) {
    if (k.op == Op::body) index[&k] = body.add(k.arg);
    if (k.op == Op::text) index[&k] = text.add(k.arg);
    for (auto& c : k.children) collect(c);
  }
};

// Which strings one message holds.
struct Found {
  const TextKeys* keys = nullptr;
  std::vector<bool> body, text;

  Found(const TextKeys& k, const msg::Parsed& p) : keys(&k) {
    if (k.body.size()) body = k.body.find({p.body_text()});
    if (k.text.size()) text = k.text.find({p.header_text(), p.body_text()});
  }
  bool has(const Key& k) const { return (k.op == Op::body ? body : text)[keys->index.at(&k)]; }
};

bool in_set(const proto::SequenceSet& set, std::uint32_t n, std::uint32_t star, const Context& ctx, bool uid,
            std::uint32_t the_uid) {
  if (set.saved) return std::find(ctx.saved->begin(), ctx.saved->end(), the_uid) != ctx.saved->end();
  (void)uid;
  return set.contains(n, star);
}

// `p` and `found` are null when the program has no header or text keys.
bool eval(const Key& k, const Candidate& c, const msg::Summary* sum, const msg::Parsed* p, const Found* found,
          const Context& ctx) {
  switch (k.op) {
    case Op::all: return true;
    case Op::and_:
      for (auto& ch : k.children)
        if (!eval(ch, c, sum, p, found, ctx)) return false;
      return true;
    case Op::or_:
      for (auto& ch : k.children)
        if (eval(ch, c, sum, p, found, ctx)) return true;
      return false;
    case Op::not_: return !eval(k.children.at(0), c, sum, p, found, ctx);
    case Op::seqset: return in_set(k.set, c.seq, ctx.messages, ctx, false, c.uid);
    case Op::uid: return in_set(k.set, c.uid, ctx.max_uid, ctx, true, c.uid);
    case Op::answered: return has_flag(c.flags, "\\Answered");
    case Op::deleted: return has_flag(c.flags, "\\Deleted");
    case Op::draft: return has_flag(c.flags, "\\Draft");
    case Op::flagged: return has_flag(c.flags, "\\Flagged");
    case Op::seen: return has_flag(c.flags, "\\Seen");
    case Op::unanswered: return !has_flag(c.flags, "\\Answered");
    case Op::undeleted: return !has_flag(c.flags, "\\Deleted");
    case Op::undraft: return !has_flag(c.flags, "\\Draft");
    case Op::unflagged: return !has_flag(c.flags, "\\Flagged");
    case Op::unseen: return !has_flag(c.flags, "\\Seen");
    // RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT (nothing is recent in IMAP4rev2).
    case Op::recent: return c.recent;
    case Op::new_: return c.recent && !has_flag(c.flags, "\\Seen");
    case Op::old: return !c.recent;
    case Op::keyword: return has_flag(c.flags, k.arg);
    case Op::unkeyword: return !has_flag(c.flags, k.arg);
    case Op::larger: return c.size > k.number;
    case Op::smaller: return c.size < k.number;
    case Op::modseq: return c.modseq >= k.number;
    case Op::before: return day_of(c.internal_date) < k.date;
    case Op::on: return day_of(c.internal_date) == k.date;
    case Op::since: return day_of(c.internal_date) >= k.date;
    case Op::sentbefore: return sum && sum->sent_day && sum->sent_day < k.date;
    case Op::senton: return sum && sum->sent_day == k.date;
    case Op::sentsince: return sum && sum->sent_day && sum->sent_day >= k.date;
    case Op::bcc: return p && any_address(*p, "Bcc", k.arg);
    case Op::cc: return p && any_address(*p, "Cc", k.arg);
    case Op::from: return p && any_address(*p, "From", k.arg);
    case Op::to: return p && any_address(*p, "To", k.arg);
    case Op::subject: return p && any_header(*p, "Subject", k.arg);
    case Op::header: {
      if (!p) return false;
      auto values = p->header_values(k.arg);
      // RFC 9051 6.4.4: HEADER name "" matches every message that has the field.
      for (auto& v : values)
        if (msg::contains(v, k.arg2)) return true;
      return false;
    }
    case Op::body: return found && found->has(k);
    case Op::text: return found && found->has(k);
  }
  return false;
}

// Why a search stopped before the end.
enum class Stop { none, too_long, client_gone, shutting_down };

struct SearchOutcome {
  std::vector<std::size_t> matches;   // positions in the candidate list
  std::vector<msg::Summary> summaries;  // per match, when asked for
  std::uint64_t max_modseq = 0;
  Error error;
  bool ok = true;
  Stop stop = Stop::none;
  std::size_t done = 0;  // candidates evaluated
};

// A message's bytes; nullopt when it was expunged meanwhile (its index row or its file is gone).
// Any other failure throws (std::system_error for a read, std::runtime_error for the index).
std::optional<std::string> read_message(store::Mailstore& ms, const std::string& user, const std::string& folder,
                                        std::uint32_t uid) {
  auto opened = ms.open_message(user, folder, uid);
  if (!opened) {
    if (opened.error().kind == Error::Kind::not_found) return std::nullopt;
    throw std::runtime_error(opened.error().message);
  }
  return (*opened)->read(0, (*opened)->size());
}

// Loads summaries (from the index, or computed from the file and cached) for the given UIDs; a
// message expunged meanwhile keeps an empty summary.
std::vector<msg::Summary> load_summaries(store::Mailstore& ms, const std::string& user, const std::string& folder,
                                         const std::vector<std::uint32_t>& uids) {
  std::vector<msg::Summary> out(uids.size());
  auto cached = ms.summaries(user, folder, uids);
  std::vector<std::pair<std::uint32_t, std::string>> computed;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (cached && i < cached->size())
      if (auto s = msg::Summary::decode((*cached)[i])) {
        out[i] = std::move(*s);
        continue;
      }
    auto raw = read_message(ms, user, folder, uids[i]);
    if (!raw) continue;
    out[i] = msg::summarize(*raw);
    computed.emplace_back(uids[i], out[i].encode());
  }
  if (!computed.empty()) (void)ms.set_summaries(user, folder, computed);
  return out;
}

struct SearchJob {
  store::Mailstore* ms;
  std::string user, folder;
  std::vector<Candidate> candidates;
  const Key* key;
  Context ctx;
  bool want_summaries;
  std::shared_ptr<const std::atomic<Stop>> stop;  // set by the session's watcher (run_job)
  std::chrono::steady_clock::time_point deadline;

  SearchOutcome operator()() {
    SearchOutcome out;
    try {
      run(out);
    } catch (const std::exception& e) {
      out.ok = false;
      out.error = Error{e.what()};
      if (auto* se = dynamic_cast<const std::system_error*>(&e)) out.error = Error::from(*se);
    }
    return out;
  }

  Stop should_stop() const {
    if (stop)
      if (auto s = stop->load(); s != Stop::none) return s;
    return std::chrono::steady_clock::now() >= deadline ? Stop::too_long : Stop::none;
  }

  void run(SearchOutcome& out) {
    bool summary = false, header = false, body = false;
    needs(*key, summary, header, body);
    std::vector<std::uint32_t> uids;
    for (auto& c : candidates) uids.push_back(c.uid);
    std::vector<msg::Summary> sums;
    if (summary) sums = load_summaries(*ms, user, folder, uids);
    std::vector<std::string> headers;
    if (header && !body) {
      auto r = ms->headers(user, folder, uids);
      if (r) headers = std::move(*r);
      headers.resize(uids.size());
    }
    std::optional<TextKeys> texts;
    if (body) texts.emplace(*key);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      out.done = i;
      if ((out.stop = should_stop()) != Stop::none) return;
      if (!matches(i, summary ? &sums[i] : nullptr, header || body, headers, texts ? &*texts : nullptr)) continue;
      out.matches.push_back(i);
      out.max_modseq = std::max(out.max_modseq, candidates[i].modseq);
    }
    out.done = candidates.size();
    if (want_summaries) {
      std::vector<std::uint32_t> hits;
      for (auto i : out.matches) hits.push_back(candidates[i].uid);
      out.summaries = load_summaries(*ms, user, folder, hits);
    }
  }

  // Whether candidate i matches; a message expunged meanwhile does not.
  bool matches(std::size_t i, const msg::Summary* sum, bool read, std::vector<std::string>& headers,
               const TextKeys* texts) const {
    auto& c = candidates[i];
    if (!read) return eval(*key, c, sum, nullptr, nullptr, ctx);
    std::string raw;
    if (!texts && !headers[i].empty()) {
      raw = std::move(headers[i]);  // header keys: the index's copy, no file opened
    } else {
      auto file = read_message(*ms, user, folder, c.uid);
      if (!file) return false;
      raw = std::move(*file);
    }
    msg::Parsed p(raw);
    if (!texts) return eval(*key, c, sum, &p, nullptr, ctx);
    Found found(*texts, p);
    return eval(*key, c, sum, &p, &found, ctx);
  }
};

// The client's side of a running search, on the session's strand.
struct Watch {
  explicit Watch(const boost::asio::any_io_executor& ex) : timer(ex) {}
  std::shared_ptr<std::atomic<Stop>> stop = std::make_shared<std::atomic<Stop>>(Stop::none);
  bool done = false;  // the job has returned: the socket may be gone
  boost::asio::steady_timer timer;
};

// The peer has closed its side (FIN or reset): POLLRDHUP, even with unread commands still queued
// (as Dovecot, a session ends at the client's EOF, so they would never be answered anyway).
bool client_gone(net::tcp::socket& socket) {
  if (!socket.is_open()) return true;
  pollfd p{socket.native_handle(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// A free coroutine taking its state by value (not a capturing lambda: see offload in net.hpp).
net::awaitable<void> watch_client(std::shared_ptr<Watch> w, net::tcp::socket* socket,
                                  const std::atomic<bool>* stopping) {
  for (;;) {
    w->timer.expires_after(client_check_interval);
    boost::system::error_code ec;
    co_await w->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (w->done) co_return;
    if (client_gone(*socket)) *w->stop = Stop::client_gone;
    else if (stopping && *stopping) *w->stop = Stop::shutting_down;
    if (*w->stop != Stop::none) co_return;
  }
}

// Runs `job` on the pool with its time limit, stopping it between messages when the client goes
// away or the server shuts down. `job` by reference: a coroutine's by-value parameters are what GCC 12
// miscopies (net.hpp).
net::awaitable<SearchOutcome> run_job(boost::asio::thread_pool& pool, net::tcp::socket& socket,
                                      const std::atomic<bool>* stopping, SearchJob& job) {
  auto w = std::make_shared<Watch>(socket.get_executor());
  job.stop = w->stop;
  job.deadline = std::chrono::steady_clock::now() + search_time_limit;
  boost::asio::co_spawn(socket.get_executor(), watch_client(w, &socket, stopping), boost::asio::detached);
  auto res = *co_await net::offload(pool, std::move(job));
  w->done = true;
  w->timer.cancel();
  co_return res;
}

// The reply to a search that stopped early; "" when it ran to the end. Logged with how far it got.
std::string_view stop_reply(const SearchOutcome& res, std::string_view session_id, std::string_view command) {
  if (res.stop == Stop::none) return "";
  log::info("imap {}: {} stopped after {} messages: {}", session_id, command, res.done,
            res.stop == Stop::too_long ? "time limit" : res.stop == Stop::client_gone ? "client gone" : "shutdown");
  switch (res.stop) {
    case Stop::none: break;
    case Stop::too_long: return "[LIMIT] Search too complex or mailbox too large; try a narrower search";
    case Stop::client_gone: return "[UNAVAILABLE] Search stopped: the connection closed";
    case Stop::shutting_down: return "[UNAVAILABLE] Search stopped: the server is shutting down";
  }
  return "";
}

std::string join_numbers(const std::vector<std::uint32_t>& v) {
  std::string out;
  for (auto n : v) out += fmt::format(" {}", n);
  return out;
}

// i;ascii-casemap (RFC 4790 9.2), the comparator RFC 5256 asks for.
int casemap_compare(std::string_view a, std::string_view b) {
  auto n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'a' && x <= 'z') x -= 32;
    if (y >= 'a' && y <= 'z') y -= 32;
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

}  // namespace

// Shared by SEARCH, SORT and THREAD: evaluates `key` over the whole view.
static std::vector<Candidate> candidates_of(const Mailbox& mb, const std::set<std::uint32_t>& recent) {
  std::vector<Candidate> out;
  out.reserve(mb.messages.size());
  for (std::size_t i = 0; i < mb.messages.size(); ++i) {
    auto& m = mb.messages[i];
    out.push_back(Candidate{static_cast<std::uint32_t>(i + 1), m.uid, m.flags, m.modseq, m.size, m.internal_date,
                            recent.count(m.uid) > 0});
  }
  return out;
}

net::awaitable<void> Session::cmd_search(const Command& cmd, bool uid) {
  auto req = proto::parse_search(cmd.args);
  if (!req) {
    if (req.code.empty()) bad(cmd, req.error);
    else no(cmd, "[" + req.code + "] " + req.error);
    co_return;
  }
  bool modseq = uses_modseq(req->key);
  if (modseq) enable_condstore();
  SearchJob job{svc_.mailstore, user_, mbox_->name, candidates_of(*mbox_, recent_), &req->key,
                Context{static_cast<std::uint32_t>(mbox_->messages.size()), mbox_->max_uid(), &mbox_->saved}, false};
  auto res = co_await run_job(*svc_.pool, stream_.socket(), svc_.stopping, job);
  if (auto why = stop_reply(res, id_, cmd.name); !why.empty()) {
    no(cmd, why);
    co_return;
  }
  if (!res.ok) {
    store_error(cmd, res.error);
    co_return;
  }
  // Numbers from the view as it is now (the job worked on a copy of it).
  std::vector<std::uint32_t> numbers, uids;
  std::vector<std::uint64_t> modseqs;
  auto cands = candidates_of(*mbox_, recent_);
  for (auto i : res.matches) {
    if (i >= cands.size()) continue;
    numbers.push_back(uid ? cands[i].uid : cands[i].seq);
    uids.push_back(cands[i].uid);
    modseqs.push_back(cands[i].modseq);
  }
  if (req->ret_save) {
    // RFC 5182 2.1: with MIN or MAX alone, only those are saved.
    if ((req->ret_min || req->ret_max) && !req->ret_all && !req->ret_count && !uids.empty()) {
      mbox_->saved.clear();
      if (req->ret_min) mbox_->saved.push_back(uids.front());
      if (req->ret_max && uids.size() > 0 && (!req->ret_min || uids.back() != uids.front()))
        mbox_->saved.push_back(uids.back());
    } else {
      mbox_->saved = uids;
    }
  }
  // RFC 9051 6.4.4: an IMAP4rev2 session always gets ESEARCH (ALL when no RETURN options).
  if (!req->has_return && !rev2_) {
    send("* SEARCH" + join_numbers(numbers) + (modseq && !numbers.empty() ? fmt::format(" (MODSEQ {})", res.max_modseq) : "") +
         "\r\n");
  } else {
    bool only_save = req->ret_save && !req->ret_min && !req->ret_max && !req->ret_all && !req->ret_count;
    if (!only_save) {
      bool all = req->ret_all || (!req->ret_min && !req->ret_max && !req->ret_count && !req->ret_save);
      std::string out = fmt::format("* ESEARCH (TAG \"{}\"){}", cmd.tag, uid ? " UID" : "");
      if (!numbers.empty()) {
        if (req->ret_min) out += fmt::format(" MIN {}", numbers.front());
        if (req->ret_max) out += fmt::format(" MAX {}", numbers.back());
      }
      if (req->ret_count) out += fmt::format(" COUNT {}", numbers.size());
      if (all && !numbers.empty()) out += " ALL " + proto::format_sequence_set(numbers);
      if (modseq && !numbers.empty()) {
        // RFC 7162 3.1.5: with MIN and/or MAX only, the MODSEQ of the message(s) returned.
        auto shown = res.max_modseq;
        if (!all && !req->ret_count) {
          shown = 0;
          if (req->ret_min) shown = std::max(shown, modseqs.front());
          if (req->ret_max) shown = std::max(shown, modseqs.back());
        }
        out += fmt::format(" MODSEQ {}", shown);
      }
      send(out + "\r\n");
    }
  }
  ok(cmd, "SEARCH completed");
}

net::awaitable<void> Session::cmd_sort(const Command& cmd, bool uid) {
  auto req = proto::parse_sort(cmd.args);
  if (!req) {
    if (req.code.empty()) bad(cmd, req.error);
    else no(cmd, "[" + req.code + "] " + req.error);
    co_return;
  }
  SearchJob job{svc_.mailstore, user_, mbox_->name, candidates_of(*mbox_, recent_), &req->search.key,
                Context{static_cast<std::uint32_t>(mbox_->messages.size()), mbox_->max_uid(), &mbox_->saved}, true};
  auto cands = job.candidates;
  auto res = co_await run_job(*svc_.pool, stream_.socket(), svc_.stopping, job);
  if (auto why = stop_reply(res, id_, cmd.name); !why.empty()) {
    no(cmd, why);
    co_return;
  }
  if (!res.ok) {
    store_error(cmd, res.error);
    co_return;
  }
  std::vector<std::size_t> order(res.matches.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  using K = proto::SortCriterion::Key;
  auto date_of = [&](std::size_t k) {
    auto& s = res.summaries[k];
    // RFC 5256 3: a missing or unparsable Date: sorts by the internal date.
    return s.sent_date ? s.sent_date : cands[res.matches[k]].internal_date;
  };
  auto cmp = [&](std::size_t a, std::size_t b) {
    for (auto& c : req->criteria) {
      int r = 0;
      auto& sa = res.summaries[a];
      auto& sb = res.summaries[b];
      auto& ca = cands[res.matches[a]];
      auto& cb = cands[res.matches[b]];
      switch (c.key) {
        case K::arrival: r = ca.internal_date < cb.internal_date ? -1 : ca.internal_date > cb.internal_date; break;
        case K::date: {
          auto da = date_of(a), db = date_of(b);
          r = da < db ? -1 : da > db;
          break;
        }
        case K::size: r = ca.size < cb.size ? -1 : ca.size > cb.size; break;
        case K::subject: r = casemap_compare(sa.base_subject, sb.base_subject); break;
        case K::from: r = casemap_compare(sa.sort_from, sb.sort_from); break;
        case K::to: r = casemap_compare(sa.sort_to, sb.sort_to); break;
        case K::cc: r = casemap_compare(sa.sort_cc, sb.sort_cc); break;
        case K::display_from: r = casemap_compare(sa.display_from, sb.display_from); break;
        case K::display_to: r = casemap_compare(sa.display_to, sb.display_to); break;
      }
      if (c.reverse) r = -r;
      if (r) return r < 0;
    }
    // RFC 5256 3: ties are broken by sequence number.
    return cands[res.matches[a]].seq < cands[res.matches[b]].seq;
  };
  std::stable_sort(order.begin(), order.end(), cmp);
  std::vector<std::uint32_t> numbers;
  for (auto k : order) {
    auto& c = cands[res.matches[k]];
    numbers.push_back(uid ? c.uid : c.seq);
  }
  if (req->search.has_return) {
    // RFC 5267 3: ESORT; ALL keeps the sort order (a comma list, never merged into ranges).
    std::string out = fmt::format("* ESEARCH (TAG \"{}\"){}", cmd.tag, uid ? " UID" : "");
    if (!numbers.empty()) {
      if (req->search.ret_min) out += fmt::format(" MIN {}", numbers.front());
      if (req->search.ret_max) out += fmt::format(" MAX {}", numbers.back());
    }
    if (req->search.ret_count) out += fmt::format(" COUNT {}", numbers.size());
    bool all = req->search.ret_all || (!req->search.ret_min && !req->search.ret_max && !req->search.ret_count);
    if (all && !numbers.empty()) {
      std::string list;
      for (auto n : numbers) list += (list.empty() ? "" : ",") + std::to_string(n);
      out += " ALL " + list;
    }
    send(out + "\r\n");
  } else {
    send("* SORT" + join_numbers(numbers) + "\r\n");
  }
  ok(cmd, "SORT completed");
}

net::awaitable<void> Session::cmd_thread(const Command& cmd, bool uid) {
  auto req = proto::parse_thread(cmd.args);
  if (!req) {
    if (req.code.empty()) bad(cmd, req.error);
    else no(cmd, "[" + req.code + "] " + req.error);
    co_return;
  }
  SearchJob job{svc_.mailstore, user_, mbox_->name, candidates_of(*mbox_, recent_), &req->key,
                Context{static_cast<std::uint32_t>(mbox_->messages.size()), mbox_->max_uid(), &mbox_->saved}, true};
  auto cands = job.candidates;
  auto res = co_await run_job(*svc_.pool, stream_.socket(), svc_.stopping, job);
  if (auto why = stop_reply(res, id_, cmd.name); !why.empty()) {
    no(cmd, why);
    co_return;
  }
  if (!res.ok) {
    store_error(cmd, res.error);
    co_return;
  }
  std::vector<msg::ThreadMessage> input;
  for (std::size_t k = 0; k < res.matches.size(); ++k) {
    auto& c = cands[res.matches[k]];
    input.push_back(msg::thread_message(uid ? c.uid : c.seq, res.summaries[k], c.internal_date));
  }
  auto text = req->algorithm == proto::ThreadRequest::Algorithm::references ? msg::thread_references(std::move(input))
                                                                            : msg::thread_orderedsubject(std::move(input));
  send(text.empty() ? std::string("* THREAD\r\n") : "* THREAD " + text + "\r\n");
  ok(cmd, "THREAD completed");
}

}  // namespace tern::imapd
