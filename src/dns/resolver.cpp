// dns/resolver.cpp: c-ares driven by Boost.Asio.
//
// c-ares does no I/O of its own here: it tells us, through its socket state callback, which sockets
// it wants to read or write, and we wait on them with an asio::posix::stream_descriptor (wrapping the
// fd without owning it: released before c-ares closes it) and call ares_process_fd when they are
// ready. A steady_timer fires at ares_timeout() to let c-ares retry and time out queries.
//
// Threading: the io_context runs on several threads, so every call into the channel (ares_query,
// ares_process_fd, ares_destroy) and every touch of the socket table, the timer and the cache happens
// under one mutex. c-ares calls our callbacks from inside those calls (so with the mutex held); they
// never resume a coroutine directly, they post its completion to the coroutine's executor.
//
// Lifetime: the state is shared with the asynchronous handlers only through weak pointers, so it dies
// with the Resolver; ~Resolver destroys the channel, which completes every lookup still in flight with
// temp_failure ("resolver shut down").
#include "dns/resolver.hpp"

#include <arpa/nameser.h>
#include <ares.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <random>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/strings.hpp"

namespace tern::dns {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Answers are kept for their TTL, never longer than an hour; negative answers (no such domain, no
// records) for a minute, so a fixed DNS error is seen soon. Temporary failures are never cached.
constexpr std::chrono::seconds max_ttl{3600};
constexpr std::chrono::seconds negative_ttl{60};
constexpr int max_addresses = 64;  // per record type and answer

// The raw outcome of one query: the c-ares status and the DNS message when there was one.
struct RawAnswer {
  int status = ARES_ENODATA;
  std::vector<unsigned char> message;
};

struct State;

// One lookup of several record types for one name; completes when all have answered.
struct PendingBase {
  struct Slot {
    PendingBase* owner;
    std::size_t index;
  };
  std::vector<RawAnswer> answers;
  std::vector<Slot> slots;  // stable addresses: the `arg` of each ares_query
  std::size_t left = 0;
  virtual ~PendingBase() = default;
  virtual void complete() = 0;  // posts the answers to the waiting coroutine; then `delete this`
};

template <typename Handler>
struct Pending final : PendingBase {
  Handler handler;
  asio::any_io_executor fallback;
  Pending(Handler h, asio::any_io_executor ex) : handler(std::move(h)), fallback(std::move(ex)) {}
  void complete() override {
    auto ex = asio::get_associated_executor(handler, fallback);
    asio::post(ex, [h = std::move(handler), a = std::move(answers)]() mutable { std::move(h)(std::move(a)); });
    delete this;
  }
};

// Called by c-ares (with the state's mutex held) when one query of a Pending is answered.
void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* slot = static_cast<PendingBase::Slot*>(arg);
  PendingBase* p = slot->owner;
  RawAnswer& a = p->answers[slot->index];
  a.status = status;
  if (abuf && alen > 0) a.message.assign(abuf, abuf + alen);
  if (--p->left == 0) p->complete();
}

struct Sock {
  Sock(const asio::any_io_executor& ex, int fd, std::uint64_t g) : desc(ex, fd), gen(g) {}
  asio::posix::stream_descriptor desc;  // does not own the fd: released before c-ares closes it
  std::uint64_t gen;                    // tells a reused fd number from the socket a handler waited on
  bool want_read = false, want_write = false;
  bool read_waiting = false, write_waiting = false;
};

template <typename T>
struct CacheEntry {
  Clock::time_point expires;
  T answer;
};

struct State : std::enable_shared_from_this<State> {
  explicit State(asio::any_io_executor e) : ex(std::move(e)), timer(ex) {}

