#include "mailauth/keys.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "mime/address.hpp"
#include "mime/headers.hpp"
#include "store/files.hpp"

namespace tern::mailauth {

namespace fs = std::filesystem;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

std::optional<DkimKeyInfo> read_info(const fs::path& pem, const std::string& domain) {
  std::string text;
  try {
    text = store::read_file(pem);
  } catch (const std::exception& e) {
    log::warn("dkim: {}", e.what());
    return std::nullopt;
  }
  auto key = dkim::PrivateKey::from_pem(text);
  if (!key) {
    log::warn("dkim: {}: {}", pem.string(), key.error().message);
    return std::nullopt;
  }
  DkimKeyInfo info;
  info.domain = domain;
  info.selector = pem.stem().string();
  info.algorithm = key->algorithm();
  info.bits = key->bits();
  info.public_record = key->public_record();
  struct stat st{};
  if (::stat(pem.c_str(), &st) == 0) info.created = st.st_mtime;
  fs::path retired = pem;
  retired.replace_extension(".retired");
  std::error_code ec;
  if (fs::exists(retired, ec)) {
    try {
      info.retired = parse_u64(trim(store::read_file(retired))).value_or(0);
    } catch (const std::exception&) {
      info.retired = 0;
    }
  }
  return info;
}

}  // namespace

std::optional<std::string> key_domain(std::string_view domain) {
  std::string d = to_lower(trim(domain));
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253) return std::nullopt;
  for (auto label : split(d, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return std::nullopt;
    for (unsigned char c : label)
      if (!std::isalnum(c) && c != '-') return std::nullopt;
  }
  return d;
}

std::vector<dkim::Signer> SigningSet::signers() const {
  std::vector<dkim::Signer> out;
  for (const auto& [selector, key] : keys) out.push_back({domain, selector, &key});
  return out;
}

Result<std::vector<DkimKeyInfo>> DkimKeys::list(const std::string& domain) const {
  std::vector<DkimKeyInfo> out;
  std::vector<std::string> domains;
  std::error_code ec;
  if (!domain.empty()) {
    auto d = key_domain(domain);
    if (!d) return Error{"'" + domain + "' is not a domain name", Error::Kind::invalid};
    domains.push_back(*d);
  } else if (fs::is_directory(dir_, ec)) {
    for (const auto& e : fs::directory_iterator(dir_, ec))
      if (e.is_directory() && key_domain(e.path().filename().string())) domains.push_back(e.path().filename().string());
  }
  std::sort(domains.begin(), domains.end());
  for (const auto& d : domains) {
    std::vector<DkimKeyInfo> keys;
    for (const auto& e : fs::directory_iterator(dir_ / d, ec)) {
      if (e.path().extension() != ".pem") continue;
      if (auto info = read_info(e.path(), d)) keys.push_back(std::move(*info));
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.selector < b.selector; });
    out.insert(out.end(), keys.begin(), keys.end());
  }
  return out;
}

Result<std::vector<DkimKeyInfo>> DkimKeys::make_pair(const std::string& domain,
                                                     const std::vector<dkim::Algorithm>& algorithms) {
  fs::path folder = dir_ / domain;
  std::vector<DkimKeyInfo> made;
  try {
    store::ensure_dir(dir_);
    store::ensure_dir(folder);
    std::string day = today();
    for (const auto& alg : algorithms) {
      std::string base = day + (alg == dkim::Algorithm::ed25519_sha256 ? "e" : "r");
      std::string selector = base;
      for (int n = 2; fs::exists(folder / (selector + ".pem")); ++n) selector = base + std::to_string(n);
      auto key = dkim::PrivateKey::generate(alg);
      if (!key) return key.error();
      if (&alg != &algorithms.front()) fault::point("dkim.between_generated_keys");
      store::write_file_synced(folder / (selector + ".pem.tmp"), folder / (selector + ".pem"), key->pem(), 0600);
      DkimKeyInfo info;
      info.domain = domain;
      info.selector = selector;
      info.algorithm = alg;
      info.bits = key->bits();
      info.created = unix_now();
      info.public_record = key->public_record();
      made.push_back(std::move(info));
    }
    store::fsync_dir(folder);
  } catch (const std::system_error& e) {
    return Error{e.what(), Error::kind_of(e.code()), e.code()};
  }
  return made;
}

