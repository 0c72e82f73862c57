// imapd: the IMAP daemon side: one coroutine per client session (RFC 9051 IMAP4rev2, RFC 3501
// IMAP4rev1 clients alike), for the listeners imap (STARTTLS, RFC 9051 6.2.1) and imaps (implicit TLS,
// RFC 8314).
//
// session.cpp holds the loop, the I/O (with COMPRESS=DEFLATE, RFC 4978), the dispatch table (which
// command in which state) and the one place that maps store errors to responses; each group of
// commands lives in a cmd_<verb>.cpp. Grammar is imap/proto's; what a message says (ENVELOPE,
// BODYSTRUCTURE, sections) is imap/message's; storage is store::Mailstore's, always called on the
// worker pool (it fsyncs), never on the event loop.
//
// The selected mailbox: the session keeps its own view (UIDs in sequence order with flags and MODSEQs,
// RFC 9051 2.3.1.2) and brings it up to date from the store's change log (Mailstore::changes_since)
// whenever the mailslot's in-process change counter moved: at the end of each command, and every
// half second during IDLE (RFC 2177), so mail delivered by SMTP or a change made by another session
// reaches the client within a second. EXPUNGE responses wait for a command that allows them (not
// FETCH, STORE, SEARCH: RFC 9051 7.5.1); with QRESYNC enabled they are VANISHED (RFC 7162 3.2.10).
//
// Durability: a change's OK is sent only after the store call returned, and the store returns after
// fsync (principle 1).
//
// Security posture: every read has a deadline; command lines, literals and nesting are bounded
// (imap/proto Limits); LOGIN and AUTHENTICATE only over TLS unless [auth] allow_plaintext
// (LOGINDISABLED otherwise, RFC 9051 6.2.3); input pipelined behind STARTTLS is discarded; failed
// logins are delayed and throttled per client address (auth/authenticator); sessions per user are capped;
// repeated protocol errors close the session.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "imap/proto/proto.hpp"
#include "net/net.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"
#include "spam/bayes.hpp"

namespace tern::imapd {

enum class ListenerKind { imap, imaps };

// RFC 9051 5.4: the autologout timer is at least 30 minutes (IDLE clients re-issue within 29).
inline constexpr std::chrono::seconds idle_timeout{30 * 60};
inline constexpr std::chrono::seconds login_timeout{60};  // before authentication
// Like Dovecot's mail_max_userip_connections (10), with room for a few devices per user.
inline constexpr std::uint32_t max_sessions_per_user = 20;
inline constexpr std::uint32_t max_errors = 20;           // protocol errors before the session closes
// Output: responses are batched up to flush_at octets before a write (fewer system calls for many
// small responses); a literal streamed from a message file goes out file_block octets at a time.
inline constexpr std::size_t flush_at = 256 * 1024;
inline constexpr std::size_t file_block = 256 * 1024;
// A session that streamed at least this much gives the allocator's free pages back when it ends
// (net/memory.hpp): its blocks and chunks came from the worker pool's and the loop's arenas.
inline constexpr std::uint64_t trim_after = 4u << 20;

// Sessions per user (a cap, and nothing else: several sessions may select one mailbox). Thread-safe.
class UserSessions {
 public:
  bool acquire(const std::string& user);
  void release(const std::string& user);

 private:
  std::mutex mu_;
  std::map<std::string, std::uint32_t> count_;
};

class Session;
// A message whose bytes do not have the size the index gives (truncated or changed on disk).
struct DamagedFile {
  std::uint32_t uid = 0;
  std::uint64_t on_disk = 0, indexed = 0;
};

// The open sessions, so that a shutdown can wake each one waiting for a command to say BYE
// (RFC 9051 7.1.5). Thread-safe; a session is woken on its own strand, where it also ends, so a
// session still listed when the wake-up runs is alive for it.
class LiveSessions {
 public:
  void add(Session* s);
  void remove(Session* s);
  void shutdown();

