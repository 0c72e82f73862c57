// BODY and BODYSTRUCTURE (RFC 9051 7.5.2, grammar in 9). The expected values were checked against
// Dovecot 2.3 for the same bytes, except where a comment says why Tern differs.
#include <gtest/gtest.h>

#include "common.hpp"
#include "imap/message/message.hpp"
#include "mime/tree.hpp"

namespace tern::imap::message {
namespace {

using test::crlf;

TEST(BodyStructure, PlainTextWithoutContentTypeGetsTheRfc2045Default) {
  auto s = summarize(crlf("Subject: hi\nFrom: A <a@b.c>\n\nhello\nworld"));
  // 12 octets; one line end (a last line without CRLF is not counted, as Dovecot counts).
  EXPECT_EQ(s.body_structure, R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL))");
  EXPECT_EQ(s.body, R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1))");
}

TEST(BodyStructure, TextWithoutCharsetSaysUsAscii) {
  auto s = summarize(crlf("Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n<p>\n"));
  EXPECT_EQ(s.body, R"(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 5 1))");
}

TEST(BodyStructure, InvalidContentTypeFallsBackToTextPlain) {
  // RFC 2045 5.2 (Dovecot sends "text" "" here).
  auto s = summarize(crlf("Content-Type: text\n\nx\n"));
  EXPECT_EQ(s.body, R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1))");
}

TEST(BodyStructure, MixedWithAlternativeAttachmentAndMessage) {
  auto s = summarize(test::mixed());
  EXPECT_EQ(s.body_structure,
            R"(((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 22 1 NIL NIL NIL NIL))"
            R"(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "alternative")"
            R"( ("boundary" "inner") NIL NIL NIL))"
            R"(("application" "pdf" ("name" "a.pdf") "<id1@x>" "a file" "base64" 16 NIL)"
            R"( ("attachment" ("filename*" "utf-8''R%C3%A9sum.pdf")) ("en" "de") NIL))"
            R"(("message" "rfc822" NIL NIL NIL "7bit" 81)"
            R"( (NIL "inner" ((NIL NIL "inner" "x.org")) ((NIL NIL "inner" "x.org")) ((NIL NIL "inner" "x.org")))"
            R"( NIL NIL NIL NIL NIL))"
            R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 18 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL))"
            R"( "mixed" ("boundary" "outer") NIL NIL NIL))");
  EXPECT_EQ(s.body,
            R"(((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 22 1))"
            R"(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 10 1) "alternative"))"
            R"(("application" "pdf" ("name" "a.pdf") "<id1@x>" "a file" "base64" 16))"
            R"(("message" "rfc822" NIL NIL NIL "7bit" 81)"
            R"( (NIL "inner" ((NIL NIL "inner" "x.org")) ((NIL NIL "inner" "x.org")) ((NIL NIL "inner" "x.org")))"
            R"( NIL NIL NIL NIL NIL))"
            R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 18 1) 5) "mixed"))");
}

TEST(BodyStructure, MultipartSigned) {
  auto s = summarize(crlf(R"(From: a@b.c
Subject: signed
Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig"

--sig
Content-Type: text/plain

signed text
--sig
Content-Type: application/pgp-signature

-----BEGIN PGP SIGNATURE-----
xyz
-----END PGP SIGNATURE-----
--sig--
)"));
  EXPECT_EQ(s.body_structure,
            R"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL))"
            R"(("application" "pgp-signature" NIL NIL NIL "7bit" 63 NIL NIL NIL NIL) "signed")"
            R"( ("micalg" "pgp-sha256" "protocol" "application/pgp-signature" "boundary" "sig") NIL NIL NIL))");
}

TEST(BodyStructure, DigestPartsDefaultToMessageRfc822) {
  auto s = summarize(crlf(R"(From: a@b.c
Content-Type: multipart/digest; boundary="d"

--d

From: x@y
Subject: one

body one
--d
Content-Type: text/plain

not a message
--d--
)"));
  EXPECT_EQ(s.body,
            R"((("message" "rfc822" NIL NIL NIL "7bit" 35)"
            R"( (NIL "one" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL))"
            R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0) 3))"
            R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) "digest"))");
}

TEST(BodyStructure, MultipartWithoutPartsShowsOneEmptyTextPart) {
  auto raw = crlf("Content-Type: multipart/mixed; boundary=\"zz\"\n\nno boundaries here\n");
  auto s = summarize(raw);
  EXPECT_EQ(s.body, R"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed"))");
  EXPECT_EQ(s.body_structure,
            R"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed")"
            R"( ("boundary" "zz") NIL NIL NIL))");
}

TEST(BodyStructure, MissingCloseDelimiterEndsWithTheParent) {
  auto s = summarize(crlf(R"(Content-Type: multipart/mixed; boundary="a"

--a
Content-Type: multipart/alternative; boundary="ab"

--ab
Content-Type: text/plain

x
--a
Content-Type: text/plain

after inner without close
--a--
)"));
  EXPECT_EQ(s.body, R"(((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "alternative"))"
                    R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 25 0) "mixed"))");
}

