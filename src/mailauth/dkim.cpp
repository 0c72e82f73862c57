#include "mailauth/dkim.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "base/codec.hpp"
#include "base/strings.hpp"
#include "mime/tree.hpp"

namespace tern::mailauth::dkim {

namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }
bool fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string strip_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!fws(c)) out += c;
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  if (s.empty() || s.size() > 19) return std::nullopt;  // RFC 6376 3.5: at most 12 digits for t/x, 76 for l
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string fold_b64(std::string_view b64) {
  std::string out;
  for (std::size_t i = 0; i < b64.size(); i += 72) {
    out += "\r\n\t ";
    out += b64.substr(i, 72);
  }
  return out;
}

}  // namespace

// The header block (with the CRLF of its last field) and the body (after the empty line).
std::pair<std::string_view, std::string_view> split_message(std::string_view m) {
  if (m.starts_with("\r\n")) return {m.substr(0, 0), m.substr(2)};
  auto end = m.find("\r\n\r\n");
  if (end == std::string_view::npos) return {m, m.substr(m.size())};
  return {m.substr(0, end + 2), m.substr(end + 4)};
}

std::string without_b(std::string_view field) {
  // Everything between b='s '=' and the next ';' (or the end) goes, folding included.
  std::string own(field);
  if (own.ends_with("\r\n")) own.resize(own.size() - 2);
  std::size_t colon = own.find(':');
  std::size_t pos = colon == std::string::npos ? own.size() : colon + 1;
  while (pos < own.size()) {
    std::size_t semi = own.find(';', pos);
    std::size_t end = semi == std::string::npos ? own.size() : semi;
    std::string_view spec(own.data() + pos, end - pos);
    auto eq = spec.find('=');
    if (eq != std::string_view::npos && trim_fws(spec.substr(0, eq)) == "b") {
      own.erase(pos + eq + 1, end - (pos + eq + 1));
      break;
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  return own;
}

// The octets the signature covers (RFC 6376 3.7): the signed fields, then the signature's own field
// with b= emptied, canonicalised, without its final CRLF.
std::string header_data(std::string_view header, const Signature& sig, std::string_view own_field) {
  auto fields = mime::parse_fields(header);
  std::vector<bool> used(fields.size(), false);
  std::string data;
  for (const auto& name : sig.headers) {
    // The last unused instance of the name, from the bottom up (RFC 6376 5.4.2).
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (used[i] || !iequals(fields[i].name, trim_fws(name))) continue;
      used[i] = true;
      std::string raw(fields[i].raw);
      if (!raw.ends_with("\r\n")) raw += "\r\n";
      data += canon_header(raw, sig.header_canon);
      break;
    }  // none left: the null string (an over-signed name)
  }
  std::string own = without_b(own_field);
  std::string c = canon_header(own + "\r\n", sig.header_canon);
  c.resize(c.size() - 2);
  data += c;
  return data;
}

std::string body_hash(std::string_view body, Canon canon, std::optional<std::uint64_t> length, bool& too_short) {
  std::string c = canon_body(body, canon);
  too_short = length && *length > c.size();
  if (length && *length < c.size()) c.resize(*length);
  return sha256(c);
}

std::string_view algorithm_name(Algorithm a) {
  return a == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
}

std::string_view status_name(Status s) {
  switch (s) {
    case Status::none: return "none";
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::policy: return "policy";
    case Status::neutral: return "neutral";
    case Status::temperror: return "temperror";
    case Status::permerror: return "permerror";
  }
  return "none";
}

Result<std::vector<Tag>> parse_tag_list(std::string_view text) {
  if (text.size() > max_tag_list) return Error{"tag list too long"};
  std::vector<Tag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t semi = text.find(';', pos);
    std::string_view spec = text.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    pos = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (trim_fws(spec).empty()) {
      if (semi == std::string_view::npos) break;  // a trailing ';'
      return Error{"empty tag"};
    }
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return Error{"tag without '='"};
    auto name = trim_fws(spec.substr(0, eq));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) return Error{"bad tag name"};
    for (unsigned char c : name)
      if (!std::isalnum(c) && c != '_') return Error{"bad tag name"};
    auto value = trim_fws(spec.substr(eq + 1));
    for (unsigned char c : value)
      if ((c < 0x21 || c == 0x7f) && !fws(static_cast<char>(c))) return Error{"bad character in tag " + std::string(name)};
    for (const auto& t : tags)
      if (t.name == name) return Error{"duplicate tag " + std::string(name)};
    tags.push_back({std::string(name), std::string(value)});
  }
  return tags;
}

