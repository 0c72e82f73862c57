#include "imapd/session.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/log.hpp"
#include "imapd/deflate.hpp"
#include "imapd/util.hpp"
#include "net/memory.hpp"

namespace tern::imapd {

namespace proto = imap::proto;

// --- UserSessions ---------------------------------------------------------------------------------

bool UserSessions::acquire(const std::string& user) {
  std::lock_guard lock(mu_);
  auto& n = count_[user];
  if (n >= max_sessions_per_user) return false;
  ++n;
  return true;
}

void UserSessions::release(const std::string& user) {
  std::lock_guard lock(mu_);
  auto it = count_.find(user);
  if (it == count_.end()) return;
  if (--it->second == 0) count_.erase(it);
}

bool CaseLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lx = (x >= 'A' && x <= 'Z') ? x + 32 : x;
    auto ly = (y >= 'A' && y <= 'Z') ? y + 32 : y;
    return lx < ly;
  });
}

void LiveSessions::add(Session* s) {
  std::lock_guard lock(mu_);
  live_.insert(s);
}

void LiveSessions::remove(Session* s) {
  std::lock_guard lock(mu_);
  live_.erase(s);
}

void LiveSessions::shutdown() {
  std::lock_guard lock(mu_);
  for (auto* s : live_) {
    boost::asio::post(s->executor(), [this, s] {
      {
        std::lock_guard inner(mu_);
        if (!live_.count(s)) return;
      }
      s->kick();
    });
  }
}

std::size_t Mailbox::index_of(std::uint32_t uid) const {
  auto it = std::lower_bound(messages.begin(), messages.end(), uid,
                             [](const Message& m, std::uint32_t u) { return m.uid < u; });
  if (it == messages.end() || it->uid != uid) return npos;
  return static_cast<std::size_t>(it - messages.begin());
}

// --- the session ----------------------------------------------------------------------------------

namespace {

// APPENDLIMIT (RFC 7889) is the SMTP message size limit: what could arrive by mail can be appended.
// LITERAL+ (RFC 7888): non-synchronizing literals up to the same size.
proto::Limits session_limits(const config::Config& cfg) {
  proto::Limits l;
  l.max_literal = cfg.limits.max_message_size;
  l.max_nonsync_literal = cfg.limits.max_message_size;
  l.max_command = cfg.limits.max_message_size + (1u << 20);
  return l;
}

}  // namespace

net::awaitable<void> run_session(std::unique_ptr<net::Stream> owned, ListenerKind kind, Services services,
                                 std::string session_id) {
  net::Stream& stream = *owned;
  auto* pool = services.pool;
  Session s(stream, kind, std::move(services), session_id);
  std::string why;
  try {
    stream.start_watchdog();
    co_await s.run();
    why = s.end_reason();
  } catch (const boost::system::system_error& e) {
    why = stream.describe_end(e);
  } catch (const std::exception& e) {
    log::error("imap {}: internal error: {}", session_id, e.what());
    why = "internal error";
  }
  if (stream.timed_out()) co_await s.say_timeout();
  log::info("imap {}: disconnect from {}{}: {}", session_id, stream.peer_address(),
            s.user().empty() ? "" : " (" + s.user() + ")", why);
  stream.close();
  if (s.streamed() >= trim_after && pool)
    co_await net::offload(*pool, [] {
      net::release_free_memory();
      return true;
    });
}

Session::Session(net::Stream& stream, ListenerKind kind, Services services, std::string id)
    : stream_(stream),
      kind_(kind),
      svc_(std::move(services)),
      cfg_(*svc_.config),
      id_(std::move(id)),
      reader_(session_limits(cfg_)) {
  svc_.shared->live.add(this);
}

Session::~Session() {
  svc_.shared->live.remove(this);
  if (counted_) svc_.shared->sessions.release(user_);
}

void Session::kick() {
  // An idling session's ticker says BYE itself (woken now); a session in the middle of a command
  // finishes it.
  if (idling_) {
    if (tick_timer_) tick_timer_->cancel();
    return;
  }
  // Not reading (a command or a write in progress): the next fill() sees the flag and says BYE.
  kicked_ = true;
  if (!reading_) return;
  boost::system::error_code ignored;
  stream_.socket().cancel(ignored);
}