TEST(BodyStructure, Rfc2231ContinuationsAreJoined) {
  auto s = summarize(crlf(R"(Content-Type: multipart/mixed; boundary=x

--x
Content-Type: text/plain; name=My File.txt; charset="iso-8859-1" (comment)

one
--x
Content-Type: image/png;
 name*0="long";
 name*1="name.png"
Content-Transfer-Encoding: BASE64

iVBORw0KGgo=
)"));
  // An unquoted value with a space is kept whole (Dovecot cuts it at the space).
  EXPECT_EQ(s.body, R"((("text" "plain" ("name" "My File.txt" "charset" "iso-8859-1") NIL NIL "7bit" 3 0))"
                    R"(("image" "png" ("name" "longname.png") NIL NIL "BASE64" 14) "mixed"))");
}

TEST(BodyStructure, Rfc2231MixedSegmentsStayEncoded) {
  auto s = summarize(crlf("Content-Type: application/x; name*0*=utf-8'en'%C3%A9; name*1=\"a b\"\n\nx"));
  EXPECT_EQ(s.body, R"(("application" "x" ("name*" "utf-8'en'%C3%A9a%20b") NIL NIL "7bit" 1))");
}

// Each RFC 2231 parameter name was looked up in the list of names seen so far: quadratic, so one
// 600 KB Content-Type of distinct "pN*0=v" parameters took more than a minute to summarize (at
// delivery, and again at every FETCH). Found with fuzz_imap_message on a long header (corpus:
// 16_many_rfc2231_parameters, a short one).
TEST(BodyStructure, ManyRfc2231ParametersKeepTheirOrder) {
  std::string value = "text/plain";
  const int n = 200000;
  for (int i = 0; i < n; ++i)
    value += "; p" + std::to_string(i) + "*" + std::to_string(i % 2) + "=v" + std::to_string(i);
  value += "; P0*1=w; charset=utf-8";
  auto hp = mime::parse_params(value, true);
  ASSERT_EQ(hp.params.size(), static_cast<std::size_t>(n) + 1);
  EXPECT_EQ(hp.params[0].name, "p0");
  EXPECT_EQ(hp.params[0].value, "v0w");  // p0*0 and P0*1 joined (names are case-insensitive)
  EXPECT_EQ(hp.params[1].name, "p1");    // p1*1 alone: the segment it has
  EXPECT_EQ(hp.params[1].value, "v1");
  EXPECT_EQ(hp.params[n - 1].name, "p" + std::to_string(n - 1));
  EXPECT_EQ(hp.params[n].name, "charset");
}

TEST(BodyStructure, EightBitParameterIsALiteral) {
  auto s = summarize(crlf("Content-Type: application/x; name=\"caf\xc3\xa9.pdf\"\n\nx"));
  EXPECT_EQ(s.body, "(\"application\" \"x\" (\"name\" {9}\r\ncaf\xc3\xa9.pdf) NIL NIL \"7bit\" 1)");
}

TEST(BodyStructure, MessageWithoutBlankLineHasAnEmptyBody) {
  auto s = summarize("Subject: only header");
  EXPECT_EQ(s.body, R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))");
  auto inner = summarize(crlf("Content-Type: message/rfc822\n\nSubject: inner no blank line"));
  EXPECT_EQ(inner.body, R"(("message" "rfc822" NIL NIL NIL "7bit" 28)"
                        R"( (NIL "inner no blank line" NIL NIL NIL NIL NIL NIL NIL NIL))"
                        R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 0))");
}

TEST(BodyStructure, DeepNestingIsCutOffNotFollowed) {
  std::string raw;
  for (int i = 0; i < 200; ++i) raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
                                       std::to_string(i) + "\r\n";
  raw += "\r\nleaf\r\n";
  auto s = summarize(raw);
  EXPECT_NE(s.body.find("\"application\" \"octet-stream\""), std::string::npos);
  EXPECT_EQ(s.body.rfind("(((", 0), 0u);
}

TEST(BodyStructure, PartCountIsCapped) {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 20000; ++i) raw += "--b\r\n\r\nx\r\n";
  raw += "--b--\r\n";
  auto s = summarize(raw);
  std::size_t parts = 0;
  for (auto pos = s.body.find("(\"text\""); pos != std::string::npos; pos = s.body.find("(\"text\"", pos + 1)) ++parts;
  EXPECT_EQ(parts, 10000u);
  // The last part holds the rest, delimiters and all, so no byte is lost.
  EXPECT_EQ(section(raw, {10000}, SectionText::none, {}).size(), 1u + 10000 * 10);
}

}  // namespace
}  // namespace tern::imap::message
