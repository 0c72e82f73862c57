// api/dns_records: the records a local domain publishes, for `tern domain dns` and the API alike.
#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "api/admin.hpp"
#include "mailauth/keys.hpp"

namespace tern::api {

std::string zone_txt(const std::string& name, const std::string& text) {
  std::string out = name + ". 3600 IN TXT";
  for (std::size_t i = 0; i < text.size(); i += 255) out += " \"" + text.substr(i, 255) + "\"";
  return out;
}

Result<std::vector<PublishedRecord>> dns_records(store::Directory& dir, const std::filesystem::path& data_dir,
                                                 const std::string& host, std::string_view name) {
  auto domain = mailauth::key_domain(name);
  if (!domain) return Error{fmt::format("'{}' is not a domain name", name), Error::Kind::invalid};
  auto domains = dir.domains();
  if (std::find(domains.begin(), domains.end(), *domain) == domains.end())
    return Error{fmt::format("{} is not a local domain (tern domain add {})", *domain, *domain), Error::Kind::not_found};
  std::vector<PublishedRecord> records;
  auto txt = [&](const std::string& owner, const std::string& text) {
    records.push_back({PublishedRecord::Kind::txt, owner, text, zone_txt(owner, text)});
  };
  records.push_back({PublishedRecord::Kind::mx, *domain, host, *domain + ". 3600 IN MX 10 " + host + "."});
  txt(*domain, "v=spf1 mx -all");
  mailauth::DkimKeys keys(data_dir / "dkim");
  auto list = keys.list(*domain);
  if (!list) return list.error();
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& k : *list)
    if (k.published(now)) txt(k.selector + "._domainkey." + k.domain, k.public_record);
  txt("_dmarc." + *domain, "v=DMARC1; p=reject; rua=mailto:postmaster@" + *domain);
  for (auto [service, port] : {std::pair{"_submissions", 465}, {"_submission", 587}, {"_imaps", 993}, {"_imap", 143},
                               {"_pop3s", 995}}) {
    std::string owner = std::string(service) + "._tcp." + *domain;
    records.push_back({PublishedRecord::Kind::srv, owner, fmt::format("{} {}", port, host),
                       fmt::format("{}. 3600 IN SRV 0 1 {} {}.", owner, port, host)});
  }
  return records;
}

}  // namespace tern::api
