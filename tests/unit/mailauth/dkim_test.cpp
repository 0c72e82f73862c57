// mailauth/dkim: the tag-list grammar, RFC 6376 3.4.5's canonicalisation example, signatures made and
// checked with generated keys (both algorithms), and what must fail: a changed body or header, an
// added From, a revoked or short key, a wrong key type, l= shorter than the body, an expired signature.
// Cross-checks with dkimpy and OpenDKIM are in tests/system/test_dkim.py.
#include <gtest/gtest.h>

#include "base/codec.hpp"
#include "mailauth/dkim.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

namespace tern::mailauth::dkim {
namespace {

constexpr std::int64_t now = 1764800000;

const std::string message =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Lunch\r\n"
    "  at noon\r\n"
    "Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n"
    "Message-ID: <1@example.test>\r\n"
    "\r\n"
    "Hi Bob,  see you\r\n"
    "there. \r\n"
    "\r\n"
    "\r\n";

TEST(TagList, ParsesAndRefuses) {
  auto t = parse_tag_list(" v = 1 ;a=rsa-sha256;\r\n\tb= ab\r\n cd ; ");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].name, "v");
  EXPECT_EQ((*t)[0].value, "1");
  EXPECT_EQ((*t)[2].value, "ab\r\n cd");
  EXPECT_FALSE(parse_tag_list("v=1; v=2"));      // duplicate
  EXPECT_FALSE(parse_tag_list("v=1;; a=b"));     // empty tag
  EXPECT_FALSE(parse_tag_list("v"));             // no '='
  EXPECT_FALSE(parse_tag_list("1v=1"));          // bad name
  EXPECT_FALSE(parse_tag_list(std::string(max_tag_list + 1, 'a')));
}