namespace {

const std::string* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const auto& t : tags)
    if (t.name == name) return &t.value;
  return nullptr;
}

// Whether `sub` is `domain` or a subdomain of it.
bool within(std::string_view sub, std::string_view domain) {
  if (iequals(sub, domain)) return true;
  return sub.size() > domain.size() && sub[sub.size() - domain.size() - 1] == '.' &&
         iequals(sub.substr(sub.size() - domain.size()), domain);
}

}  // namespace

Result<Signature> parse_signature(std::string_view value, bool arc) {
  auto tags = parse_tag_list(value);
  if (!tags) return tags.error();
  Signature s;
  for (const char* required : {"a", "b", "bh", "d", "h", "s"})
    if (!find_tag(*tags, required)) return Error{std::string("missing tag ") + required};
  if (arc) {
    // ARC-Message-Signature (RFC 8617 4.1.2): no v=; i= is the instance.
    auto i = find_tag(*tags, "i");
    auto n = i ? number<std::uint64_t>(strip_fws(*i)) : std::nullopt;
    if (!n || *n < 1 || *n > 50) return Error{"bad or missing i= (instance)"};
    s.instance = static_cast<int>(*n);
  } else {
    if (!find_tag(*tags, "v")) return Error{"missing tag v"};
    if (*find_tag(*tags, "v") != "1") return Error{"unknown version v=" + *find_tag(*tags, "v")};
  }
  std::string a = to_lower(*find_tag(*tags, "a"));
  if (a == "rsa-sha256") s.algorithm = Algorithm::rsa_sha256;
  else if (a == "ed25519-sha256") s.algorithm = Algorithm::ed25519_sha256;
  else if (a == "rsa-sha1") return Error{"rsa-sha1 is no longer accepted (RFC 8301)"};
  else return Error{"unknown algorithm " + a};
  s.b_text = strip_fws(*find_tag(*tags, "b"));
  auto b = base64_decode(s.b_text);
  if (!b || b->empty()) return Error{"bad b= value"};
  s.data = std::move(*b);
  auto bh = base64_decode(strip_fws(*find_tag(*tags, "bh")));
  if (!bh || bh->size() != 32) return Error{"bad bh= value"};
  s.body_hash = std::move(*bh);
  s.domain = to_lower(strip_fws(*find_tag(*tags, "d")));
  s.selector = to_lower(strip_fws(*find_tag(*tags, "s")));
  if (s.domain.empty() || s.selector.empty()) return Error{"empty d= or s="};
  for (auto part : split(*find_tag(*tags, "h"), ':')) {
    std::string name = strip_fws(part);
    if (name.empty()) return Error{"empty name in h="};
    s.headers.push_back(std::move(name));
  }
  if (std::none_of(s.headers.begin(), s.headers.end(), [](const std::string& h) { return iequals(h, "from"); }))
    return Error{"h= does not sign From"};
  if (auto c = find_tag(*tags, "c")) {
    std::string text = to_lower(strip_fws(*c));
    auto parts = split(text, '/');
    auto canon = [](std::string_view n) -> std::optional<Canon> {
      if (n == "simple") return Canon::simple;
      if (n == "relaxed") return Canon::relaxed;
      return std::nullopt;
    };
    if (parts.empty() || parts.size() > 2) return Error{"bad c= value"};
    auto hc = canon(parts[0]);
    auto bc = parts.size() == 2 ? canon(parts[1]) : std::optional<Canon>(Canon::simple);
    if (!hc || !bc) return Error{"bad c= value"};
    s.header_canon = *hc;
    s.body_canon = *bc;
  }
  s.identity = "@" + s.domain;
  if (auto i = find_tag(*tags, "i"); i && !arc) {
    s.identity = strip_fws(*i);
    auto at = s.identity.rfind('@');
    if (at == std::string::npos || !within(std::string_view(s.identity).substr(at + 1), s.domain))
      return Error{"i= is not within d="};
  }
  if (auto l = find_tag(*tags, "l")) {
    s.length = number<std::uint64_t>(strip_fws(*l));
    if (!s.length) return Error{"bad l= value"};
  }
  if (auto q = find_tag(*tags, "q")) {
    bool dns = false;
    std::string methods = strip_fws(*q);
    for (auto m : split(methods, ':')) dns = dns || iequals(m, "dns/txt");
    if (!dns) return Error{"no usable q= method"};
  }
  if (auto t = find_tag(*tags, "t")) {
    s.timestamp = number<std::int64_t>(strip_fws(*t));
    if (!s.timestamp) return Error{"bad t= value"};
  }
  if (auto x = find_tag(*tags, "x")) {
    s.expiration = number<std::int64_t>(strip_fws(*x));
    if (!s.expiration) return Error{"bad x= value"};
    if (s.timestamp && *s.expiration < *s.timestamp) return Error{"x= is before t="};
  }
  return s;
}

