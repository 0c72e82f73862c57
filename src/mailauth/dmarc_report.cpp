#include "mailauth/dmarc_report.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <tuple>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/codec.hpp"
#include "base/strings.hpp"
#include "mailauth/dmarc.hpp"
#include "store/files.hpp"

namespace tern::mailauth::dmarc {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string day_of(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// [begin, end) of a UTC day, in Unix seconds.
std::pair<std::int64_t, std::int64_t> day_range(const std::string& day) {
  std::tm tm{};
  strptime(day.c_str(), "%Y-%m-%d", &tm);
  std::int64_t begin = timegm(&tm);
  return {begin, begin + 86400};
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string address_of(std::string_view uri) {
  // mailto:addr[!size] (RFC 7489 6.2): the address, without the size limit.
  auto a = uri.substr(7);
  a = a.substr(0, a.find('!'));
  return std::string(trim(a));
}

}  // namespace

struct Recorder::File {
  File(int f, fs::path p) : fd(f), path(std::move(p)) {}
  ~File() { ::close(fd); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd;
  fs::path path;
};

tern::Status Recorder::record(const Evaluation& e) {
  json::object o{{"time", e.time},          {"domain", e.policy_domain}, {"p", e.p},         {"sp", e.sp},
                 {"pct", e.pct},            {"adkim", e.strict_dkim ? "s" : "r"},           {"aspf", e.strict_spf ? "s" : "r"},
                 {"ip", e.source_ip},       {"from", e.header_from},     {"disposition", e.disposition},
                 {"dkim_aligned", e.dkim_aligned}, {"spf_aligned", e.spf_aligned},
                 {"spf_domain", e.spf_domain}, {"spf", e.spf_result}};
  json::array rua;
  for (const auto& u : e.rua) rua.push_back(json::string(u));
  o["rua"] = std::move(rua);
  json::array dkim;
  for (const auto& [d, r] : e.dkim) dkim.push_back(json::array{json::string(d), json::string(r)});
  o["dkim"] = std::move(dkim);
  std::string line = json::serialize(o) + "\n";
  auto failed = [](int err, const fs::path& file) {
    return Error::from(std::system_error(err ? err : EIO, std::generic_category(), "append to " + file.string()));
  };
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    try {
      store::ensure_dir(dir_);
    } catch (const std::system_error& ex) {
      return Error::from(ex);
    }
    std::string day = day_of(e.time);
    if (!file_ || day != day_) {
      // The file of another day: what was appended to the current one is synced before it is let go.
      if (file_ && ::fdatasync(file_->fd) != 0) return failed(errno, file_->path);
      fs::path path = dir_ / (day + ".jsonl");
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      if (fd < 0) return Error::from(std::system_error(errno, std::generic_category(), "open " + path.string()));
      file_ = std::make_shared<File>(fd, path);
      day_ = day;
    }
    ssize_t n = ::write(file_->fd, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) return failed(n < 0 ? errno : EIO, file_->path);
    ticket = ++written_;
  }
  std::unique_lock lk(sync_mu_);
  while (synced_ < ticket) {
    if (syncing_) {
      synced_cv_.wait(lk);
      continue;
    }
    syncing_ = true;
    std::uint64_t upto = 0;
    std::shared_ptr<File> file;
    {
      std::lock_guard lock(mu_);
      upto = written_;
      file = file_;
    }
    lk.unlock();
    int rc = ::fdatasync(file->fd);
    int err = errno;
    lk.lock();
    syncing_ = false;
    if (rc == 0) synced_ = std::max(synced_, upto);
    synced_cv_.notify_all();
    if (rc != 0) return failed(err, file->path);
  }
  return ok_status();
}

std::vector<std::string> days_to_report(const fs::path& dir, const std::string& today) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (!name.ends_with(".jsonl") || name.size() != 16) continue;
    std::string day = name.substr(0, 10);
    if (day < today) out.push_back(day);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<Evaluation>> read_day(const fs::path& dir, const std::string& day) {
  std::string text;
  try {
    text = store::read_file(dir / (day + ".jsonl"));
  } catch (const std::system_error& ex) {
    return Error::from(ex);
  }
  std::vector<Evaluation> out;
  for (auto line : split(text, '\n')) {
    if (trim(line).empty()) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;  // a line cut by a crash mid-append: skipped
    const auto& o = v.as_object();
    Evaluation e;
    if (auto* t = o.if_contains("time"); t && t->is_int64()) e.time = t->as_int64();
    e.policy_domain = str(o, "domain");
    e.p = str(o, "p");
    e.sp = str(o, "sp");
    if (auto* pct = o.if_contains("pct"); pct && pct->is_int64()) e.pct = static_cast<int>(pct->as_int64());
    e.strict_dkim = str(o, "adkim") == "s";
    e.strict_spf = str(o, "aspf") == "s";
    e.source_ip = str(o, "ip");
    e.header_from = str(o, "from");
    e.disposition = str(o, "disposition");
    e.dkim_aligned = str(o, "dkim_aligned");
    e.spf_aligned = str(o, "spf_aligned");
    e.spf_domain = str(o, "spf_domain");
    e.spf_result = str(o, "spf");
    if (auto* r = o.if_contains("rua"); r && r->is_array())
      for (const auto& u : r->as_array())
        if (u.is_string()) e.rua.emplace_back(u.as_string());
    if (auto* d = o.if_contains("dkim"); d && d->is_array())
      for (const auto& pair : d->as_array())
        if (pair.is_array() && pair.as_array().size() == 2 && pair.as_array()[0].is_string() && pair.as_array()[1].is_string())
          e.dkim.emplace_back(std::string(pair.as_array()[0].as_string()), std::string(pair.as_array()[1].as_string()));
    if (!e.policy_domain.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::set<std::pair<std::string, std::string>> external_checks(const std::vector<Evaluation>& rows) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& e : rows) {
    for (const auto& uri : e.rua) {
      std::string addr = address_of(uri);
      auto at = addr.rfind('@');
      if (at == std::string::npos) continue;
      std::string dest = to_lower(addr.substr(at + 1));
      if (organizational_domain(dest) != organizational_domain(e.policy_domain)) out.insert({e.policy_domain, dest});
    }
  }
  return out;
}

std::string report_xml(const std::vector<Evaluation>& rows, const std::string& policy_domain, const std::string& day,
                       const std::string& hostname, const std::string& report_id) {
  auto [begin, end] = day_range(day);
  const Evaluation& last = rows.back();  // the policy as last seen that day
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <version>1.0</version>\n";
  x += fmt::format(
      "  <report_metadata>\n    <org_name>{}</org_name>\n    <email>postmaster@{}</email>\n"
      "    <report_id>{}</report_id>\n    <date_range>\n      <begin>{}</begin>\n      <end>{}</end>\n"
      "    </date_range>\n  </report_metadata>\n",
      xml_escape(hostname), xml_escape(hostname), xml_escape(report_id), begin, end - 1);
  x += fmt::format(
      "  <policy_published>\n    <domain>{}</domain>\n    <adkim>{}</adkim>\n    <aspf>{}</aspf>\n"
      "    <p>{}</p>\n    <sp>{}</sp>\n    <pct>{}</pct>\n  </policy_published>\n",
      xml_escape(policy_domain), last.strict_dkim ? "s" : "r", last.strict_spf ? "s" : "r", xml_escape(last.p),
      xml_escape(last.sp.empty() ? last.p : last.sp), last.pct);
  // One record per distinct row (source, outcome, identifiers, results), with its count.
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string, std::string,
                         std::vector<std::pair<std::string, std::string>>>;
  std::map<Key, int> counts;
  for (const auto& e : rows)
    ++counts[Key{e.source_ip, e.disposition, e.dkim_aligned, e.spf_aligned, e.header_from, e.spf_domain, e.spf_result,
                 e.dkim}];
  for (const auto& [k, n] : counts) {
    const auto& [ip, disposition, dkim, spf, from, spf_domain, spf_result, sigs] = k;
    x += fmt::format(
        "  <record>\n    <row>\n      <source_ip>{}</source_ip>\n      <count>{}</count>\n"
        "      <policy_evaluated>\n        <disposition>{}</disposition>\n        <dkim>{}</dkim>\n"
        "        <spf>{}</spf>\n      </policy_evaluated>\n    </row>\n"
        "    <identifiers>\n      <header_from>{}</header_from>\n    </identifiers>\n    <auth_results>\n",
        xml_escape(ip), n, xml_escape(disposition), xml_escape(dkim), xml_escape(spf), xml_escape(from));
    for (const auto& [d, r] : sigs)
      x += fmt::format("      <dkim>\n        <domain>{}</domain>\n        <result>{}</result>\n      </dkim>\n",
                       xml_escape(d), xml_escape(r));
    x += fmt::format(
        "      <spf>\n        <domain>{}</domain>\n        <result>{}</result>\n      </spf>\n"
        "    </auth_results>\n  </record>\n",
        xml_escape(spf_domain), xml_escape(spf_result.empty() ? "none" : spf_result));
  }
  return x + "</feedback>\n";
}

std::string report_message(const std::string& xml, const std::string& policy_domain, const std::string& day,
                           const std::string& hostname, const std::string& report_id,
                           const std::vector<std::string>& recipients) {
  auto [begin, end] = day_range(day);
  std::string filename = fmt::format("{}!{}!{}!{}.xml.gz", hostname, policy_domain, begin, end - 1);
  std::string boundary = "=_dmarc_" + report_id;
  std::string to;
  for (const auto& r : recipients) to += (to.empty() ? "<" : ", <") + r + ">";
  std::string m;
  m += fmt::format("From: DMARC reports <postmaster@{}>\r\n", hostname);
  m += "To: " + to + "\r\n";
  // RFC 7489 7.2.1.1: the Subject names the report domain, the submitter and the Report-ID.
  m += fmt::format("Subject: Report Domain: {} Submitter: {} Report-ID: <{}>\r\n", policy_domain, hostname, report_id);
  m += "Date: " + rfc5322_date() + "\r\n";
  m += fmt::format("Message-ID: <{}@{}>\r\n", report_id, hostname);
  m += "MIME-Version: 1.0\r\n";
  m += fmt::format("Content-Type: multipart/mixed; boundary=\"{}\"\r\n\r\n", boundary);
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += fmt::format("DMARC aggregate report for {} on {} (UTC), from {}.\r\n\r\n", policy_domain, day, hostname);
  m += "--" + boundary + "\r\n";
  m += fmt::format("Content-Type: application/gzip; name=\"{}\"\r\n", filename);
  m += fmt::format("Content-Disposition: attachment; filename=\"{}\"\r\n", filename);
  m += "Content-Transfer-Encoding: base64\r\n\r\n";
  std::string b64 = base64_encode(gzip(xml));
  for (std::size_t i = 0; i < b64.size(); i += 76) m += b64.substr(i, 76) + "\r\n";
  m += "--" + boundary + "--\r\n";
  return m;
}

std::vector<Report> build_reports(const std::vector<Evaluation>& rows, const std::string& day, const std::string& hostname,
                                  const std::set<std::pair<std::string, std::string>>& authorized) {
  std::map<std::string, std::vector<Evaluation>> by_domain;
  for (const auto& e : rows) by_domain[e.policy_domain].push_back(e);
  std::vector<Report> out;
  for (auto& [domain, list] : by_domain) {
    Report r;
    r.policy_domain = domain;
    // The same ID for the same day and domain: a report sent twice after a crash is one to the receiver.
    r.report_id = fmt::format("{}.{}.{}", day, domain, hostname);
    for (const auto& uri : list.back().rua) {
      std::string addr = address_of(uri);
      auto at = addr.rfind('@');
      if (at == std::string::npos || at == 0) continue;
      std::string dest = to_lower(addr.substr(at + 1));
      bool external = organizational_domain(dest) != organizational_domain(domain);
      if (external && !authorized.count({domain, dest})) {
        r.refused.push_back(addr);
        continue;
      }
      if (std::find(r.recipients.begin(), r.recipients.end(), addr) == r.recipients.end()) r.recipients.push_back(addr);
    }
    if (r.recipients.empty() && r.refused.empty()) continue;  // no rua=: nobody asked for reports
    r.xml = report_xml(list, domain, day, hostname, r.report_id);
    if (!r.recipients.empty()) r.message = report_message(r.xml, domain, day, hostname, r.report_id, r.recipients);
    out.push_back(std::move(r));
  }
  return out;
}

tern::Status mark_reported(const fs::path& dir, const std::string& day) {
  try {
    fs::rename(dir / (day + ".jsonl"), dir / (day + ".jsonl.reported"));
    store::fsync_dir(dir);
  } catch (const std::exception& ex) {
    return Error{std::string("cannot mark ") + day + " reported: " + ex.what()};
  }
  return ok_status();
}

}  // namespace tern::mailauth::dmarc
