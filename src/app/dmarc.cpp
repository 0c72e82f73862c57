#include "app/dmarc.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "base/fault.hpp"
#include "base/strings.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dmarc_report.hpp"
#include "spool/queue_file.hpp"
#include "spool/spool.hpp"
#include "store/files.hpp"

namespace tern::app {

namespace fs = std::filesystem;
namespace dmarc = mailauth::dmarc;
using Pairs = std::set<std::pair<std::string, std::string>>;

namespace {

std::string today_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// RFC 7489 7.1: a report may go to another organization only when it says it wants them.
boost::asio::awaitable<Pairs> authorize(dns::Resolver* resolver, const Pairs* checks) {
  Pairs ok;
  for (const auto& [policy, dest] : *checks) {
    std::string name = policy + "._report._dmarc." + dest;
    dns::TxtAnswer a = co_await resolver->txt(name);
    for (const auto& t : a.records)
      if (istarts_with(t, "v=DMARC1")) ok.insert({policy, dest});
  }
  co_return ok;
}

}  // namespace

Result<std::string> send_dmarc_reports(const config::Config& cfg, const std::string& only_day) {
  fs::path dir = cfg.data_dir / "dmarc";
  std::vector<std::string> days;
  if (only_day.empty()) days = dmarc::days_to_report(dir, today_utc());
  else if (fs::exists(dir / (only_day + ".jsonl"))) days.push_back(only_day);
  spool::Paths paths(cfg.data_dir);
  std::string out;
  for (const auto& day : days) {
    auto rows = dmarc::read_day(dir, day);
    if (!rows) return rows.error();
    Pairs checks = dmarc::external_checks(*rows);
    Pairs authorized;
    if (!checks.empty()) {
      boost::asio::io_context io;
      dns::Resolver resolver(io.get_executor(), cfg.dns_servers);
      auto f = boost::asio::co_spawn(io, authorize(&resolver, &checks), boost::asio::use_future);
      io.run();
      authorized = f.get();
    }
    for (auto& r : dmarc::build_reports(*rows, day, cfg.hostname, authorized)) {
      std::string line = fmt::format("{}: report for {}", day, r.policy_domain);
      if (!r.recipients.empty()) {
        spool::Envelope env;  // the null sender: a report never bounces back (RFC 7489 7.2.1.1 allows it)
        for (const auto& a : r.recipients) env.recipients.push_back(spool::Recipient{a});
        std::string data = spool::format(env, r.message);
        std::string name = "dmarc-" + make_unique_id();
        try {
          store::ensure_dir(paths.pending);
          // A dot file is never picked up: the pick-up sees the report only once it is whole.
          store::write_file_synced(paths.pending / ("." + name), paths.pending / name, data);
          store::fsync_dir(paths.pending);
        } catch (const std::system_error& e) {
          return Error::from(e);
        }
        line += " sent to " + fmt::format("{}", fmt::join(r.recipients, ", "));
      }
      if (!r.refused.empty())
        line += fmt::format(" (not to {}: no {}._report._dmarc record there, RFC 7489 7.1)", fmt::join(r.refused, ", "),
                            r.policy_domain);
      out += line + "\n";
    }
    // The reports are in the local outbox, the day not yet marked: a crash here sends them again at the
    // next run, with the same Report-IDs (receivers deduplicate on them).
    fault::point("dmarc.after_reports_queued");
    if (auto s = dmarc::mark_reported(dir, day); !s) return s.error();
  }
  return out;
}

}  // namespace tern::app
