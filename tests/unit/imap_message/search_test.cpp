// SEARCH helpers (RFC 9051 6.4.4): decoded header values, body text, case-insensitive matching.
#include <gtest/gtest.h>

#include "common.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {
namespace {

using test::crlf;

TEST(Search, HeaderValuesAreUnfoldedAndDecoded) {
  auto raw = crlf("Subject: =?iso-8859-1?q?J=F6rg?= and\n =?utf-8?b?w6k=?=\nX-A: 1\nx-a: 2\nX-Empty:\n\nbody\n");
  EXPECT_EQ(header_values(raw, "subject"), std::vector<std::string>{"J\xc3\xb6rg and \xc3\xa9"});
  EXPECT_EQ(header_values(raw, "X-A"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(header_values(raw, "X-Empty"), std::vector<std::string>{""});
  EXPECT_TRUE(header_values(raw, "X-None").empty());
  EXPECT_TRUE(header_values(raw, "body").empty());
}

TEST(Search, RawEightBitHeaderIsReadAsUtf8OrWindows1252) {
  EXPECT_EQ(header_values(crlf("Subject: caf\xc3\xa9\n\n"), "Subject")[0], "caf\xc3\xa9");
  EXPECT_EQ(header_values(crlf("Subject: caf\xe9\n\n"), "Subject")[0], "caf\xc3\xa9");
}

TEST(Search, BodyTextHasEveryTextPartDecoded) {
  auto text = body_text(test::mixed());
  EXPECT_NE(text.find("Caf\xc3\xa9 line\r\nsecond"), std::string::npos);  // qp, utf-8
  EXPECT_NE(text.find("<p>x</p>"), std::string::npos);                    // html
  EXPECT_NE(text.find("inner body"), std::string::npos);                  // inside message/rfc822
  EXPECT_NE(text.find("Subject: inner"), std::string::npos);              // whose header is body too
  EXPECT_EQ(text.find("aGVsbG8"), std::string::npos);                     // not the attachment
  EXPECT_EQ(text.find("preamble"), std::string::npos);
}

TEST(Search, CharsetsAreConvertedToUtf8) {
  auto raw = crlf("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\nSvZyZw==\n");
  EXPECT_EQ(body_text(raw), "J\xc3\xb6rg\n");
  auto koi = crlf("Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n\xf0\xd2\xc9\n");
  EXPECT_NE(body_text(koi).find("\xd0\x9f\xd1\x80\xd0\xb8"), std::string::npos);  // "При"
}

TEST(Search, TextCoversHeaderAndBody) {
  auto raw = test::mixed();
  Parsed p(raw);
  auto t = p.text();
  EXPECT_NE(t.find("Subject: Caf\xc3\xa9 test"), std::string::npos);
  EXPECT_NE(t.find("inner body"), std::string::npos);
  EXPECT_EQ(&p.body_text(), &p.body_text());  // computed once
}

TEST(Search, ContainsIsCaseInsensitive) {
  EXPECT_TRUE(contains("Hello World", "WORLD"));
  EXPECT_TRUE(contains("Hello World", ""));
  EXPECT_FALSE(contains("Hello", "Hello World"));
  EXPECT_FALSE(contains("Hello World", "word"));
  EXPECT_TRUE(contains("Grüße von J\xc3\xb6rg", "J\xc3\x96RG"));  // Unicode case folding
  EXPECT_TRUE(contains("caf\xc3\xa9", "CAF"));
  EXPECT_FALSE(contains("caf\xc3\xa9", "CAFE"));
  EXPECT_TRUE(contains(std::string_view("a\0b", 3), "B"));
}

}  // namespace
}  // namespace tern::imap::message