Result<KeyRecord> parse_key_record(std::string_view text) {
  auto tags = parse_tag_list(text);
  if (!tags) return tags.error();
  KeyRecord k;
  if (auto v = find_tag(*tags, "v"); v && *v != "DKIM1") return Error{"not a DKIM1 key record"};
  if (auto t = find_tag(*tags, "k")) {
    if (iequals(*t, "rsa")) k.type = KeyRecord::Type::rsa;
    else if (iequals(*t, "ed25519")) k.type = KeyRecord::Type::ed25519;
    else return Error{"unknown key type k=" + *t};
  }
  if (auto h = find_tag(*tags, "h")) {
    bool sha256 = false;
    std::string hashes = strip_fws(*h);
    for (auto a : split(hashes, ':')) sha256 = sha256 || iequals(a, "sha256");
    if (!sha256) return Error{"the key does not allow sha256 (h=)"};
  }
  if (auto s = find_tag(*tags, "s")) {
    bool email = false;
    std::string services = strip_fws(*s);
    for (auto a : split(services, ':')) email = email || a == "*" || iequals(a, "email");
    if (!email) return Error{"the key is not for email (s=)"};
  }
  if (auto t = find_tag(*tags, "t")) {
    std::string flags = strip_fws(*t);
    for (auto f : split(flags, ':')) {
      if (iequals(f, "y")) k.testing = true;
      if (iequals(f, "s")) k.strict = true;
    }
  }
  auto p = find_tag(*tags, "p");
  if (!p) return Error{"key record without p="};
  std::string b64 = strip_fws(*p);
  if (b64.empty()) {
    k.revoked = true;
    return k;
  }
  auto raw = base64_decode(b64);
  if (!raw) return Error{"bad p= value"};
  k.public_key = std::move(*raw);
  return k;
}

std::string canon_header(std::string_view raw, Canon c) {
  if (c == Canon::simple) return std::string(raw);
  auto colon = raw.find(':');
  std::string out = to_lower(std::string(trim(raw.substr(0, colon == std::string_view::npos ? raw.size() : colon))));
  if (colon == std::string_view::npos) return out + "\r\n";
  out += ':';
  std::string value;
  bool space = false;
  for (char ch : raw.substr(colon + 1)) {
    if (ch == '\r' || ch == '\n') continue;  // unfold
    if (wsp(ch)) {
      space = true;
      continue;
    }
    if (space && !value.empty()) value += ' ';
    space = false;
    value += ch;
  }
  return out + value + "\r\n";
}

std::string canon_body(std::string_view body, Canon c) {
  std::string out;
  out.reserve(body.size() + 2);
  if (c == Canon::simple) {
    out.assign(body);
  } else {
    std::size_t pos = 0;
    while (pos < body.size()) {
      auto eol = body.find("\r\n", pos);
      std::string_view line = body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
      bool space = false;
      for (char ch : line) {
        if (wsp(ch)) {
          space = true;
          continue;
        }
        if (space) out += ' ';
        space = false;
        out += ch;
      }
      if (eol == std::string_view::npos) break;
      out += "\r\n";
      pos = eol + 2;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  while (out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  if (out == "\r\n" && c == Canon::relaxed) out.clear();
  if (out.empty() && c == Canon::simple) out = "\r\n";
  return out;
}

// --- keys -----------------------------------------------------------------------------------------

struct PrivateKey::Impl {
  Pkey key;
};

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl, Algorithm a) : impl_(std::move(impl)), algorithm_(a) {}
PrivateKey::~PrivateKey() = default;
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;

Result<PrivateKey> PrivateKey::generate(Algorithm a) {
  EVP_PKEY* k = a == Algorithm::ed25519_sha256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  if (!k) return Error{"key generation failed"};
  auto impl = std::make_unique<Impl>();
  impl->key.reset(k);
  return PrivateKey(std::move(impl), a);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return Error{"out of memory"};
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!k) return Error{"not a PEM private key"};
  auto impl = std::make_unique<Impl>();
  impl->key.reset(k);
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_ED25519) return PrivateKey(std::move(impl), Algorithm::ed25519_sha256);
  if (id == EVP_PKEY_RSA) return PrivateKey(std::move(impl), Algorithm::rsa_sha256);
  return Error{"neither an RSA nor an Ed25519 key"};
}