void Session::tagged(const Command& cmd, std::string_view status, std::string_view text) {
  tagged_ += fmt::format("{} {} {}\r\n", cmd.tag, status, text);
}

void Session::bad(const Command& cmd, std::string_view text) {
  protocol_error();
  tagged(cmd, "BAD", text);
}

void Session::protocol_error() { ++errors_; }

void Session::internal_error(const Command& cmd, std::string_view what) {
  log::error("imap {}: {}", id_, what);
  no(cmd, fmt::format("[SERVERBUG] Internal error, please try again later (session {})", id_));
}

// Every store error's reply, by kind, in one place (as Dovecot's imap_get_error_string): RFC 5530's
// response codes tell the client whether to retry, give up, or tell the user.
void Session::store_error(const Command& cmd, const Error& e) {
  switch (e.kind) {
    case Error::Kind::not_found:
      no(cmd, "[NONEXISTENT] No such mailbox");
      return;
    case Error::Kind::exists:
      no(cmd, "[ALREADYEXISTS] Mailbox already exists");
      return;
    case Error::Kind::invalid:
      no(cmd, "[CANNOT] " + e.message);
      return;
    case Error::Kind::limit:
      no(cmd, "[LIMIT] " + e.message);
      return;
    case Error::Kind::over_quota:
      no(cmd, "[OVERQUOTA] " + e.message);
      return;
    case Error::Kind::expunged:
      no(cmd, "[EXPUNGEISSUED] " + e.message);
      return;
    case Error::Kind::in_use:
      no(cmd, "[INUSE] " + e.message);
      return;
    case Error::Kind::temporary:
      log::warn("imap {}: {}", id_, e.message);
      no(cmd, "[UNAVAILABLE] The mailbox is busy; try again later");
      return;
    case Error::Kind::no_space:
      log::error("imap {}: {}", id_, e.message);
      no(cmd, "[SERVERBUG] The server is out of disk space; try again later");
      return;
    case Error::Kind::failed:
      break;
  }
  internal_error(cmd, e.message);
}

net::awaitable<void> Session::say_timeout() {
  // RFC 9051 7.1.5: BYE before the server closes the connection.
  std::string bye = "* BYE Disconnected: timeout\r\n";
  if (deflate_) bye = deflate_->compress(bye);
  co_await stream_.send_farewell(bye);
}

net::awaitable<void> Session::flush() {
  if (out_.empty()) co_return;  // a write has its own deadline: the read deadline stays as it was
  if (deflate_) {
    std::string z = deflate_->compress(out_);
    out_.clear();
    co_await stream_.write_pending(z);
    co_return;
  }
  co_await stream_.write_pending(out_);
}

net::awaitable<void> Session::write_now(std::string_view data) {
  co_await flush();
  stream_.set_timeout(cfg_.limits.command_timeout);
  if (deflate_) {
    std::string z = deflate_->compress(data);
    co_await stream_.write(z);
    co_return;
  }
  co_await stream_.write(data);
}

net::awaitable<void> Session::write_file(const store::MessageStream& message, std::uint64_t offset,
                                         std::uint64_t length) {
  std::string block(std::min<std::uint64_t>(length, file_block), '\0');
  while (length > 0) {
    auto want = std::min<std::uint64_t>(length, block.size());
    const store::MessageStream* m = &message;
    auto read = [m, buf = block.data(), offset, want] { return m->read_at(buf, want, offset); };
    auto got = *co_await net::offload(*svc_.pool, std::move(read));
    if (got < 0 || static_cast<std::uint64_t>(got) != want)
      throw std::runtime_error(fmt::format("a message file gave {} of the {} octets announced (changed on disk while "
                                           "being sent); closing the session", got, want));
    co_await write_now(std::string_view(block.data(), want));
    streamed_ += want;
    offset += want;
    length -= want;
  }
}

