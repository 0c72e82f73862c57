// mailauth/dmarc_report: DMARC aggregate reports (RFC 7489 7.2).
//
// Recording: each message the SMTP server evaluated against a DMARC record is one line of JSON in
// data_dir/dmarc/<YYYY-MM-DD>.jsonl (UTC day), appended and fdatasync'd before the message's reply, so
// a result that was acted on is on disk. Reporting: once a day is over, its records are grouped by the
// policy domain; for each, one XML report (Appendix C's schema), gzipped, goes by mail to the domain's
// rua= mailto: addresses that pass the external-destination check (7.1); the day's file is then
// renamed <day>.jsonl.reported. A crash between the two sends the day's reports again at the next run,
// with the same Report-ID (receivers deduplicate on it).
//
// Thread-safe. Appends are serialised; the syncs are shared (group commit): a record waits until an
// fdatasync that began after its append has finished, and one fdatasync covers every append before
// it, so 20 sessions recording at once cost about one sync, not 20 in a row.
#pragma once
#include <cstdint>
#include <filesystem>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::mailauth::dmarc {

// One evaluated message, as a report row needs it.
struct Evaluation {
  std::int64_t time = 0;  // Unix seconds
  std::string policy_domain;
  std::vector<std::string> rua;  // mailto: URIs of the record
  std::string p, sp;             // policy published ("" for sp when absent)
  int pct = 100;
  bool strict_dkim = false, strict_spf = false;
  std::string source_ip;
  std::string header_from;
  std::string disposition;  // none, quarantine, reject (applied)
  std::string dkim_aligned, spf_aligned;  // "pass" or "fail" (policy_evaluated)
  std::vector<std::pair<std::string, std::string>> dkim;  // (domain, result) of each signature
  std::string spf_domain, spf_result;
};

class Recorder {
 public:
  explicit Recorder(std::filesystem::path dir) : dir_(std::move(dir)) {}  // data_dir/dmarc
  // Appends and syncs (blocking: call on the worker pool).
  tern::Status record(const Evaluation& e);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct File;
  std::filesystem::path dir_;
  std::mutex mu_;  // the open file and appends
  std::string day_;
  std::shared_ptr<File> file_;
  std::uint64_t written_ = 0;  // appends so far
  std::mutex sync_mu_;         // the group commit
  std::condition_variable synced_cv_;
  std::uint64_t synced_ = 0;   // appends known to be on disk
  bool syncing_ = false;
};

// A report to send: the mail's recipients and the whole message (CRLF).
struct Report {
  std::string policy_domain;
  std::string report_id;
  std::vector<std::string> recipients;  // addresses from rua= that passed the external check
  std::vector<std::string> refused;     // rua= addresses the external check refused (for the log)
  std::string xml;                      // the report itself (tests read it back)
  std::string message;                  // RFC 5322, with the .xml.gz attachment
};

// The days (YYYY-MM-DD) with records not yet reported, before `today`.
std::vector<std::string> days_to_report(const std::filesystem::path& dir, const std::string& today);
Result<std::vector<Evaluation>> read_day(const std::filesystem::path& dir, const std::string& day);
// The (policy domain, rua domain) pairs whose organizational domains differ: each needs the 7.1 check,
// a TXT record "v=DMARC1" at <policy domain>._report._dmarc.<rua domain>, which the caller looks up.
std::set<std::pair<std::string, std::string>> external_checks(const std::vector<Evaluation>& rows);
// The reports of one day's records; `authorized`: the pairs of external_checks() that passed.
std::vector<Report> build_reports(const std::vector<Evaluation>& rows, const std::string& day,
                                  const std::string& hostname,
                                  const std::set<std::pair<std::string, std::string>>& authorized);
// Marks a day reported (durable rename).
tern::Status mark_reported(const std::filesystem::path& dir, const std::string& day);

std::string report_xml(const std::vector<Evaluation>& rows, const std::string& policy_domain, const std::string& day,
                       const std::string& hostname, const std::string& report_id);
std::string report_message(const std::string& xml, const std::string& policy_domain, const std::string& day,
                           const std::string& hostname, const std::string& report_id,
                           const std::vector<std::string>& recipients);

}  // namespace tern::mailauth::dmarc
