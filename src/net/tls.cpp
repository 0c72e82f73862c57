#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "net/net.hpp"

namespace tern::net {

Result<std::shared_ptr<ssl::context>> make_server_tls(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(cert.string(), ec);
  if (ec) return Error{fmt::format("{}: cannot load the TLS certificate: {}", cert.string(), ec.message())};
  ctx->use_private_key_file(key.string(), ssl::context::pem, ec);
  if (ec) return Error{fmt::format("{}: cannot load the TLS key: {}", key.string(), ec.message())};
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return Error{fmt::format("{}: the key does not match the certificate {}", key.string(), cert.string())};
  return ctx;
}

Status ensure_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::string& hostname) {
  if (std::filesystem::exists(cert) && std::filesystem::exists(key)) return ok_status();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!pkey) return Error{"cannot generate a key"};
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 86400);
  X509_set_pubkey(x.get(), pkey.get());
  auto* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  // Valid for every name a local client uses: the configured hostname, localhost and the loopback
  // addresses (a client connecting to 127.0.0.1 checks the IP SAN, RFC 6125 6.2.1).
  std::string san = "DNS:" + hostname;
  if (hostname != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  if (auto* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), pkey.get(), EVP_sha256())) return Error{"cannot sign the certificate"};
  std::filesystem::create_directories(cert.parent_path());
  std::filesystem::create_directories(key.parent_path());
  auto write = [](const std::filesystem::path& p, auto&& fn) -> bool {
    FILE* f = std::fopen(p.c_str(), "w");
    if (!f) return false;
    bool ok = fn(f);
    return std::fclose(f) == 0 && ok;
  };
  if (!write(key, [&](FILE* f) { return PEM_write_PrivateKey(f, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1; }))
    return Error{fmt::format("{}: cannot write the key", key.string())};
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  if (!write(cert, [&](FILE* f) { return PEM_write_X509(f, x.get()) == 1; }))
    return Error{fmt::format("{}: cannot write the certificate", cert.string())};
  return ok_status();
}

}  // namespace tern::net