  asio::any_io_executor ex;
  std::mutex mu;  // guards everything below
  ares_channel channel = nullptr;
  std::string init_error;  // why there is no channel
  asio::steady_timer timer;
  std::map<int, std::unique_ptr<Sock>> socks;
  std::uint64_t next_gen = 1;
  std::map<std::string, CacheEntry<MxAnswer>> mx_cache;
  std::map<std::string, CacheEntry<AddressAnswer>> address_cache;  // "name", "4:name", "6:name"
  std::map<std::string, CacheEntry<TxtAnswer>> txt_cache;
  std::map<std::string, CacheEntry<NameAnswer>> ptr_cache;
  // New servers from a reload, not yet applied: c-ares (before 1.22) changes servers only while no
  // query is in flight, so they are applied before the next query that finds it so.
  std::string pending_servers;

  // --- with mu held ---
  void start_wait(int fd, Sock& s, bool read);
  void update_timer();
  void apply_pending_servers();
  void clear_caches() {
    mx_cache.clear();
    address_cache.clear();
    txt_cache.clear();
    ptr_cache.clear();
  }
};

void State::apply_pending_servers() {
  if (pending_servers.empty() || !channel) return;
  int rc = ares_set_servers_ports_csv(channel, pending_servers.c_str());
  if (rc == ARES_ENOTIMP) return;  // queries in flight: the next query tries again
  if (rc == ARES_SUCCESS) {
    log::info("dns: now asking {}", pending_servers);
    clear_caches();
  } else {
    log::error("dns: cannot use the servers {}: c-ares: {}; keeping the previous ones", pending_servers,
               ares_strerror(rc));
  }
  pending_servers.clear();
}

void on_socket_ready(const std::weak_ptr<State>& weak, int fd, std::uint64_t gen, bool read,
                     boost::system::error_code ec) {
  auto st = weak.lock();
  if (!st) return;
  std::lock_guard lock(st->mu);
  auto it = st->socks.find(fd);
  if (it == st->socks.end() || it->second->gen != gen) return;  // released meanwhile
  (read ? it->second->read_waiting : it->second->write_waiting) = false;
  if (ec == asio::error::operation_aborted || !st->channel) return;
  if (read ? it->second->want_read : it->second->want_write) {
    // c-ares reads or writes the socket and may close it (calling the socket state callback).
    ares_process_fd(st->channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
  }
  it = st->socks.find(fd);
  if (it != st->socks.end() && it->second->gen == gen) {
    Sock& s = *it->second;
    if (read && s.want_read && !s.read_waiting) st->start_wait(fd, s, true);
    if (!read && s.want_write && !s.write_waiting) st->start_wait(fd, s, false);
  }
  st->update_timer();
}

void State::start_wait(int fd, Sock& s, bool read) {
  (read ? s.read_waiting : s.write_waiting) = true;
  std::weak_ptr<State> weak = weak_from_this();
  std::uint64_t gen = s.gen;
  s.desc.async_wait(read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
                    [weak, fd, gen, read](boost::system::error_code ec) { on_socket_ready(weak, fd, gen, read, ec); });
}

void on_timer(const std::weak_ptr<State>& weak, boost::system::error_code ec) {
  if (ec == asio::error::operation_aborted) return;
  auto st = weak.lock();
  if (!st) return;
  std::lock_guard lock(st->mu);
  if (!st->channel) return;
  ares_process_fd(st->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and timeouts
  st->update_timer();
}

void State::update_timer() {
  if (!channel) return;
  timeval tv{};
  timeval* next = ares_timeout(channel, nullptr, &tv);
  if (!next) {
    timer.cancel();
    return;
  }
  auto wait = std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec);
  timer.expires_after(std::chrono::duration_cast<Clock::duration>(wait) + std::chrono::milliseconds(1));
  std::weak_ptr<State> weak = weak_from_this();
  timer.async_wait([weak](boost::system::error_code e) { on_timer(weak, e); });
}

// c-ares' socket state callback: called with the state's mutex held (from inside a c-ares call).
void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* st = static_cast<State*>(data);
  auto it = st->socks.find(fd);
  if (!readable && !writable) {
    if (it != st->socks.end()) {
      it->second->desc.release();  // c-ares closes the fd itself, right after this
      st->socks.erase(it);
    }
    return;
  }
  if (it == st->socks.end()) {
    try {
      it = st->socks.emplace(fd, std::make_unique<Sock>(st->ex, fd, st->next_gen++)).first;
    } catch (const std::exception& e) {
      // Not watchable: c-ares' own timeout ends the query.
      log::warn("dns: cannot watch socket {}: {}", fd, e.what());
      return;
    }
  }
  Sock& s = *it->second;
  s.want_read = readable != 0;
  s.want_write = writable != 0;
  if (s.want_read && !s.read_waiting) st->start_wait(fd, s, true);
  if (s.want_write && !s.write_waiting) st->start_wait(fd, s, false);
}

// A lookup of `types` for `name`; ownership passes to the initiation.
struct Request {
  std::shared_ptr<State> state;
  std::string name;
  std::vector<int> types;
};

// The initiation of a lookup. Trivially copyable (one pointer): Asio's use_awaitable copies the
// initiation into a coroutine frame, and GCC 12 miscopies anything richer (see net::offload).
struct QueryOp {
  Request* request;

