"""SMTP on the real server: the three listeners with smtplib and swaks, and the protocol extensions
(PIPELINING, CHUNKING, SMTPUTF8, 8BITMIME, SIZE), limits (line length, hop count) and the unknown user.

Every delivery test checks what the user gets: the message in `tern message list` with its subject, and
the stored file equal to the sent message byte for byte after Tern's Return-Path: and Received: fields.
"""

import smtplib
import subprocess

from harness import (HOST, PASSWORD, RawSMTP, TernTestCase, main, make_message, split_trace, tls_context,
                     unique)

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"


def smtp(port):
    return smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=30)


class ListenerTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE))

    def test_smtp_plain(self):
        subj = unique("plain")
        msg = make_message(SENDER, BOB, subj, b"Line one.\r\n.leading dot survives\r\nLast line.\r\n")
        with smtp(self.t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        entry, stored = self.assertStored(self.t, BOB, subj, msg, SENDER)
        self.assertIn(SENDER, entry["from"])
        self.assertIn(b"with ESMTP id", stored)

    def test_smtp_starttls(self):
        subj = unique("starttls")
        msg = make_message(SENDER, BOB, subj)
        with smtp(self.t.ports["smtp"]) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=tls_context())
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS offered again inside TLS")
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        _, stored = self.assertStored(self.t, BOB, subj, msg, SENDER)
        self.assertIn(b"with ESMTPS id", split_trace(stored)[0])

    def _submission_starttls(self, mechanism, initial_response_ok):
        subj = unique("sub-" + mechanism)
        msg = make_message(BOB, ALICE, subj)
        with smtp(self.t.ports["submission"]) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("auth"), "AUTH offered before TLS without allow_plaintext")
            s.starttls(context=tls_context())
            s.ehlo()
            self.assertIn(mechanism, s.esmtp_features["auth"].upper().split())
            s.user, s.password = BOB, PASSWORD
            authobj = s.auth_plain if mechanism == "PLAIN" else s.auth_login
            code, _ = s.auth(mechanism, authobj, initial_response_ok=initial_response_ok)
            self.assertEqual(code, 235)
            self.assertEqual(s.sendmail(BOB, [ALICE], msg), {})
        _, stored = self.assertStored(self.t, ALICE, subj, msg, BOB)
        self.assertIn(b"with ESMTPSA id", split_trace(stored)[0])

    def test_submission_starttls_auth_plain(self):
        self._submission_starttls("PLAIN", True)

    def test_submission_starttls_auth_plain_without_initial_response(self):
        self._submission_starttls("PLAIN", False)

    def test_submission_starttls_auth_login(self):
        self._submission_starttls("LOGIN", False)

    def test_submissions_implicit_tls_auth(self):
        subj = unique("submissions")
        msg = make_message(BOB, ALICE, subj)
        with smtplib.SMTP_SSL(HOST, self.t.ports["submissions"], local_hostname="client.test", timeout=30,
                              context=tls_context()) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"))
            self.assertTrue(s.has_extn("auth"))
            s.login(BOB, PASSWORD)
            self.assertEqual(s.sendmail(BOB, [ALICE], msg), {})
        _, stored = self.assertStored(self.t, ALICE, subj, msg, BOB)
        self.assertIn(b"with ESMTPSA id", split_trace(stored)[0])

    def test_swaks_smtp(self):
        subj = unique("swaks")
        r = subprocess.run(["swaks", "--server", f"{HOST}:{self.t.ports['smtp']}", "--to", BOB, "--from", SENDER,
                            "--h-Subject", subj, "--body", "Body from swaks."],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("250 2.0.0", r.stdout)
        msgs = [m for m in self.t.wait_for_messages(BOB, 1) if m["subject"] == subj]
        self.assertEqual(len(msgs), 1, self.t.message_list(BOB))
        stored = self.t.message_bytes(BOB, msgs[0]["uid"])
        self.assertTrue(stored.startswith(f"Return-Path: <{SENDER}>\r\n".encode()))
        self.assertIn(b"\r\n\r\nBody from swaks.\r\n", stored)

    def test_swaks_submission_tls_auth(self):
        subj = unique("swaks-tls")
        r = subprocess.run(["swaks", "--server", f"{HOST}:{self.t.ports['submission']}", "--tls",
                            "--auth", "PLAIN", "--auth-user", BOB, "--auth-password", PASSWORD,
                            "--to", ALICE, "--from", BOB, "--h-Subject", subj, "--body", "Authenticated swaks."],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("235 2.7.0", r.stdout)
        msgs = [m for m in self.t.wait_for_messages(ALICE, 1) if m["subject"] == subj]
        self.assertEqual(len(msgs), 1, self.t.message_list(ALICE))
        stored = self.t.message_bytes(ALICE, msgs[0]["uid"])
        self.assertTrue(stored.startswith(f"Return-Path: <{BOB}>\r\n".encode()))
        self.assertIn(b"with ESMTPSA id", split_trace(stored)[0])
        self.assertIn(b"\r\n\r\nAuthenticated swaks.\r\n", stored)

    def test_unknown_local_user(self):
        with smtp(self.t.ports["smtp"]) as s:
            s.ehlo()
            s.mail(SENDER)
            code, text = s.rcpt("nobody@tern.test")
            self.assertEqual(code, 550)
            self.assertTrue(text.startswith(b"5.1.1"), text)
            # The transaction goes on for the known recipient.
            self.assertEqual(s.rcpt(BOB)[0], 250)
        with smtp(self.t.ports["smtp"]) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail(SENDER, ["nobody@tern.test"], make_message(SENDER, "nobody@tern.test", "x"))
            self.assertEqual(cm.exception.recipients["nobody@tern.test"][0], 550)


class RejectLogTests(TernTestCase):
    def test_each_refusal_is_one_noqueue_line(self):
        """Issue 11: every refused transaction step is logged, one line each, as Postfix's
        "NOQUEUE: reject:" (command, client, reply, from, to, proto, helo); accepted ones are not."""
        t = self.make_server(users=(BOB,))
        with smtp(t.ports["smtp"]) as s:
            s.ehlo("client.test")
            s.mail(SENDER)
            self.assertEqual(s.rcpt("nobody@tern.test")[0], 550)
            self.assertEqual(s.rcpt("x@elsewhere.test")[0], 554)
            self.assertEqual(s.rcpt(BOB)[0], 250)
        lines = [l for l in t.log().splitlines() if "NOQUEUE: reject:" in l]
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r"NOQUEUE: reject: RCPT from 127\.0\.0\.1: 550 5\.1\.1 <nobody@tern\.test>: "
                                   r"Recipient address rejected: User unknown; from=<sender@example\.test> "
                                   r"to=<nobody@tern\.test> proto=ESMTP helo=<client\.test>$")
        self.assertRegex(lines[1], r"NOQUEUE: reject: RCPT from 127\.0\.0\.1: 554 5\.7\.1 .*Relay access denied; "
                                   r"from=<sender@example\.test> to=<x@elsewhere\.test>")


class SubmissionHeaderTests(TernTestCase):
    def test_missing_date_and_message_id_are_added_for_authenticated_senders(self):
        """Issue 11 (RFC 6409 8.2, 8.3): mail from an authenticated client without Date or Message-ID
        gets them, at the end of its header; a complete message, and mail over MX, are left as sent."""
        t = self.make_server(users=(BOB, ALICE))
        bare = f"From: <{BOB}>\r\nTo: <{ALICE}>\r\nSubject: bare\r\n\r\nbody\r\n".encode()
        full = make_message(BOB, ALICE, "complete")
        with smtp(t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            s.login(BOB, PASSWORD)
            self.assertEqual(s.sendmail(BOB, [ALICE], bare), {})
            self.assertEqual(s.sendmail(BOB, [ALICE], full), {})
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [ALICE], bare.replace(b"bare", b"over mx")), {})
        t.wait_for_messages(ALICE, 3)
        by_subject = {m["subject"]: split_trace(b)[1] for m, b in t.stored_messages(ALICE)}
        self.assertRegex(by_subject["bare"], rb"^From: <bob@tern\.test>\r\nTo: <alice@tern\.test>\r\nSubject: bare\r\n"
                                             rb"Date: \w{3}, \d+ \w{3} \d{4} [\d:]{8} [+-]\d{4}\r\n"
                                             rb"Message-ID: <\w+@mx\.tern\.test>\r\n\r\nbody\r\n$")
        self.assertEqual(by_subject["complete"], full)
        self.assertEqual(by_subject["over mx"], bare.replace(b"bare", b"over mx"))


class ExtensionTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE))

    def test_pipelining(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        self.assertIn("PIPELINING", c.ehlo())
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{BOB}>\r\nRCPT TO:<nobody@tern.test>\r\n"
               f"RCPT TO:<{ALICE}>\r\nDATA\r\n")
        self.assertReply(c.reply(), 250, "2.1.0")
        self.assertReply(c.reply(), 250, "2.1.5")
        self.assertReply(c.reply(), 550, "5.1.1")
        self.assertReply(c.reply(), 250, "2.1.5")
        self.assertReply(c.reply(), 354)
        subj = unique("pipelined")
        msg = make_message(SENDER, BOB, subj, b"Pipelined body.\r\n")
        # The end of the data and the next commands in one write, too.
        c.send(msg + b".\r\nNOOP\r\nQUIT\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.assertReply(c.reply(), 221)
        self.assertStored(self.t, BOB, subj, msg, SENDER)
        self.assertStored(self.t, ALICE, subj, msg, SENDER)

    def test_bdat_chunks(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        self.assertIn("CHUNKING", c.ehlo())
        subj = unique("bdat")
        msg = make_message(SENDER, BOB, subj, b"First line.\r\n.\r\nA lone dot above is data in BDAT.\r\n")
        cut = len(msg) // 2 + 3  # the first chunk ends in the middle of a line
        one, two = msg[:cut], msg[cut:]
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{BOB}>\r\n".encode() + f"BDAT {len(one)}\r\n".encode() + one)
        self.assertReply(c.reply(), 250)
        self.assertReply(c.reply(), 250)
        self.assertReply(c.reply(), 250)
        c.send(f"BDAT {len(two)} LAST\r\n".encode() + two)
        self.assertReply(c.reply(), 250, "2.0.0")
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertStored(self.t, BOB, subj, msg, SENDER)

    def test_bdat_without_mail_is_refused_and_read_off(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        chunk = b"QUIT\r\nQUIT\r\nQUIT\r\n"  # if these octets were read as commands, the session would end
        c.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
        self.assertReply(c.reply(), 503, "5.5.1")
        self.assertReply(c.cmd("NOOP"), 250)
        # And after it, a normal transaction works.
        subj = unique("after-bdat")
        msg = make_message(SENDER, BOB, subj)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        c.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
        self.assertReply(c.reply(), 250, "2.0.0")
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertStored(self.t, BOB, subj, msg, SENDER)

    def test_smtputf8_addresses(self):
        jose = "jösé@tern.test"
        self.t.add_user(jose)
        sender = "ünïcode@example.test"
        subj = unique("utf8-Grüße")
        msg = make_message(sender, jose, subj, "Grüße aus Köln — ✓\r\n".encode())
        with smtp(self.t.ports["smtp"]) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            self.assertEqual(s.sendmail(sender, [jose], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"]), {})
        entry, stored = self.assertStored(self.t, jose, subj, msg, sender)
        self.assertIn(b"with UTF8SMTP", split_trace(stored)[0])
        self.assertEqual(entry["subject"], subj)

    def test_utf8_address_without_smtputf8_is_refused(self):
        self.t.add_user("jösé@tern.test")
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<ünïcode@example.test>"), 553, "5.6.7")
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<jösé@tern.test>"), 553, "5.6.7")
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("MAIL FROM:<ünïcode@example.test> SMTPUTF8"), 250)
        self.assertReply(c.cmd("RCPT TO:<jösé@tern.test>"), 250)

    def test_other_commands(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 503, "5.5.1")  # before HELO/EHLO
        self.assertReply(c.cmd("HELO client.test"), 250)
        self.assertReply(c.cmd("VRFY bob"), 252, "2.5.2")
        self.assertReply(c.cmd("EXPN staff"), 502, "5.5.1")
        self.assertReply(c.cmd("HELP"), 214)
        self.assertReply(c.cmd("FROB"), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
        # HELO: no ESMTP parameters.
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> BODY=8BITMIME"), 555, "5.5.4")
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 503, "5.5.1")  # nested
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")  # no recipient yet
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 503, "5.5.1")  # RSET ended the transaction
        subj = unique("helo")
        msg = make_message(SENDER, BOB, subj)
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)  # the null sender (bounces) is accepted on smtp
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(msg + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        _, stored = self.assertStored(self.t, BOB, subj, msg, "")
        self.assertIn(b"with SMTP id", split_trace(stored)[0])

    def test_postmaster_without_domain(self):
        # RFC 5321 4.5.1: <postmaster> must be accepted.
        self.t.cli_ok("domain", "add", "mx.tern.test")
        self.t.cli_ok("alias", "add", "postmaster@mx.tern.test", BOB)
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<Postmaster>"), 250)

    def test_8bit_body_stored_byte_for_byte(self):
        subj = unique("8bit")
        body = b"Latin-1: caf\xe9 na\xefve \xa9\r\nUTF-8: caf\xc3\xa9 \xe2\x82\xac\r\nControl-free high bytes: \xff\xfe\x80\r\n"
        msg = make_message(SENDER, BOB, subj, body,
                           extra_headers=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                                         b"Content-Transfer-Encoding: 8bit\r\n")
        with smtp(self.t.ports["smtp"]) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("8bitmime"))
            self.assertEqual(s.sendmail(SENDER, [BOB], msg, mail_options=["BODY=8BITMIME"]), {})
        self.assertStored(self.t, BOB, subj, msg, SENDER)


class LongLineTests(TernTestCase):
    """Issue 10 item 13: a body line over 64 KB was refused with 552 5.3.4 although the limit is 50 MB.
    RFC 5322 2.1.1's 998 binds generators; like Postfix, Tern accepts and stores such a line as it came."""

    def setUp(self):
        self.t = self.make_server(users=(BOB,))

    def test_100k_line_is_accepted_and_stored_byte_exact(self):
        subj = unique("long-line")
        line = bytes(ord("a") + (i // 61) % 26 if i % 61 == 0 else ord("x") for i in range(100 * 1024))
        msg = make_message(SENDER, BOB, subj, b"Before.\r\n" + line + b"\r\n." + line[:70000] + b"\r\nAfter.\r\n")
        with smtp(self.t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})  # smtplib dot-stuffs the second line
        entry, stored = self.assertStored(self.t, BOB, subj, msg, SENDER)
        self.assertEqual(entry["subject"], subj)
        self.assertIn(b"\r\n" + line + b"\r\n", stored)


class PostmasterTests(TernTestCase):
    """Issue 10 item 9, RFC 5321 4.5.1: postmaster@ every local domain is accepted. With no mailbox or
    alias of that name it goes to the configured `postmaster`, else to the domain's first mailbox."""

    def send(self, t, rcpt, subj):
        msg = make_message(SENDER, rcpt, subj)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [rcpt], msg), {})
        return msg

    def test_postmaster_goes_to_the_first_mailbox_of_the_domain(self):
        t = self.make_server(users=(BOB, ALICE))  # bob was created first
        subj = unique("pm")
        msg = self.send(t, "postmaster@tern.test", subj)
        self.assertStored(t, BOB, subj, msg, SENDER)
        subj2 = unique("pm-case")
        msg2 = self.send(t, "PostMaster@TERN.test", subj2)  # case-insensitive
        self.assertStored(t, BOB, subj2, msg2, SENDER)
        # RFC 5321 4.1.1.3: <postmaster> without a domain (the hostname mx.tern.test is not a local
        # domain here: the first local domain's postmaster).
        subj3 = unique("pm-bare")
        msg3 = make_message(SENDER, "postmaster", subj3)
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<postmaster>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(msg3 + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.assertStored(t, BOB, subj3, msg3, SENDER)
        self.assertEqual([m["subject"] for m in t.message_list(ALICE)], [])
        # Other unknown users are still refused.
        with smtp(t.ports["smtp"]) as s:
            s.ehlo()
            s.mail(SENDER)
            self.assertEqual(s.rcpt("nobody@tern.test")[0], 550)

    def test_configured_postmaster_and_explicit_alias_win(self):
        t = self.make_server(users=(BOB, ALICE), domains=("tern.test", "other.test"), start=False)
        t.write_config(t.config_text().replace("data_dir =", 'postmaster = "alice@tern.test"\ndata_dir =', 1))
        t.cli_ok("alias", "add", "postmaster@other.test", BOB)
        t.start()
        subj = unique("pm-config")
        msg = self.send(t, "postmaster@tern.test", subj)
        self.assertStored(t, ALICE, subj, msg, SENDER)  # the configured address, not bob (first)
        subj2 = unique("pm-alias")
        msg2 = self.send(t, "postmaster@other.test", subj2)
        self.assertStored(t, BOB, subj2, msg2, SENDER)  # the domain's own alias wins


class SessionHelpers:
    def sentinel(self, c):
        """Sends a small message on session c, which proves the session still works; returns its subject."""
        subj = unique("sentinel")
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(make_message(SENDER, BOB, subj) + b".\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        return subj

    def assertOnly(self, subjects):
        """The mailbox holds exactly these subjects (waits for them first)."""
        self.t.wait_for_messages(BOB, len(subjects))
        self.assertEqual(sorted(m["subject"] for m in self.t.message_list(BOB)), sorted(subjects))


class LimitTests(SessionHelpers, TernTestCase):
    """[limits] max_message_size = 2048 (the smallest allowed is 1024)."""

    def setUp(self):
        self.t = self.make_server(users=(BOB,), limits={"max_message_size": 2048})

    def test_size_parameter_over_limit(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        self.assertIn("SIZE 2048", c.ehlo())
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> SIZE=4096"), 552, "5.3.4")
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> SIZE=1000"), 250)
        self.assertReply(c.cmd("RSET"), 250)

    def test_oversized_data_read_off_and_refused(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        big = make_message(SENDER, BOB, unique("too-big"), b"0123456789abcdef" * 40 * 8 + b"\r\n")
        self.assertGreater(len(big), 4096)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(big + b".\r\n")
        self.assertReply(c.reply(), 552, "5.3.4")
        ok = self.sentinel(c)
        self.assertOnly([ok])

    def test_oversized_bdat_refused(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        big = make_message(SENDER, BOB, unique("too-big-bdat"), b"x" * 3000 + b"\r\n")
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        half = len(big) // 2
        c.send(f"BDAT {half}\r\n".encode() + big[:half])
        first = c.reply()
        c.send(f"BDAT {len(big) - half} LAST\r\n".encode() + big[half:])
        last = c.reply()
        # The refusal may come at the chunk that crosses the limit or at LAST; the message is refused.
        self.assertIn(552, (first[0], last[0]), (first, last))
        self.assertNotEqual(last[0], 250, last)
        ok = self.sentinel(c)
        self.assertOnly([ok])



class CommandLimitTests(SessionHelpers, TernTestCase):
    """Default limits: 2048-octet command lines, 50 Received: fields."""

    def setUp(self):
        self.t = self.make_server(users=(BOB,))

    def test_line_too_long(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd("NOOP " + "x" * 3000), 500, "5.5.6")
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> " + "X" * 3000), 500, "5.5.6")
        ok = self.sentinel(c)
        self.assertOnly([ok])

    def test_hop_limit(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        hops = b"".join(b"Received: from hop%d.example.test by hop%d.example.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                        % (i, i + 1) for i in range(60))
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(hops + make_message(SENDER, BOB, unique("looping")) + b".\r\n")
        self.assertReply(c.reply(), 554, "5.4.6")
        # A few hops are fine.
        subj = unique("few-hops")
        msg = hops[:300].rsplit(b"\r\n", 1)[0] + b"\r\n" + make_message(SENDER, BOB, subj)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(msg + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.assertOnly([subj])


if __name__ == "__main__":
    main()