 private:
  std::mutex mu_;
  std::set<Session*> live_;
};

// Process-wide state of the IMAP service; owned by the application.
struct Shared {
  UserSessions sessions;
  LiveSessions live;
};

// What sessions use; owned by the application.
struct Services {
  std::shared_ptr<const config::Config> config;
  store::Directory* directory = nullptr;
  store::Mailstore* mailstore = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  std::shared_ptr<net::ssl::context> tls;
  auth::Authenticator* authenticator = nullptr;  // logins, shared with SMTP AUTH and POP3
  Shared* shared = nullptr;
  const std::atomic<bool>* stopping = nullptr;  // the server is shutting down: idling clients get BYE
  spam::Learner* learner = nullptr;  // moves into and out of Junk train it (null: no training)
};

// IMAP keywords compare case-insensitively (RFC 9051 2.3.2 leaves it to the server; clients treat
// "$Junk" and "$junk" as one).
struct CaseLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

net::awaitable<void> run_session(std::unique_ptr<net::Stream> stream, ListenerKind kind, Services services,
                                 std::string session_id);

// The session's view of its selected mailbox.
struct Message {
  std::uint32_t uid = 0;
  std::string flags;  // space-separated, as stored
  std::uint64_t modseq = 0;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
  bool expunged = false;  // gone from the store; its EXPUNGE not yet sent (RFC 9051 7.5.1)
};

struct Mailbox {
  std::string name;
  bool read_only = false;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t modseq = 0;   // the store's HIGHESTMODSEQ the view reflects
  std::uint64_t version = 0;  // the mailslot's change counter when last brought up to date
  std::vector<Message> messages;  // sequence order (ascending UID)
  std::vector<std::uint32_t> saved;  // SEARCHRES (RFC 5182), UIDs
  std::set<std::string, CaseLess> keywords;  // announced in FLAGS

  // The 0-based index of a UID, or npos.
  std::size_t index_of(std::uint32_t uid) const;
  std::uint32_t max_uid() const { return messages.empty() ? 0 : messages.back().uid; }
};

class Session {
 public:
  Session(net::Stream& stream, ListenerKind kind, Services services, std::string id);
  ~Session();
  net::awaitable<void> run();

  const char* end_reason() const { return why_; }
  // The server is stopping: a session waiting for a command says BYE and ends (runs on its strand).
  void kick();
  boost::asio::any_io_executor executor() { return stream_.socket().get_executor(); }
  const std::string& user() const { return user_; }
  std::uint64_t streamed() const { return streamed_; }  // octets sent from message files
  // After a timeout: BYE (compressed when COMPRESS is on) within the stream's grace period.
  net::awaitable<void> say_timeout();

 private:
  using Command = imap::proto::Command;
  using Arg = imap::proto::Arg;
  enum class State { not_authenticated, authenticated, selected, logout };

  // --- I/O (session.cpp) ---
  void send(std::string_view s) { out_ += s; }
  void tagged(const Command& cmd, std::string_view status, std::string_view text);  // "tag OK text"
  void ok(const Command& cmd, std::string_view text) { tagged(cmd, "OK", text); }
  void no(const Command& cmd, std::string_view text) { tagged(cmd, "NO", text); }
  void bad(const Command& cmd, std::string_view text);  // counts a protocol error
  net::awaitable<void> flush();
  // Writes `data` now (after what flush() had), through COMPRESS when active.
  net::awaitable<void> write_now(std::string_view data);
  // Streams `length` octets of the open file `fd` from `offset` (a literal whose size was sent): a
  // block is read on the worker pool, written, and only then the next one read, so a client that
  // does not read holds at most one block. A file that ends early (changed after its size was
  // checked) ends the session: the client was promised octets that do not exist.
  // Streams `length` octets of `message` from `offset` (held open by the caller), a block at a time.
  net::awaitable<void> write_file(const store::MessageStream& message, std::uint64_t offset, std::uint64_t length);
  net::awaitable<bool> fill();  // false at EOF
  net::awaitable<std::optional<std::string>> read_line(std::size_t max);  // AUTHENTICATE, IDLE
  net::awaitable<void> pause(std::chrono::milliseconds d);
  void protocol_error();
  // An unexpected store failure: logged with the session id; the client gets NO [SERVERBUG].
  void internal_error(const Command& cmd, std::string_view what);
  // Store errors to responses, in one place: NONEXISTENT, ALREADYEXISTS, CANNOT, SERVERBUG.
  void store_error(const Command& cmd, const Error& e);
  bool utf8() const { return utf8_accept_ || rev2_; }