  template <typename Handler>
  void operator()(Handler&& handler) const {
    std::unique_ptr<Request> req(request);
    State& st = *req->state;
    auto* p = new Pending<std::decay_t<Handler>>(std::forward<Handler>(handler), st.ex);
    p->answers.resize(req->types.size());
    p->slots.reserve(req->types.size());
    for (std::size_t i = 0; i < req->types.size(); ++i) p->slots.push_back({p, i});
    p->left = req->types.size();
    std::lock_guard lock(st.mu);
    if (!st.channel) {
      for (auto& a : p->answers) a.status = ARES_EDESTRUCTION;
      p->complete();
      return;
    }
    st.apply_pending_servers();
    for (std::size_t i = 0; i < req->types.size(); ++i)
      ares_query(st.channel, req->name.c_str(), ns_c_in, req->types[i], on_answer, &p->slots[i]);
    st.update_timer();
  }
};

// co_await-able: the raw answers of `req`'s queries, in the order of its types.
auto async_lookup(Request* req) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::vector<RawAnswer>)>(QueryOp{req},
                                                                                             asio::use_awaitable);
}

std::string normalize(std::string_view name) {
  std::string n = to_lower(trim(name));
  while (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

std::string status_text(int status) {
  if (status == ARES_EDESTRUCTION) return "resolver shut down";
  return ares_strerror(status);
}

// The smallest TTL of the answer section's records, or nullopt when the message cannot be walked.
std::optional<std::uint32_t> min_answer_ttl(const std::vector<unsigned char>& m) {
  if (m.size() < 12) return std::nullopt;
  const unsigned char* buf = m.data();
  const int len = static_cast<int>(m.size());
  auto u16 = [&](int at) { return static_cast<unsigned>(buf[at] << 8 | buf[at + 1]); };
  unsigned qd = u16(4), an = u16(6);
  int at = 12;
  auto skip_name = [&]() -> bool {
    char* name = nullptr;
    long enclen = 0;
    if (ares_expand_name(buf + at, buf, len, &name, &enclen) != ARES_SUCCESS) return false;
    ares_free_string(name);
    at += static_cast<int>(enclen);
    return at <= len;
  };
  for (unsigned i = 0; i < qd; ++i) {
    if (!skip_name() || at + 4 > len) return std::nullopt;
    at += 4;
  }
  std::optional<std::uint32_t> best;
  for (unsigned i = 0; i < an; ++i) {
    if (!skip_name() || at + 10 > len) return std::nullopt;
    std::uint32_t ttl = static_cast<std::uint32_t>(buf[at + 4]) << 24 | static_cast<std::uint32_t>(buf[at + 5]) << 16 |
                        static_cast<std::uint32_t>(buf[at + 6]) << 8 | buf[at + 7];
    unsigned rdlen = u16(at + 8);
    at += 10 + static_cast<int>(rdlen);
    if (at > len) return std::nullopt;
    if (!best || ttl < *best) best = ttl;
  }
  return best;
}

std::chrono::seconds cap_ttl(std::optional<std::uint32_t> ttl) {
  if (!ttl) return std::chrono::seconds(0);
  return std::min<std::chrono::seconds>(std::chrono::seconds(*ttl), max_ttl);
}

std::mt19937& rng() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return gen;
}

// RFC 5321 5.1: by preference; hosts of equal preference in random order.
void shuffle_equal(std::vector<MxHost>& hosts) {
  std::shuffle(hosts.begin(), hosts.end(), rng());
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
}

MxAnswer interpret_mx(const RawAnswer& raw, std::chrono::seconds& ttl) {
  MxAnswer out;
  ttl = std::chrono::seconds(0);
  if (raw.status == ARES_ENOTFOUND) {
    out.status = MxAnswer::nxdomain;
    out.error = "no such domain (NXDOMAIN)";
    ttl = negative_ttl;
    return out;
  }
  if (raw.status == ARES_ENODATA) {
    out.status = MxAnswer::no_records;
    ttl = negative_ttl;
    return out;
  }
  if (raw.status != ARES_SUCCESS) {
    out.status = MxAnswer::temp_failure;
    out.error = status_text(raw.status);
    return out;
  }
  ares_mx_reply* mx = nullptr;
  int rc = ares_parse_mx_reply(raw.message.data(), static_cast<int>(raw.message.size()), &mx);
  if (rc == ARES_ENODATA) {  // answers, but none of them MX (a CNAME to a name without MX)
    out.status = MxAnswer::no_records;
    ttl = negative_ttl;
    return out;
  }
  if (rc != ARES_SUCCESS) {
    out.status = MxAnswer::temp_failure;
    out.error = "malformed MX answer: " + status_text(rc);
    return out;
  }
  std::size_t total = 0;
  bool has_null = false;
  for (ares_mx_reply* r = mx; r; r = r->next) {
    ++total;
    std::string host = normalize(r->host ? r->host : "");
    if (host.empty()) {
      has_null = true;
      continue;
    }
    out.hosts.push_back({std::move(host), r->priority});
  }
  ares_free_data(mx);
  ttl = cap_ttl(min_answer_ttl(raw.message));
  // RFC 7505 3: a null MX is the domain's only MX record; a "." among real hosts is ignored.
  if (has_null && total == 1) {
    out.status = MxAnswer::null_mx;
    out.error = "the domain accepts no mail (null MX, RFC 7505)";
    out.hosts.clear();
    return out;
  }
  out.status = out.hosts.empty() ? MxAnswer::no_records : MxAnswer::ok;
  return out;
}

AddressAnswer interpret_addresses(const RawAnswer& aaaa, const RawAnswer& a, std::chrono::seconds& ttl) {
  AddressAnswer out;
  std::optional<int> min_ttl;
  auto note_ttl = [&](int t) { min_ttl = min_ttl ? std::min(*min_ttl, t) : t; };
  bool nodata = false, nx = false;
  std::string temp;
  auto classify = [&](const RawAnswer& raw, int parse_rc) {
    int status = raw.status == ARES_SUCCESS ? parse_rc : raw.status;
    if (status == ARES_SUCCESS) return;
    if (status == ARES_ENODATA) nodata = true;
    else if (status == ARES_ENOTFOUND) nx = true;
    else if (temp.empty()) temp = status_text(status);
  };

  int rc6 = ARES_SUCCESS;
  if (aaaa.status == ARES_SUCCESS) {
    ares_addr6ttl ttls[max_addresses];
    int n = max_addresses;
    rc6 = ares_parse_aaaa_reply(aaaa.message.data(), static_cast<int>(aaaa.message.size()), nullptr, ttls, &n);
    if (rc6 == ARES_SUCCESS) {
      for (int i = 0; i < n; ++i) {
        asio::ip::address_v6::bytes_type b;
        std::copy(ttls[i].ip6addr._S6_un._S6_u8, ttls[i].ip6addr._S6_un._S6_u8 + 16, b.begin());
        out.addresses.emplace_back(asio::ip::address_v6(b));
        note_ttl(ttls[i].ttl);
      }
    }
  }
  classify(aaaa, rc6);
  int rc4 = ARES_SUCCESS;
  if (a.status == ARES_SUCCESS) {
    ares_addrttl ttls[max_addresses];
    int n = max_addresses;
    rc4 = ares_parse_a_reply(a.message.data(), static_cast<int>(a.message.size()), nullptr, ttls, &n);
    if (rc4 == ARES_SUCCESS) {
      for (int i = 0; i < n; ++i) {
        out.addresses.emplace_back(asio::ip::address_v4(ntohl(ttls[i].ipaddr.s_addr)));
        note_ttl(ttls[i].ttl);
      }
    }
  }
  classify(a, rc4);

  if (!out.addresses.empty()) {
    out.status = AddressAnswer::ok;
    // One family failing (a broken AAAA server) must not stop delivery over the other; but then
    // the answer is not cached, so the failed family is asked again next time.
    ttl = temp.empty() ? cap_ttl(min_ttl ? std::optional<std::uint32_t>(std::max(0, *min_ttl)) : std::nullopt)
                       : std::chrono::seconds(0);
    return out;
  }
  ttl = negative_ttl;
  if (!temp.empty()) {
    out.status = AddressAnswer::temp_failure;
    out.error = temp;
    ttl = std::chrono::seconds(0);
  } else if (nx) {
    out.status = AddressAnswer::nxdomain;
    out.error = "no such domain (NXDOMAIN)";
  } else {
    (void)nodata;
    out.status = AddressAnswer::no_records;
  }
  return out;
}

// The status of a lookup that found nothing, for the answer types with the four plain outcomes (TXT,
// PTR); `rc` is the parse result when the query itself succeeded. False when there is something to read.
template <typename Answer>
bool interpret_failure(const RawAnswer& raw, int rc, Answer& out, std::chrono::seconds& ttl) {
  int status = raw.status == ARES_SUCCESS ? rc : raw.status;
  ttl = negative_ttl;
  if (status == ARES_SUCCESS) return false;
  if (status == ARES_ENOTFOUND) {
    out.status = Answer::nxdomain;
    out.error = "no such domain (NXDOMAIN)";
  } else if (status == ARES_ENODATA) {
    out.status = Answer::no_records;
  } else {
    out.status = Answer::temp_failure;
    out.error = raw.status == ARES_SUCCESS ? "malformed answer: " + status_text(status) : status_text(status);
    ttl = std::chrono::seconds(0);
  }
  return true;
}

TxtAnswer interpret_txt(const RawAnswer& raw, std::chrono::seconds& ttl) {
  TxtAnswer out;
  ares_txt_ext* txt = nullptr;
  int rc = raw.status == ARES_SUCCESS
               ? ares_parse_txt_reply_ext(raw.message.data(), static_cast<int>(raw.message.size()), &txt)
               : raw.status;
  if (interpret_failure(raw, rc, out, ttl)) return out;
  for (ares_txt_ext* t = txt; t; t = t->next) {
    if (t->record_start || out.records.empty()) out.records.emplace_back();
    out.records.back().append(reinterpret_cast<const char*>(t->txt), t->length);
  }
  ares_free_data(txt);
  ttl = cap_ttl(min_answer_ttl(raw.message));
  out.status = out.records.empty() ? TxtAnswer::no_records : TxtAnswer::ok;
  if (out.records.empty()) ttl = negative_ttl;
  return out;
}

SrvAnswer interpret_srv(const RawAnswer& raw) {
  SrvAnswer out;
  ares_srv_reply* srv = nullptr;
  int rc = raw.status == ARES_SUCCESS
               ? ares_parse_srv_reply(raw.message.data(), static_cast<int>(raw.message.size()), &srv)
               : raw.status;
  std::chrono::seconds ttl{0};
  if (interpret_failure(raw, rc, out, ttl)) return out;
  for (ares_srv_reply* r = srv; r; r = r->next)
    out.records.push_back({r->priority, r->weight, r->port, normalize(r->host)});
  ares_free_data(srv);
  out.status = out.records.empty() ? SrvAnswer::no_records : SrvAnswer::ok;
  return out;
}

NameAnswer interpret_ptr(const RawAnswer& raw, const asio::ip::address& address, std::chrono::seconds& ttl) {
  NameAnswer out;
  hostent* host = nullptr;
  int rc = raw.status;
  if (rc == ARES_SUCCESS) {
    const int len = static_cast<int>(raw.message.size());
    if (address.is_v4()) {
      auto b = address.to_v4().to_bytes();
      rc = ares_parse_ptr_reply(raw.message.data(), len, b.data(), int(b.size()), AF_INET, &host);
    } else {
      auto b = address.to_v6().to_bytes();
      rc = ares_parse_ptr_reply(raw.message.data(), len, b.data(), int(b.size()), AF_INET6, &host);
    }
  }
  if (interpret_failure(raw, rc, out, ttl)) return out;
  if (host) {
    if (host->h_name) out.names.push_back(normalize(host->h_name));
    for (char** a = host->h_aliases; a && *a; ++a) {
      std::string n = normalize(*a);
      if (std::find(out.names.begin(), out.names.end(), n) == out.names.end()) out.names.push_back(std::move(n));
    }
    ares_free_hostent(host);
  }
  ttl = cap_ttl(min_answer_ttl(raw.message));
  out.status = out.names.empty() ? NameAnswer::no_records : NameAnswer::ok;
  if (out.names.empty()) ttl = negative_ttl;
  return out;
}

// The name of the PTR record of `address`: "4.3.2.1.in-addr.arpa", or the nibbles under ip6.arpa.
std::string reverse_name(const asio::ip::address& address) {
  std::string out;
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char hex[] = "0123456789abcdef";
  auto b = address.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    out += hex[b[i] & 0xf];
    out += '.';
    out += hex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

// The cached answer for `name`, or (without a channel) the failure to report; nullopt: ask.
template <typename Answer>
std::optional<Answer> cached(State& st, std::map<std::string, CacheEntry<Answer>>& cache, const std::string& name) {
  std::lock_guard lock(st.mu);
  auto it = cache.find(name);
  if (it != cache.end()) {
    if (Clock::now() < it->second.expires) return it->second.answer;
    cache.erase(it);
  }
  if (!st.channel) {
    Answer fail;
    fail.status = Answer::temp_failure;
    fail.error = st.init_error;
    return fail;
  }
  return std::nullopt;
}

// c-ares' "host:port,[v6]:port" form of [dns] servers; "" when none is usable.
std::string servers_csv(const std::vector<config::Endpoint>& servers) {
  std::string csv;
  for (const auto& s : servers) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(s.host, ec);
    if (ec) {
      log::warn("dns: server '{}' is not an IP address; ignored", s.str());
      continue;
    }
    std::uint16_t port = s.port ? s.port : 53;
    if (!csv.empty()) csv += ',';
    csv += addr.is_v6() ? "[" + addr.to_string() + "]:" + std::to_string(port) : addr.to_string() + ":" + std::to_string(port);
  }
  return csv;
}

std::once_flag library_once;
int library_status = ARES_SUCCESS;

}  // namespace

