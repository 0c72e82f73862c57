// auth/password: yescrypt for new hashes; bcrypt and sha512-crypt from Dovecot verified too.
#include <gtest/gtest.h>

#include <string>

#include "auth/password.hpp"

namespace tern::auth {
namespace {

// Made when this test was written, with tools outside Tern:
//   openssl passwd -6 -salt abcdefgh secret
constexpr const char* sha512_secret =
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";
//   python3 -c 'import crypt; print(crypt.crypt("secret", crypt.mksalt(crypt.METHOD_BLOWFISH)))'
constexpr const char* bcrypt12_secret = "$2b$12$mU.rDclnuRIvyOUfCy0Cqe6SKj23ZMU1DIX5x3.uz7kiaokT84DDq";
//   the same with mksalt(METHOD_BLOWFISH, rounds=32) (cost 5, fast)
constexpr const char* bcrypt5_secret = "$2b$05$QXkS3EtW2MqQBFbXssBjBu3h.pwZHnbVKyXFEA35Fz70PHAySRtqu";
//   python3 -c 'import crypt; print(crypt.crypt("secret", crypt.mksalt(crypt.METHOD_SHA256)))'
constexpr const char* sha256_secret = "$5$D7VXqSqCn4GEaIgj$4lLgARPn0kFBHk5QeVZcHq0GakKIRi75iqOW43L.ylD";

std::string with(std::string_view prefix, std::string_view hash) { return std::string(prefix) + std::string(hash); }

TEST(HashPassword, YescryptThatVerifies) {
  auto h = hash_password("correct horse battery staple");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->starts_with("$y$")) << *h;
  EXPECT_TRUE(verify_password("correct horse battery staple", *h));
  EXPECT_FALSE(verify_password("correct horse battery stapl", *h));
  EXPECT_FALSE(verify_password("Correct horse battery staple", *h));
  EXPECT_FALSE(verify_password("", *h));
}

TEST(HashPassword, SaltedEachTime) {
  auto a = hash_password("secret");
  auto b = hash_password("secret");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password("secret", *a));
  EXPECT_TRUE(verify_password("secret", *b));
}

TEST(HashPassword, Utf8AndLongPasswords) {
  std::string pw = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac";
  auto h = hash_password(pw);
  ASSERT_TRUE(h);
  EXPECT_TRUE(verify_password(pw, *h));
  EXPECT_FALSE(verify_password("passwörd", *h));
  std::string long_pw(200, 'x');
  auto hl = hash_password(long_pw);
  ASSERT_TRUE(hl);
  EXPECT_TRUE(verify_password(long_pw, *hl));
  EXPECT_FALSE(verify_password(std::string(199, 'x'), *hl));
}

TEST(HashPassword, EmptyOrNulRefused) {
  EXPECT_FALSE(hash_password(""));
  EXPECT_FALSE(hash_password(std::string_view("ab\0cd", 5)));
}

TEST(VerifyPassword, Sha512Crypt) {
  EXPECT_TRUE(verify_password("secret", sha512_secret));
  EXPECT_FALSE(verify_password("Secret", sha512_secret));
  EXPECT_FALSE(verify_password("secret ", sha512_secret));
  EXPECT_FALSE(verify_password("", sha512_secret));
}

TEST(VerifyPassword, Bcrypt) {
  EXPECT_TRUE(verify_password("secret", bcrypt5_secret));
  EXPECT_FALSE(verify_password("secreT", bcrypt5_secret));
  EXPECT_TRUE(verify_password("secret", bcrypt12_secret));
  EXPECT_FALSE(verify_password("wrong", bcrypt12_secret));
}

TEST(VerifyPassword, Sha256Crypt) {
  EXPECT_TRUE(verify_password("secret", sha256_secret));
  EXPECT_FALSE(verify_password("secrets", sha256_secret));
}

TEST(VerifyPassword, DovecotSchemePrefixes) {
  EXPECT_TRUE(verify_password("secret", with("{SHA512-CRYPT}", sha512_secret)));
  EXPECT_FALSE(verify_password("wrong", with("{SHA512-CRYPT}", sha512_secret)));
  EXPECT_TRUE(verify_password("secret", with("{BLF-CRYPT}", bcrypt5_secret)));
  EXPECT_FALSE(verify_password("wrong", with("{BLF-CRYPT}", bcrypt5_secret)));
  EXPECT_TRUE(verify_password("secret", with("{SHA256-CRYPT}", sha256_secret)));
  EXPECT_TRUE(verify_password("secret", with("{CRYPT}", sha512_secret)));
  auto y = hash_password("secret");
  ASSERT_TRUE(y);
  EXPECT_TRUE(verify_password("secret", with("{YESCRYPT}", *y)));
  // Only a scheme Tern knows is stripped, and only once.
  EXPECT_FALSE(verify_password("secret", with("{PLAIN}", sha512_secret)));
  EXPECT_FALSE(verify_password("secret", with("{SHA512-CRYPT}{SHA512-CRYPT}", sha512_secret)));
  EXPECT_FALSE(verify_password("secret", "{PLAIN}secret"));
  EXPECT_FALSE(verify_password("secret", "{SHA512-CRYPT}"));
}

TEST(VerifyPassword, EmptyAndMalformedHashesFail) {
  EXPECT_FALSE(verify_password("secret", ""));
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("secret", "secret"));  // a plain-text "hash" never matches
  EXPECT_FALSE(verify_password("secret", "*"));
  EXPECT_FALSE(verify_password("secret", "!"));
  EXPECT_FALSE(verify_password("secret", "$"));
  EXPECT_FALSE(verify_password("secret", "$6$"));
  EXPECT_FALSE(verify_password("secret", "$6$abcdefgh$"));
  EXPECT_FALSE(verify_password("secret", "$6$abcdefgh$short"));
  EXPECT_FALSE(verify_password("secret", "$2b$05$tooShort"));
  EXPECT_FALSE(verify_password("secret", "$y$"));
  EXPECT_FALSE(verify_password("secret", "$zz$abc$def"));
  // A hash cut short or with a changed character.
  std::string cut(sha512_secret);
  cut.pop_back();
  EXPECT_FALSE(verify_password("secret", cut));
  std::string changed(sha512_secret);
  changed[30] = changed[30] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(verify_password("secret", changed));
  EXPECT_FALSE(verify_password("secret", std::string(bcrypt5_secret) + "x"));
  // DES crypt (no '$') is refused outright: 56-bit, and a 2-character salt would verify anything short.
  EXPECT_FALSE(verify_password("secret", "abJnggxhB/yWI"));
}

}  // namespace
}  // namespace tern::auth
