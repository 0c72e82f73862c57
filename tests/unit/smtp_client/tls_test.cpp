// smtp::client TLS: STARTTLS opportunistic and required, implicit TLS, certificate verification
// reported (trusted CA, wrong name, untrusted), require_verified_tls, and the plaintext retry after a
// broken handshake in opportunistic mode. The server's certificate is made here (EC P-256).
#include <gtest/gtest.h>

#include <thread>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>

#include "../temp_dir.hpp"
#include "fake_server.hpp"
#include "smtp/client/client.hpp"

namespace tern::smtp::client {
namespace {

namespace asio = boost::asio;
using testing::FakeServer;
using testing::Script;
using Lines = std::vector<std::string>;

// A server context with a self-signed certificate for `name`, and the certificate as PEM.
struct ServerTls {
  explicit ServerTls(const std::string& name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    std::string san = "DNS:" + name;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(x);
    EVP_PKEY_free(key);
  }
  ~ServerTls() { SSL_CTX_free(ctx); }
  SSL_CTX* ctx = nullptr;
  std::string pem;
};

struct Delivery {
  std::string open_error;
  SessionInfo info;
  std::vector<TransactionResult> results;
};

asio::awaitable<Delivery> deliver(asio::any_io_executor ex, std::uint16_t port, Options opt) {
  Delivery d;
  auto opened = co_await Connection::open(ex, asio::ip::make_address("127.0.0.1"), port, opt);
  if (!opened) {
    d.open_error = opened.error().message;
    co_return d;
  }
  std::unique_ptr<Connection> conn = std::move(opened.value());
  d.info = conn->info();
  Envelope e;
  e.from = "a@x.test";
  e.recipients = {{"b@y.test", "", ""}};
  d.results.push_back(co_await conn->send(e, "Subject: tls\r\n\r\nsecret\r\n"));
  co_await conn->quit();
  co_return d;
}

Delivery run(FakeServer& srv, Options opt) {
  asio::io_context io;
  auto f = asio::co_spawn(io, deliver(io.get_executor(), srv.port(), opt), asio::use_future);
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();
  srv.join();
  return f.get();
}

class Tls : public ::testing::Test {
 protected:
  Tls() : server_("mx.fake.test") {
    ca_file_ = dir_ / "ca.pem";
    tern::testing::write_file(ca_file_, server_.pem);
    trusting_ = make_client_tls_context(ca_file_.string());
    opt_.helo = "client.test";
    opt_.tls_name = "mx.fake.test";
    opt_.command_timeout = std::chrono::seconds(10);
  }
  Script script() {
    Script s;
    s.tls = server_.ctx;
    return s;
  }
  tern::testing::TempDir dir_;
  ServerTls server_;
  std::filesystem::path ca_file_;
  std::shared_ptr<asio::ssl::context> trusting_;
  Options opt_;
};

TEST_F(Tls, OpportunisticUnverified) {
  FakeServer srv(script());
  auto d = run(srv, opt_);  // the system's trust store does not know our certificate
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.tls);
  EXPECT_FALSE(d.info.tls_verified);
  EXPECT_EQ(d.info.tls_description.substr(0, 4), "TLSv");
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "MAIL FROM:<a@x.test> SIZE=24",
                                   "RCPT TO:<b@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(srv.messages(), Lines{"Subject: tls\r\n\r\nsecret\r\n"});
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST_F(Tls, VerifiedAgainstTrustedCertificate) {
  FakeServer srv(script());
  opt_.tls_context = trusting_.get();
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.tls);
  EXPECT_TRUE(d.info.tls_verified);
}

TEST_F(Tls, WrongNameIsNotVerified) {
  FakeServer srv(script());
  opt_.tls_context = trusting_.get();
  opt_.tls_name = "other.test";
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.tls);
  EXPECT_FALSE(d.info.tls_verified);
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);  // opportunistic: delivered all the same
}

TEST_F(Tls, RequireVerifiedStopsBeforeMail) {
  Script s = script();
  s.ehlo = {"PIPELINING", "AUTH PLAIN"};
  FakeServer srv(s);
  opt_.tls = TlsMode::starttls;
  opt_.require_verified_tls = true;
  opt_.auth = std::make_pair(std::string("u"), std::string("p"));
  auto d = run(srv, opt_);
  EXPECT_NE(d.open_error.find("not verified"), std::string::npos) << d.open_error;
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "QUIT"}));  // no AUTH
}

TEST_F(Tls, AuthAfterStarttls) {
  Script s = script();
  s.ehlo = {"PIPELINING", "AUTH PLAIN"};
  FakeServer srv(s);
  opt_.tls = TlsMode::starttls;
  opt_.tls_context = trusting_.get();
  opt_.require_verified_tls = true;
  opt_.auth = std::make_pair(std::string("u"), std::string("p"));
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  auto c = srv.commands();
  EXPECT_EQ((Lines{c.at(0), c.at(1), c.at(2), c.at(3)}),
            (Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH PLAIN AHUAcA=="}));
}

TEST_F(Tls, RequiredButNotOffered) {
  FakeServer srv(Script{});
  opt_.tls = TlsMode::starttls;
  auto d = run(srv, opt_);
  EXPECT_NE(d.open_error.find("STARTTLS required"), std::string::npos) << d.open_error;
  EXPECT_NE(d.open_error.substr(0, 1), "5");  // a policy failure: temporary
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "QUIT"}));
}

TEST_F(Tls, NoneNeverStartsTls) {
  FakeServer srv(script());
  opt_.tls = TlsMode::none;
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  EXPECT_FALSE(d.info.tls);
  EXPECT_EQ(srv.commands().at(1).substr(0, 4), "MAIL");
}

TEST_F(Tls, Implicit) {
  Script s = script();
  s.implicit_tls = true;
  FakeServer srv(s);
  opt_.tls = TlsMode::implicit;
  opt_.tls_context = trusting_.get();
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.tls);
  EXPECT_TRUE(d.info.tls_verified);
  EXPECT_EQ(srv.commands().at(0), "EHLO client.test");
  EXPECT_EQ(srv.commands().at(1).substr(0, 4), "MAIL");
  EXPECT_EQ(srv.messages().size(), 1u);
}

TEST_F(Tls, BrokenHandshakeRetriedInPlaintext) {
  Script s = script();
  s.break_tls = true;
  s.connections = 2;
  FakeServer srv(s);
  auto d = run(srv, opt_);
  ASSERT_EQ(d.open_error, "");
  EXPECT_FALSE(d.info.tls);
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "MAIL FROM:<a@x.test> SIZE=24",
                                   "RCPT TO:<b@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST_F(Tls, BrokenHandshakeWhenRequired) {
  Script s = script();
  s.break_tls = true;
  FakeServer srv(s);
  opt_.tls = TlsMode::starttls;
  auto d = run(srv, opt_);
  EXPECT_NE(d.open_error.find("TLS handshake"), std::string::npos) << d.open_error;
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "STARTTLS"}));
}

}  // namespace
}  // namespace tern::smtp::client
