// Shared test messages for the imap/message tests (written with LF, stored with CRLF like the store).
#pragma once
#include <string>
#include <string_view>

#include "base/strings.hpp"

namespace tern::imap::message::test {

inline std::string crlf(std::string_view s) { return tern::to_crlf(s); }

// multipart/mixed: (1) multipart/alternative of text/plain (qp, utf-8) and text/html, (2) a base64
// PDF with an RFC 2231 file name, (3) a message/rfc822.
inline std::string mixed() {
  return crlf(R"(From: "Doe, John" <john@example.com>
To: undisclosed-recipients:;
Cc: Mary <mary@x.org>, bob@y.org (Bob Smith), group: a@b, c@d;
Subject: =?utf-8?q?Caf=C3=A9?= test
Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
Message-ID: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 line
second
--inner
Content-Type: text/html

<p>x</p>

--inner--
--outer
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*0*=utf-8''R%C3%A9; filename*1="sum.pdf"
Content-Language: en, de
Content-ID: <id1@x>
Content-Description: a file

aGVsbG8gd29ybGQ=
--outer
Content-Type: message/rfc822

From: inner@x.org
Subject: inner
Content-Type: text/plain

inner body
line 2
--outer--
epilogue
)");
}

}  // namespace tern::imap::message::test
