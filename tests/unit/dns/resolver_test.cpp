// dns::Resolver against a real dnsmasq that the test starts on a free loopback port: MX order and
// shuffling, null MX, NXDOMAIN, NODATA, address records of both families, IP literals, the cache and
// flush(), refusals and a silent server (temp_failure), lookups from two threads at once, and a
// Resolver destroyed with lookups in flight. Without /usr/sbin/dnsmasq the tests fail (never skip).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "dns/resolver.hpp"

extern char** environ;

namespace tern::dns {
namespace {

namespace asio = boost::asio;
constexpr const char* dnsmasq_path = "/usr/sbin/dnsmasq";

// A free port on 127.0.0.1 for both UDP and TCP (as dnsmasq listens on both).
std::uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(u);
      continue;
    }
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (ok) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port");
}

bool tcp_accepts(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// dnsmasq in the foreground, authoritative (--local) for .test, answering only from its options.
class Dnsmasq {
 public:
  Dnsmasq(std::uint16_t port, std::vector<std::string> records) : port_(port) {
    if (::access(dnsmasq_path, X_OK) != 0)
      throw std::runtime_error(std::string(dnsmasq_path) + " is missing (package dnsmasq-base)");
    std::vector<std::string> args = {dnsmasq_path,
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--pid-file=",
                                     "--log-facility=/dev/null",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--local=/test/",
                                     "--local-ttl=300"};
    args.insert(args.end(), records.begin(), records.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, dnsmasq_path, nullptr, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start dnsmasq");
    for (int i = 0; i < 500; ++i) {
      if (tcp_accepts(port)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("dnsmasq exited at start (status " + std::to_string(status) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("dnsmasq did not start listening");
  }
  ~Dnsmasq() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  pid_t pid_ = -1;
};

std::vector<std::string> standard_records() {
  return {
      "--mx-host=a.test,mx1.a.test,10",
      "--mx-host=a.test,mx2.a.test,20",
      "--host-record=mx1.a.test,127.0.0.2",
      "--host-record=mx2.a.test,127.0.0.3,::1",
      "--host-record=v6only.test,::2",
      "--mx-host=equal.test,e1.equal.test,10",
      "--mx-host=equal.test,e2.equal.test,10",
      "--mx-host=equal.test,e3.equal.test,10",
      "--mx-host=equal.test,e4.equal.test,10",
      "--mx-host=equal.test,last.equal.test,50",
      "--mx-host=null.test,.,0",
      "--host-record=plain.test,127.0.0.9",
      "--txt-record=txt.test,v=spf1 ip4:127.0.0.0/8 ,-all",
      "--txt-record=txt.test,second record",
      "--ptr-record=7.0.0.127.in-addr.arpa,named.test",
  };
}

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> job) {
  auto f = asio::co_spawn(io, std::move(job), asio::use_future);
  io.restart();
  io.run();
  return f.get();
}

asio::awaitable<MxAnswer> mx_job(Resolver* r, std::string name) { co_return co_await r->mx(std::move(name)); }
asio::awaitable<AddressAnswer> addr_job(Resolver* r, std::string name) {
  co_return co_await r->addresses(std::move(name));
}

std::vector<std::string> names(const MxAnswer& a) {
  std::vector<std::string> out;
  for (const auto& h : a.hosts) out.push_back(h.name + "/" + std::to_string(h.preference));
  return out;
}

std::vector<std::string> strs(const AddressAnswer& a) {
  std::vector<std::string> out;
  for (const auto& x : a.addresses) out.push_back(x.to_string());
  return out;
}

asio::awaitable<AddressAnswer> family_job(Resolver* r, std::string name, Family f) {
  co_return co_await r->addresses(std::move(name), f);
}
asio::awaitable<TxtAnswer> txt_job(Resolver* r, std::string name) { co_return co_await r->txt(std::move(name)); }
asio::awaitable<NameAnswer> ptr_job(Resolver* r, asio::ip::address a) { co_return co_await r->ptr(a); }

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest() : dns_(free_port(), standard_records()), resolver_(io_.get_executor(), {{"127.0.0.1", dns_.port()}}) {}
  MxAnswer mx(std::string name) { return run(io_, mx_job(&resolver_, std::move(name))); }
  AddressAnswer addresses(std::string name) { return run(io_, addr_job(&resolver_, std::move(name))); }
  AddressAnswer addresses(std::string name, Family f) { return run(io_, family_job(&resolver_, std::move(name), f)); }
  TxtAnswer txt(std::string name) { return run(io_, txt_job(&resolver_, std::move(name))); }
  NameAnswer ptr(std::string address) { return run(io_, ptr_job(&resolver_, asio::ip::make_address(address))); }

  asio::io_context io_;
  Dnsmasq dns_;
  Resolver resolver_;
};

TEST_F(ResolverTest, MxSortedByPreference) {
  auto a = mx("a.test");
  ASSERT_EQ(a.status, MxAnswer::ok) << a.error;
  EXPECT_EQ(names(a), (std::vector<std::string>{"mx1.a.test/10", "mx2.a.test/20"}));
  // Case and a trailing dot do not matter.
  auto b = mx("A.Test.");
  ASSERT_EQ(b.status, MxAnswer::ok) << b.error;
  EXPECT_EQ(names(b), names(a));
}

TEST_F(ResolverTest, EqualPreferencesAreShuffled) {
  std::set<std::string> firsts;
  for (int i = 0; i < 60; ++i) {
    auto a = mx("equal.test");
    ASSERT_EQ(a.status, MxAnswer::ok) << a.error;
    ASSERT_EQ(a.hosts.size(), 5u);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(a.hosts[j].preference, 10);
    EXPECT_EQ(a.hosts[4].name, "last.equal.test");
    firsts.insert(a.hosts[0].name);
  }
  // 60 draws of 4 equally likely hosts: all four appear first with overwhelming probability.
  EXPECT_EQ(firsts.size(), 4u);
}

TEST_F(ResolverTest, NullMx) {
  auto a = mx("null.test");
  EXPECT_EQ(a.status, MxAnswer::null_mx) << a.error;
  EXPECT_TRUE(a.hosts.empty());
}

TEST_F(ResolverTest, NoMxRecords) {
  auto a = mx("plain.test");
  EXPECT_EQ(a.status, MxAnswer::no_records) << a.error;
  // ... and the address fallback (RFC 5321 5.1) finds the A record.
  auto b = addresses("plain.test");
  ASSERT_EQ(b.status, AddressAnswer::ok) << b.error;
  EXPECT_EQ(strs(b), (std::vector<std::string>{"127.0.0.9"}));
}

TEST_F(ResolverTest, Nxdomain) {
  auto a = mx("nowhere.test");
  EXPECT_EQ(a.status, MxAnswer::nxdomain) << a.error;
  auto b = addresses("nowhere.test");
  EXPECT_EQ(b.status, AddressAnswer::nxdomain) << b.error;
}

TEST_F(ResolverTest, AddressesAaaaFirstThenA) {
  auto a = addresses("mx2.a.test");
  ASSERT_EQ(a.status, AddressAnswer::ok) << a.error;
  EXPECT_EQ(strs(a), (std::vector<std::string>{"::1", "127.0.0.3"}));
  auto b = addresses("v6only.test");
  ASSERT_EQ(b.status, AddressAnswer::ok) << b.error;
  EXPECT_EQ(strs(b), (std::vector<std::string>{"::2"}));
  auto c = addresses("a.test");  // MX only, no address records
  EXPECT_EQ(c.status, AddressAnswer::no_records) << c.error;
}

TEST_F(ResolverTest, OneFamilyOnly) {
  auto v4 = addresses("mx2.a.test", Family::v4);
  ASSERT_EQ(v4.status, AddressAnswer::ok) << v4.error;
  EXPECT_EQ(strs(v4), (std::vector<std::string>{"127.0.0.3"}));
  auto v6 = addresses("mx2.a.test", Family::v6);
  ASSERT_EQ(v6.status, AddressAnswer::ok) << v6.error;
  EXPECT_EQ(strs(v6), (std::vector<std::string>{"::1"}));
  EXPECT_EQ(addresses("v6only.test", Family::v4).status, AddressAnswer::no_records);
  EXPECT_EQ(addresses("nowhere.test", Family::v4).status, AddressAnswer::nxdomain);
  // The per-family cache entries do not stand in for the whole answer.
  EXPECT_EQ(strs(addresses("mx2.a.test")), (std::vector<std::string>{"::1", "127.0.0.3"}));
}

TEST_F(ResolverTest, TxtRecordsJoinTheirStrings) {
  auto a = txt("TXT.test.");
  ASSERT_EQ(a.status, TxtAnswer::ok) << a.error;
  std::vector<std::string> records = a.records;
  std::sort(records.begin(), records.end());
  EXPECT_EQ(records, (std::vector<std::string>{"second record", "v=spf1 ip4:127.0.0.0/8 -all"}));
  EXPECT_EQ(txt("plain.test").status, TxtAnswer::no_records);
  EXPECT_EQ(txt("nowhere.test").status, TxtAnswer::nxdomain);
}

TEST_F(ResolverTest, ReverseLookup) {
  auto a = ptr("127.0.0.7");
  ASSERT_EQ(a.status, NameAnswer::ok) << a.error;
  EXPECT_EQ(a.names, (std::vector<std::string>{"named.test"}));
  auto b = ptr("127.0.0.9");  // from plain.test's host-record
  ASSERT_EQ(b.status, NameAnswer::ok) << b.error;
  EXPECT_EQ(b.names, (std::vector<std::string>{"plain.test"}));
  auto c = ptr("::ffff:127.0.0.9");  // a v4-mapped address is asked as IPv4
  EXPECT_EQ(c.names, b.names);
  EXPECT_NE(ptr("127.0.0.200").status, NameAnswer::ok);
}

TEST_F(ResolverTest, IpLiteralsNeedNoQuery) {
  Resolver offline(io_.get_executor(), {{"127.0.0.1", 9}});  // nothing listens on the discard port
  for (auto [in, out] : std::vector<std::pair<std::string, std::string>>{
           {"192.0.2.7", "192.0.2.7"}, {"[192.0.2.8]", "192.0.2.8"}, {"[IPv6:2001:db8::1]", "2001:db8::1"}, {"::1", "::1"}}) {
    auto a = run(io_, addr_job(&offline, in));
    ASSERT_EQ(a.status, AddressAnswer::ok) << in << ": " << a.error;
    EXPECT_EQ(strs(a), std::vector<std::string>{out}) << in;
  }
}

TEST_F(ResolverTest, NamesOutsideTheLocalZoneAreRefused) {
  // dnsmasq with --no-resolv has no upstream: it refuses, which is a temporary failure for us.
  auto a = mx("example.com");
  EXPECT_EQ(a.status, MxAnswer::temp_failure);
  EXPECT_FALSE(a.error.empty());
}

TEST_F(ResolverTest, NoServerListening) {
  Resolver offline(io_.get_executor(), {{"127.0.0.1", free_port()}});
  auto a = run(io_, mx_job(&offline, "a.test"));
  EXPECT_EQ(a.status, MxAnswer::temp_failure);
  EXPECT_FALSE(a.error.empty());
  auto b = run(io_, addr_job(&offline, "mx1.a.test"));
  EXPECT_EQ(b.status, AddressAnswer::temp_failure);
}

TEST(Resolver, SilentServerTimesOut) {
  // A UDP socket that never answers: c-ares' timer path must end the query.
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  asio::io_context io;
  Resolver r(io.get_executor(), {{"127.0.0.1", ntohs(a.sin_port)}});
  auto start = std::chrono::steady_clock::now();
  auto ans = run(io, mx_job(&r, "a.test"));
  EXPECT_EQ(ans.status, MxAnswer::temp_failure);
  EXPECT_NE(ans.error.find("imeout"), std::string::npos) << ans.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ::close(s);
}

TEST(Resolver, CacheAndFlush) {
  std::uint16_t port = free_port();
  asio::io_context io;
  Resolver r(io.get_executor(), {{"127.0.0.1", port}});
  {
    Dnsmasq dns(port, {"--mx-host=c.test,old.c.test,10", "--host-record=h.c.test,127.0.0.5"});
    EXPECT_EQ(names(run(io, mx_job(&r, "c.test"))), std::vector<std::string>{"old.c.test/10"});
    EXPECT_EQ(strs(run(io, addr_job(&r, "h.c.test"))), std::vector<std::string>{"127.0.0.5"});
  }
  Dnsmasq dns(port, {"--mx-host=c.test,new.c.test,10", "--host-record=h.c.test,127.0.0.6"});
  // Cached for their TTL (300 s here)...
  EXPECT_EQ(names(run(io, mx_job(&r, "c.test"))), std::vector<std::string>{"old.c.test/10"});
  EXPECT_EQ(strs(run(io, addr_job(&r, "h.c.test"))), std::vector<std::string>{"127.0.0.5"});
  // ... until flushed ("Clear Host Assignments").
  r.flush();
  EXPECT_EQ(names(run(io, mx_job(&r, "c.test"))), std::vector<std::string>{"new.c.test/10"});
  EXPECT_EQ(strs(run(io, addr_job(&r, "h.c.test"))), std::vector<std::string>{"127.0.0.6"});
}

// Several lookups in a row, as a delivery job does them: "first MX host, last address" of each.
asio::awaitable<std::string> lookup_rounds(Resolver* r, std::string mx_name, std::string host, int rounds) {
  std::string out;
  for (int i = 0; i < rounds; ++i) {
    auto m = co_await r->mx(mx_name);
    auto a = co_await r->addresses(host);
    out += m.status == MxAnswer::ok && !m.hosts.empty() ? std::to_string(m.hosts.front().preference) : "mx-failed:" + m.error;
    out += " ";
    out += a.status == AddressAnswer::ok && !a.addresses.empty() ? a.addresses.back().to_string() : "a-failed:" + a.error;
    out += ";";
    if (i % 2 == 1) r->flush();
  }
  co_return out;
}

TEST_F(ResolverTest, ManyLookupsFromTwoThreads) {
  asio::io_context io;
  Resolver r(io.get_executor(), {{"127.0.0.1", dns_.port()}});
  std::vector<std::future<std::string>> results;
  constexpr int jobs = 40, rounds = 5;
  for (int i = 0; i < jobs; ++i) {
    bool even = i % 2 == 0;
    results.push_back(asio::co_spawn(
        io, lookup_rounds(&r, even ? "a.test" : "equal.test", even ? "mx1.a.test" : "plain.test", rounds), asio::use_future));
  }
  std::thread t1([&] { io.run(); });
  std::thread t2([&] { io.run(); });
  t1.join();
  t2.join();
  for (int i = 0; i < jobs; ++i) {
    std::string want;
    for (int j = 0; j < rounds; ++j) want += i % 2 == 0 ? "10 127.0.0.2;" : "10 127.0.0.9;";
    EXPECT_EQ(results[i].get(), want) << i;
  }
}

TEST(Resolver, DestroyedWithLookupsInFlight) {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);  // a silent server
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  asio::io_context io;
  auto r = std::make_unique<Resolver>(io.get_executor(), std::vector<config::Endpoint>{{"127.0.0.1", ntohs(a.sin_port)}});
  auto f1 = asio::co_spawn(io, mx_job(r.get(), "a.test"), asio::use_future);
  auto f2 = asio::co_spawn(io, addr_job(r.get(), "b.test"), asio::use_future);
  io.run_for(std::chrono::milliseconds(200));  // both queries sent, waiting for answers
  r.reset();
  io.restart();
  io.run();
  auto m = f1.get();
  auto ad = f2.get();
  EXPECT_EQ(m.status, MxAnswer::temp_failure);
  EXPECT_EQ(m.error, "resolver shut down");
  EXPECT_EQ(ad.status, AddressAnswer::temp_failure);
  ::close(s);
}

}  // namespace
}  // namespace tern::dns