  // --- dispatch (session.cpp) ---
  // The command table (session.cpp): name, the states it is valid in, flags, handler.
  enum : unsigned { in_not_authenticated = 1, in_authenticated = 2, in_selected = 4 };
  enum : unsigned { flag_no_expunge = 1 };  // uses sequence numbers: no EXPUNGE response (RFC 9051 7.5.1)
  struct CommandSpec {
    std::string_view name;  // upper case; UID forms "UID FETCH"
    unsigned states;
    unsigned flags;
    net::awaitable<void> (*run)(Session&, Command&);
  };
  static const std::vector<CommandSpec>& command_table();
  static const CommandSpec* find_command(std::string_view name);  // nullptr: unknown
  net::awaitable<void> dispatch(Command& cmd, const CommandSpec* spec);
  void cmd_logout(const Command& cmd);
  net::awaitable<void> run_command(Command& cmd);

  // --- commands ---
  // cmd_auth.cpp: any state / not authenticated
  void cmd_capability(const Command& cmd);
  std::string capabilities() const;
  net::awaitable<void> cmd_starttls(const Command& cmd);
  net::awaitable<void> cmd_login(const Command& cmd);
  net::awaitable<void> cmd_authenticate(const Command& cmd);
  net::awaitable<void> login(const Command& cmd, const auth::Credentials& credentials, std::string_view mech);
  void cmd_enable(const Command& cmd);
  void cmd_id(const Command& cmd);
  net::awaitable<void> cmd_compress(const Command& cmd);
  // cmd_mailbox.cpp: authenticated
  net::awaitable<void> cmd_select(const Command& cmd, bool read_only);
  net::awaitable<void> cmd_create(const Command& cmd);
  net::awaitable<void> cmd_delete(const Command& cmd);
  net::awaitable<void> cmd_rename(const Command& cmd);
  net::awaitable<void> cmd_subscribe(const Command& cmd, bool on);
  net::awaitable<void> cmd_list(const Command& cmd, bool lsub);
  void cmd_namespace(const Command& cmd);
  net::awaitable<void> cmd_status(const Command& cmd);
  net::awaitable<void> cmd_append(Command& cmd);
  net::awaitable<void> cmd_quota(const Command& cmd);  // GETQUOTA, GETQUOTAROOT, SETQUOTA
  // cmd_fetch.cpp / cmd_search.cpp / cmd_store.cpp / cmd_idle.cpp: selected
  net::awaitable<void> cmd_fetch(const Command& cmd, bool uid);
  void refuse_damaged(const Command& cmd, const std::vector<DamagedFile>& damaged);  // logged, NO [SERVERBUG]
  net::awaitable<void> cmd_search(const Command& cmd, bool uid);
  net::awaitable<void> cmd_sort(const Command& cmd, bool uid);
  net::awaitable<void> cmd_thread(const Command& cmd, bool uid);
  net::awaitable<void> cmd_store(const Command& cmd, bool uid);
  net::awaitable<void> cmd_copy(const Command& cmd, bool uid, bool move);
  struct Training {
    std::size_t count = 0;  // messages learnt
    bool spam = false;
    std::string error;      // the last failure, "" when none
  };
  static Training train_moved(store::Mailstore& ms, spam::Learner& learner, const std::string& user,
                              const std::string& from, const std::string& to, const std::vector<std::uint32_t>& uids);
  net::awaitable<void> cmd_expunge(const Command& cmd, bool uid);
  net::awaitable<void> cmd_close(const Command& cmd, bool expunge);
  net::awaitable<void> cmd_idle(const Command& cmd);
  net::awaitable<void> idle_ticker();

