// BODY[section] (RFC 9051 6.4.5) and BINARY (RFC 3516): exact stored bytes, checked against Dovecot.
#include <gtest/gtest.h>

#include "common.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {
namespace {

using test::crlf;
using P = std::vector<std::uint32_t>;

TEST(Section, WholeHeaderAndText) {
  auto raw = crlf("Subject: x\nFrom: a@b\n\nbody\n");
  EXPECT_EQ(section(raw, {}, SectionText::none, {}), raw);
  EXPECT_EQ(section(raw, {}, SectionText::header, {}), crlf("Subject: x\nFrom: a@b\n\n"));
  EXPECT_EQ(section(raw, {}, SectionText::text, {}), crlf("body\n"));
  // A non-multipart message's part 1 is its body; its MIME header is the message header.
  EXPECT_EQ(section(raw, {1}, SectionText::none, {}), crlf("body\n"));
  EXPECT_EQ(section(raw, {1}, SectionText::mime, {}), crlf("Subject: x\nFrom: a@b\n\n"));
  EXPECT_EQ(section(raw, {1, 1}, SectionText::none, {}), "");
  EXPECT_EQ(section(raw, {2}, SectionText::none, {}), "");
}

TEST(Section, HeaderFieldsKeepFoldingAndCase) {
  auto raw = crlf("From: a@b\nSubject: folded\n  second line\nX-Other: y\nsubject : again\nTo: c@d\n\nbody\n");
  EXPECT_EQ(section(raw, {}, SectionText::header_fields, {"SUBJECT", "to"}),
            crlf("Subject: folded\n  second line\nsubject : again\nTo: c@d\n\n"));
  EXPECT_EQ(section(raw, {}, SectionText::header_fields_not, {"Subject"}), crlf("From: a@b\nX-Other: y\nTo: c@d\n\n"));
  EXPECT_EQ(section(raw, {}, SectionText::header_fields, {"nothing"}), "\r\n");
}

TEST(Section, PartsOfMultipartsAndMessages) {
  auto raw = test::mixed();
  EXPECT_EQ(section(raw, {1, 1}, SectionText::none, {}), crlf("Caf=C3=A9 line\nsecond"));
  EXPECT_EQ(section(raw, {1, 2}, SectionText::mime, {}), crlf("Content-Type: text/html\n\n"));
  EXPECT_EQ(section(raw, {1, 2}, SectionText::none, {}), crlf("<p>x</p>\n"));
  EXPECT_EQ(section(raw, {1, 1, 1}, SectionText::none, {}), crlf("Caf=C3=A9 line\nsecond"));
  EXPECT_EQ(section(raw, {2}, SectionText::none, {}), "aGVsbG8gd29ybGQ=");
  EXPECT_EQ(section(raw, {3}, SectionText::mime, {}), crlf("Content-Type: message/rfc822\n\n"));
  EXPECT_EQ(section(raw, {3}, SectionText::none, {}),
            crlf("From: inner@x.org\nSubject: inner\nContent-Type: text/plain\n\ninner body\nline 2"));
  EXPECT_EQ(section(raw, {3}, SectionText::header, {}),
            crlf("From: inner@x.org\nSubject: inner\nContent-Type: text/plain\n\n"));
  EXPECT_EQ(section(raw, {3}, SectionText::text, {}), crlf("inner body\nline 2"));
  EXPECT_EQ(section(raw, {3}, SectionText::header_fields, {"subject"}), crlf("Subject: inner\n\n"));
  EXPECT_EQ(section(raw, {3, 1}, SectionText::none, {}), crlf("inner body\nline 2"));
  EXPECT_EQ(section(raw, {3, 1, 1}, SectionText::none, {}), "");
  // The multipart's own body, preamble to close delimiter (the CRLF before "--outer" is the delimiter's).
  EXPECT_EQ(section(raw, {1}, SectionText::none, {}).substr(0, 9), "--inner\r\n");
  EXPECT_TRUE(section(raw, {1}, SectionText::none, {}).ends_with("\r\n--inner--"));
}

TEST(Section, NonexistentOrMisplacedSectionsAreEmpty) {
  auto raw = test::mixed();
  EXPECT_EQ(section(raw, {4}, SectionText::none, {}), "");
  EXPECT_EQ(section(raw, {1, 3}, SectionText::none, {}), "");
  EXPECT_EQ(section(raw, {0}, SectionText::none, {}), "");
  EXPECT_EQ(section(raw, {2}, SectionText::header, {}), "");  // HEADER needs a message/rfc822 part
  EXPECT_EQ(section(raw, {}, SectionText::mime, {}), "");
}

TEST(Binary, DecodesBase64AndQuotedPrintable) {
  auto raw = test::mixed();
  EXPECT_EQ(binary(raw, {2}).data, "hello world");
  EXPECT_EQ(binary(raw, {1, 1}).data, crlf("Caf\xc3\xa9 line\nsecond"));
  EXPECT_EQ(binary_size(raw, {2}), 11u);
  EXPECT_EQ(binary(raw, {}).data, raw);  // the whole message is never decoded
  EXPECT_EQ(binary(raw, {3}).data, section(raw, {3}, SectionText::none, {}));
  EXPECT_EQ(binary(raw, {9}).data, "");
}

TEST(Binary, SoftLineBreaks) {
  auto raw = crlf("Content-Transfer-Encoding: Quoted-Printable\n\nab=\ncd=3D\n");
  EXPECT_EQ(binary(raw, {1}).data, "abcd=\r\n");
}

// Issue 11: trailing white space of an encoded line is transport padding (RFC 2045 6.7 (3)); "=20"
// stays; "= " before the line end is still a soft line break; BINARY.SIZE is the decoded length.
TEST(Binary, QuotedPrintableTransportPaddingIsDeleted) {
  auto raw = crlf("Content-Transfer-Encoding: quoted-printable\n\n=41=20 \t\nsoft= \nbreak\ntrail  \n\nlast =20");
  EXPECT_EQ(binary(raw, {1}).data, crlf("A \nsoftbreak\ntrail\n\nlast  "));
  EXPECT_EQ(binary_size(raw, {1}), binary(raw, {1}).data.size());
  auto empty = crlf("Content-Transfer-Encoding: quoted-printable\n\n");
  EXPECT_EQ(binary(empty, {1}).data, "");
  EXPECT_EQ(binary_size(empty, {1}), 0u);
}

TEST(Binary, UnknownTransferEncodingIsRefused) {
  auto raw = crlf("Content-Transfer-Encoding: x-weird\n\ndata\n");
  auto b = binary(raw, {1});
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(binary_size(raw, {1}), std::nullopt);
  EXPECT_TRUE(binary(raw, {}).ok);
}

TEST(Parsed, OneParseServesManySections) {
  auto raw = test::mixed();
  Parsed p(raw);
  EXPECT_EQ(p.section({2}, SectionText::mime),
            crlf("Content-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n"
                 "Content-Disposition: attachment; filename*0*=utf-8''R%C3%A9; filename*1=\"sum.pdf\"\n"
                 "Content-Language: en, de\nContent-ID: <id1@x>\nContent-Description: a file\n\n"));
  EXPECT_EQ(p.binary({2}).data, "hello world");
  EXPECT_EQ(p.summary(), summarize(raw));
}

}  // namespace
}  // namespace tern::imap::message