std::string PrivateKey::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(impl_->key.get()); }

std::string PrivateKey::public_record() const {
  std::string p;
  if (algorithm_ == Algorithm::ed25519_sha256) {
    std::string raw(32, '\0');
    std::size_t len = raw.size();
    EVP_PKEY_get_raw_public_key(impl_->key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len);
    raw.resize(len);
    return "v=DKIM1; k=ed25519; p=" + base64_encode(raw);
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(impl_->key.get(), &der);
  std::string raw(reinterpret_cast<char*>(der), static_cast<std::size_t>(std::max(n, 0)));
  OPENSSL_free(der);
  return "v=DKIM1; k=rsa; p=" + base64_encode(raw);
}

// --- signing --------------------------------------------------------------------------------------

namespace {

// RFC 6376 5.4.1's list, less the trace and list fields that a forwarder may add.
constexpr std::string_view signed_names[] = {
    "From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
    "In-Reply-To", "References", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "Content-ID", "Content-Description", "Sender", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
    "Autocrypt", "Openpgp"};
// Signed once more than present: nobody may add one (a second From, a Subject of their own).
constexpr std::string_view oversigned[] = {"From",    "Reply-To",   "Subject",    "Date",         "To",
                                           "Cc",      "Message-ID", "In-Reply-To", "References",  "MIME-Version",
                                           "Content-Type", "Content-Transfer-Encoding", "Sender"};

}  // namespace

std::string sign_data(const PrivateKey& key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  std::string digest;
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (key.algorithm() == Algorithm::ed25519_sha256) {
    digest = sha256(data);  // RFC 8463 3: Ed25519 signs the SHA-256 of the data (PureEdDSA)
    input = digest;
    md = nullptr;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.impl()->key.get()) != 1) return {};
  std::size_t len = 0;
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1) return {};
  sig.resize(len);
  return sig;
}

std::vector<std::string> headers_to_sign(std::string_view message) {
  auto fields = mime::parse_fields(split_message(message).first);
  std::vector<std::string> out;
  for (auto name : signed_names) {
    std::size_t n = std::count_if(fields.begin(), fields.end(), [&](const mime::FieldView& f) { return iequals(f.name, name); });
    if (std::find(std::begin(oversigned), std::end(oversigned), name) != std::end(oversigned)) ++n;
    std::string lower = to_lower(std::string(name));
    for (std::size_t i = 0; i < n; ++i) out.push_back(lower);
  }
  return out;
}

std::string sign(std::string_view message, const std::vector<Signer>& signers, std::int64_t now) {
  auto [header, body] = split_message(message);
  bool unused = false;
  std::string bh = base64_encode(body_hash(body, Canon::relaxed, std::nullopt, unused));
  auto names = headers_to_sign(message);
  std::string h;
  for (const auto& n : names) {
    if (!h.empty()) h += ':';
    h += n;
  }
  std::string out;
  for (const auto& s : signers) {
    if (!s.key) continue;
    std::string field = "DKIM-Signature: v=1; a=" + std::string(algorithm_name(s.key->algorithm())) +
                        "; c=relaxed/relaxed; d=" + s.domain + "; s=" + s.selector + ";\r\n\tt=" + std::to_string(now) +
                        "; h=";
    // h= folded at the colons, about 76 columns a line.
    std::size_t col = 10;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string piece = names[i] + (i + 1 < names.size() ? ":" : ";");
      if (col + piece.size() > 76) {
        field += "\r\n\t ";
        col = 2;
      }
      field += piece;
      col += piece.size();
    }
    field += "\r\n\tbh=" + bh + ";\r\n\tb=";
    Signature sig;
    sig.header_canon = Canon::relaxed;
    sig.headers = names;
    std::string data = header_data(header, sig, field + "\r\n");
    std::string b = sign_data(*s.key, data);
    if (b.empty()) continue;
    out += field + fold_b64(base64_encode(b)) + "\r\n";
  }
  return out;
}

// --- verification ---------------------------------------------------------------------------------