struct Resolver::Impl {
  std::shared_ptr<State> state;
};

Resolver::Resolver(boost::asio::any_io_executor ex, std::vector<config::Endpoint> servers)
    : impl_(std::make_unique<Impl>()) {
  std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  impl_->state = std::make_shared<State>(std::move(ex));
  State& st = *impl_->state;
  if (library_status != ARES_SUCCESS) {
    st.init_error = "c-ares: " + status_text(library_status);
    log::error("dns: {}", st.init_error);
    return;
  }

  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
  opts.sock_state_cb = on_socket_state;
  opts.sock_state_cb_data = &st;
  opts.timeout = 2000;  // ms per try and server; c-ares doubles it on each retry round
  opts.tries = 2;  // one server: 2 s, then 4 s more, then temp_failure
  opts.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
  opts.ednspsz = 1232;  // the DNS flag day 2020 size: no IP fragmentation
  std::lock_guard lock(st.mu);
  int rc = ares_init_options(&st.channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    st.channel = nullptr;
    st.init_error = "c-ares: " + status_text(rc);
    log::error("dns: {}", st.init_error);
    return;
  }
  if (servers.empty()) return;

  std::string csv = servers_csv(servers);
  if (csv.empty() || (rc = ares_set_servers_ports_csv(st.channel, csv.c_str())) != ARES_SUCCESS) {
    st.init_error = csv.empty() ? "no usable DNS server in [dns] servers" : "c-ares: " + status_text(rc);
    log::error("dns: {}", st.init_error);
    ares_destroy(st.channel);
    st.channel = nullptr;
  }
}

