"""IMAP on the real server, part 2: the commands on messages, over the imaps listener with raw sockets
(imap_client.Conn) and imaplib, mail delivered over SMTP or APPENDed first.

FETCH of every item on a multipart message (BODY[] byte for byte what the file holds, sections, partial
ranges, BINARY, ENVELOPE, BODYSTRUCTURE, the RFC822 forms, \\Seen), nested messages and odd addresses,
STORE (keywords, .SILENT, UNCHANGEDSINCE), SEARCH (keys, CHARSET UTF-8, decoded bodies), ESEARCH and
SEARCHRES, SORT, THREAD, COPY/MOVE/EXPUNGE/UID EXPUNGE/CLOSE/UNSELECT, CONDSTORE/QRESYNC,
COMPRESS=DEFLATE, pipelining, byte-split input, and bad input after which the session goes on.
"""

import base64
import datetime
import fcntl
import imaplib
import os
import random
import re
import socket
import ssl
import struct
import termios
import time
import zlib

from harness import HOST, PASSWORD, WAIT, main, message_path, tls_context
from imap_client import (Conn, ImapCase, apply_expunges, caps_of, code_of, dated, deliver, internaldate, message, norm,
                         parse, select_info, seq_set, status_of)


ATTACHMENT = bytes(random.Random(7).randrange(256) for _ in range(300))
ATTACHMENT_B64 = b"\r\n".join(
    base64.b64encode(ATTACHMENT)[i:i + 76] for i in range(0, len(base64.b64encode(ATTACHMENT)), 76))
