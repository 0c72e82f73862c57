// base/codec: base64 (RFC 4648) and SHA-256.
#include <gtest/gtest.h>

#include <string>

#include "base/codec.hpp"

namespace tern {
namespace {

TEST(Base64, KnownVectors) {
  // RFC 4648 10
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    auto in = all.substr(all.size() - n);  // ends in 0xff, the byte most likely to be mangled
    auto enc = base64_encode(in);
    EXPECT_EQ(enc.size() % 4, 0u);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec) << n;
    EXPECT_EQ(*dec, in) << n;
  }
  std::string zeros(7, '\0');
  EXPECT_EQ(base64_decode(base64_encode(zeros)), zeros);  // trailing NULs are data, not padding
}

TEST(Base64, InvalidInput) {
  for (const char* s : {"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9v!A==", "Zm 9v", "Zm9v\r\n", " Zm9v", "Zm9v ",
                        "Zm-_", "Zg==Zg==", "=Zg=", "Z===", "====", "Zm9vYmFy="})
    EXPECT_FALSE(base64_decode(s)) << "'" << s << "' decoded";
}

TEST(Sha256, KnownVectors) {
  auto hex = [](const std::string& raw) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
    return out;
  };
  // FIPS 180-2 B.1 and the empty string.
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(base64_encode(sha256("\r\n")), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");  // RFC 6376 3.4.3's empty simple body
}

}  // namespace
}  // namespace tern
