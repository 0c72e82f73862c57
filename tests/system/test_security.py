"""Security policy on the real server: never an open relay, AUTH rules, forged senders, SMTP smuggling
(bare CR/LF next to the dot) and STARTTLS command injection (RFC 3207 5, CVE-2011-0411 class)."""

import smtplib

from harness import (HOST, PASSWORD, RawSMTP, TernTestCase, free_port, main, make_message, tls_context, unique)

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"
REMOTE = "someone@remote.test"


def smtp(port):
    return smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=30)


def read_all_replies(c):
    """Reads replies until the server closes the connection; returns [(code, text)]."""
    out = []
    while True:
        try:
            out.append(c.reply())
        except (ConnectionError, OSError):
            return out


class RelayTests(TernTestCase):
    def setUp(self):
        # Relayed mail goes to a route whose relay is down, so it stays queued for the test to see.
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{free_port()}"\nretry = ["1h"]\n'
        self.t = self.make_server(users=(BOB, ALICE), extra_toml=route)

    def test_relay_refused_without_auth(self):
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{REMOTE}>"), 554, "5.7.1")
        # Not even with a local sender address, and not after STARTTLS without AUTH.
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd(f"MAIL FROM:<{BOB}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{REMOTE}>"), 554, "5.7.1")
        self.assertReply(c.cmd("RSET"), 250)
        c.starttls()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{REMOTE}>"), 554, "5.7.1")
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(self.t.outbox_files(), [])

    def _relay_after_auth(self, port):
        subj = unique("relay")
        msg = make_message(BOB, REMOTE, subj)
        with smtp(port) as s:
            s.starttls(context=tls_context())
            s.login(BOB, PASSWORD)
            # A local and a remote recipient: the local copy is delivered, the remote one waits.
            self.assertEqual(s.sendmail(BOB, [REMOTE, ALICE], msg), {})
        self.assertStored(self.t, ALICE, subj, msg, BOB)
        queued = [q for q in self.t.outbox_files() if subj.encode() in q]
        self.assertEqual(len(queued), 1, self.t.outbox_files())
        self.assertTrue(queued[0].startswith(f"FROM: {BOB}\n".encode()) or
                        queued[0].startswith(f"FROM: {BOB}\r\n".encode()), queued[0][:200])
        self.assertRegex(queued[0], rb"(?m)^RCPT: someone@remote\.test\r?$")
        self.assertNotRegex(queued[0], rb"(?m)^RCPT: alice@tern\.test\r?$")  # done already

    def test_relay_accepted_after_auth_on_smtp(self):
        self._relay_after_auth(self.t.ports["smtp"])

    def test_relay_accepted_after_auth_on_submission(self):
        self._relay_after_auth(self.t.ports["submission"])


class AuthTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE))

    def test_submission_requires_auth(self):
        c = RawSMTP(self.t.ports["submission"])
        self.addCleanup(c.close)
        c.greeting()
        c.starttls()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{BOB}>"), 530, "5.7.0")
        with smtplib.SMTP_SSL(HOST, self.t.ports["submissions"], context=tls_context(), timeout=30) as s:
            s.ehlo()
            code, text = s.mail(BOB)
            self.assertEqual(code, 530, text)
            self.assertTrue(text.startswith(b"5.7.0"), text)

    def test_no_auth_without_tls(self):
        for svc in ("smtp", "submission"):
            c = RawSMTP(self.t.ports[svc])
            self.addCleanup(c.close)
            c.greeting()
            features = c.ehlo()
            self.assertFalse(any(f.startswith("AUTH") for f in features), (svc, features))
            self.assertIn("STARTTLS", features)
            self.assertReply(c.auth_plain(BOB, PASSWORD), 538, "5.7.11")
            self.assertReply(c.cmd("AUTH LOGIN"), 538, "5.7.11")
            # Inside TLS it is offered and works.
            c.starttls()
            self.assertIn("AUTH PLAIN LOGIN", c.ehlo())
            self.assertReply(c.auth_plain(BOB, PASSWORD), 235, "2.7.0")

    def test_sender_must_belong_to_user(self):
        self.t.cli_ok("alias", "add", "bob.alias@tern.test", BOB)
        with smtp(self.t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            s.login(BOB, PASSWORD)
            code, text = s.mail(ALICE)
            self.assertEqual(code, 553, text)
            self.assertTrue(text.startswith(b"5.7.1"), text)
            code, text = s.mail(SENDER)
            self.assertEqual(code, 553, text)
            # The user's own address and an alias of the user are fine.
            self.assertEqual(s.mail("Bob@Tern.Test")[0], 250)
            s.rset()
            self.assertEqual(s.mail("bob.alias@tern.test")[0], 250)

    def test_wrong_password(self):
        with smtp(self.t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login(BOB, "not-the-password")
            self.assertEqual(cm.exception.smtp_code, 535)
            self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.8"), cm.exception.smtp_error)
            # An unknown user looks the same.
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login("nobody@tern.test", PASSWORD)
            self.assertEqual(cm.exception.smtp_code, 535)
            # Still not authenticated.
            self.assertEqual(s.mail(BOB)[0], 530)


class PlaintextAuthTests(TernTestCase):
    def test_allow_plaintext(self):
        t = self.make_server(users=(BOB, ALICE), allow_plaintext=True)
        subj = unique("plaintext-auth")
        msg = make_message(BOB, ALICE, subj)
        with smtp(t.ports["submission"]) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("auth"))
            s.login(BOB, PASSWORD)
            self.assertEqual(s.sendmail(BOB, [ALICE], msg), {})
        self.assertStored(t, ALICE, subj, msg, BOB)


class ConnectionLimitTests(TernTestCase):
    def test_per_address_limit(self):
        t = self.make_server(users=(BOB,), limits={"max_connections_per_ip": 2})
        held = [RawSMTP(t.ports["smtp"]) for _ in range(2)]
        for c in held:
            self.addCleanup(c.close)
            c.greeting()
        extra = RawSMTP(t.ports["smtp"])
        self.addCleanup(extra.close)
        self.assertReply(extra.reply(), 421, "4.7.0")
        # Once one closes, a new session is served again: the server gives the slot back before it
        # closes the connection, so there is no moment when the client has seen the close and the
        # slot still counts.
        self.assertReply(held[0].cmd("QUIT"), 221)
        with self.assertRaises((ConnectionError, OSError)):
            held[0].reply()  # the server closed it
        ok = RawSMTP(t.ports["smtp"])
        self.addCleanup(ok.close)
        self.assertReply(ok.reply(), 220)

    def test_closed_connection_frees_its_slot_at_once(self):
        """One connection per address, opened again as soon as the last one was seen closed: each must
        be served. (The start-up probe of the harness is such a connection: when its slot was given
        back only after the close, a test's first connection was now and then refused.)"""
        t = self.make_server(users=(BOB,), limits={"max_connections_per_ip": 1})
        for attempt in range(100):
            c = RawSMTP(t.ports["smtp"])
            try:
                code, text = c.reply()
                self.assertEqual(code, 220, f"connection {attempt}: {code} {text}")
                self.assertReply(c.cmd("QUIT"), 221)
                with self.assertRaises((ConnectionError, OSError)):
                    c.reply()  # until the server has closed it
            finally:
                c.close()

    def test_too_many_errors_close_the_session(self):
        t = self.make_server(users=(BOB,), limits={"max_errors": 3})
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.send(b"FROB\r\nFROB\r\nFROB\r\nNOOP\r\nNOOP\r\n")
        self.assertEqual([r[0] for r in read_all_replies(c)], [500, 500, 500, 421])


class SmugglingTests(TernTestCase):
    VARIANTS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n"]
    SMUGGLED = b"MAIL FROM:<evil@x>\r\nRCPT TO:<bob@tern.test>\r\nDATA\r\nsmuggled\r\n.\r\n"

    def test_smuggling(self):
        t = self.make_server(users=(BOB,))
        for i, variant in enumerate(self.VARIANTS):
            with self.subTest(variant=variant):
                c = RawSMTP(t.ports["smtp"])
                self.addCleanup(c.close)
                c.greeting()
                c.ehlo()
                self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
                self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
                self.assertReply(c.cmd("DATA"), 354)
                msg = make_message(SENDER, BOB, f"smuggle-carrier-{i}", b"The real message.")
                c.send(msg + variant + self.SMUGGLED + b"QUIT\r\n")
                replies = read_all_replies(c)
                # One reply for the whole data (ended only by the real CRLF.CRLF), then QUIT's.
                self.assertEqual([r[0] for r in replies], [554, 221], replies)
                self.assertReply(replies[0], 554, "5.6.0")
        # A clean message after them all, then: only it is in the mailbox, nothing smuggled.
        subj = unique("clean")
        clean = make_message(SENDER, BOB, subj)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], clean), {})
        self.assertStored(t, BOB, subj, clean, SENDER)
        stored = t.stored_messages(BOB)
        self.assertEqual([m["subject"] for m, _ in stored], [subj])
        for m, body in stored:
            self.assertNotIn(b"evil@x", body)
            self.assertNotIn(b"smuggled", body)

    def test_bare_lf_in_bdat_refused(self):
        t = self.make_server(users=(BOB,))
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        body = make_message(SENDER, BOB, "bdat-bare-lf", b"line\n.\n" + self.SMUGGLED)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertReply(c.cmd("NOOP"), 250)


class StartTlsInjectionTests(TernTestCase):
    def test_pipelined_commands_after_starttls_are_discarded(self):
        t = self.make_server(users=(BOB,))
        for svc in ("smtp", "submission"):
            with self.subTest(listener=svc):
                c = RawSMTP(t.ports[svc])
                self.addCleanup(c.close)
                c.greeting()
                c.ehlo()
                c.send(b"STARTTLS\r\nRSET\r\n")
                self.assertReply(c.reply(), 220, "2.0.0")
                c.start_tls()
                # The first reply inside TLS must be to our EHLO, not to the injected RSET.
                c.send(b"EHLO client.test\r\n")
                code, lines = c.reply()
                self.assertEqual(code, 250)
                self.assertTrue(lines[0].startswith("mx.tern.test"), lines)
                self.assertGreater(len(lines), 1, "expected EHLO's multi-line reply, got a single line")
                c.send(b"NOOP\r\nQUIT\r\n")
                self.assertEqual([r[0] for r in read_all_replies(c)], [250, 221])

    def test_injected_transaction_not_run(self):
        t = self.make_server(users=(BOB,))
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil.test\r\nMAIL FROM:<evil@x>\r\n")
        self.assertReply(c.reply(), 220)
        c.start_tls()
        # Had the injected EHLO and MAIL run inside TLS, their replies would come first and this RCPT
        # would find a transaction. The first reply must be RCPT's refusal for want of MAIL.
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 503, "5.5.1")
        self.assertReply(c.cmd("QUIT"), 221)


if __name__ == "__main__":
    main()