PART1_HEADER = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
PART1_BODY = b"Hello Bob,\r\nhere is the file.\r\n"
PART2_HEADER = (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
                b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n")
MULTIPART_HEADER_FIELDS = [
    b"From: \"Alice Example\" <alice@example.test>",
    b"To: Bob <bob@tern.test>, carol@example.test",
    b"Subject: Quarterly report",
    b"Date: Mon, 02 Jan 2023 10:00:00 +0100",
    b"Message-ID: <report-1@example.test>",
    b"In-Reply-To: <parent@example.test>",
    b"MIME-Version: 1.0",
    b"Content-Type: multipart/mixed; boundary=\"b1\"",
]
MULTIPART_TEXT = (b"Preamble line.\r\n--b1\r\n" + PART1_HEADER + PART1_BODY + b"\r\n--b1\r\n" + PART2_HEADER
                  + ATTACHMENT_B64 + b"\r\n--b1--\r\n")
MULTIPART = b"\r\n".join(MULTIPART_HEADER_FIELDS) + b"\r\n\r\n" + MULTIPART_TEXT


class FetchTests(ImapCase):
    def setUp(self):
        super().setUp()
        deliver(self.t, self.user, [MULTIPART])
        self.entry = self.t.message_list(self.user)[0]
        self.stored = self.t.message_bytes(self.user, self.entry["uid"])
        self.assertTrue(self.stored.endswith(MULTIPART))
        self.trace = self.stored[:-len(MULTIPART)]
        self.header = self.trace + b"\r\n".join(MULTIPART_HEADER_FIELDS) + b"\r\n\r\n"

    def fetch1(self, c, items):
        r = c.ok(f"FETCH 1 ({items})")
        return r.fetches()[1]

    def test_basic_items(self):
        c = self.conn()
        c.select()
        f = self.fetch1(c, "FLAGS UID INTERNALDATE RFC822.SIZE")
        self.assertEqual(f["FLAGS"], [])
        self.assertEqual(int(f["UID"]), self.entry["uid"])
        self.assertEqual(int(f["RFC822.SIZE"]), len(self.stored))
        when = internaldate(f["INTERNALDATE"])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 3600, f"INTERNALDATE of a message just delivered: {when}")
        # the macros (RFC 9051 6.4.5)
        self.assertEqual(set(c.ok("FETCH 1 FAST").fetches()[1]), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        self.assertEqual(set(c.ok("FETCH 1 ALL").fetches()[1]), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"})
        self.assertEqual(set(c.ok("FETCH 1 FULL").fetches()[1]),
                         {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"})
        # UID FETCH always carries the UID (RFC 9051 6.4.9)
        r = c.ok(f"UID FETCH {self.entry['uid']} FLAGS")
        self.assertEqual(int(r.fetches()[1]["UID"]), self.entry["uid"])
        self.assertEqual(c.ok(f"UID FETCH {self.entry['uid'] + 5} FLAGS").fetches(), {})
        self.assertStatus(c.cmd("FETCH 2 FLAGS"), "BAD")  # no such message number
        self.assertStatus(c.cmd("FETCH 1 (NOSUCHITEM)"), "BAD")

    def test_envelope(self):
        c = self.conn()
        c.select()
        env = self.fetch1(c, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(len(env), 10, env)
        date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
        self.assertEqual(date, b"Mon, 02 Jan 2023 10:00:00 +0100")
        self.assertEqual(subject, b"Quarterly report")
        self.assertEqual(frm, [[b"Alice Example", None, b"alice", b"example.test"]])
        # RFC 9051 7.5.2: absent Sender and Reply-To are the From
        self.assertEqual(sender, frm)
        self.assertEqual(reply_to, frm)
        self.assertEqual(to, [[b"Bob", None, b"bob", b"tern.test"], [None, None, b"carol", b"example.test"]])
        self.assertIsNone(cc)
        self.assertIsNone(bcc)
        self.assertEqual(in_reply_to, b"<parent@example.test>")
        self.assertEqual(message_id, b"<report-1@example.test>")

    def test_bodystructure(self):
        c = self.conn()
        c.select()
        bs = self.fetch1(c, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        text, att = bs[0], bs[1]
        self.assertEqual(norm(bs[2]), "MIXED")
        self.assertEqual(norm(bs[3]), ["BOUNDARY", "B1"])
        self.assertEqual(norm(text[:6]), ["TEXT", "PLAIN", ["CHARSET", "UTF-8"], None, None, "7BIT"])
        self.assertEqual(int(text[6]), len(PART1_BODY))
        self.assertEqual(int(text[7]), 2)  # lines
        self.assertEqual(norm(att[:6]), ["APPLICATION", "OCTET-STREAM", ["NAME", "DATA.BIN"], None, None, "BASE64"])
        self.assertEqual(int(att[6]), len(ATTACHMENT_B64))
        # extension data of a non-multipart part: md5, disposition, language, location
        self.assertIsNone(att[7])
        self.assertEqual(norm(att[8]), ["ATTACHMENT", ["FILENAME", "DATA.BIN"]])
        body = self.fetch1(c, "BODY")["BODY"]  # BODY: no extension data
        self.assertEqual(norm(body[0][:6]), norm(text[:6]))
        self.assertEqual(norm(body[2]), "MIXED")
        self.assertEqual(len(body), 3, body)

    def test_sections_byte_for_byte(self):
        c = self.conn()
        c.select()
        f = self.fetch1(c, "BODY.PEEK[]")
        self.assertEqual(f["BODY[]"], self.stored)
        self.assertEqual(f["BODY[]"], self.t.message_bytes(self.user, self.entry["uid"]))
        f = self.fetch1(c, "BODY.PEEK[HEADER]")
        self.assertEqual(f["BODY[HEADER]"], self.header)
        f = self.fetch1(c, "BODY.PEEK[TEXT]")
        self.assertEqual(f["BODY[TEXT]"], MULTIPART_TEXT)
        f = self.fetch1(c, "BODY.PEEK[HEADER.FIELDS (Subject From X-Absent)]")
        # the fields in the message's order, then the empty line (RFC 9051 6.4.5)
        self.assertEqual(f[[k for k in f if k.startswith("BODY[HEADER.FIELDS")][0]],
                         b"From: \"Alice Example\" <alice@example.test>\r\nSubject: Quarterly report\r\n\r\n")
        f = self.fetch1(c, "BODY.PEEK[HEADER.FIELDS.NOT (Received Return-Path Authentication-Results X-Virus-Status X-Spam-Status Content-Type MIME-Version)]")
        v = f[[k for k in f if k.startswith("BODY[HEADER.FIELDS.NOT")][0]]
        expected = [l for l in MULTIPART_HEADER_FIELDS if not l.startswith((b"Content-Type", b"MIME-Version"))]
        self.assertEqual(v, b"\r\n".join(expected) + b"\r\n\r\n")
        f = self.fetch1(c, "BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.MIME]")
        self.assertEqual(f["BODY[1]"], PART1_BODY)
        self.assertEqual(f["BODY[1.MIME]"], PART1_HEADER)
        self.assertEqual(f["BODY[2]"], ATTACHMENT_B64)
        self.assertEqual(f["BODY[2.MIME]"], PART2_HEADER)
        # partial: "BODY[TEXT]<0>" with 10 octets (RFC 9051 6.4.5)
        r = c.ok("FETCH 1 (BODY.PEEK[TEXT]<0.10> BODY.PEEK[]<5.7> BODY.PEEK[1]<10000.5>)")
        f = r.fetches()[1]
        self.assertEqual(f["BODY[TEXT]<0>"], MULTIPART_TEXT[:10])
        self.assertEqual(f["BODY[]<5>"], self.stored[5:12])
        self.assertEqual(f["BODY[1]<10000>"], b"")
        self.assertIn(b"BODY[TEXT]<0> {10}\r\n", r.untagged[0])
        # a part that does not exist is empty (RFC 9051 6.4.5)
        f = self.fetch1(c, "BODY.PEEK[7]")
        self.assertIn(f["BODY[7]"], (b"", None))
        self.assertEqual(self.fetch1(c, "FLAGS")["FLAGS"], [], "BODY.PEEK set a flag")

    def test_binary(self):
        c = self.conn()
        c.select()
        r = c.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1] BINARY.SIZE[1])")
        f = r.fetches()[1]
        self.assertEqual(f["BINARY[2]"], ATTACHMENT)
        self.assertEqual(int(f["BINARY.SIZE[2]"]), len(ATTACHMENT))
        self.assertEqual(f["BINARY[1]"], PART1_BODY)
        self.assertEqual(int(f["BINARY.SIZE[1]"]), len(PART1_BODY))
        r = c.ok("FETCH 1 BINARY.PEEK[2]<10.20>")
        self.assertEqual(r.fetches()[1]["BINARY[2]<10>"], ATTACHMENT[10:30])
        self.assertEqual(self.fetch1(c, "FLAGS")["FLAGS"], [])
        # BINARY of a multipart is refused (RFC 3516 4.2: UNKNOWN-CTE or BAD/NO)
        self.assertIn(c.cmd("FETCH 1 BINARY[]").status, ("OK", "NO", "BAD"))

    def test_rfc822_forms_and_seen(self):
        c = self.conn()
        c.select()
        f = self.fetch1(c, "RFC822.HEADER")
        self.assertEqual(f["RFC822.HEADER"], self.header)
        self.assertEqual(self.fetch1(c, "FLAGS")["FLAGS"], [], "RFC822.HEADER must not set \\Seen")
        f = self.fetch1(c, "RFC822.TEXT")
        self.assertEqual(f["RFC822.TEXT"], MULTIPART_TEXT)
        self.assertEqual(f.get("FLAGS"), ["\\Seen"], "RFC822.TEXT sets \\Seen and reports it")
        c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
        f = self.fetch1(c, "RFC822")
        self.assertEqual(f["RFC822"], self.stored)
        self.assertEqual(self.fetch1(c, "FLAGS")["FLAGS"], ["\\Seen"])
        c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
        # BODY[] sets \Seen and says so in the same FETCH (RFC 9051 6.4.5)
        f = self.fetch1(c, "BODY[]")
        self.assertEqual(f["BODY[]"], self.stored)
        self.assertEqual(f.get("FLAGS"), ["\\Seen"])
        self.assertEqual(self.t.message_list(self.user)[0]["flags"], ["\\Seen"])
        c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
        f = self.fetch1(c, "BINARY[2]")
        self.assertEqual(f.get("FLAGS"), ["\\Seen"])
        c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
        # EXAMINE: nothing changes (RFC 9051 6.3.3)
        c.ok("EXAMINE INBOX")
        f = self.fetch1(c, "BODY[]")
        self.assertEqual(f["BODY[]"], self.stored)
        self.assertNotIn("FLAGS", f)
        self.assertEqual(self.fetch1(c, "FLAGS")["FLAGS"], [])

    def test_imaplib_fetch(self):
        m = imaplib.IMAP4_SSL(HOST, self.t.ports["imaps"], ssl_context=tls_context(), timeout=WAIT)
        m.login(self.user, PASSWORD)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", str(self.entry["uid"]), "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], self.stored)
        typ, data = m.search(None, "FROM", "alice")
        self.assertEqual(data, [b"1"])
        m.logout()


INNER_HEADER = (b"From: Inner Sender <inner@example.test>\r\nTo: x@example.test\r\nSubject: inner\r\n"
                b"Date: Tue, 03 Jan 2023 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
INNER_TEXT = (b"--alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain text\r\n"
              b"--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>html</p>\r\n--alt--\r\n")
FORWARD = (b"From: a@example.test\r\nTo: b@tern.test\r\nSubject: Fwd: inner\r\n"
           b"Date: Wed, 04 Jan 2023 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
           b"--outer\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
           b"--outer\r\nContent-Type: message/rfc822\r\n\r\n" + INNER_HEADER + INNER_TEXT + b"\r\n--outer--\r\n")
ODD_ADDRESSES = (b"From: \"Doe, John\" <john@example.test>\r\nSender: secretary@example.test\r\n"
                 b"Reply-To: replies@example.test\r\nTo: undisclosed-recipients:;\r\n"
                 b"Cc: Team: ann@example.test, bob@example.test;, =?UTF-8?Q?J=C3=BCrgen?= <j@example.test>\r\n"
                 b"Subject: =?UTF-8?Q?caf=C3=A9?=\r\nDate: Thu, 05 Jan 2023 10:00:00 +0000\r\n"
                 b"Message-ID: <odd@example.test>\r\n\r\nBody.\r\n")
FOLDED = (b"From: f@example.test\r\nSubject: part one\r\n part two\r\nX-Long: a\r\n\tb\r\n"
          b"Received: from x by y;\r\n Thu, 05 Jan 2023 10:00:00 +0000\r\n\r\nbody\r\n")
PLAIN = b"From: p@example.test\r\nSubject: plain\r\n\r\nline one\r\nline two\r\nline three\r\n"


class FetchStructureTests(ImapCase):
    """Nested messages, addresses with groups and quoted names, a message without MIME headers."""

    def setUp(self):
        super().setUp()
        self.c = self.conn()
        for m in (FORWARD, ODD_ADDRESSES, PLAIN, FOLDED):
            self.append(self.c, m)
        self.c.select()

    def test_message_rfc822_sections(self):
        c = self.c
        f = c.ok("FETCH 1 (BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] "
                 "BODY.PEEK[2.2] BODY.PEEK[2.1.MIME] BODY.PEEK[1] BODY.PEEK[2.HEADER.FIELDS (Subject)])").fetches()[1]
        self.assertEqual(f["BODY[2]"], INNER_HEADER + INNER_TEXT)
        self.assertEqual(f["BODY[2.MIME]"], b"Content-Type: message/rfc822\r\n\r\n")
        self.assertEqual(f["BODY[2.HEADER]"], INNER_HEADER)
        self.assertEqual(f["BODY[2.TEXT]"], INNER_TEXT)
        self.assertEqual(f["BODY[2.1]"], b"plain text")
        self.assertEqual(f["BODY[2.2]"], b"<p>html</p>")
        self.assertEqual(f["BODY[2.1.MIME]"], b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        self.assertEqual(f["BODY[1]"], b"See below.")
        self.assertEqual(f["BODY[2.HEADER.FIELDS (SUBJECT)]"], b"Subject: inner\r\n\r\n")

    def test_message_rfc822_bodystructure(self):
        bs = self.c.ok("FETCH 1 BODYSTRUCTURE").fetches()[1]["BODYSTRUCTURE"]
        self.assertEqual(norm(bs[2]), "MIXED")
        text, fwd = bs[0], bs[1]
        self.assertEqual(norm(text[:2]), ["TEXT", "PLAIN"])
        self.assertEqual(int(text[6]), len(b"See below."))
        # RFC 9051 7.5.2: MESSAGE/RFC822: the basic fields, then envelope, body structure, lines
        self.assertEqual(norm(fwd[:2]), ["MESSAGE", "RFC822"])
        self.assertEqual(int(fwd[6]), len(INNER_HEADER + INNER_TEXT))
        env, inner = fwd[7], fwd[8]
        self.assertEqual(env[1], b"inner")
        self.assertEqual(env[2], [[b"Inner Sender", None, b"inner", b"example.test"]])
        self.assertEqual(norm(inner[2]), "ALTERNATIVE")
        self.assertEqual(norm(inner[0][:2]), ["TEXT", "PLAIN"])
        self.assertEqual(norm(inner[1][:2]), ["TEXT", "HTML"])
        self.assertEqual(int(fwd[9]), (INNER_HEADER + INNER_TEXT).count(b"\r\n"))

    def test_envelope_groups_quoted_names_encoded_words(self):
        env = self.c.ok("FETCH 2 ENVELOPE").fetches()[2]["ENVELOPE"]
        date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
        # an IMAP4rev1 session: header strings as they are in the message (encoded words undecoded)
        self.assertEqual(subject, b"=?UTF-8?Q?caf=C3=A9?=")
        self.assertEqual(frm, [[b"Doe, John", None, b"john", b"example.test"]])
        self.assertEqual(sender, [[None, None, b"secretary", b"example.test"]])
        self.assertEqual(reply_to, [[None, None, b"replies", b"example.test"]])
        # RFC 9051 7.5.2: a group is (NIL NIL "name" NIL) ... (NIL NIL NIL NIL)
        self.assertEqual(to, [[None, None, b"undisclosed-recipients", None], [None, None, None, None]])
        self.assertEqual(cc, [[None, None, b"Team", None], [None, None, b"ann", b"example.test"],
                              [None, None, b"bob", b"example.test"], [None, None, None, None],
                              [b"=?UTF-8?Q?J=C3=BCrgen?=", None, b"j", b"example.test"]])
        self.assertIsNone(bcc)
        self.assertIsNone(in_reply_to)
        self.assertEqual(message_id, b"<odd@example.test>")

    def test_folded_header_fields(self):
        c = self.c
        f = c.ok("FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT X-LONG)] ENVELOPE)").fetches()[4]
        self.assertEqual(f["BODY[HEADER.FIELDS (SUBJECT X-LONG)]"], b"Subject: part one\r\n part two\r\nX-Long: a\r\n\tb\r\n\r\n")
        self.assertEqual(f["ENVELOPE"][1], b"part one part two")  # unfolded (RFC 5322 2.2.3)
        self.assertEqual(c.ok('SEARCH SUBJECT "part one part two"').named("SEARCH"), [b"SEARCH 4"])
        self.assertEqual(c.ok('SEARCH HEADER Received "10:00:00"').named("SEARCH"), [b"SEARCH 4"])

    def test_body_fields_id_description_and_odd_shapes(self):
        c = self.c
        with_id = (b"From: i@example.test\r\nSubject: ids\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                   b"Content-ID: <part-1@example.test>\r\nContent-Description: the description\r\n"
                   b"Content-Language: en\r\n\r\nHi.\r\n")
        header_only = b"From: h@example.test\r\nSubject: no body"
        lf_only = b"From: l@example.test\nSubject: lf\n\nline\nother\n"
        for m in (with_id, header_only, lf_only):
            self.append(c, m)
        c.ok("NOOP")
        f = c.ok("FETCH 5:7 (BODYSTRUCTURE RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])").fetches()
        bs = f[5]["BODYSTRUCTURE"]
        self.assertEqual(bs[3], b"<part-1@example.test>")  # body-fld-id
        self.assertEqual(bs[4], b"the description")        # body-fld-desc
        self.assertEqual(norm(bs[10]) if len(bs) > 10 else None, "EN")  # body-fld-lang
        for n in (5, 6, 7):  # RFC822.SIZE is the size of what BODY[] sends (RFC 9051 7.5.2)
            self.assertEqual(int(f[n]["RFC822.SIZE"]), len(f[n]["BODY[]"]), n)
        self.assertEqual(f[6]["BODY[TEXT]"], b"")
        self.assertEqual(int(f[6]["BODYSTRUCTURE"][6]), 0)
        self.assertIn(f[7]["BODY[TEXT]"], (b"line\nother\n", b"line\r\nother\r\n"))

    def test_plain_message_without_mime_headers(self):
        f = self.c.ok("FETCH 3 (BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[TEXT] ENVELOPE)").fetches()[3]
        bs = f["BODYSTRUCTURE"]
        # RFC 2045 5.2: no Content-Type is text/plain; charset=us-ascii
        self.assertEqual(norm(bs[:2]), ["TEXT", "PLAIN"])
        self.assertIn(norm(bs[2]), (["CHARSET", "US-ASCII"], None))
        self.assertEqual(norm(bs[5]), "7BIT")
        body = b"line one\r\nline two\r\nline three\r\n"
        self.assertEqual(int(bs[6]), len(body))
        self.assertEqual(int(bs[7]), 3)
        self.assertEqual(f["BODY[1]"], body)  # RFC 9051 6.4.5: part 1 of a non-multipart message
        self.assertEqual(f["BODY[TEXT]"], body)
        env = f["ENVELOPE"]
        self.assertIsNone(env[0])  # no Date:
        self.assertIsNone(env[5])  # no To:


# --- STORE ------------------------------------------------------------------------------------------

class StoreTests(ImapCase):
    def setUp(self):
        super().setUp()
        self.c = self.conn()
        for i in range(4):
            self.append(self.c, message(f"store {i}"))
        self.c.select()

    def test_flags_add_remove_replace_silent(self):
        c = self.c
        r = c.ok("STORE 1:2 +FLAGS (\\Flagged \\Answered)")
        f = r.fetches()
        self.assertEqual(sorted(f), [1, 2])
        self.assertEqual(sorted(f[1]["FLAGS"]), ["\\Answered", "\\Flagged"])
        r = c.ok("STORE 1 -FLAGS (\\Answered)")
        self.assertEqual(r.fetches()[1]["FLAGS"], ["\\Flagged"])
        r = c.ok("STORE 2 FLAGS (\\Draft)")
        self.assertEqual(r.fetches()[2]["FLAGS"], ["\\Draft"])
        r = c.ok("STORE 3 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(r.fetches(), {}, "FLAGS.SILENT sent a FETCH")
        r = c.ok("STORE 3:4 FLAGS.SILENT ()")
        self.assertEqual(r.fetches(), {})
        r = c.ok("FETCH 1:4 FLAGS").fetches()
        self.assertEqual([sorted(r[n]["FLAGS"]) for n in (1, 2, 3, 4)], [["\\Flagged"], ["\\Draft"], [], []])
        flags = {m["uid"]: sorted(m["flags"]) for m in self.t.message_list(self.user)}
        self.assertEqual(sorted(flags.values()), [[], [], ["\\Draft"], ["\\Flagged"]])
        # UID STORE names UIDs and says them
        uid4 = int(r[4]["UID"]) if "UID" in r[4] else int(c.ok("FETCH 4 UID").fetches()[4]["UID"])
        r = c.ok(f"UID STORE {uid4} +FLAGS (\\Seen)")
        self.assertEqual(int(r.fetches()[4]["UID"]), uid4)
        self.assertStatus(c.cmd("STORE 1 +FLAGS (\\Recent)"), "BAD")  # RFC 9051: \Recent cannot be stored
        self.assertStatus(c.cmd("STORE 9 +FLAGS (\\Seen)"), "BAD")

    def test_keywords(self):
        c = self.c
        r = c.ok("STORE 1 +FLAGS ($Label1 project-x)")
        # new keywords are announced with FLAGS before the FETCH (RFC 9051 7.3.5); the last one counts
        flags = [i for i, u in enumerate(r.untagged) if u.startswith(b"* FLAGS")]
        self.assertTrue(flags, r)
        self.assertLess(flags[-1], [i for i, u in enumerate(r.untagged) if b" FETCH " in u][0])
        self.assertIn(b"$Label1", r.untagged[flags[-1]])
        self.assertIn(b"project-x", r.untagged[flags[-1]])
        self.assertEqual(sorted(r.fetches()[1]["FLAGS"]), ["$Label1", "project-x"])
        info = select_info(c.ok("SELECT INBOX"))
        self.assertIn("project-x", info["FLAGS"])
        r = c.ok("SEARCH KEYWORD project-x")
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 1"])
        r = c.ok("SEARCH UNKEYWORD project-x")
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 2 3 4"])

    def test_flags_and_keywords_are_case_insensitive(self):
        c = self.c
        # RFC 9051 9 (note 1): case is not significant in atoms, so "work" and "WORK" are the keyword "Work"
        r = c.ok("store 1 +flags (\\seen Work)")
        self.assertEqual(sorted(r.fetches()[1]["FLAGS"]), ["Work", "\\Seen"])
        r = c.ok("STORE 1 +FLAGS (work WORK)")
        self.assertEqual(sorted(c.ok("FETCH 1 FLAGS").fetches()[1]["FLAGS"]), ["Work", "\\Seen"])
        announced = [u for u in r.untagged if u.startswith(b"* FLAGS")]
        for a in announced:
            words = [w.lower() for w in a[len(b"* FLAGS ("):-1].split()]
            self.assertEqual(len(words), len(set(words)), f"FLAGS lists one keyword twice: {a}")
        words = [w.lower() for w in select_info(c.ok("SELECT INBOX"))["FLAGS"]]
        self.assertEqual(len(words), len(set(words)), words)
        self.assertEqual(c.ok("SEARCH KEYWORD wOrK").named("SEARCH"), [b"SEARCH 1"])
        r = c.ok("STORE 1 -FLAGS (WORK)")
        self.assertEqual(r.fetches()[1]["FLAGS"], ["\\Seen"])

    def test_unchangedsince_modified(self):
        c = self.c
        r = c.ok("FETCH 1:2 (MODSEQ)")
        ms = {n: int(i["MODSEQ"][0]) for n, i in r.fetches().items()}
        c.ok("STORE 2 +FLAGS (\\Flagged)")
        # RFC 7162 3.1.3: message 2 changed after the given MODSEQ: not stored, reported in [MODIFIED]
        r = c.cmd(f"STORE 1:2 (UNCHANGEDSINCE {max(ms.values())}) +FLAGS (\\Seen)")
        self.assertStatus(r, "OK", "MODIFIED")
        self.assertEqual(seq_set(r.code.split()[1]), [2])
        f = c.ok("FETCH 1:2 (FLAGS MODSEQ)").fetches()
        self.assertEqual(f[1]["FLAGS"], ["\\Seen"])
        self.assertEqual(f[2]["FLAGS"], ["\\Flagged"])
        self.assertGreater(int(f[1]["MODSEQ"][0]), ms[1])
        # UNCHANGEDSINCE 0 never matches (RFC 7162 3.1.3)
        r = c.cmd("UID STORE 1:* (UNCHANGEDSINCE 0) +FLAGS (\\Answered)")
        self.assertStatus(r, "OK", "MODIFIED")
        # CHANGEDSINCE: only what changed after the MODSEQ
        hi = max(int(i["MODSEQ"][0]) for i in f.values())
        c.ok("STORE 3 +FLAGS (\\Draft)")
        r = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hi})")
        self.assertEqual(sorted(r.fetches()), [3])
        self.assertIn("MODSEQ", r.fetches()[3])

    def test_uid_star_ranges(self):
        c = self.c
        uids = [int(v["UID"]) for _, v in sorted(c.ok("FETCH 1:* UID").fetches().items())]
        # RFC 9051 6.4.9: "a UID range of 559:* always includes the UID of the last message in the
        # mailbox, even if 559 is higher than any assigned UID value"
        r = c.ok(f"UID FETCH {uids[-1] + 100}:* FLAGS")
        self.assertEqual([int(v["UID"]) for v in r.fetches().values()], [uids[-1]])
        self.assertEqual(c.ok(f"UID SEARCH UID {uids[-1] + 100}:*").named("SEARCH"), [f"SEARCH {uids[-1]}".encode()])
        self.assertEqual(c.ok(f"UID FETCH {uids[-1] + 100} FLAGS").fetches(), {})
        r = c.ok(f"UID FETCH {uids[1]}:{uids[2]},* FLAGS")
        self.assertEqual(sorted(int(v["UID"]) for v in r.fetches().values()), [uids[1], uids[2], uids[3]])
        self.assertEqual(sorted(c.ok("FETCH 3:1 FLAGS").fetches()), [1, 2, 3])  # 3:1 is 1:3
        self.assertEqual(sorted(c.ok("FETCH *:3 FLAGS").fetches()), [3, 4])

    def test_store_in_examine_is_refused(self):
        c = self.c
        c.ok("EXAMINE INBOX")
        self.assertStatus(c.cmd("STORE 1 +FLAGS (\\Seen)"), "NO")
        self.assertEqual(c.ok("FETCH 1 FLAGS").fetches()[1]["FLAGS"], [])


# --- SEARCH, SORT, THREAD ---------------------------------------------------------------------------

class SearchTests(ImapCase):
    def setUp(self):
        super().setUp()
        to = f"<{self.user}>"
        self.msgs = [
            message("Lunch on Friday", body=b"Shall we meet at noon?\r\n", frm="Ann <ann@example.test>", to=to,
                    date=dated(2020, 1, 10), extra=b"X-Priority: 1\r\n"),
            message("Invoice 42", body=b"Please pay the invoice.\r\n" + b"z" * 3000 + b"\r\n",
                    frm="Billing <billing@shop.test>", to=to, date=dated(2021, 6, 1)),
            message("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", body=b"Viele Gruesse.\r\n",
                    frm="Bernd <bernd@example.test>", to=to, date=dated(2022, 2, 2)),
            message("Re: Lunch on Friday", body=b"Yes, noon is fine.\r\n", frm="Bob <bob@example.test>", to=to,
                    date=dated(2023, 3, 3)),
            message("Report", body=b"See the attached numbers; the invoice is paid.\r\n",
                    frm="Ann <ann@example.test>", to=to, date=dated(2024, 4, 4)),
        ]
        self.c = self.conn()
        # APPENDed one by one: sequence numbers in this order; internal dates 1 to 5 Feb 2024
        for i, m in enumerate(self.msgs):
            self.append(self.c, m, date=f"0{i + 1}-Feb-2024 10:00:00 +0000")
        self.c.select()
        self.uids = [int(self.c.ok(f"FETCH {n} UID").fetches()[n]["UID"]) for n in range(1, 6)]
        self.c.ok("STORE 1,4 +FLAGS.SILENT (\\Seen)")
        self.c.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")

    def search(self, criteria, uid=False):
        r = self.c.ok(("UID " if uid else "") + "SEARCH " + criteria)
        lines = r.named("SEARCH")
        self.assertEqual(len(lines), 1, r)
        return [int(x) for x in lines[0].split()[1:]]

    def test_keys(self):
        s = self.search
        self.assertEqual(s("ALL"), [1, 2, 3, 4, 5])
        self.assertEqual(s("UNSEEN"), [2, 3, 5])
        self.assertEqual(s("SEEN"), [1, 4])
        self.assertEqual(s("FLAGGED"), [2])
        self.assertEqual(s("UNFLAGGED SEEN"), [1, 4])
        self.assertEqual(s("FROM ann"), [1, 5])
        self.assertEqual(s('FROM "ANN@EXAMPLE"'), [1, 5])  # case-insensitive substring
        self.assertEqual(s("SUBJECT lunch"), [1, 4])
        self.assertEqual(s('SUBJECT "Invoice 42"'), [2])
        self.assertEqual(s("BODY invoice"), [2, 5])
        self.assertEqual(s("BODY Friday"), [])  # only in a Subject: not the body
        self.assertEqual(s("TEXT Friday"), [1, 4])  # TEXT is header and body
        self.assertEqual(s("TEXT noon"), [1, 4])
        self.assertEqual(s('HEADER X-Priority "1"'), [1])
        self.assertEqual(s('HEADER X-Priority ""'), [1])  # RFC 9051: an empty string matches any such field
        self.assertEqual(s(f"TO {self.user}"), [1, 2, 3, 4, 5])
        self.assertEqual(s("LARGER 3000"), [2])
        self.assertEqual(s("SMALLER 3000"), [1, 3, 4, 5])
        # SINCE, BEFORE, ON: the internal date (RFC 9051 6.4.4)
        self.assertEqual(s("SINCE 3-Feb-2024"), [3, 4, 5])
        self.assertEqual(s("SINCE 6-Feb-2024"), [])
        self.assertEqual(s("BEFORE 2-Feb-2024"), [1])
        self.assertEqual(s("ON 4-Feb-2024"), [4])
        self.assertEqual(s("SINCE 2-Feb-2024 BEFORE 4-Feb-2024"), [2, 3])
        self.assertEqual(s("SENTSINCE 1-Jan-2022"), [3, 4, 5])
        self.assertEqual(s("SENTBEFORE 1-Jan-2022"), [1, 2])
        self.assertEqual(s("SENTON 3-Mar-2023"), [4])
        self.assertEqual(s("OR FROM billing SUBJECT report"), [2, 5])
        self.assertEqual(s("NOT FROM ann"), [2, 3, 4])
        self.assertEqual(s("(OR SEEN FLAGGED) NOT SUBJECT lunch"), [2])
        self.assertEqual(s("2:4"), [2, 3, 4])
        self.assertEqual(s("4:*"), [4, 5])
        self.assertEqual(s(f"UID {self.uids[1]}:{self.uids[3]}"), [2, 3, 4])
        self.assertEqual(s("ALL", uid=True), self.uids)
        self.assertEqual(s("UNSEEN", uid=True), [self.uids[1], self.uids[2], self.uids[4]])
        # every message is new to this IMAP4rev1 session (appended before its SELECT): \Recent
        self.assertEqual(s("RECENT"), [1, 2, 3, 4, 5])
        self.assertEqual(s("NEW"), [2, 3, 5])  # NEW is RECENT UNSEEN
        self.assertEqual(s("OLD"), [])
        self.assertEqual(s("SUBJECT nothing-like-this"), [])
        self.assertStatus(self.c.cmd("SEARCH BOGUSKEY"), "BAD")
        self.assertStatus(self.c.cmd("SEARCH FROM"), "BAD")

    def test_charset_utf8(self):
        c = self.c
        tag = c.next_tag()
        word = "Grüße".encode()
        c.send(f"{tag} SEARCH CHARSET UTF-8 SUBJECT {{{len(word)}}}\r\n".encode())
        self.assertTrue(c.line().startswith(b"+"))
        c.send(word + b"\r\n")
        r = c.read_until_tagged(tag)
        self.assertStatus(r, "OK")
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 3"], "encoded-word Subject not matched (RFC 9051 6.4.4)")
        # LITERAL+ and a case difference
        word = "KÖLN".encode()
        r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(word) + word)
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 3"])
        r = c.cmd("SEARCH CHARSET US-ASCII SUBJECT lunch")
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 1 4"])
        r = c.cmd("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT lunch")
        self.assertStatus(r, "NO", "BADCHARSET")

    def test_body_search_decodes_transfer_encodings(self):
        c = self.c
        qp = message("qp", extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     b"Content-Transfer-Encoding: quoted-printable\r\n", body=b"Caf=C3=A9 cr=C3=A8me br=C3=BBl=C3=A9e\r\n")
        b64 = message("b64", extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      b"Content-Transfer-Encoding: base64\r\n",
                      body=base64.encodebytes("Grüezi aus Zürich, unsichtbar-im-rohtext\n".encode()).replace(b"\n", b"\r\n"))
        self.append(c, qp)
        self.append(c, b64)
        c.ok("NOOP")
        # RFC 3501 6.4.4: content transfer encodings MUST be decoded before comparing with a CHARSET
        for word, n in (("crème", 6), ("Zürich", 7)):
            data = word.encode()
            r = c.cmd(b"SEARCH CHARSET UTF-8 BODY {%d+}\r\n" % len(data) + data)
            self.assertEqual(r.named("SEARCH"), [b"SEARCH %d" % n], f"BODY {word}")
        r = c.cmd("SEARCH BODY unsichtbar-im-rohtext")
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 7"], "a base64 body must be searched decoded")

    def test_esearch_and_searchres(self):
        c = self.c
        r = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
        es = r.named("ESEARCH")
        self.assertEqual(len(es), 1, r)
        v = parse(es[0])
        self.assertEqual(norm(v[1][0]), "TAG")
        self.assertEqual(v[1][1], r.tag.encode())
        items = {str(v[i]).upper(): v[i + 1] for i in range(2, len(v) - 1, 2)}
        self.assertEqual(int(items["MIN"]), 2)
        self.assertEqual(int(items["MAX"]), 5)
        self.assertEqual(int(items["COUNT"]), 3)
        self.assertEqual(seq_set(items["ALL"]), [2, 3, 5])
        r = c.ok("UID SEARCH RETURN (COUNT ALL) FROM ann")
        v = parse(r.named("ESEARCH")[0])
        self.assertIn("UID", [str(x).upper() for x in v])
        self.assertEqual(seq_set(v[-1]), [self.uids[0], self.uids[4]])
        r = c.ok("SEARCH RETURN () SEEN")  # RETURN () is RETURN (ALL)
        v = parse(r.named("ESEARCH")[0])
        self.assertEqual(seq_set(v[-1]), [1, 4])
        r = c.ok("SEARCH RETURN (COUNT) SUBJECT nothing-like-this")
        v = parse(r.named("ESEARCH")[0])
        self.assertEqual([str(x).upper() for x in v[2:]], ["COUNT", "0"])
        # SEARCHRES (RFC 5182): $ is empty until a SAVE (RFC 5182 2.1)
        self.assertEqual(c.ok("FETCH $ UID").fetches(), {})
        self.assertEqual(self.search("$"), [])
        r = c.ok("SEARCH RETURN (SAVE) FROM ann")
        self.assertEqual(r.named("ESEARCH") + r.named("SEARCH"), [])
        f = c.ok("FETCH $ (UID)").fetches()
        self.assertEqual(sorted(f), [1, 5])
        self.assertEqual(self.search("$ SEEN"), [1])
        c.ok("UID STORE $ +FLAGS.SILENT (\\Answered)")
        self.assertEqual(self.search("ANSWERED"), [1, 5])
        r = c.ok("SEARCH RETURN (SAVE MIN) SUBJECT report")
        self.assertEqual(sorted(c.ok("FETCH $ UID").fetches()), [5])

    def test_sort(self):
        c = self.c

        def sort(spec):
            r = c.ok(f"SORT ({spec}) UTF-8 ALL")
            self.assertEqual(len(r.named("SORT")), 1, r)
            return [int(x) for x in r.named("SORT")[0].split()[1:]]

        # RFC 5256 base subjects: "Re: Lunch on Friday" sorts as "Lunch on Friday"
        self.assertEqual(sort("SUBJECT"), [3, 2, 1, 4, 5])
        self.assertEqual(sort("DATE"), [1, 2, 3, 4, 5])
        self.assertEqual(sort("REVERSE DATE"), [5, 4, 3, 2, 1])
        self.assertEqual(sort("FROM"), [1, 5, 3, 2, 4])  # ann, ann, bernd, billing, bob
        self.assertEqual(sort("SIZE")[-1], 2)
        self.assertEqual(sort("REVERSE ARRIVAL"), [5, 4, 3, 2, 1])
        r = c.ok("UID SORT (REVERSE DATE) UTF-8 UNSEEN")
        self.assertEqual([int(x) for x in r.named("SORT")[0].split()[1:]], [self.uids[4], self.uids[2], self.uids[1]])
        self.assertIn(c.cmd("SORT (SUBJECT) X-NO-SUCH-CHARSET ALL").status, ("NO",))


class AddressSearchTests(ImapCase):
    def test_from_matches_every_form_of_the_address(self):
        """Issue 11: SEARCH FROM user@domain missed a From holding that address quoted ("bob"@...);
        display names, encoded words, groups, comments and case all match too (as Dovecot)."""
        c = self.conn()
        forms = ["Bob <bob@example.test>", "=?utf-8?q?B=C3=B6b?= <bob@example.test>",
                 "team: bob@example.test, x@y.test;", '"bob"@example.test', "BOB@EXAMPLE.TEST",
                 '"Bob" <"bob"@Example.Test>', "bob@example.test (Bob)", "other@example.test"]
        for i, f in enumerate(forms):
            self.append(c, message(f"form {i}", frm=f))
        c.select()
        self.assertEqual(c.ok("SEARCH FROM bob@example.test").named("SEARCH"), [b"SEARCH 1 2 3 4 5 6 7"])
        self.assertEqual(c.ok("SEARCH TO bob@example.test").named("SEARCH"), [b"SEARCH"])


class SortMoreTests(ImapCase):
    def test_base_subjects_display_sort_and_esort(self):
        c = self.conn()
        to = f"<{self.user}>"
        rows = [  # subject, From, Cc, sequence of the Date
            ("Re: [list] Fwd: beta (fwd)", "Zed <zed@example.test>", "cc-b@example.test", 3),
            ("alpha", "\"Anna\" <zz@example.test>", "cc-a@example.test", 1),
            ("[fwd: gamma]", "bert@example.test", "cc-c@example.test", 2),
            ("RE: re: Alpha", "Carl <aa@example.test>", "cc-d@example.test", 4),
        ]
        for subject, frm, cc, day in rows:
            self.append(c, message(subject, frm=frm, to=to, date=dated(2023, 5, day), extra=f"Cc: {cc}\r\n".encode()))
        c.select()

        def sort(spec, search="ALL"):
            r = c.ok(f"SORT ({spec}) UTF-8 {search}")
            return [int(x) for x in r.named("SORT")[0].split()[1:]]

        # RFC 5256 2.1 base subjects: beta, alpha, gamma, alpha (ties by sequence number)
        self.assertEqual(sort("SUBJECT"), [2, 4, 1, 3])
        self.assertEqual(sort("SUBJECT DATE"), [2, 4, 1, 3])
        self.assertEqual(sort("REVERSE SUBJECT"), [3, 1, 2, 4])
        # FROM sorts by the address's mailbox (RFC 5256 3): aa, bert, zed, zz
        self.assertEqual(sort("FROM"), [4, 3, 1, 2])
        # DISPLAYFROM by the display name, else the address (RFC 5957): Anna, bert@..., Carl, Zed
        self.assertEqual(sort("DISPLAYFROM"), [2, 3, 4, 1])
        self.assertEqual(sort("CC"), [2, 1, 3, 4])
        self.assertEqual(sort("DATE"), [2, 3, 1, 4])
        self.assertEqual(sort("SUBJECT", "NOT SUBJECT gamma"), [2, 4, 1])
        # ESORT (RFC 5267): SORT RETURN gives an ESEARCH in sort order
        r = c.ok("SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        v = parse(r.named("ESEARCH")[0])
        items = {str(v[i]).upper(): v[i + 1] for i in range(2, len(v) - 1, 2)}
        self.assertEqual((int(items["MIN"]), int(items["MAX"]), int(items["COUNT"])), (2, 4, 4))
        self.assertEqual(str(items["ALL"]).split(","), ["2", "3", "1", "4"])

    def test_senton_uses_the_date_as_written(self):
        c = self.conn()
        # 23:30 -0500 on 1 Feb is 2 Feb in UTC; RFC 9051 6.4.4: the Date "disregarding time and timezone"
        self.append(c, message("late", date="Wed, 01 Feb 2023 23:30:00 -0500"))
        c.select()
        self.assertEqual(c.ok("SEARCH SENTON 1-Feb-2023").named("SEARCH"), [b"SEARCH 1"])
        self.assertEqual(c.ok("SEARCH SENTON 2-Feb-2023").named("SEARCH"), [b"SEARCH"])
        self.assertEqual(c.ok("SEARCH SENTBEFORE 2-Feb-2023").named("SEARCH"), [b"SEARCH 1"])


class ThreadTests(ImapCase):
    def test_thread_references_and_orderedsubject(self):
        to = f"<{self.user}>"
        msgs = [
            message("Plan", msgid="<t1@x.test>", to=to, date=dated(2023, 1, 1, 0)),
            message("Re: Plan", msgid="<t2@x.test>", to=to, date=dated(2023, 1, 2),
                    extra=b"In-Reply-To: <t1@x.test>\r\nReferences: <t1@x.test>\r\n"),
            message("Re: Plan", msgid="<t3@x.test>", to=to, date=dated(2023, 1, 3),
                    extra=b"In-Reply-To: <t2@x.test>\r\nReferences: <t1@x.test> <t2@x.test>\r\n"),
            message("Other", msgid="<t4@x.test>", to=to, date=dated(2023, 1, 1, 12)),
            message("Re: Plan", msgid="<t5@x.test>", to=to, date=dated(2023, 1, 4),
                    extra=b"References: <t1@x.test>\r\n"),
        ]
        c = self.conn()
        for m in msgs:  # one at a time: sequence numbers in this order
            self.append(c, m)
        c.select()
        r = c.ok("THREAD REFERENCES UTF-8 ALL")
        self.assertEqual(r.named("THREAD"), [b"THREAD (1 (2 3)(5))(4)"])
        r = c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
        self.assertEqual(r.named("THREAD"), [b"THREAD (1 (2)(3)(5))(4)"])
        uids = [int(c.ok(f"FETCH {n} UID").fetches()[n]["UID"]) for n in range(1, 6)]
        r = c.ok("UID THREAD REFERENCES UTF-8 ALL")
        self.assertEqual(r.named("THREAD"), [f"THREAD ({uids[0]} ({uids[1]} {uids[2]})({uids[4]}))({uids[3]})".encode()])
        r = c.ok("THREAD REFERENCES UTF-8 SUBJECT other")
        self.assertEqual(r.named("THREAD"), [b"THREAD (4)"])
        self.assertStatus(c.cmd("THREAD NOSUCHALGORITHM UTF-8 ALL"), "BAD")


# --- COPY, MOVE, EXPUNGE, CLOSE ---------------------------------------------------------------------

class CopyMoveExpungeTests(ImapCase):
    def setUp(self):
        super().setUp()
        self.c = self.conn()
        self.uids = [self.append(self.c, message(f"cm {i}")) for i in range(6)]
        self.c.select()

    def test_copy(self):
        c = self.c
        c.ok("STORE 2 +FLAGS.SILENT (\\Flagged $Keep)")
        r = c.ok("COPY 1:2 Archive")
        m = re.match(r"COPYUID (\d+) (\S+) (\S+)$", r.code)
        self.assertTrue(m, r)
        arch = status_of(c.ok("STATUS Archive (UIDVALIDITY MESSAGES)"))["Archive"]
        self.assertEqual(int(m.group(1)), arch["UIDVALIDITY"])
        self.assertEqual(seq_set(m.group(2)), self.uids[:2])
        dst = seq_set(m.group(3))
        self.assertEqual(arch["MESSAGES"], 2)
        self.assertEqual(r.named("EXPUNGE"), [])
        self.assertEqual(len(self.t.message_list(self.user)), 6)  # the source keeps them
        c.ok("EXAMINE Archive")
        f = c.ok("FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])").fetches()
        self.assertEqual([int(f[n]["UID"]) for n in (1, 2)], dst)
        self.assertEqual(sorted(f[2]["FLAGS"]), ["$Keep", "\\Flagged"])
        self.assertIn(b"cm 1", f[2]["BODY[HEADER.FIELDS (SUBJECT)]"])
        c.select()
        self.assertStatus(c.cmd("COPY 1 NoSuchBox"), "NO", "TRYCREATE")
        r = c.ok(f"UID COPY {self.uids[5]}:{self.uids[5] + 100} Trash")
        self.assertEqual(seq_set(r.code.split()[2]), [self.uids[5]])

    def test_move(self):
        c = self.c
        r = c.ok("MOVE 2:3 Trash")
        # RFC 6851 4.3: COPYUID in an untagged OK before the EXPUNGEs
        copyuid = [u for u in r.untagged if b"[COPYUID " in u]
        self.assertEqual(len(copyuid), 1, r)
        self.assertLess(r.untagged.index(copyuid[0]), min(i for i, u in enumerate(r.untagged) if u.endswith(b"EXPUNGE")))
        code = code_of(copyuid[0])
        self.assertEqual(seq_set(code.split()[2]), self.uids[1:3])
        left = apply_expunges(self.uids, r.untagged)
        self.assertEqual(left, [self.uids[0]] + self.uids[3:])
        self.assertEqual(sorted(m["subject"] for m in self.t.message_list(self.user, "Trash")), ["cm 1", "cm 2"])
        self.assertEqual(len(self.t.message_list(self.user)), 4)
        # UID MOVE
        r = c.ok(f"UID MOVE {self.uids[5]} Archive")
        self.assertEqual(apply_expunges(left, r.untagged), [self.uids[0], self.uids[3], self.uids[4]])
        self.assertEqual([m["subject"] for m in self.t.message_list(self.user, "Archive")], ["cm 5"])
        self.assertStatus(c.cmd("MOVE 1 NoSuchBox"), "NO", "TRYCREATE")
        self.assertEqual(len(self.t.message_list(self.user)), 3)
        # with QRESYNC, VANISHED instead of EXPUNGE (RFC 7162 3.2.10); ENABLE before SELECT (RFC 5161 3.1)
        c.ok("UNSELECT")
        c.ok("ENABLE QRESYNC")
        c.select()
        r = c.ok("MOVE 1 Trash")
        self.assertEqual(r.named("VANISHED"), [f"VANISHED {self.uids[0]}".encode()])
        self.assertEqual([u for u in r.untagged if u.endswith(b" EXPUNGE")], [])

    def test_move_into_the_selected_mailbox(self):
        """Issue 11: RFC 6851 allows MOVE into the selected mailbox (it answered NO [CANNOT]): the
        messages get new UIDs (COPYUID), the old ones are expunged, EXISTS counts the new ones."""
        c = self.c
        r = c.ok("MOVE 2 INBOX")
        code = code_of([u for u in r.untagged if b"[COPYUID " in u][0]).split()
        self.assertEqual(seq_set(code[2]), [self.uids[1]])
        new_uid = seq_set(code[3])[0]
        self.assertGreater(new_uid, max(self.uids))
        self.assertIn(b"* 2 EXPUNGE", r.untagged)
        self.assertIn(f"* {len(self.uids)} EXISTS".encode(), r.untagged)
        uids = [int(v["UID"]) for _, v in sorted(c.ok("FETCH 1:* UID").fetches().items())]
        self.assertEqual(uids, [self.uids[0]] + self.uids[2:] + [new_uid])
        self.assertEqual(len(self.t.message_list(self.user)), len(self.uids))
        self.assertCheckClean(self.t)

    def test_copy_and_move_keep_internaldate_and_flags(self):
        c = self.c
        uid = self.append(c, message("dated"), flags="\\Answered $Tag", date="03-Mar-2021 04:05:06 +0000")
        c.ok("NOOP")
        c.ok(f"UID COPY {uid} Archive")
        c.ok(f"UID MOVE {uid} Trash")
        for box in ("Archive", "Trash"):
            c.ok(f"EXAMINE {box}")
            f = c.ok("FETCH 1 (INTERNALDATE FLAGS)").fetches()[1]
            # RFC 9051 6.4.7: "The flags and internal date of the message SHOULD be preserved"
            self.assertEqual(internaldate(f["INTERNALDATE"]),
                             datetime.datetime(2021, 3, 3, 4, 5, 6, tzinfo=datetime.timezone.utc), box)
            self.assertEqual(sorted(f["FLAGS"]), ["$Tag", "\\Answered"], box)
        st = status_of(c.ok("STATUS Archive (MESSAGES UNSEEN SIZE)"))["Archive"]
        size = sum(m["size"] for m in self.t.message_list(self.user, "Archive"))
        self.assertEqual(st, {"MESSAGES": 1, "UNSEEN": 1, "SIZE": size})

    def test_read_only_refuses_changes(self):
        c = self.c
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXAMINE INBOX")
        self.assertStatus(c.cmd("EXPUNGE"), "NO")
        self.assertStatus(c.cmd(f"UID EXPUNGE {self.uids[0]}"), "NO")
        # MOVE would expunge: refused, and nothing is copied either (RFC 6851 3.3)
        self.assertStatus(c.cmd("MOVE 2 Trash"), "NO")
        self.assertEqual(self.t.message_list(self.user, "Trash"), [])
        r = c.ok("COPY 2 Trash")  # reading is allowed
        self.assertEqual(len(self.t.message_list(self.user, "Trash")), 1)
        self.assertEqual(len(self.t.message_list(self.user)), 6)

    def test_expunge(self):
        c = self.c
        c.ok("STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
        r = c.ok("EXPUNGE")
        self.assertEqual(apply_expunges(self.uids, r.untagged), [self.uids[i] for i in (0, 2, 5)])
        self.assertEqual(len([u for u in r.untagged if u.endswith(b"EXPUNGE")]), 3)
        self.assertEqual(sorted(m["subject"] for m in self.t.message_list(self.user)), ["cm 0", "cm 2", "cm 5"])
        self.assertEqual(c.ok("EXPUNGE").untagged, [])
        self.assertEqual(select_info(c.select())["EXISTS"], 3)

    def test_uid_expunge(self):
        c = self.c
        c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        # RFC 4315 2.1: only messages in the set that have \Deleted
        r = c.ok(f"UID EXPUNGE {self.uids[1]}:{self.uids[4]}")
        self.assertEqual(apply_expunges(self.uids, r.untagged), [self.uids[0]] + self.uids[3:])
        f = c.ok("FETCH 1 (UID FLAGS)").fetches()[1]
        self.assertEqual((int(f["UID"]), f["FLAGS"]), (self.uids[0], ["\\Deleted"]))

    def test_close_and_unselect(self):
        c = self.c
        c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        r = c.ok("UNSELECT")  # RFC 3691: no expunge
        self.assertEqual(r.untagged, [])
        self.assertStatus(c.cmd("FETCH 1 FLAGS"), "BAD")
        self.assertEqual(len(self.t.message_list(self.user)), 6)
        c.ok("EXAMINE INBOX")
        c.ok("CLOSE")  # read-only: nothing expunged (RFC 9051 6.4.1)
        self.assertEqual(len(self.t.message_list(self.user)), 6)
        c.select()
        r = c.ok("CLOSE")
        self.assertEqual([u for u in r.untagged if u.endswith(b"EXPUNGE")], [], "CLOSE sends no EXPUNGE")
        self.assertEqual(sorted(m["subject"] for m in self.t.message_list(self.user)), [f"cm {i}" for i in range(2, 6)])
        self.assertStatus(c.cmd("CLOSE"), "BAD")  # not selected any more
        # SELECT while selected: [CLOSED] before the new mailbox's data (RFC 7162 3.2.11)
        c.ok("ENABLE QRESYNC")
        c.select()
        r = c.select("Trash")
        self.assertTrue(r.untagged[0].startswith(b"* OK [CLOSED]"), r.untagged[:2])


# --- CONDSTORE / QRESYNC ----------------------------------------------------------------------------

class QresyncTests(ImapCase):
    def test_select_qresync_vanished_earlier_and_changed_flags(self):
        a = self.conn()
        uids = [self.append(a, message(f"q {i}")) for i in range(5)]
        a.ok("ENABLE QRESYNC")
        info = select_info(a.select())
        uv, known = info["UIDVALIDITY"], info["HIGHESTMODSEQ"]
        a.ok("LOGOUT")
        # another client changes the mailbox
        b = self.conn()
        b.select()
        b.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        b.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")  # message 3 is now uids[4]
        b.ok("LOGOUT")
        c = self.conn()
        self.assertStatus(c.cmd(f"SELECT INBOX (QRESYNC ({uv} {known}))"), "BAD")  # not enabled yet
        c.ok("ENABLE QRESYNC")
        r = c.ok(f"SELECT INBOX (QRESYNC ({uv} {known} 1:{uids[-1]}))")
        info = select_info(r)
        self.assertEqual(info["EXISTS"], 3)
        self.assertGreater(info["HIGHESTMODSEQ"], known)
        vanished = [u for u in r.untagged if u.startswith(b"* VANISHED")]
        self.assertEqual(len(vanished), 1, r)
        self.assertTrue(vanished[0].startswith(b"* VANISHED (EARLIER) "), vanished)
        self.assertEqual(seq_set(vanished[0].split()[-1].decode()), [uids[1], uids[3]])
        f = r.fetches()
        self.assertEqual(len(f), 1, r)
        (n, items), = f.items()
        self.assertEqual((n, int(items["UID"]), items["FLAGS"]), (3, uids[4], ["\\Flagged"]))
        self.assertIn("MODSEQ", items)
        # a wrong UIDVALIDITY: a plain SELECT, no VANISHED (RFC 7162 3.2.5.2)
        c.ok("UNSELECT")
        r = c.ok(f"SELECT INBOX (QRESYNC ({uv + 1} {known}))")
        self.assertEqual([u for u in r.untagged if u.startswith(b"* VANISHED")], [])
        # UID FETCH ... (CHANGEDSINCE x VANISHED)
        r = c.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {known} VANISHED)")
        vanished = [u for u in r.untagged if u.startswith(b"* VANISHED (EARLIER)")]
        self.assertEqual(len(vanished), 1, r)
        self.assertEqual(seq_set(vanished[0].split()[-1].decode()), [uids[1], uids[3]])

    def test_condstore_select_and_fetch_modseq(self):
        c = self.conn()
        self.append(c, message("c1"))
        r = c.ok("SELECT INBOX (CONDSTORE)")
        hms = select_info(r)["HIGHESTMODSEQ"]
        f = c.ok("FETCH 1 (MODSEQ)").fetches()[1]
        self.assertLessEqual(int(f["MODSEQ"][0]), hms)
        r = c.ok("STORE 1 +FLAGS (\\Seen)")
        new = int(r.fetches()[1]["MODSEQ"][0])  # CONDSTORE on: MODSEQ reported with FLAGS
        self.assertGreater(new, hms)
        self.assertEqual(self.search_modseq(c, hms), [1])
        self.assertEqual(self.search_modseq(c, new), [])
        st = status_of(c.ok("STATUS INBOX (HIGHESTMODSEQ)"))["INBOX"]
        self.assertEqual(st["HIGHESTMODSEQ"], new)

    # RFC 7162 3.2.4: "Once a CONDSTORE enabling command is issued by the client, the server MUST
    # automatically include both UID and mod-sequence data in all subsequent untagged FETCH responses
    # ..., whether they were caused by a regular STORE/UID STORE, a STORE/UID STORE with an
    # UNCHANGEDSINCE modifier, a FETCH/UID FETCH that implicitly set the \Seen flag, or an external agent."
    def condstore_session(self):
        c = self.conn()
        uids = [self.append(c, message(f"cs {i}")) for i in range(3)]
        c.ok("ENABLE CONDSTORE")
        c.select()
        return c, uids

    def test_condstore_store_response_carries_uid_and_modseq(self):
        c, uids = self.condstore_session()
        r = c.ok("STORE 1 +FLAGS (\\Flagged)")
        f = r.fetches()[1]
        self.assertEqual(int(f.get("UID", 0)), uids[0], f"STORE's FETCH without UID: {r.untagged}")
        self.assertIn("MODSEQ", f)

    def test_condstore_implicit_seen_response_carries_uid_and_modseq(self):
        c, uids = self.condstore_session()
        r = c.ok("FETCH 2 (BODY[TEXT])")  # sets \Seen
        f = r.fetches()[2]
        self.assertEqual(f.get("FLAGS"), ["\\Seen"])
        self.assertEqual(int(f.get("UID", 0)), uids[1], f"FETCH that set \\Seen without UID: {r.untagged}")
        self.assertIn("MODSEQ", f, r.untagged)

    def test_condstore_external_changes_and_search_modseq(self):
        c, uids = self.condstore_session()
        other = self.conn()
        other.select()
        other.ok("STORE 3 +FLAGS (\\Answered)")
        f = c.ok("NOOP").fetches()[3]
        self.assertEqual((int(f["UID"]), f["FLAGS"]), (uids[2], ["\\Answered"]))
        self.assertIn("MODSEQ", f)
        # RFC 7162 3.1.5: SEARCH with MODSEQ returns the highest MODSEQ of what matched
        r = c.ok("SEARCH MODSEQ 1")
        m = re.match(rb"^SEARCH ([\d ]+) \(MODSEQ (\d+)\)$", r.named("SEARCH")[0])
        self.assertTrue(m, r)
        self.assertEqual(m.group(1).split(), [b"1", b"2", b"3"])
        self.assertEqual(int(m.group(2)), status_of(c.ok("STATUS INBOX (HIGHESTMODSEQ)"))["INBOX"]["HIGHESTMODSEQ"])

    def test_first_condstore_command_sends_highestmodseq(self):
        """Issue 11 (RFC 7162 3.1): the first CONDSTORE-enabling command on a selected mailbox (FETCH
        MODSEQ here) is followed by OK [HIGHESTMODSEQ]; later ones are not."""
        c = self.conn()
        self.append(c, message("first"))
        hms = select_info(c.select())["HIGHESTMODSEQ"]
        r = c.ok("FETCH 1 MODSEQ")
        self.assertIn(f"* OK [HIGHESTMODSEQ {hms}] Highest".encode(), r.untagged)
        self.assertEqual([u for u in c.ok("FETCH 1 MODSEQ").untagged if b"HIGHESTMODSEQ" in u], [])

    def test_search_return_min_max_modseq_is_that_of_the_returned_message(self):
        """Issue 11 (RFC 7162 3.1.5): SEARCH RETURN (MIN)/(MAX) with a MODSEQ key returns the MODSEQ of
        the message it returns, not the highest of all matches."""
        c = self.conn()
        for i in range(3):
            self.append(c, message(f"mm {i}"))
        c.select()
        c.ok("STORE 1 +FLAGS (\\Flagged)")   # message 1 now has the highest MODSEQ
        ms = {n: int(v["MODSEQ"][0]) for n, v in c.ok("FETCH 1:3 MODSEQ").fetches().items()}
        self.assertGreater(ms[1], ms[3])

        def esearch(ret):
            line = c.ok(f"SEARCH RETURN ({ret}) MODSEQ 1").named("ESEARCH")[0]
            return int(re.search(rb"MODSEQ (\d+)", line).group(1))
        self.assertEqual(esearch("MIN"), ms[1])
        self.assertEqual(esearch("MAX"), ms[3])
        self.assertEqual(esearch("MIN MAX"), max(ms[1], ms[3]))
        self.assertEqual(esearch("ALL"), max(ms.values()))
        self.assertEqual(esearch("MAX COUNT"), max(ms.values()))

    def test_unchangedsince_silent_reports_modseq(self):
        c = self.conn()
        uid = self.append(c, message("silent"))
        c.ok("ENABLE CONDSTORE")
        hms = select_info(c.select())["HIGHESTMODSEQ"]
        # RFC 7162 3.1.3: with .SILENT the FETCH still carries the new MODSEQ
        r = c.ok(f"UID STORE {uid} (UNCHANGEDSINCE {hms}) +FLAGS.SILENT (\\Seen)")
        f = r.fetches()
        self.assertEqual(list(f), [1], r)
        self.assertNotIn("FLAGS", f[1])
        self.assertGreater(int(f[1]["MODSEQ"][0]), hms)
        self.assertEqual(int(f[1]["UID"]), uid)

    def test_expunge_raises_highestmodseq(self):
        c = self.conn()
        uids = [self.append(c, message(f"hm {i}")) for i in range(3)]
        c.ok("ENABLE QRESYNC")
        info = select_info(c.select())
        c.ok(f"UID STORE {uids[1]} +FLAGS.SILENT (\\Deleted)")
        hms = status_of(c.ok("STATUS INBOX (HIGHESTMODSEQ)"))["INBOX"]["HIGHESTMODSEQ"]
        c.ok("EXPUNGE")
        after = status_of(c.ok("STATUS INBOX (HIGHESTMODSEQ)"))["INBOX"]["HIGHESTMODSEQ"]
        # RFC 7162 3.2: a client resynchronising from `hms` must learn of the expunge
        self.assertGreater(after, hms, "HIGHESTMODSEQ unchanged by an EXPUNGE")
        c.ok("UNSELECT")
        r = c.ok(f"SELECT INBOX (QRESYNC ({info['UIDVALIDITY']} {hms}))")
        vanished = [u for u in r.untagged if u.startswith(b"* VANISHED (EARLIER)")]
        self.assertEqual(vanished, [f"* VANISHED (EARLIER) {uids[1]}".encode()])
        self.assertEqual(r.fetches(), {})
        # with the optional sequence match data (RFC 7162 3.2.5.2)
        c.ok("UNSELECT")
        r = c.ok(f"SELECT INBOX (QRESYNC ({info['UIDVALIDITY']} {hms} {uids[0]}:{uids[2]} (1:3 {uids[0]}:{uids[2]})))")
        vanished = [u for u in r.untagged if u.startswith(b"* VANISHED (EARLIER)")]
        self.assertEqual(len(vanished), 1, r)
        self.assertIn(uids[1], seq_set(vanished[0].split()[-1].decode()))
        self.assertEqual(select_info(r)["EXISTS"], 2)

    def search_modseq(self, c, m):
        r = c.ok(f"SEARCH MODSEQ {m + 1}")
        line = r.named("SEARCH")[0]
        # RFC 7162 3.1.5: "* SEARCH 1 (MODSEQ 917162500)"
        return [int(x) for x in re.sub(rb"\(MODSEQ \d+\)", b"", line).split()[1:]]


# --- COMPRESS, pipelining, byte-split input, bad input ----------------------------------------------

class WireTests(ImapCase):
    def test_compress_deflate(self):
        c = self.conn()
        self.append(c, message("compressed", body=b"abc " * 2000 + b"\r\n"))
        c.start_compress()
        r = c.ok("NOOP")
        self.assertEqual(r.status, "OK")
        r = c.select()
        self.assertEqual(select_info(r)["EXISTS"], 1)
        f = c.ok("FETCH 1 BODY.PEEK[TEXT]").fetches()[1]
        self.assertEqual(f["BODY[TEXT]"], b"abc " * 2000 + b"\r\n")
        caps = caps_of(c.ok("CAPABILITY").untagged[0])
        self.assertNotIn("COMPRESS=DEFLATE", caps)
        self.assertStatus(c.cmd("COMPRESS DEFLATE"), "NO", "COMPRESSIONACTIVE")
        c.ok("LOGOUT")

    def test_compress_raw_bytes(self):
        """The DEFLATE stream by hand: one compressed NOOP, the answer inflated with wbits -15."""
        c = self.conn()
        c.send("z COMPRESS DEFLATE\r\n")
        self.assertTrue(c.line().startswith(b"z OK"))
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.sock.sendall(comp.compress(b"n1 NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
        dec = zlib.decompressobj(-15)
        got = b""
        deadline = time.monotonic() + WAIT
        while b"n1 " not in got or not got.endswith(b"\r\n"):
            self.assertLess(time.monotonic(), deadline)
            chunk = c.sock.recv(4096)
            self.assertTrue(chunk, "connection closed")
            got += dec.decompress(chunk)
        self.assertTrue(got.startswith(b"n1 OK"), got)

    def test_pipelining(self):
        c = self.conn()
        msg = message("pipelined")
        c.send(b"p1 NOOP\r\np2 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\np3 SELECT INBOX\r\n"
               b"p4 FETCH 1 (BODY.PEEK[])\r\np5 STORE 1 +FLAGS (\\Seen)\r\np6 SEARCH SEEN\r\np7 LOGOUT\r\n")
        results = [c.read_until_tagged(f"p{i}") for i in range(1, 8)]
        self.assertEqual([r.status for r in results], ["OK"] * 7, results)
        self.assertEqual(results[3].fetches()[1]["BODY[]"], msg)
        self.assertEqual(results[5].named("SEARCH"), [b"SEARCH 1"])
        self.assertTrue(c.closed())

    def test_byte_split_commands(self):
        c = self.conn(login=False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = message("one byte at a time")
        data = (f'b1 LOGIN "{self.user}" "{PASSWORD}"\r\nb2 APPEND INBOX (\\Flagged) {{{len(msg)}+}}\r\n'.encode()
                + msg + b"\r\nb3 SELECT INBOX\r\nb4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
        for i in range(len(data)):
            c.sock.sendall(data[i:i + 1])
            if i % 3 == 0:
                time.sleep(0.001)
        rs = [c.read_until_tagged(f"b{i}") for i in range(1, 5)]
        self.assertEqual([r.status for r in rs], ["OK"] * 4, rs)
        f = list(rs[3].fetches().values())[0]
        self.assertEqual(f["FLAGS"], ["\\Flagged"])
        self.assertEqual(f["BODY[HEADER.FIELDS (SUBJECT)]"], b"Subject: one byte at a time\r\n\r\n")
        # a synchronizing literal split too
        c.send(b"b5 APPEND INBOX {%d}\r\n" % len(msg))
        self.assertTrue(c.line().startswith(b"+"))
        for i in range(len(msg)):
            c.sock.sendall(msg[i:i + 1])
        c.send(b"\r\n")
        self.assertStatus(c.read_until_tagged("b5"), "OK", "APPENDUID")

    def test_bad_input_then_session_goes_on(self):
        c = self.conn(login=False)
        self.assertStatus(c.cmd("XYZZY"), "BAD")
        self.assertStatus(c.cmd("SELECT INBOX"), "BAD")  # before login
        self.assertStatus(c.cmd("FETCH 1 FLAGS"), "BAD")
        c.login(self.user)
        self.assertStatus(c.cmd("XYZZY"), "BAD")
        self.assertStatus(c.cmd("FETCH 1 FLAGS"), "BAD")  # nothing selected
        c.select()
        self.assertStatus(c.cmd("FETCH"), "BAD")
        self.assertStatus(c.cmd("FETCH 1:x FLAGS"), "BAD")
        self.assertStatus(c.cmd('SELECT "unterminated'), "BAD")
        self.assertStatus(c.cmd("SEARCH ((((ALL"), "BAD")
        c.send(b"\r\nnn NOOP\r\n")  # an empty line first: answered with BAD or ignored
        r = c.read_until_tagged("nn")
        self.assertStatus(r, "OK")
        self.assertTrue(all(re.match(rb"^\S+ BAD", u) for u in r.untagged), r)
        # a 100 KB line
        r = c.cmd("SEARCH " + " ".join(["ALL"] * 25000))
        self.assertStatus(r, "BAD")
        c.ok("NOOP")
        # a literal over the limit, announced synchronizing: refused without a continuation
        c.send(b"big SEARCH SUBJECT {100000000}\r\n")
        r = c.response()
        self.assertTrue(re.match(rb"^big (BAD|NO)", r), r)
        c.ok("NOOP")
        self.append(c, message("still working"))
        self.assertEqual(select_info(c.select())["EXISTS"], 1)
        # deep nesting
        self.assertStatus(c.cmd("SEARCH " + "(" * 200 + "ALL" + ")" * 200), "BAD")
        c.ok("NOOP")

    def test_too_many_errors_close_the_session(self):
        c = self.conn()
        closed = False
        for i in range(60):
            try:
                r = c.cmd("XYZZY")
            except ConnectionError:
                closed = True
                break
            self.assertEqual(r.status, "BAD")
        self.assertTrue(closed or c.closed(), "the session goes on after 60 protocol errors")


# --- 8-bit data, literal8, large mailboxes ------------------------------------------------------------

def eight_bit_outside_literals(resp):
    """The 8-bit octets of a response that are not inside a literal (RFC 3501 9: a quoted string is
    7-bit; 8-bit text must come as a literal unless the client enabled UTF8=ACCEPT or IMAP4rev2)."""
    out = b""
    pos = 0
    for m in re.finditer(rb"~?\{(\d+)\}\r\n", resp):
        if m.start() < pos:
            continue
        out += resp[pos:m.start()]
        pos = m.end() + int(m.group(1))
    out += resp[pos:]
    return bytes(b for b in out if b >= 0x80)


UTF8_HEADERS = ("From: Jürgen Müller <juergen@example.test>\r\nTo: bob@tern.test\r\nSubject: Grüße aus Köln\r\n"
                "Date: Fri, 06 Jan 2023 10:00:00 +0000\r\nMessage-ID: <utf8@example.test>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "Schöne Grüße.\r\n").encode()
NUL_PART = b"\x00\x01\x02 binary \x00\xff\xfe\r\n\x00end"
WITH_NUL = (b"From: b@example.test\r\nSubject: binary part\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"nb\"\r\n\r\n--nb\r\nContent-Type: text/plain\r\n\r\ntext\r\n"
            b"--nb\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            + NUL_PART + b"\r\n--nb--\r\n")


class EightBitTests(ImapCase):
    def test_utf8_headers_for_rev1_and_utf8_clients(self):
        c = self.conn()
        self.append(c, UTF8_HEADERS)
        c.select()
        r = c.ok("FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        raw = r.untagged[0]
        self.assertEqual(eight_bit_outside_literals(raw), b"", f"8-bit text in a quoted string: {raw!r}")
        f = r.fetches()[1]
        self.assertEqual(f["ENVELOPE"][1], "Grüße aus Köln".encode())
        self.assertEqual(f["ENVELOPE"][2], [["Jürgen Müller".encode(), None, b"juergen", b"example.test"]])
        self.assertEqual(f["BODY[HEADER.FIELDS (SUBJECT)]"], "Subject: Grüße aus Köln\r\n\r\n".encode())
        word = "KÖLN".encode()
        r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(word) + word)
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 1"])
        word = "schöne".encode()
        r = c.cmd(b"SEARCH CHARSET UTF-8 BODY {%d+}\r\n" % len(word) + word)
        self.assertEqual(r.named("SEARCH"), [b"SEARCH 1"])
        # a UTF8=ACCEPT client gets the same values (quoted UTF-8 is allowed there)
        u = self.conn()
        u.ok("ENABLE UTF8=ACCEPT")
        u.select()
        env = u.ok("FETCH 1 ENVELOPE").fetches()[1]["ENVELOPE"]
        self.assertEqual(env[1], "Grüße aus Köln".encode())

    def test_append_utf8_data_extension(self):
        c = self.conn()
        # RFC 6855 4: APPEND mailbox UTF8 (literal8), once UTF8=ACCEPT is enabled
        c.ok("ENABLE UTF8=ACCEPT")
        tag = c.next_tag()
        c.send(f"{tag} APPEND INBOX UTF8 (~{{{len(UTF8_HEADERS)}+}}\r\n".encode() + UTF8_HEADERS + b")\r\n")
        r = c.read_until_tagged(tag)
        self.assertStatus(r, "OK", "APPENDUID")
        c.select()
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[]").fetches()[1]["BODY[]"], UTF8_HEADERS)

    def test_literal8_append_and_binary_fetch_with_nul(self):
        c = self.conn()
        # RFC 3516 4.4: a message with NUL octets is APPENDed as a literal8
        tag = c.next_tag()
        c.send(f"{tag} APPEND INBOX ~{{{len(WITH_NUL)}+}}\r\n".encode() + WITH_NUL + b"\r\n")
        r = c.read_until_tagged(tag)
        self.assertStatus(r, "OK", "APPENDUID")
        c.select()
        r = c.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])")
        f = r.fetches()[1]
        self.assertEqual(f["BINARY[2]"], NUL_PART)
        self.assertEqual(int(f["BINARY.SIZE[2]"]), len(NUL_PART))
        self.assertEqual(f["BINARY[1]"], b"text")
        # NUL octets only in a literal8 (RFC 3516 4.2)
        self.assertIn(b"BINARY[2] ~{%d}\r\n" % len(NUL_PART), r.untagged[0])


    def test_binary_of_quoted_printable_and_empty_parts(self):
        """Issue 11: BINARY[1] of a quoted-printable part kept transport padding (trailing white space);
        BINARY.SIZE is the decoded length; an empty part gives an empty BINARY and BINARY.SIZE 0."""
        c = self.conn()
        qp = b"=41=20 \t\r\nsoft= \r\nbreak=3D\r\n"
        msg = (b"From: a@x.test\r\nSubject: qp\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
               b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp +
               b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               b"\r\n--b--\r\n")
        tag = c.next_tag()
        c.send(f"{tag} APPEND INBOX ~{{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        self.assertStatus(c.read_until_tagged(tag), "OK", "APPENDUID")
        c.select()
        f = c.ok("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2])").fetches()[1]
        # the CRLF before "--b" belongs to the delimiter (RFC 2046 5.1.1)
        self.assertEqual(f["BINARY[1]"], b"A \r\nsoftbreak=")
        self.assertEqual(int(f["BINARY.SIZE[1]"]), len(b"A \r\nsoftbreak="))
        self.assertEqual(f["BODY[1]"], qp[:-2])  # BODY is the stored octets
        self.assertIn(f["BINARY[2]"], (b"", None))
        self.assertEqual(int(f["BINARY.SIZE[2]"]), 0)


class LargeMailboxTests(ImapCase):
    def test_many_messages(self):
        c = self.conn()
        n = 1500
        msgs = [message(f"bulk {i:04d}", body=(f"message number {i}\r\n" * (1 + i % 7)).encode()) for i in range(n)]
        data = b"big APPEND INBOX"
        for m in msgs:
            data += b" {%d+}\r\n" % len(m) + m
        c.send(data + b"\r\n")
        r = c.read_until_tagged("big")
        self.assertStatus(r, "OK", "APPENDUID")
        uids = seq_set(r.code.split()[2])
        self.assertEqual(len(uids), n)
        self.assertEqual(select_info(c.select())["EXISTS"], n)
        r = c.ok("FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        f = r.fetches()
        self.assertEqual(len(f), n)
        for i in range(n):
            item = f[i + 1]
            self.assertEqual(int(item["UID"]), uids[i])
            self.assertEqual(int(item["RFC822.SIZE"]), len(msgs[i]))
            self.assertEqual(item["BODY[HEADER.FIELDS (SUBJECT)]"], f"Subject: bulk {i:04d}\r\n\r\n".encode())
        self.assertEqual(len(c.ok("FETCH 1:* ENVELOPE").fetches()), n)
        c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)")
        gone = [u for i, u in enumerate(uids) if i % 3 == 1]
        c.ok("UID STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, gone)))
        r = c.ok("EXPUNGE")
        left = apply_expunges(uids, r.untagged)
        self.assertEqual(left, [u for u in uids if u not in set(gone)])
        r = c.ok("SEARCH RETURN (COUNT MIN MAX) SEEN")
        v = parse(r.named("ESEARCH")[0])
        items = {str(v[i]).upper(): int(v[i + 1]) for i in range(2, len(v) - 1, 2)}
        self.assertEqual(items, {"COUNT": len(left), "MIN": 1, "MAX": len(left)})
        r = c.ok("UID SEARCH ALL")
        self.assertEqual([int(x) for x in r.named("SEARCH")[0].split()[1:]], left)
        self.assertEqual(len(self.t.message_list(self.user)), len(left))

    def test_large_message(self):
        c = self.conn()
        rnd = random.Random(11)
        payload = bytes(rnd.randrange(256) for _ in range(2 * 1024 * 1024))
        b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        msg = (b"From: big@example.test\r\nSubject: large\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"lb\"\r\n\r\n--lb\r\nContent-Type: text/plain\r\n\r\nbig one\r\n"
               b"--lb\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + b64 + b"--lb--\r\n")
        uid = self.append(c, msg)
        c.select()
        f = c.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[])").fetches()[1]
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))
        self.assertEqual(f["BODY[]"], msg)
        self.assertEqual(self.t.message_bytes(self.user, uid), msg)
        f = c.ok("FETCH 1 (BODY.PEEK[]<1000000.100> BINARY.PEEK[2] BINARY.SIZE[2])").fetches()[1]
        self.assertEqual(f["BODY[]<1000000>"], msg[1000000:1000100])
        self.assertEqual(f["BINARY[2]"], payload)
        self.assertEqual(int(f["BINARY.SIZE[2]"]), len(payload))



# --- large messages streamed from their files; files that do not match the index ------------------

def big_message(subject, size, seed):
    """A message of about `size` octets: a base64 body of random bytes (CRLF line ends)."""
    payload = random.Random(seed).randbytes(size * 3 // 4)
    head = (f"From: big@example.test\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    return head + base64.encodebytes(payload).replace(b"\n", b"\r\n")


class StreamingFetchTests(ImapCase):
    def test_large_messages_byte_exact(self):
        """Messages larger than the read block arrive whole, byte for byte, in every form (whole,
        partial, RFC822 with its \\Seen, TEXT), between small ones in one FETCH."""
        c = self.conn()
        msgs = [big_message("big one", 5 * 1024 * 1024 + 17, 1), message("small", body=b"tiny\r\n"),
                big_message("big two", 3 * 1024 * 1024 + 5, 2), big_message("medium", 300 * 1024, 3)]
        uids = [self.append(c, m) for m in msgs]
        c.select()
        f = c.ok("FETCH 1:* (UID RFC822.SIZE BODY.PEEK[] FLAGS)").fetches()
        self.assertEqual(len(f), len(msgs))
        for i, m in enumerate(msgs):
            self.assertEqual(int(f[i + 1]["UID"]), uids[i])
            self.assertEqual(int(f[i + 1]["RFC822.SIZE"]), len(m))
            self.assertEqual(f[i + 1]["BODY[]"], m, f"message {i + 1}")
        big = msgs[0]
        f = c.ok("FETCH 1 (BODY.PEEK[]<1000.3000000> BODY.PEEK[]<5000000.9999999> BODY.PEEK[TEXT])").fetches()[1]
        self.assertEqual(f["BODY[]<1000>"], big[1000:3001000])
        self.assertEqual(f["BODY[]<5000000>"], big[5000000:])
        self.assertEqual(f["BODY[TEXT]"], big[big.index(b"\r\n\r\n") + 4:])
        f = c.ok("FETCH 3 RFC822").fetches()[3]
        self.assertEqual(f["RFC822"], msgs[2])
        self.assertIn("\\SEEN", norm(f["FLAGS"]))
        self.assertEqual(self.t.message_bytes(self.user, uids[2]), msgs[2])

    def test_large_message_compressed(self):
        """The streamed path goes through COMPRESS=DEFLATE like the rest (RFC 4978)."""
        c = self.conn()
        msgs = [big_message("zipped", 4 * 1024 * 1024, 4), message("small", body=b"tiny\r\n")]
        for m in msgs:
            self.append(c, m)
        c.start_compress()
        c.select()
        f = c.ok("FETCH 1:* BODY.PEEK[]").fetches()
        self.assertEqual([f[1]["BODY[]"], f[2]["BODY[]"]], msgs)

    def damage(self, uid, how):
        path = message_path(self.t, self.user, uid)
        if how == "truncate":
            os.truncate(path, 10)
        else:
            with open(path, "ab") as f:
                f.write(b"X-Appended: after delivery\r\n")
        return path

    def assertDamagedRefused(self, c, seq, uid):
        """FETCH of a damaged message: a NO [SERVERBUG] naming it, no literal, and the error logged."""
        r = c.cmd(f"FETCH {seq} (RFC822.SIZE BODY.PEEK[])")
        self.assertStatus(r, "NO", "SERVERBUG")
        self.assertIn(f"UID {uid}".encode(), r.tagged)
        self.assertEqual(r.fetches(), {}, r)
        self.t.wait_for_log(f"UID {uid} is damaged")
        return r

    def check_damaged(self, how):
        c = self.conn()
        msgs = [message("first", body=b"one\r\n" * 40), big_message("big", 2 * 1024 * 1024, 5),
                message("third", body=b"three\r\n")]
        uids = [self.append(c, m) for m in msgs]
        c.select()
        self.damage(uids[0], how)
        self.damage(uids[1], how)
        self.assertDamagedRefused(c, 1, uids[0])
        self.assertDamagedRefused(c, 2, uids[1])
        # The session is in step: the good message comes whole, also in a FETCH with damaged ones.
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[]").fetches()[3]["BODY[]"], msgs[2])
        r = c.cmd("FETCH 1:* (UID BODY.PEEK[])")
        self.assertStatus(r, "NO", "SERVERBUG")
        f = r.fetches()
        self.assertEqual(list(f), [3])
        self.assertEqual(f[3]["BODY[]"], msgs[2])
        self.assertEqual(c.ok("NOOP").status, "OK")

    def test_truncated_file_is_refused(self):
        """A file shorter than its indexed size is never announced with a literal it cannot fill."""
        self.check_damaged("truncate")

    def test_file_cut_while_sent_ends_the_session(self):
        """A file cut short after its literal's size went out: the session ends (the client is never
        handed fewer octets as if they were the message) and the server logs why. The client reads
        nothing until the cut, so the server has read at most its socket buffers' worth (4 MB) of the
        24 MB then."""
        msg = big_message("cut", 24 * 1024 * 1024, 6)
        uid = self.append(self.conn(), msg)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(WAIT)
        s.connect((HOST, self.t.ports["imap"]))
        c = Conn.__new__(Conn)
        c.sock, c.buf, c.n, c.inflate, c.deflate = s, b"", 0, None, None
        self.addCleanup(c.close)
        c.response()
        c.starttls()
        c.login(self.user)
        c.select()
        c.send("f1 FETCH 1 BODY.PEEK[]\r\n")
        deadline = time.monotonic() + WAIT
        while struct.unpack("i", fcntl.ioctl(c.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0] == 0:
            self.assertLess(time.monotonic(), deadline, "nothing sent")
            time.sleep(0.01)
        os.truncate(message_path(self.t, self.user, uid), 12 * 1024 * 1024)
        got = len(c.buf)
        try:
            while True:
                chunk = c.sock.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except (ConnectionError, ssl.SSLError):
            pass
        self.assertLess(got, len(msg))
        self.t.wait_for_log("changed on disk while being sent")

    def test_longer_file_is_refused(self):
        """A file longer than its indexed size: refused too (RFC822.SIZE would not match the data)."""
        self.check_damaged("append")


if __name__ == "__main__":
    main()
