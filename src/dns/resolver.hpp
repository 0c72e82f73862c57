// dns: an asynchronous DNS resolver (c-ares): MX and address records for the outbox, TXT and PTR
// records for mail authentication (SPF, DKIM keys, DMARC), from the servers of [dns] servers (tests
// point them at a dnsmasq on loopback) or the system's resolv.conf.
//
// Error contract: no exceptions for DNS outcomes; each answer carries a Status that tells the spool
// whether to fail at once (nxdomain, null MX) or retry later (temp_failure). Answers are cached for
// their TTL (at most an hour); flush() forgets the cache ("Clear Host Assignments").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "base/result.hpp"
#include "config/config.hpp"

namespace tern::dns {

struct MxHost {
  std::string name;        // without trailing dot, lower-case
  std::uint16_t preference = 0;
};

struct MxAnswer {
  enum Status { ok, no_records, nxdomain, null_mx, temp_failure } status = temp_failure;
  // ok: sorted by preference, random order among equal preferences (RFC 5321 5.1).
  std::vector<MxHost> hosts;
  std::string error;  // for temp_failure / nxdomain: what the resolver said
};

struct AddressAnswer {
  enum Status { ok, no_records, nxdomain, temp_failure } status = temp_failure;
  std::vector<boost::asio::ip::address> addresses;  // IPv6 and IPv4 (AAAA first, then A)
  std::string error;
};

// TXT records (SPF, DKIM keys, DMARC policies): each record's character-strings joined, as RFC 7208
// 3.3 and RFC 6376 3.6.2.2 read them.
struct TxtAnswer {
  enum Status { ok, no_records, nxdomain, temp_failure } status = temp_failure;
  std::vector<std::string> records;
  std::string error;
};

// Names of a PTR lookup (reverse DNS), lower-case, without the trailing dot.
struct NameAnswer {
  enum Status { ok, no_records, nxdomain, temp_failure } status = temp_failure;
  std::vector<std::string> names;
  std::string error;
};

// SRV records (RFC 2782): client configuration (RFC 6186), checked by `tern domain dns --check`.
struct SrvRecord {
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string target;  // lower-case, without the trailing dot
};
struct SrvAnswer {
  enum Status { ok, no_records, nxdomain, temp_failure } status = temp_failure;
  std::vector<SrvRecord> records;
  std::string error;
};

enum class Family { any, v4, v6 };

class Resolver {
 public:
  // servers empty: the system resolver configuration (/etc/resolv.conf).
  Resolver(boost::asio::any_io_executor ex, std::vector<config::Endpoint> servers);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  boost::asio::awaitable<MxAnswer> mx(std::string domain);
  boost::asio::awaitable<AddressAnswer> addresses(std::string host);
  // Only A (v4) or only AAAA (v6) records, as SPF's "a", "mx" and "exists" ask.
  boost::asio::awaitable<AddressAnswer> addresses(std::string host, Family family);
  boost::asio::awaitable<TxtAnswer> txt(std::string name);
  boost::asio::awaitable<NameAnswer> ptr(boost::asio::ip::address address);
  boost::asio::awaitable<SrvAnswer> srv(std::string name);  // not cached (the CLI's checks)
  void flush();
  // [dns] servers changed (a reload): new lookups ask `servers` (as soon as no query is in flight) and
  // the cache is forgotten. An error says why the running servers stay.
  Status set_servers(const std::vector<config::Endpoint>& servers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::dns