Result<std::vector<DkimKeyInfo>> DkimKeys::generate(const std::string& domain_in) {
  auto domain = key_domain(domain_in);
  if (!domain) return Error{"'" + domain_in + "' is not a domain name", Error::Kind::invalid};
  auto keys = list(*domain);
  if (!keys) return keys.error();
  // The algorithms without a signing key: both for a new domain; one when a generate was cut short
  // between its two keys (a crash), which this completes.
  std::vector<dkim::Algorithm> missing;
  for (auto alg : {dkim::Algorithm::ed25519_sha256, dkim::Algorithm::rsa_sha256})
    if (std::none_of(keys->begin(), keys->end(), [&](const DkimKeyInfo& k) { return k.signing() && k.algorithm == alg; }))
      missing.push_back(alg);
  if (missing.empty())
    return Error{*domain + " already has signing keys (tern dkim rotate " + *domain + " makes new ones)", Error::Kind::exists};
  return make_pair(*domain, missing);
}

Result<std::vector<DkimKeyInfo>> DkimKeys::rotate(const std::string& domain_in) {
  auto domain = key_domain(domain_in);
  if (!domain) return Error{"'" + domain_in + "' is not a domain name", Error::Kind::invalid};
  auto keys = list(*domain);
  if (!keys) return keys.error();
  // The new pair first: a failure leaves the old keys signing.
  auto made = make_pair(*domain, {dkim::Algorithm::ed25519_sha256, dkim::Algorithm::rsa_sha256});
  if (!made) return made;
  fs::path folder = dir_ / *domain;
  try {
    std::string now = std::to_string(unix_now()) + "\n";
    for (const auto& k : *keys)
      if (k.signing())
        store::write_file_synced(folder / (k.selector + ".retired.tmp"), folder / (k.selector + ".retired"), now);
    store::fsync_dir(folder);
  } catch (const std::system_error& e) {
    return Error{e.what(), Error::kind_of(e.code()), e.code()};
  }
  return made;
}

std::shared_ptr<const SigningSet> DkimKeys::signing(const std::string& domain) {
  auto d = key_domain(domain);
  if (!d) return nullptr;
  fs::path folder = dir_ / *d;
  std::error_code ec;
  auto stamp = fs::last_write_time(folder, ec);
  std::lock_guard lock(mu_);
  if (ec) {
    cache_.erase(*d);
    return nullptr;
  }
  if (auto it = cache_.find(*d); it != cache_.end() && it->second.stamp == stamp) return it->second.set;
  auto set = std::make_shared<SigningSet>();
  set->domain = *d;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (e.path().extension() != ".pem") continue;
    fs::path retired = e.path();
    retired.replace_extension(".retired");
    if (fs::exists(retired, ec)) continue;
    try {
      auto key = dkim::PrivateKey::from_pem(store::read_file(e.path()));
      if (key) set->keys.emplace_back(e.path().stem().string(), std::move(*key));
      else log::warn("dkim: {}: {}", e.path().string(), key.error().message);
    } catch (const std::exception& ex) {
      log::warn("dkim: {}", ex.what());
    }
  }
  // Ed25519 first, then RSA; the newest of each.
  std::sort(set->keys.begin(), set->keys.end(), [](const auto& a, const auto& b) {
    if (a.second.algorithm() != b.second.algorithm()) return a.second.algorithm() == dkim::Algorithm::ed25519_sha256;
    return a.first > b.first;
  });
  std::shared_ptr<const SigningSet> out = set->keys.empty() ? nullptr : std::shared_ptr<const SigningSet>(set);
  cache_[*d] = {stamp, out};
  return out;
}

std::string DkimKeys::sign(std::string_view message, std::string* signer) {
  auto fields = mime::parse_header(message);
  auto from = mime::parse_addresses(mime::first_value(fields, "From"));
  std::string domain = from.size() == 1 ? to_lower(from.front().host) : std::string();
  std::shared_ptr<const SigningSet> keys;
  while (!keys && domain.find('.') != std::string::npos) {
    keys = signing(domain);
    if (!keys) domain = domain.substr(domain.find('.') + 1);
  }
  if (!keys) return {};
  if (signer) *signer = keys->domain;
  return dkim::sign(message, keys->signers(), unix_now());
}

}  // namespace tern::mailauth