net::awaitable<bool> Session::fill() {
  if (!idling_) co_await flush();
  // An idle session keeps no buffer: most of its time is spent waiting here.
  if (in_.empty() && in_.capacity() > 1024) std::string().swap(in_);
  // Waiting for a command: idle_timeout (login_timeout before login); once it has begun, the whole
  // command, literals included (at min_data_rate), within command_timeout.
  clock_.arm(command_started_, state_ == State::not_authenticated ? login_timeout : idle_timeout,
             cfg_.limits.command_timeout, cfg_.limits.min_data_rate);
  if (deflate_) {
    for (;;) {
      bool more = co_await stream_.read_append(deflate_->raw);
      if (!more) co_return false;
      auto before = in_.size();
      if (!deflate_->inflate_into(in_)) {
        why_ = "invalid compressed data";
        co_return false;
      }
      if (in_.size() > before) co_return true;
    }
  }
  bool more = false;
  bool bye = kicked_ && !idling_;
  if (!bye) {
    reading_ = true;
    try {
      more = co_await stream_.read_append(in_);
    } catch (const boost::system::system_error& e) {
      reading_ = false;
      if (!kicked_ || e.code() != boost::asio::error::operation_aborted) throw;
      bye = true;
    }
    reading_ = false;
  }
  if (bye) {
    // RFC 9051 7.1.5: the server is going down; say so before closing.
    send("* BYE Server shutting down\r\n");
    co_await flush();
    why_ = "server shutting down";
    state_ = State::logout;
    co_return false;
  }
  co_return more;
}

net::awaitable<std::optional<std::string>> Session::read_line(std::size_t max) {
  for (;;) {
    bool too_long = false;
    auto line = reader_.next_line(in_, max, too_long);
    if (line) co_return line;
    if (too_long) co_return std::nullopt;
    if (!co_await fill()) throw boost::system::system_error(boost::asio::error::eof);
  }
}