TEST(Canonicalisation, Rfc6376Example) {
  // RFC 6376 3.4.5
  EXPECT_EQ(canon_header("A: X\r\n", Canon::relaxed), "a:X\r\n");
  EXPECT_EQ(canon_header("B : Y\t\r\n\tZ  \r\n", Canon::relaxed), "b:Y Z\r\n");
  EXPECT_EQ(canon_header("B : Y\t\r\n\tZ  \r\n", Canon::simple), "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canon_body(" C \r\nD \t E\r\n\r\n\r\n", Canon::relaxed), " C\r\nD E\r\n");
  EXPECT_EQ(canon_body(" C \r\nD \t E\r\n\r\n\r\n", Canon::simple), " C \r\nD \t E\r\n");
}

TEST(Canonicalisation, EmptyBodies) {
  // RFC 6376 3.4.3 and 3.4.4: simple makes an empty body one CRLF, relaxed leaves it empty.
  EXPECT_EQ(canon_body("", Canon::simple), "\r\n");
  EXPECT_EQ(canon_body("\r\n\r\n", Canon::simple), "\r\n");
  EXPECT_EQ(canon_body("", Canon::relaxed), "");
  EXPECT_EQ(canon_body(" \r\n\t\r\n", Canon::relaxed), "");
  EXPECT_EQ(canon_body("no final line end", Canon::relaxed), "no final line end\r\n");
  EXPECT_EQ(base64_encode(sha256(canon_body("", Canon::relaxed))), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(Signature, RequiredTagsAndLimits) {
  const std::string good = "v=1; a=rsa-sha256; d=Example.test; s=sel; h=from:to; bh=" + base64_encode(std::string(32, 'x')) +
                           "; b=AAAA";
  auto s = parse_signature(good);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->domain, "example.test");
  EXPECT_EQ(s->identity, "@example.test");
  EXPECT_EQ(s->header_canon, Canon::simple);
  EXPECT_FALSE(parse_signature("v=1; a=rsa-sha256; d=example.test; s=sel; h=to; bh=" +
                               base64_encode(std::string(32, 'x')) + "; b=AAAA"));  // From not signed
  EXPECT_FALSE(parse_signature("v=1; a=rsa-sha1; d=example.test; s=sel; h=from; bh=" +
                               base64_encode(std::string(20, 'x')) + "; b=AAAA"));
  EXPECT_FALSE(parse_signature(good + "; i=joe@elsewhere.test"));
  EXPECT_TRUE(parse_signature(good + "; i=joe@sub.example.test"));
  EXPECT_FALSE(parse_signature(good + "; c=fancy"));
  EXPECT_FALSE(parse_signature(good + "; t=20; x=10"));
  EXPECT_FALSE(parse_signature("v=2; a=rsa-sha256; d=e; s=s; h=from; bh=" + base64_encode(std::string(32, 'x')) + "; b=AAAA"));
}

TEST(KeyRecord, Parses) {
  auto k = parse_key_record("v=DKIM1; k=ed25519; t=y:s; p=" + base64_encode(std::string(32, 'k')));
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->type, KeyRecord::Type::ed25519);
  EXPECT_TRUE(k->testing);
  EXPECT_TRUE(k->strict);
  auto revoked = parse_key_record("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked);
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=dsa; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=DKIM1; h=sha1; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=DKIM1; s=other; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=spf1 -all"));
}

struct Keys {
  PrivateKey ed = std::move(*PrivateKey::generate(Algorithm::ed25519_sha256));
  PrivateKey rsa = std::move(*PrivateKey::generate(Algorithm::rsa_sha256));
};
const Keys& keys() {
  static Keys k;
  return k;
}

KeyAnswer answer(const std::string& record) { return {KeyAnswer::Status::ok, {record}, ""}; }

// Signs `m` with both keys; checks the copy `received` (the same message unless changed in transit).
std::vector<Outcome> sign_and_check(const std::string& m, const std::string& received_body_change = "",
                                    const std::string& ed_record = "", const std::string& rsa_record = "") {
  std::vector<Signer> signers = {{"example.test", "ed", &keys().ed}, {"example.test", "rsa", &keys().rsa}};
  std::string signed_msg = sign(m, signers, now) + m + received_body_change;
  std::vector<Outcome> out;
  for (const auto& c : find_signatures(signed_msg)) {
    const std::string& rec = c.key_name.starts_with("ed.") ? (ed_record.empty() ? keys().ed.public_record() : ed_record)
                                                            : (rsa_record.empty() ? keys().rsa.public_record() : rsa_record);
    out.push_back(check(signed_msg, c, answer(rec), now));
  }
  return out;
}

TEST(SignAndVerify, BothAlgorithmsPass) {
  auto out = sign_and_check(message);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    EXPECT_EQ(o.status, Status::pass) << o.algorithm << ": " << o.reason;
    EXPECT_EQ(o.domain, "example.test");
    EXPECT_EQ(o.b.size(), 12u);
  }
  EXPECT_EQ(out[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(out[1].algorithm, "rsa-sha256");
  EXPECT_EQ(keys().rsa.bits(), 2048);
}

TEST(SignAndVerify, EmptyBodyAndNoFinalLineEnd) {
  for (const std::string& m : {std::string("From: a@example.test\r\n\r\n"), std::string("From: a@example.test\r\n"),
                              std::string("From: a@example.test\r\n\r\nlast line without CRLF")}) {
    for (const auto& o : sign_and_check(m)) EXPECT_EQ(o.status, Status::pass) << o.reason;
  }
}

TEST(SignAndVerify, RelaxedSurvivesWhiteSpaceChangesAndRefolding) {
  std::vector<Signer> signers = {{"example.test", "ed", &keys().ed}};
  std::string signed_msg = sign(message, signers, now) + message;
  // A relay that re-folds Subject and trims trailing white space in the body.
  std::string changed = signed_msg;
  changed.replace(changed.find("Subject: Lunch\r\n  at noon"), 25, "Subject:   Lunch at\r\n\tnoon");
  changed.replace(changed.find("there. \r\n"), 9, "there.\r\n");
  auto c = find_signatures(changed);
  ASSERT_EQ(c.size(), 1u);
  auto o = check(changed, c[0], answer(keys().ed.public_record()), now);
  EXPECT_EQ(o.status, Status::pass) << o.reason;
}

TEST(SignAndVerify, ChangedBodyFails) {
  for (const auto& o : sign_and_check(message, "P.S. added in transit\r\n")) {
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(o.reason, "body hash mismatch");
  }
}

TEST(SignAndVerify, ChangedOrAddedHeaderFails) {
  std::vector<Signer> signers = {{"example.test", "rsa", &keys().rsa}};
  std::string signed_msg = sign(message, signers, now) + message;
  std::string changed = signed_msg;
  changed.replace(changed.find("Subject: Lunch"), 14, "Subject: Lunch!");
  auto c = find_signatures(changed);
  EXPECT_EQ(check(changed, c[0], answer(keys().rsa.public_record()), now).status, Status::fail);
  // A second From added on top: From is over-signed, so the null instance no longer matches.
  std::string added = "From: mallory@evil.test\r\n" + signed_msg;
  c = find_signatures(added);
  EXPECT_EQ(check(added, c[0], answer(keys().rsa.public_record()), now).status, Status::fail);
  // A field that is not signed may be added (a Received on the way).
  std::string trace = "Received: from relay\r\n" + signed_msg;
  c = find_signatures(trace);
  EXPECT_EQ(check(trace, c[0], answer(keys().rsa.public_record()), now).status, Status::pass);
}

TEST(SignAndVerify, KeyProblems) {
  // Each key record for the other key: the signature fails to verify, or the type does not match.
  auto swapped = sign_and_check(message, "", keys().rsa.public_record(), keys().ed.public_record());
  for (const auto& o : swapped) EXPECT_EQ(o.status, Status::permerror) << o.reason;
  auto revoked = sign_and_check(message, "", "v=DKIM1; k=ed25519; p=", "v=DKIM1; p=");
  for (const auto& o : revoked) {
    EXPECT_EQ(o.status, Status::permerror);
    EXPECT_EQ(o.reason, "key revoked");
  }
  // Another key of the right type: the signature does not verify.
  auto other = std::move(*PrivateKey::generate(Algorithm::ed25519_sha256));
  auto wrong = sign_and_check(message, "", other.public_record(), "");
  EXPECT_EQ(wrong[0].status, Status::fail);
  EXPECT_EQ(wrong[0].reason, "signature does not verify");
  EXPECT_EQ(wrong[1].status, Status::pass);
}

TEST(SignAndVerify, ShortRsaKeyFails) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{512});
  ASSERT_NE(raw, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, raw, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  auto small = PrivateKey::from_pem(std::string(data, static_cast<std::size_t>(n)));
  BIO_free(bio);
  EVP_PKEY_free(raw);
  ASSERT_TRUE(small) << small.error().message;
  std::vector<Signer> signers = {{"example.test", "small", &*small}};
  std::string signed_msg = sign(message, signers, now) + message;
  auto c = find_signatures(signed_msg);
  auto o = check(signed_msg, c[0], answer(small->public_record()), now);
  EXPECT_EQ(o.status, Status::fail);
  EXPECT_EQ(o.reason, "RSA key shorter than 1024 bits");
}

TEST(Verify, LengthLimitAndExpiry) {
  // l= and x= spliced into a signature made 1000 s ago (b= no longer covers them: expiry is decided
  // first, before the key is used).
  std::vector<Signer> signers = {{"example.test", "ed", &keys().ed}};
  std::string field = sign(message, signers, now - 1000);
  std::string with_l = field;
  with_l.replace(with_l.find("t="), 0, "l=99999; x=" + std::to_string(now - 10) + "; ");
  std::string m = with_l + message;
  auto c = find_signatures(m);
  ASSERT_TRUE(c[0].signature) << c[0].signature.error().message;
  EXPECT_TRUE(c[0].signature->length);
  auto o = check(m, c[0], answer(keys().ed.public_record()), now);
  EXPECT_EQ(o.status, Status::fail);
  EXPECT_EQ(o.reason, "signature expired");
  EXPECT_TRUE(o.length_limited);
}

TEST(Verify, KeyLookupOutcomes) {
  std::vector<Signer> signers = {{"example.test", "ed", &keys().ed}};
  std::string m = sign(message, signers, now) + message;
  auto c = find_signatures(m);
  EXPECT_EQ(c[0].key_name, "ed._domainkey.example.test");
  EXPECT_EQ(check(m, c[0], {KeyAnswer::Status::temp_failure, {}, "timeout"}, now).status, Status::temperror);
  EXPECT_EQ(check(m, c[0], {KeyAnswer::Status::none, {}, ""}, now).status, Status::permerror);
  EXPECT_EQ(check(m, c[0], answer("v=spf1 -all"), now).status, Status::permerror);
}

// RFC 8463 Appendix A: the same message signed with Ed25519 (selector brisbane) and RSA (selector test),
// with the keys the RFC publishes. Known-answer vectors of another implementation's signatures.
const std::string rfc8463_message =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=brisbane; t=1518460054; h=from : to : \r\n"
    " subject : date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\r\n"
    " o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=test; t=1527915362; h=from : to : subject : \r\n"
    " date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\r\n"
    " l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\r\n"
    " NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n"
;

TEST(Verify, Rfc8463Example) {
  const std::string ed_key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const std::string rsa_key =
      "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
      "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
      "2kryOTIKT+l/K4w3QIDAQAB";
  auto c = find_signatures(rfc8463_message);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].key_name, "brisbane._domainkey.football.example.com");
  auto ed = check(rfc8463_message, c[0], answer(ed_key), now);
  EXPECT_EQ(ed.status, Status::pass) << ed.reason;
  EXPECT_EQ(ed.algorithm, "ed25519-sha256");
  auto rsa = check(rfc8463_message, c[1], answer(rsa_key), now);
  EXPECT_EQ(rsa.status, Status::pass) << rsa.reason;
  // One octet of the body changed: both fail.
  std::string changed = rfc8463_message;
  changed.replace(changed.find("We lost"), 7, "We won!");
  EXPECT_EQ(check(changed, c[0], answer(ed_key), now).status, Status::fail);
  EXPECT_EQ(check(changed, c[1], answer(rsa_key), now).status, Status::fail);
}

TEST(Verify, AtMostTenSignatures) {
  std::string m = message;
  std::vector<Signer> signers = {{"example.test", "ed", &keys().ed}};
  std::string one = sign(message, signers, now);
  for (int i = 0; i < 12; ++i) m = one + m;
  EXPECT_EQ(find_signatures(m).size(), max_signatures);
}

}  // namespace
}  // namespace tern::mailauth::dkim