Resolver::~Resolver() {
  State& st = *impl_->state;
  std::lock_guard lock(st.mu);
  if (st.channel) {
    // Completes every query in flight with ARES_EDESTRUCTION and releases every socket.
    ares_destroy(st.channel);
    st.channel = nullptr;
  }
  st.init_error = "resolver shut down";
  st.timer.cancel();
  for (auto& [fd, s] : st.socks) s->desc.release();
  st.socks.clear();
}

boost::asio::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  std::string name = normalize(domain);
  std::shared_ptr<State> st = impl_->state;
  if (name.empty()) {
    MxAnswer bad;
    bad.status = MxAnswer::nxdomain;
    bad.error = "empty domain";
    co_return bad;
  }
  if (auto hit = cached(*st, st->mx_cache, name)) {
    shuffle_equal(hit->hosts);
    co_return *hit;
  }
  Request* req = new Request{st, name, {ns_t_mx}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  std::chrono::seconds ttl{0};
  MxAnswer out = raw.size() == 1 ? interpret_mx(raw[0], ttl) : MxAnswer{};
  if (ttl.count() > 0) {
    std::lock_guard lock(st->mu);
    st->mx_cache[name] = {Clock::now() + ttl, out};
  }
  shuffle_equal(out.hosts);
  co_return out;
}

