// mailauth/keys: the DKIM keys of each domain, in the data directory:
//
//   data_dir/dkim/<domain>/<selector>.pem      the private key, PKCS#8 PEM, mode 0600
//   data_dir/dkim/<domain>/<selector>.retired  present once the key stopped signing: the time (Unix seconds)
//
// A domain signs with every key that is not retired: after `generate` (or `rotate`), one Ed25519 and one
// RSA-2048 key (RFC 8463 8: both, so receivers without Ed25519 still find a signature they check).
// Selectors are the day and the algorithm: "20261204e", "20261204r" (a digit follows on a second key
// of the same day). `rotate` makes a new pair and retires the old one; a retired key is still
// published for `publish_retired` so that mail signed just before the rotation still verifies.
//
// Thread-safe. The server's signer reads the keys through signers(), which re-reads a domain's folder
// only when it changed, so keys made by the CLI while the server runs are used at once.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mailauth/dkim.hpp"

namespace tern::mailauth {

inline constexpr std::chrono::seconds publish_retired{7 * 24 * 3600};

struct DkimKeyInfo {
  std::string domain;
  std::string selector;
  dkim::Algorithm algorithm = dkim::Algorithm::ed25519_sha256;
  int bits = 0;
  std::int64_t created = 0;                // the file's time
  std::optional<std::int64_t> retired;     // when it stopped signing
  std::string public_record;               // the TXT record at <selector>._domainkey.<domain>
  bool signing() const { return !retired; }
  // Still to be published: signing, or retired less than publish_retired ago.
  bool published(std::int64_t now) const { return !retired || now < *retired + publish_retired.count(); }
};

// The keys a domain signs with, loaded.
struct SigningSet {
  std::string domain;
  std::vector<std::pair<std::string, dkim::PrivateKey>> keys;  // selector, key
  std::vector<dkim::Signer> signers() const;
};

class DkimKeys {
 public:
  explicit DkimKeys(std::filesystem::path dir) : dir_(std::move(dir)) {}  // data_dir/dkim

  // A new Ed25519 and RSA pair; refused when the domain already signs with both (use rotate). A domain
  // left with one of the two (a generate cut short by a crash) gets the missing one.
  Result<std::vector<DkimKeyInfo>> generate(const std::string& domain);
  // A new pair; the keys that signed until now are retired.
  Result<std::vector<DkimKeyInfo>> rotate(const std::string& domain);
  // The keys of `domain`, or of every domain when empty; by domain, then selector.
  Result<std::vector<DkimKeyInfo>> list(const std::string& domain = "") const;
  // The signing keys of `domain` (nullptr when it has none).
  std::shared_ptr<const SigningSet> signing(const std::string& domain);
  // DKIM-Signature fields for `message` (CRLF line ends) with the keys of its From domain, or of the
  // nearest parent domain that has keys (never a top-level domain); "" when none. `signer`: the domain
  // that signed. Costs about a millisecond with RSA: callers on an event loop offload it.
  std::string sign(std::string_view message, std::string* signer = nullptr);

 private:
  Result<std::vector<DkimKeyInfo>> make_pair(const std::string& domain, const std::vector<dkim::Algorithm>& algorithms);
  std::filesystem::path dir_;
  std::mutex mu_;
  struct Cached {
    std::filesystem::file_time_type stamp;
    std::shared_ptr<const SigningSet> set;
  };
  std::map<std::string, Cached, std::less<>> cache_;
};

// A domain name usable as a folder name: letters, digits, '-', '.', no empty label. Lower-cased.
std::optional<std::string> key_domain(std::string_view domain);

}  // namespace tern::mailauth
