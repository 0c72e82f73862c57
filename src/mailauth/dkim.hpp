// mailauth/dkim: DomainKeys Identified Mail (RFC 6376) with RSA-SHA256 and Ed25519-SHA256 (RFC 8463),
// on OpenSSL: the tag-list grammar, both canonicalisations, signing and verification. Pure: the keys
// of a verification are looked up by the caller (the filter stage asks the application's resolver),
// so every step here can be tested with byte strings alone.
//
// Messages are CRLF-terminated, as SMTP delivers them (smtpd refuses bare line ends).
//
// Limits: at most max_signatures signatures are checked per message (the rest are ignored, as
// OpenDKIM's MaximumSignaturesToVerify); tag lists longer than max_tag_list are refused; RSA keys
// shorter than 1024 bits fail (RFC 8301 3.2); rsa-sha1 fails (RFC 8301 3.1).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tern::mailauth::dkim {

inline constexpr std::size_t max_signatures = 10;
inline constexpr std::size_t max_tag_list = 16 * 1024;
inline constexpr int min_rsa_bits = 1024;

enum class Algorithm { rsa_sha256, ed25519_sha256 };
enum class Canon { simple, relaxed };
std::string_view algorithm_name(Algorithm a);  // "rsa-sha256", "ed25519-sha256"

// --- grammar ---------------------------------------------------------------------------------------

struct Tag {
  std::string name;
  std::string value;  // surrounding white space removed; inner folding kept
};
// RFC 6376 3.2: "name=value; ..." with a trailing ';' allowed. Errors: syntax, a duplicate tag.
Result<std::vector<Tag>> parse_tag_list(std::string_view text);

// A DKIM-Signature field's value (RFC 6376 3.5).
struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;
  Canon header_canon = Canon::simple;
  Canon body_canon = Canon::simple;
  std::string domain;    // d=, lower-case
  std::string selector;  // s=
  std::vector<std::string> headers;  // h=, in order, as written
  std::string identity;              // i= (default "@" + d)
  std::optional<std::uint64_t> length;      // l=
  std::optional<std::int64_t> timestamp;    // t=
  std::optional<std::int64_t> expiration;   // x=
  std::string body_hash;  // bh=, decoded
  std::string data;       // b=, decoded
  std::string b_text;     // b= as written, white space removed (for header.b)
  int instance = 0;       // ARC-Message-Signature only: i=
};
// `arc`: an ARC-Message-Signature (RFC 8617 4.1.2): no v=, and i= is the instance (1 to 50).
Result<Signature> parse_signature(std::string_view value, bool arc = false);

// A key record at <selector>._domainkey.<domain> (RFC 6376 3.6.1).
struct KeyRecord {
  enum class Type { rsa, ed25519 } type = Type::rsa;
  std::string public_key;  // p=, decoded: DER SubjectPublicKeyInfo (rsa) or the 32 raw octets (ed25519)
  bool revoked = false;    // p= empty
  bool testing = false;    // t=y
  bool strict = false;     // t=s: i= must be d= itself
};
Result<KeyRecord> parse_key_record(std::string_view text);

// --- canonicalisation (RFC 6376 3.4) -------------------------------------------------------------

std::string canon_header(std::string_view raw_field, Canon c);  // raw_field ends in CRLF
std::string canon_body(std::string_view body, Canon c);

// --- signing ---------------------------------------------------------------------------------------

class PrivateKey {
 public:
  ~PrivateKey();
  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;

  static Result<PrivateKey> generate(Algorithm a);  // Ed25519, or RSA 2048 bits
  static Result<PrivateKey> from_pem(std::string_view pem);
  std::string pem() const;  // PKCS#8
  Algorithm algorithm() const { return algorithm_; }
  int bits() const;
  // The record to publish: "v=DKIM1; k=ed25519; p=..." or "v=DKIM1; k=rsa; p=...".
  std::string public_record() const;

  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  PrivateKey(std::unique_ptr<Impl> impl, Algorithm a);
  std::unique_ptr<Impl> impl_;
  Algorithm algorithm_;
};

struct Signer {
  std::string domain;
  std::string selector;
  const PrivateKey* key = nullptr;
};

// The header fields signed: each instance present, and the names in `oversigned` once more, so that
// no one can add another (RFC 6376 5.4.2, 8.15).
std::vector<std::string> headers_to_sign(std::string_view message);

// DKIM-Signature fields (each ending in CRLF, folded) for `message`, one per signer, relaxed/relaxed.
std::string sign(std::string_view message, const std::vector<Signer>& signers, std::int64_t now);

// --- verification ---------------------------------------------------------------------------------

// RFC 8601 2.7.1's results.
enum class Status { none, pass, fail, policy, neutral, temperror, permerror };
std::string_view status_name(Status s);

struct Outcome {
  Status status = Status::none;
  std::string domain;    // header.d
  std::string selector;  // header.s
  std::string identity;  // header.i
  std::string algorithm; // header.a
  std::string b;         // header.b: the first 12 characters of b= (RFC 6008)
  std::string reason;    // why, when not pass
  bool testing = false;  // the key says t=y
  bool length_limited = false;  // l= was used: the body may have grown
  bool key_strict = false;      // the key says t=s
};

// One DKIM-Signature field found in a message, parsed (or why not), and where its key is.
struct Candidate {
  Result<Signature> signature = Error{"unparsed"};
  std::string field_raw;  // the whole field, for the header hash
  std::string key_name;   // "<s>._domainkey.<d>" when the signature parsed
};
std::vector<Candidate> find_signatures(std::string_view message);

// The key's TXT answer, as the resolver gives it.
struct KeyAnswer {
  enum class Status { ok, none, temp_failure } status = Status::none;
  std::vector<std::string> records;
  std::string error;
};
Outcome check(std::string_view message, const Candidate& c, const KeyAnswer& key, std::int64_t now);

// --- the pieces ARC (mailauth/arc) reuses ------------------------------------------------------

// The header block (with the CRLF of its last field) and the body (after the empty line).
std::pair<std::string_view, std::string_view> split_message(std::string_view message);
// The octets a signature covers (RFC 6376 3.7): the fields of sig.headers, bottom-up per name, then
// `own_field` (the signature's own field, b= emptied) without its final CRLF; canonicalised by
// sig.header_canon.
std::string header_data(std::string_view header, const Signature& sig, std::string_view own_field);
// A signature field with its b= value emptied (RFC 6376 3.7) and without its final CRLF.
std::string without_b(std::string_view field);
// SHA-256 of the canonicalised body, cut at `length`; `too_short`: the body is shorter than that.
std::string body_hash(std::string_view body, Canon canon, std::optional<std::uint64_t> length, bool& too_short);
// Checks the key in `key` for `alg` (record, type, revocation, RSA size) and, unless `key_only`, that
// `signature` signs `data` with it. pass, fail, permerror or temperror, with the reason.
Outcome verify_signed_data(Algorithm alg, std::string_view data, std::string_view signature, const KeyAnswer& key,
                           std::string_view key_name, bool key_only);
// Signs `data` (already canonicalised) with `key`: the raw signature, "" on failure.
std::string sign_data(const PrivateKey& key, std::string_view data);

}  // namespace tern::mailauth::dkim
