"""The connection checks of docs/spam.md end to end, with swaks and raw SMTP from loopback clients:

- dictionary attack: unknown recipients in one session are answered more and more slowly from
  [limits] unknown_recipients_delay_after on, and at max_unknown_recipients the session gets
  `421 4.7.0` and is closed;
- tarpit: after tarpit_after errors each reply waits (the test sees that nothing arrives for a while,
  then the reply); an authenticated session is never delayed;
- inbound rates: connections per minute from one address (421 4.7.0 at the greeting), messages per
  sender and recipients per address per hour (450 4.7.1); loopback is exempt unless configured.

A delay is seen as "no reply within a fraction of it" followed by the reply: a slower machine only makes
that more true, so no assertion depends on speed. Run with Debian's python3 (the CMake test does)."""

import smtplib
import subprocess

from harness import HOST, PASSWORD, RawSMTP, TernTestCase, main, make_message, unique

BOB = "bob@tern.test"


class DictionaryAttackTest(TernTestCase):
    def test_swaks_with_many_unknown_recipients_is_slowed_then_gets_421(self):
        server = self.make_server(users=(BOB,), limits={
            "tarpit_after": 100, "unknown_recipients_delay_after": 2, "max_unknown_recipients": 4,
            "tarpit_max": "200ms"})
        to = ",".join(f"user{i}@tern.test" for i in range(1, 7)) + "," + BOB
        r = subprocess.run(["swaks", "--server", HOST, "--port", str(server.ports["smtp"]), "--from", "x@attacker.test",
                            "--to", to, "--helo", "attacker.test", "--quit-after", "RCPT", "--timeout", "30"],
                           capture_output=True, text=True, timeout=120)
        out = r.stdout
        for i in (1, 2, 3):
            self.assertIn(f"<** 550 5.1.1 <user{i}@tern.test>: Recipient address rejected: User unknown", out)
        self.assertIn("<** 421 4.7.0 <user4@tern.test>: Too many unknown recipients; closing connection", out)
        self.assertNotIn("user5@tern.test>: Recipient", out)  # closed: nothing after the 421
        server.wait_for_log("tarpit: 2 error(s), 2 unknown recipient(s) from 127.0.0.1: each reply delayed 200 ms")
        server.wait_for_log("4 unknown recipients from 127.0.0.1: closing (dictionary attack)")

    def test_the_slow_down_is_visible_to_the_client(self):
        server = self.make_server(users=(BOB,), limits={
            "tarpit_after": 100, "unknown_recipients_delay_after": 2, "max_unknown_recipients": 3, "tarpit_max": "3s"})
        c = RawSMTP(server.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<x@attacker.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<a@tern.test>")[0], 550)  # answered at once
        self.assertEqual(c.cmd("RCPT TO:<b@tern.test>")[0], 550)
        c.send("RCPT TO:<bob@tern.test>\r\n")
        self.assertEqual(c.pending(0.5), b"")  # the reply waits 3 s
        self.assertEqual(c.reply(), (250, ["2.1.5 Ok"]))
        c.send("RCPT TO:<c@tern.test>\r\n")
        self.assertEqual(c.pending(0.5), b"")
        self.assertEqual(c.reply(), (421, ["4.7.0 <c@tern.test>: Too many unknown recipients; closing connection"]))
        self.assertEqual(c.sock.recv(100), b"")  # closed


class TarpitTest(TernTestCase):
    def test_replies_after_errors_wait_longer_each_time(self):
        server = self.make_server(users=(BOB,), limits={"tarpit_after": 1, "tarpit_delay": "2s", "tarpit_max": "4s"})
        c = RawSMTP(server.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        self.assertEqual(c.cmd("FOO")[0], 500)  # one error: no delay yet
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<bob@tern.test>")[0], 503)  # the second
        c.send("NOOP\r\n")
        self.assertEqual(c.pending(0.5), b"")  # 2 s
        self.assertEqual(c.reply()[0], 250)
        server.wait_for_log("tarpit: 2 error(s), 0 unknown recipient(s) from 127.0.0.1: each reply delayed 2000 ms")
        self.assertEqual(c.cmd("BAR")[0], 500)
        c.send("QUIT\r\n")
        self.assertEqual(c.pending(0.5), b"")
        self.assertEqual(c.reply()[0], 221)
        server.wait_for_log("each reply delayed 4000 ms")

    def test_an_authenticated_session_is_never_delayed(self):
        # Delays of 20 minutes: a delayed reply would never come within the client's timeout (WAIT).
        server = self.make_server(users=(BOB, "alice@tern.test"), allow_plaintext=True, limits={
            "tarpit_after": 0, "tarpit_delay": "20m", "tarpit_max": "20m", "unknown_recipients_delay_after": 1})
        c = RawSMTP(server.ports["submission"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertEqual(c.auth_plain("alice@tern.test", PASSWORD)[0], 235)
        for _ in range(3):
            self.assertEqual(c.cmd("FOO")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<alice@tern.test>")[0], 250)
        for i in range(12):  # more than max_unknown_recipients: never closed either
            self.assertEqual(c.cmd(f"RCPT TO:<nobody{i}@tern.test>")[0], 550)
        self.assertEqual(c.cmd(f"RCPT TO:<{BOB}>")[0], 250)
        self.assertNotIn("tarpit:", server.log())


class InboundRateTest(TernTestCase):
    def greeting(self, server, source):
        c = RawSMTP(server.ports["smtp"], source=source)
        try:
            return c.reply()
        finally:
            c.close()

    def test_connections_per_minute_from_one_address(self):
        server = self.make_server(users=(BOB,), limits={"connections_per_ip_per_minute": 3, "rate_limit_exempt": []})
        # 127.0.0.2: the harness's own readiness check came from 127.0.0.1.
        for _ in range(3):
            self.assertEqual(self.greeting(server, "127.0.0.2")[0], 220)
        self.assertEqual(self.greeting(server, "127.0.0.2"),
                         (421, ["4.7.0 Too many connections from 127.0.0.2; try again later"]))
        server.wait_for_log("inbound: 127.0.0.2 reached 3 connections per minute")
        self.assertEqual(self.greeting(server, "127.0.0.3")[0], 220)  # another address

    def test_loopback_is_exempt_by_default(self):
        server = self.make_server(users=(BOB,), limits={"connections_per_ip_per_minute": 1,
                                                        "messages_per_sender_per_hour": 1})
        for _ in range(3):
            with smtplib.SMTP(HOST, server.ports["smtp"]) as s:
                self.assertEqual(s.sendmail("news@shop.test", [BOB], make_message("news@shop.test", BOB, unique())), {})

    def test_messages_per_sender_and_recipients_per_address(self):
        server = self.make_server(users=(BOB, "carol@tern.test"), limits={
            "messages_per_sender_per_hour": 2, "recipients_per_ip_per_hour": 3, "rate_limit_exempt": []})
        with smtplib.SMTP(HOST, server.ports["smtp"], source_address=("127.0.0.2", 0)) as s:
            for _ in range(2):
                self.assertEqual(s.sendmail("news@shop.test", [BOB], make_message("news@shop.test", BOB, unique())), {})
            with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                s.sendmail("news@shop.test", [BOB], make_message("news@shop.test", BOB, unique()))
            self.assertEqual(e.exception.smtp_code, 450)
            self.assertEqual(e.exception.smtp_error, b"4.7.1 Too many messages from news@shop.test; try again later")
            s.rset()
            # Another sender is counted apart; the address's recipients run out after the third.
            s.mail("other@shop.test")
            self.assertEqual(s.rcpt(BOB)[0], 250)
            self.assertEqual(s.rcpt("carol@tern.test"),
                             (450, b"4.7.1 Too many recipients from 127.0.0.2; try again later"))
        server.wait_for_log("inbound: news@shop.test reached 2 messages per hour")
        server.wait_for_messages(BOB, 2)


    def test_a_dictionary_attack_spread_over_sessions(self):
        """One unknown recipient per session, from one address: after [limits]
        max_unknown_recipients_per_hour of them, each further one gets 421 and the session closes;
        known recipients still pass, and another address is counted apart."""
        server = self.make_server(users=(BOB,), limits={"max_unknown_recipients_per_hour": 3, "rate_limit_exempt": [],
                                                        "tarpit_after": 100})

        def one(source, rcpt):
            with smtplib.SMTP(HOST, server.ports["smtp"], source_address=(source, 0)) as s:
                s.ehlo("client.test")
                s.mail("probe@shop.test")
                return s.rcpt(rcpt)

        for i in range(3):
            self.assertEqual(one("127.0.0.2", f"guess{i}@tern.test")[0], 550)
        self.assertEqual(one("127.0.0.2", "guess9@tern.test"),
                         (421, b"4.7.0 <guess9@tern.test>: Too many unknown recipients; closing connection"))
        server.wait_for_log("127.0.0.2 reached 3 unknown recipients this hour: closing (dictionary attack)")
        self.assertEqual(one("127.0.0.2", BOB)[0], 250)
        self.assertEqual(one("127.0.0.3", "guess0@tern.test")[0], 550)


if __name__ == "__main__":
    main()
