// mailauth/authres: the Authentication-Results field Tern writes, and the authserv-id of one it reads.
#include <gtest/gtest.h>

#include "mailauth/authres.hpp"

namespace tern::mailauth {
namespace {

TEST(AuthenticationResults, NoneWhenNothingWasChecked) {
  EXPECT_EQ(authentication_results("mx.example.test", {}), "Authentication-Results: mx.example.test; none\r\n");
}

TEST(AuthenticationResults, OneResinfoPerLineWithQuotedValuesWhereNeeded) {
  std::vector<MethodResult> r = {
      {"spf", "pass", "", {{"smtp.mailfrom", "a@b.test"}}},
      {"dkim", "fail", "body hash \"mismatch\"", {{"header.d", "b.test"}, {"header.b", "ab/c+d=="}}},
  };
  EXPECT_EQ(authentication_results("mx.example.test", r),
            "Authentication-Results: mx.example.test;\r\n"
            "\tspf=pass smtp.mailfrom=a@b.test;\r\n"
            "\tdkim=fail reason=\"body hash \\\"mismatch\\\"\" header.d=b.test header.b=\"ab/c+d==\"\r\n");
  EXPECT_EQ(pvalue(""), "\"\"");
  EXPECT_EQ(pvalue("a b"), "\"a b\"");
}

TEST(AuthservId, SkipsCommentsAndFolding) {
  EXPECT_EQ(authserv_id_of(" MX.Example.TEST; dkim=pass"), "mx.example.test");
  EXPECT_EQ(authserv_id_of("\r\n\t(a (nested) comment) mx.example.test 1; none"), "mx.example.test");
  EXPECT_EQ(authserv_id_of("mx.example.test(comment); none"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(""), "");
  // A comment that never closes and ends in a lone backslash (found by fuzz_spf_dmarc: it threw).
  EXPECT_EQ(authserv_id_of("(co=x(\\"), "");
  EXPECT_EQ(authserv_id_of("(unclosed"), "");
}

}  // namespace
}  // namespace tern::mailauth