std::vector<Candidate> find_signatures(std::string_view message) {
  std::vector<Candidate> out;
  for (const auto& f : mime::parse_fields(split_message(message).first)) {
    if (!iequals(f.name, "DKIM-Signature")) continue;
    if (out.size() == max_signatures) break;
    Candidate c;
    c.field_raw = std::string(f.raw);
    c.signature = parse_signature(f.value);
    if (c.signature) c.key_name = c.signature->selector + "._domainkey." + c.signature->domain;
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

Pkey public_key(const KeyRecord& k, std::string& why) {
  const auto* p = reinterpret_cast<const unsigned char*>(k.public_key.data());
  if (k.type == KeyRecord::Type::ed25519) {
    if (k.public_key.size() != 32) {
      why = "bad Ed25519 key size";
      return nullptr;
    }
    Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, 32));
    if (!key) why = "bad Ed25519 key";
    return key;
  }
  // SubjectPublicKeyInfo (RFC 6376 3.6.1), or a bare RSAPublicKey as some publish.
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(k.public_key.size())));
  if (!key) {
    p = reinterpret_cast<const unsigned char*>(k.public_key.data());
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(k.public_key.size())));
  }
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    why = "bad RSA key";
    return nullptr;
  }
  return key;
}

bool verify_data(EVP_PKEY* key, Algorithm a, std::string_view data, std::string_view sig) {
  MdCtx ctx(EVP_MD_CTX_new());
  std::string digest;
  const EVP_MD* md = EVP_sha256();
  if (a == Algorithm::ed25519_sha256) {
    digest = sha256(data);
    data = digest;
    md = nullptr;
  }
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace

Outcome verify_signed_data(Algorithm alg, std::string_view data, std::string_view signature, const KeyAnswer& key,
                           std::string_view key_name, bool key_only) {
  Outcome o;
  auto fail = [&](Status s, std::string why) {
    o.status = s;
    o.reason = std::move(why);
    return o;
  };
  if (key.status == KeyAnswer::Status::temp_failure) return fail(Status::temperror, "key lookup: " + key.error);
  std::optional<KeyRecord> record;
  std::string why = "no key record at " + std::string(key_name);
  for (const auto& txt : key.records) {
    auto r = parse_key_record(txt);
    if (r) {
      record = std::move(*r);
      break;
    }
    why = "key record: " + r.error().message;
  }
  if (!record) return fail(Status::permerror, why);
  o.testing = record->testing;
  if (record->revoked) return fail(Status::permerror, "key revoked");
  if ((record->type == KeyRecord::Type::ed25519) != (alg == Algorithm::ed25519_sha256))
    return fail(Status::permerror, "key type does not match a=");
  Pkey pk = public_key(*record, why);
  if (!pk) return fail(Status::permerror, why);
  if (alg == Algorithm::rsa_sha256 && EVP_PKEY_get_bits(pk.get()) < min_rsa_bits)
    return fail(Status::fail, "RSA key shorter than 1024 bits");
  if (!key_only && !verify_data(pk.get(), alg, data, signature)) return fail(Status::fail, "signature does not verify");
  o.status = Status::pass;
  o.key_strict = record->strict;
  return o;
}

Outcome check(std::string_view message, const Candidate& c, const KeyAnswer& key, std::int64_t now) {
  Outcome o;
  if (!c.signature) {
    o.status = Status::permerror;
    o.reason = c.signature.error().message;
    return o;
  }
  const Signature& sig = *c.signature;
  o.domain = sig.domain;
  o.selector = sig.selector;
  o.identity = sig.identity;
  o.algorithm = algorithm_name(sig.algorithm);
  o.b = sig.b_text.substr(0, 12);
  o.length_limited = sig.length.has_value();
  auto fail = [&](Status s, std::string why) {
    o.status = s;
    o.reason = std::move(why);
    return o;
  };
  if (sig.expiration && *sig.expiration < now) return fail(Status::fail, "signature expired");
  auto [header, body] = split_message(message);
  bool too_short = false;
  // The key first: a missing or broken key is a permerror whatever the body.
  Outcome k = verify_signed_data(sig.algorithm, "", "", key, c.key_name, true);
  o.testing = k.testing;
  if (k.status != Status::pass) return fail(k.status, k.reason);
  if (k.key_strict && !iequals(std::string_view(sig.identity).substr(sig.identity.rfind('@') + 1), sig.domain))
    return fail(Status::permerror, "the key forbids subdomains in i= (t=s)");
  if (body_hash(body, sig.body_canon, sig.length, too_short) != sig.body_hash || too_short)
    return fail(Status::fail, too_short ? "body shorter than l=" : "body hash mismatch");
  std::string data = header_data(header, sig, c.field_raw);
  Outcome v = verify_signed_data(sig.algorithm, data, sig.data, key, c.key_name, false);
  if (v.status != Status::pass) return fail(v.status, v.reason);
  o.status = Status::pass;
  return o;
}

}  // namespace tern::mailauth::dkim