boost::asio::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  std::string name = normalize(host);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (istarts_with(name, "ipv6:")) name = name.substr(5);  // RFC 5321 4.1.3 address literal
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(name, ec);
  if (!ec) {
    AddressAnswer lit;
    lit.status = AddressAnswer::ok;
    lit.addresses.push_back(literal);
    co_return lit;
  }
  std::shared_ptr<State> st = impl_->state;
  if (name.empty()) {
    AddressAnswer bad;
    bad.status = AddressAnswer::nxdomain;
    bad.error = "empty host name";
    co_return bad;
  }
  if (auto hit = cached(*st, st->address_cache, name)) co_return *hit;
  Request* req = new Request{st, name, {ns_t_aaaa, ns_t_a}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  std::chrono::seconds ttl{0};
  AddressAnswer out = raw.size() == 2 ? interpret_addresses(raw[0], raw[1], ttl) : AddressAnswer{};
  if (ttl.count() > 0) {
    std::lock_guard lock(st->mu);
    st->address_cache[name] = {Clock::now() + ttl, out};
  }
  co_return out;
}

Status Resolver::set_servers(const std::vector<config::Endpoint>& servers) {
  State& st = *impl_->state;
  if (servers.empty())
    return Error{"going back to the system's resolver (/etc/resolv.conf) takes effect at the next restart"};
  std::string csv = servers_csv(servers);
  if (csv.empty()) return Error{"no usable DNS server in [dns] servers"};
  std::lock_guard lock(st.mu);
  if (!st.channel) return Error{"the resolver did not start (" + st.init_error + "); restart to use new servers"};
  st.pending_servers = csv;
  st.apply_pending_servers();
  return ok_status();
}