net::awaitable<void> Session::pause(std::chrono::milliseconds d) {
  boost::asio::steady_timer timer(stream_.socket().get_executor(), d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

net::awaitable<void> Session::run() {
  log::info("imap {}: connect from {}:{}{}", id_, stream_.peer_address(), stream_.peer_port(),
            kind_ == ListenerKind::imaps ? " (implicit TLS)" : "");
  stream_.set_write_timeout(cfg_.limits.command_timeout);
  stream_.set_session_deadline(cfg_.limits.login_timeout);  // cleared at login
  if (kind_ == ListenerKind::imaps) {
    stream_.set_timeout(cfg_.limits.command_timeout);
    co_await stream_.handshake_server(*svc_.tls);
  }
  send(fmt::format("* OK [CAPABILITY {}] {} Tern IMAP server ready\r\n", capabilities(), cfg_.hostname));
  while (state_ != State::logout) {
    if (errors_ >= std::min(cfg_.limits.max_errors, max_errors)) {
      send("* BYE Too many errors; closing the connection\r\n");
      co_await flush();
      why_ = "too many protocol errors";
      co_return;
    }
    bool fed = !in_.empty();
    auto ev = reader_.next(in_);
    command_started_ = ev.kind == proto::Event::Kind::send_continuation ||
                       (ev.kind == proto::Event::Kind::need_more && (command_started_ || fed));
    if (!command_started_) clock_.next_command();
    switch (ev.kind) {
      case proto::Event::Kind::need_more:
        if (!co_await fill()) co_return;
        break;
      case proto::Event::Kind::send_continuation:
        send("+ OK\r\n");
        co_await flush();
        break;
      case proto::Event::Kind::error: {
        protocol_error();
        auto code = ev.code.empty() ? std::string() : "[" + ev.code + "] ";
        // RFC 7889: an APPEND over the limit is a NO [TOOBIG]; anything unparsable a BAD.
        bool no_status = ev.code == "TOOBIG" && ev.command.name == "APPEND";
        send(fmt::format("{} {} {}{}\r\n", ev.tag.empty() ? "*" : ev.tag, no_status ? "NO" : "BAD", code, ev.text));
        if (ev.fatal) {
          send("* BYE The input cannot be resynchronised; closing the connection\r\n");
          co_await flush();
          why_ = "unrecoverable protocol error";
          co_return;
        }
        break;
      }
      case proto::Event::Kind::command:
        co_await run_command(ev.command);
        break;
    }
  }
  co_await flush();
}

net::awaitable<void> Session::run_command(Command& cmd) {
  tagged_.clear();
  const CommandSpec* spec = find_command(cmd.name);
  co_await dispatch(cmd, spec);
  if (state_ != State::not_authenticated) stream_.clear_session_deadline();  // logged in
  if (state_ == State::selected && mbox_) co_await refresh(!(spec && (spec->flags & flag_no_expunge)));
  out_ += tagged_;
  tagged_.clear();
  if (out_.size() > 64 * 1024) co_await flush();
}

// --- dispatch -------------------------------------------------------------------------------------

// The command table (as Dovecot's imap-commands.c): each command once, with the states it is valid in
// (RFC 9051 6.1-6.4), its flags and its handler in the cmd_*.cpp of its group.
const std::vector<Session::CommandSpec>& Session::command_table() {
  using S = Session;
  constexpr unsigned any = in_not_authenticated | in_authenticated | in_selected;
  constexpr unsigned before_login = in_not_authenticated;
  constexpr unsigned after_login = in_authenticated | in_selected;
  constexpr unsigned selected = in_selected;
  // RFC 9051 7.5.1: no EXPUNGE response while answering these (they name messages by sequence
  // number); their UID forms may have them.
  constexpr unsigned seqs = flag_no_expunge;
  static const std::vector<CommandSpec> table = {
      {"CAPABILITY", any, 0, [](S& s, Command& c) -> net::awaitable<void> { s.cmd_capability(c); co_return; }},
      {"NOOP", any, 0, [](S& s, Command& c) -> net::awaitable<void> { s.ok(c, "NOOP completed"); co_return; }},
      {"LOGOUT", any, 0, [](S& s, Command& c) -> net::awaitable<void> { s.cmd_logout(c); co_return; }},
      {"ID", any, 0, [](S& s, Command& c) -> net::awaitable<void> { s.cmd_id(c); co_return; }},
      {"STARTTLS", before_login, 0, [](S& s, Command& c) { return s.cmd_starttls(c); }},
      {"LOGIN", before_login, 0, [](S& s, Command& c) { return s.cmd_login(c); }},
      {"AUTHENTICATE", before_login, 0, [](S& s, Command& c) { return s.cmd_authenticate(c); }},
      {"ENABLE", after_login, 0, [](S& s, Command& c) -> net::awaitable<void> { s.cmd_enable(c); co_return; }},
      {"SELECT", after_login, 0, [](S& s, Command& c) { return s.cmd_select(c, false); }},
      {"EXAMINE", after_login, 0, [](S& s, Command& c) { return s.cmd_select(c, true); }},
      {"CREATE", after_login, 0, [](S& s, Command& c) { return s.cmd_create(c); }},
      {"DELETE", after_login, 0, [](S& s, Command& c) { return s.cmd_delete(c); }},
      {"RENAME", after_login, 0, [](S& s, Command& c) { return s.cmd_rename(c); }},
      {"SUBSCRIBE", after_login, 0, [](S& s, Command& c) { return s.cmd_subscribe(c, true); }},
      {"UNSUBSCRIBE", after_login, 0, [](S& s, Command& c) { return s.cmd_subscribe(c, false); }},
      {"LIST", after_login, 0, [](S& s, Command& c) { return s.cmd_list(c, false); }},
      {"LSUB", after_login, 0, [](S& s, Command& c) { return s.cmd_list(c, true); }},
      {"NAMESPACE", after_login, 0, [](S& s, Command& c) -> net::awaitable<void> { s.cmd_namespace(c); co_return; }},
      {"STATUS", after_login, 0, [](S& s, Command& c) { return s.cmd_status(c); }},
      {"APPEND", after_login, 0, [](S& s, Command& c) { return s.cmd_append(c); }},
      {"IDLE", after_login, 0, [](S& s, Command& c) { return s.cmd_idle(c); }},
      {"GETQUOTA", after_login, 0, [](S& s, Command& c) { return s.cmd_quota(c); }},
      {"GETQUOTAROOT", after_login, 0, [](S& s, Command& c) { return s.cmd_quota(c); }},
      {"SETQUOTA", after_login, 0, [](S& s, Command& c) { return s.cmd_quota(c); }},
      {"COMPRESS", after_login, 0, [](S& s, Command& c) { return s.cmd_compress(c); }},
      {"CHECK", selected, 0, [](S& s, Command& c) -> net::awaitable<void> { s.ok(c, "CHECK completed"); co_return; }},
      {"CLOSE", selected, 0, [](S& s, Command& c) { return s.cmd_close(c, true); }},
      {"UNSELECT", selected, 0, [](S& s, Command& c) { return s.cmd_close(c, false); }},
      {"EXPUNGE", selected, 0, [](S& s, Command& c) { return s.cmd_expunge(c, false); }},
      {"UID EXPUNGE", selected, 0, [](S& s, Command& c) { return s.cmd_expunge(c, true); }},
      {"FETCH", selected, seqs, [](S& s, Command& c) { return s.cmd_fetch(c, false); }},
      {"UID FETCH", selected, 0, [](S& s, Command& c) { return s.cmd_fetch(c, true); }},
      {"SEARCH", selected, seqs, [](S& s, Command& c) { return s.cmd_search(c, false); }},
      {"UID SEARCH", selected, 0, [](S& s, Command& c) { return s.cmd_search(c, true); }},
      {"SORT", selected, seqs, [](S& s, Command& c) { return s.cmd_sort(c, false); }},
      {"UID SORT", selected, 0, [](S& s, Command& c) { return s.cmd_sort(c, true); }},
      {"THREAD", selected, seqs, [](S& s, Command& c) { return s.cmd_thread(c, false); }},
      {"UID THREAD", selected, 0, [](S& s, Command& c) { return s.cmd_thread(c, true); }},
      {"STORE", selected, seqs, [](S& s, Command& c) { return s.cmd_store(c, false); }},
      {"UID STORE", selected, 0, [](S& s, Command& c) { return s.cmd_store(c, true); }},
      {"COPY", selected, 0, [](S& s, Command& c) { return s.cmd_copy(c, false, false); }},
      {"UID COPY", selected, 0, [](S& s, Command& c) { return s.cmd_copy(c, true, false); }},
      {"MOVE", selected, 0, [](S& s, Command& c) { return s.cmd_copy(c, false, true); }},
      {"UID MOVE", selected, 0, [](S& s, Command& c) { return s.cmd_copy(c, true, true); }},
  };
  return table;
}

const Session::CommandSpec* Session::find_command(std::string_view name) {
  for (const auto& spec : command_table())
    if (spec.name == name) return &spec;
  return nullptr;
}

void Session::cmd_logout(const Command& cmd) {
  send("* BYE Logging out\r\n");
  ok(cmd, "LOGOUT completed");
  state_ = State::logout;
  why_ = "logged out";
}

net::awaitable<void> Session::dispatch(Command& cmd, const CommandSpec* spec) {
  if (!spec) {
    bad(cmd, "Unknown command");
    co_return;
  }
  unsigned now = state_ == State::not_authenticated ? in_not_authenticated
                 : state_ == State::authenticated   ? in_authenticated
                                                    : in_selected;
  if (!(spec->states & now)) {
    // Why it is not valid now, most useful first.
    if (now == in_not_authenticated) bad(cmd, "Log in first");
    else if (spec->states == in_not_authenticated) bad(cmd, "Already logged in");
    else bad(cmd, "No mailbox selected");
    co_return;
  }
  co_await spec->run(*this, cmd);
}

// --- the selected mailbox -------------------------------------------------------------------------

std::string Session::flags_item(const Message& m) const {
  if (recent_.count(m.uid)) return m.flags.empty() ? "FLAGS (\\Recent)" : "FLAGS (\\Recent " + m.flags + ")";
  return "FLAGS (" + m.flags + ")";
}

std::string Session::flags_list() const {
  std::string out = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (auto& k : mbox_->keywords) out += " " + k;
  return out;
}

void Session::note_keywords(std::string_view flags) {
  if (!mbox_) return;
  bool added = false;
  for (auto& f : split_words(flags)) {
    if (f.empty() || f[0] == '\\') continue;
    added = mbox_->keywords.insert(std::string(f)).second || added;
  }
  if (added) send(fmt::format("* FLAGS ({})\r\n", flags_list()));
}

std::string Session::mailbox_name_out(std::string_view name) const {
  std::string out;
  if (utf8()) {
    proto::append_astring(out, name, true);
  } else {
    proto::append_astring(out, proto::mutf7_encode(name), false);
  }
  return out;
}

std::optional<std::string> Session::mailbox_name_in(const Arg& a) const {
  auto name = proto::mailbox_arg(a);
  if (!name) return std::nullopt;
  return mailbox_name_in(*name);
}

std::optional<std::string> Session::mailbox_name_in(const std::string& given) const {
  std::optional<std::string> name = given;
  if (utf8()) {
    if (!proto::valid_utf8(*name)) return std::nullopt;
    return name;
  }
  // IMAP4rev1: modified UTF-7 (RFC 3501 5.1.3); clients that send raw UTF-8 anyway are taken at
  // their word when it is valid.
  if (auto decoded = proto::mutf7_decode(*name)) return decoded;
  if (proto::valid_utf8(*name)) return name;
  return std::nullopt;
}

std::optional<std::vector<std::size_t>> Session::resolve(const proto::SequenceSet& set, bool uid) const {
  std::vector<std::size_t> out;
  const auto& msgs = mbox_->messages;
  if (set.saved) {
    for (auto u : mbox_->saved)
      if (auto i = mbox_->index_of(u); i != npos) out.push_back(i);
    std::sort(out.begin(), out.end());
    return out;
  }
  if (!uid) {
    auto ranges = set.resolved(static_cast<std::uint32_t>(msgs.size()));
    for (auto& r : ranges) {
      if (r.hi > msgs.size()) return std::nullopt;
      for (auto n = r.lo; n <= r.hi; ++n) out.push_back(n - 1);
    }
    return out;
  }
  auto ranges = set.resolved(mbox_->max_uid());
  for (auto& r : ranges) {
    auto it = std::lower_bound(msgs.begin(), msgs.end(), r.lo, [](const Message& m, std::uint32_t u) { return m.uid < u; });
    for (; it != msgs.end() && it->uid <= r.hi; ++it) out.push_back(static_cast<std::size_t>(it - msgs.begin()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Session::send_expunges(std::span<const std::uint32_t> uids) {
  if (uids.empty()) return;
  auto& msgs = mbox_->messages;
  if (qresync_) {
    // RFC 7162 3.2.10: VANISHED with the UIDs, no sequence numbers.
    std::vector<std::uint32_t> gone;
    for (auto u : uids)
      if (mbox_->index_of(u) != npos) gone.push_back(u);
    if (!gone.empty()) send(fmt::format("* VANISHED {}\r\n", proto::format_sequence_set(gone)));
    for (auto u : gone) msgs.erase(msgs.begin() + static_cast<std::ptrdiff_t>(mbox_->index_of(u)));
  } else {
    // Highest sequence number first, so each number is right when the client reads it.
    std::vector<std::uint32_t> sorted(uids.begin(), uids.end());
    std::sort(sorted.rbegin(), sorted.rend());
    for (auto u : sorted) {
      auto i = mbox_->index_of(u);
      if (i == npos) continue;
      send(fmt::format("* {} EXPUNGE\r\n", i + 1));
      msgs.erase(msgs.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  auto& saved = mbox_->saved;
  saved.erase(std::remove_if(saved.begin(), saved.end(), [&](std::uint32_t u) { return mbox_->index_of(u) == npos; }),
              saved.end());
}

net::awaitable<void> Session::refresh(bool expunges) {
  if (!mbox_) co_return;
  auto* ms = svc_.mailstore;
  auto version = ms->version(user_);
  if (version != mbox_->version) {
    std::string user = user_, name = mbox_->name;
    auto since = mbox_->modseq;
    auto job = [ms, user, name, since] { return ms->changes_since(user, name, since); };
    auto changes = *co_await net::offload(*svc_.pool, std::move(job));
    if (!changes) {
      if (changes.error().kind == Error::Kind::not_found) {
        // Deleted by another session: RFC 9051 7.1.5 lets the server end the session.
        send("* BYE The selected mailbox was deleted\r\n");
        state_ = State::logout;
        why_ = "selected mailbox deleted";
      } else {
        log::error("imap {}: cannot read the changes of {}: {}", id_, mbox_->name, changes.error().message);
      }
      co_return;
    }
    mbox_->version = version;
    auto& msgs = mbox_->messages;
    auto known_max = mbox_->max_uid();
    for (auto u : changes->expunged)
      if (auto i = mbox_->index_of(u); i != npos) msgs[i].expunged = true;
    std::vector<std::uint32_t> flag_changes;
    bool added = false;
    for (auto& e : changes->changed) {
      auto i = mbox_->index_of(e.uid);
      if (i == npos) {
        if (e.uid <= mbox_->max_uid()) continue;  // expunged already, or not for this view
        msgs.push_back(Message{e.uid, e.flags, e.modseq, e.size, e.internal_date, false});
        note_keywords(e.flags);
        added = true;
        continue;
      }
      auto& m = msgs[i];
      bool changed = m.flags != e.flags;
      m.modseq = e.modseq;
      if (changed) {
        m.flags = e.flags;
        note_keywords(e.flags);
        flag_changes.push_back(e.uid);
      }
    }
    mbox_->modseq = std::max(mbox_->modseq, changes->highestmodseq);
    mbox_->uidnext = std::max(mbox_->uidnext, mbox_->max_uid() + 1);
    if (expunges) {
      std::vector<std::uint32_t> gone;
      for (auto& m : msgs)
        if (m.expunged) gone.push_back(m.uid);
      send_expunges(gone);
    }
    if (added && !rev2_) co_await take_recent(known_max);
    if (added) send(fmt::format("* {} EXISTS\r\n", msgs.size()));
    if (added && !rev2_) send(fmt::format("* {} RECENT\r\n", recent_.size()));
    for (auto u : flag_changes) {
      auto i = mbox_->index_of(u);
      if (i == npos || msgs[i].expunged) continue;
      send(fmt::format("* {} FETCH (UID {} {}{})\r\n", i + 1, u, flags_item(msgs[i]),
                       condstore_ ? fmt::format(" MODSEQ ({})", msgs[i].modseq) : ""));
    }
    co_return;
  }
  if (expunges) {
    std::vector<std::uint32_t> gone;
    for (auto& m : mbox_->messages)
      if (m.expunged) gone.push_back(m.uid);
    send_expunges(gone);
  }
}

void Session::enable_condstore() {
  if (condstore_) return;
  condstore_ = true;
  if (mbox_) send(fmt::format("* OK [HIGHESTMODSEQ {}] Highest\r\n", mbox_->modseq));
}

// New messages of the selected mailbox: \Recent for this session if no other had them first (RFC
// 3501 2.3.2); a read-only session looks without taking.
net::awaitable<void> Session::take_recent(std::uint32_t known_max) {
  auto* ms = svc_.mailstore;
  std::string user = user_, name = mbox_->name;
  auto through = mbox_->max_uid();
  bool claim = !mbox_->read_only;
  auto job = [ms, user, name, through, claim] { return ms->recent_from(user, name, through, claim); };
  auto first = *co_await net::offload(*svc_.pool, std::move(job));
  if (!first) {
    log::warn("imap {}: \\Recent of {}: {}", id_, name, first.error().message);
    co_return;
  }
  if (!mbox_) co_return;
  for (auto& m : mbox_->messages)
    if (m.uid > known_max && m.uid >= *first) recent_.insert(m.uid);
}

}  // namespace tern::imapd