  // --- the selected mailbox (session.cpp) ---
  // Brings the view up to date and queues the untagged responses (EXISTS, EXPUNGE/VANISHED, FETCH
  // FLAGS). expunges: whether EXPUNGE responses may be sent now.
  net::awaitable<void> refresh(bool expunges);
  // Removes expunged messages from the view, sending EXPUNGE (or VANISHED) for each.
  void send_expunges(std::span<const std::uint32_t> uids);
  // The messages a sequence set names, as 0-based indexes in ascending order. `uid`: the set holds
  // UIDs (absent ones are skipped, RFC 9051 6.4.8); else sequence numbers (out of range: nullopt).
  std::optional<std::vector<std::size_t>> resolve(const imap::proto::SequenceSet& set, bool uid) const;
  // "FLAGS (\Seen x)" for a message.
  std::string flags_item(const Message& m) const;
  void note_keywords(std::string_view flags);  // announces new keywords with a FLAGS response
  std::string flags_list() const;              // the FLAGS response's list
  std::string mailbox_name_out(std::string_view name) const;  // UTF-8, or modified UTF-7 for rev1
  std::optional<std::string> mailbox_name_in(const Arg& a) const;
  // A name a typed parser already took from an astring (INBOX made canonical).
  std::optional<std::string> mailbox_name_in(const std::string& name) const;

  net::Stream& stream_;
  net::CommandClock clock_{stream_};
  bool command_started_ = false;  // octets of the next command have arrived
  ListenerKind kind_;
  Services svc_;
  const config::Config& cfg_;
  std::string id_;
  std::string in_;   // bytes read but not yet parsed
  std::string out_;  // responses not yet written
  // The running command's tagged response: queued after the untagged updates that refresh() adds at
  // the end of the command (RFC 9051 7: untagged data first, then the completion).
  std::string tagged_;
  imap::proto::Reader reader_;
  State state_ = State::not_authenticated;
  std::string user_;
  bool counted_ = false;        // holds a place in Shared::sessions
  bool rev2_ = false;           // ENABLE IMAP4rev2
  bool utf8_accept_ = false;    // ENABLE UTF8=ACCEPT (RFC 6855)
  bool condstore_ = false;      // CONDSTORE enabled (ENABLE, or a CONDSTORE-using command)
  std::uint64_t quota_ = 0;     // octets, all folders (0: none): the user's own or [limits] mailbox_quota
  std::set<std::uint32_t> recent_;  // UIDs of the selected mailbox that are \Recent in this session
  net::awaitable<void> take_recent(std::uint32_t known_max);
  // RFC 7162 3.1: the first CONDSTORE-enabling command while a mailbox is selected is followed by
  // OK [HIGHESTMODSEQ]; enables CONDSTORE.
  void enable_condstore();
  bool qresync_ = false;        // ENABLE QRESYNC
  std::optional<Mailbox> mbox_;
  bool idling_ = false;          // IDLE: the ticker writes, fill() does not flush
  bool ticker_running_ = false;
  boost::asio::steady_timer* tick_timer_ = nullptr;  // the IDLE ticker's current wait
  bool reading_ = false;  // waiting for the client in fill()
  bool kicked_ = false;   // kick() cancelled that read
  std::uint32_t errors_ = 0;
  std::uint64_t streamed_ = 0;
  const char* why_ = "client closed the connection";

  struct Deflate;  // COMPRESS=DEFLATE state (zlib), session.cpp
  std::unique_ptr<Deflate> deflate_;
};

}  // namespace tern::imapd