void Resolver::flush() {
  State& st = *impl_->state;
  std::lock_guard lock(st.mu);
  st.clear_caches();
}

boost::asio::awaitable<AddressAnswer> Resolver::addresses(std::string host, Family family) {
  if (family == Family::any) co_return co_await addresses(std::move(host));
  std::string name = normalize(host);
  std::shared_ptr<State> st = impl_->state;
  if (name.empty()) {
    AddressAnswer bad;
    bad.status = AddressAnswer::nxdomain;
    bad.error = "empty host name";
    co_return bad;
  }
  std::string key = (family == Family::v4 ? "4:" : "6:") + name;
  if (auto hit = cached(*st, st->address_cache, key)) co_return *hit;
  Request* req = new Request{st, name, {family == Family::v4 ? ns_t_a : ns_t_aaaa}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  std::chrono::seconds ttl{0};
  RawAnswer none;  // the family not asked: no records
  AddressAnswer out;
  if (raw.size() == 1)
    out = family == Family::v4 ? interpret_addresses(none, raw[0], ttl) : interpret_addresses(raw[0], none, ttl);
  if (ttl.count() > 0) {
    std::lock_guard lock(st->mu);
    st->address_cache[key] = {Clock::now() + ttl, out};
  }
  co_return out;
}

boost::asio::awaitable<TxtAnswer> Resolver::txt(std::string name_in) {
  std::string name = normalize(name_in);
  std::shared_ptr<State> st = impl_->state;
  if (name.empty()) {
    TxtAnswer bad;
    bad.status = TxtAnswer::nxdomain;
    bad.error = "empty domain";
    co_return bad;
  }
  if (auto hit = cached(*st, st->txt_cache, name)) co_return *hit;
  Request* req = new Request{st, name, {ns_t_txt}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  std::chrono::seconds ttl{0};
  TxtAnswer out = raw.size() == 1 ? interpret_txt(raw[0], ttl) : TxtAnswer{};
  if (ttl.count() > 0) {
    std::lock_guard lock(st->mu);
    st->txt_cache[name] = {Clock::now() + ttl, out};
  }
  co_return out;
}

boost::asio::awaitable<SrvAnswer> Resolver::srv(std::string name_in) {
  std::string name = normalize(name_in);
  std::shared_ptr<State> st = impl_->state;
  if (name.empty()) {
    SrvAnswer bad;
    bad.status = SrvAnswer::nxdomain;
    bad.error = "empty name";
    co_return bad;
  }
  Request* req = new Request{st, name, {ns_t_srv}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  co_return raw.size() == 1 ? interpret_srv(raw[0]) : SrvAnswer{};
}

boost::asio::awaitable<NameAnswer> Resolver::ptr(boost::asio::ip::address address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  std::string name = reverse_name(address);
  std::shared_ptr<State> st = impl_->state;
  if (auto hit = cached(*st, st->ptr_cache, name)) co_return *hit;
  Request* req = new Request{st, name, {ns_t_ptr}};
  std::vector<RawAnswer> raw = co_await async_lookup(req);
  std::chrono::seconds ttl{0};
  NameAnswer out = raw.size() == 1 ? interpret_ptr(raw[0], address, ttl) : NameAnswer{};
  if (ttl.count() > 0) {
    std::lock_guard lock(st->mu);
    st->ptr_cache[name] = {Clock::now() + ttl, out};
  }
  co_return out;
}

}  // namespace tern::dns
