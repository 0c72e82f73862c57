"""Who may log in and who may send as whom, across protocols (issue 10, items 7 and 8).

Failed logins: one throttle for SMTP AUTH, IMAP and POP3 (auth/throttle). From one client address, more
than ten failures within five minutes refuse that address, whatever account it names next and on every
protocol (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]), even with the right password.
Per account, failures from many addresses slow down every later login to that account (logged), but
never lock its owner out.

Sender ownership: an authenticated session on any listener, the MX listener `smtp` included, may only
use its own addresses in MAIL FROM (the user's address, or an alias that leads to the user).

All clients here connect from 127.0.0.1, except the per-account test, which binds other loopback
addresses (127.0.0.2 ...) as its sources, as different attackers would.
"""

import imaplib
import re
import poplib
import smtplib
from concurrent.futures import ThreadPoolExecutor

from harness import HOST, PASSWORD, WAIT, TernTestCase, main, make_message, tls_context, unique

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"
FAILURES_TO_LOCK = 11  # more than LoginThrottle::max_failures (10)


def smtp(port, source=None):
    return smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=WAIT,
                        source_address=(source, 0) if source else None)


def smtp_auth(port, user, password, source=None):
    """AUTH PLAIN on the smtp listener (plaintext is allowed on these servers): (code, text)."""
    with smtp(port, source) as s:
        s.ehlo()
        s.user, s.password = user, password
        try:
            return s.auth("PLAIN", s.auth_plain)
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code, e.smtp_error


def imap_login(port, user, password):
    """IMAP LOGIN: the tagged status and its text."""
    m = imaplib.IMAP4(HOST, port, timeout=WAIT)
    try:
        typ, data = m.login(user, password)
        return typ, data[0]
    except imaplib.IMAP4.error as e:
        return "NO", str(e).encode()
    finally:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def pop_login(port, user, password):
    p = poplib.POP3(HOST, port, timeout=WAIT)
    try:
        p.user(user)
        return p.pass_(password)
    except poplib.error_proto as e:
        return e.args[0]
    finally:
        p.close()


class ThrottleTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE), allow_plaintext=True, services=("smtp", "imap", "pop3"))
        self.smtp_port = self.t.ports["smtp"]

    def parallel(self, fn, n):
        with ThreadPoolExecutor(max_workers=n) as ex:
            return list(ex.map(fn, range(n)))

    def test_smtp_failures_refuse_the_address_on_every_protocol(self):
        # A guesser trying many accounts from one address (each an account of its own, so only the
        # address is counted).
        results = self.parallel(lambda i: smtp_auth(self.smtp_port, f"guess{i}@tern.test", "wrong"), FAILURES_TO_LOCK)
        for code, text in results:
            self.assertEqual(code, 535, results)
            self.assertTrue(text.startswith(b"5.7.8"), results)
        # Now even the right password is refused for this address, with a temporary error ...
        code, text = smtp_auth(self.smtp_port, BOB, PASSWORD)
        self.assertEqual(code, 454, text)
        self.assertTrue(text.startswith(b"4.7.0"), text)
        # ... and so is another account from the same address (the address is the attacker) ...
        self.assertEqual(smtp_auth(self.smtp_port, ALICE, PASSWORD)[0], 454)
        # ... on IMAP and POP3 too: SMTP failures count toward their lockout.
        typ, text = imap_login(self.t.ports["imap"], BOB, PASSWORD)
        self.assertEqual(typ, "NO")
        self.assertIn(b"UNAVAILABLE", text)
        self.assertTrue(pop_login(self.t.ports["pop3"], BOB, PASSWORD).startswith(b"-ERR [SYS/TEMP]"))
        self.t.wait_for_log("too many failed logins from this address")

    def test_failures_on_smtp_and_imap_add_up(self):
        # Five IMAP failures, then six SMTP failures: eleven from this address in all.
        imap = self.parallel(lambda i: imap_login(self.t.ports["imap"], f"guess{i}@tern.test", "wrong"), 5)
        self.assertTrue(all(typ == "NO" and b"AUTHENTICATIONFAILED" in text for typ, text in imap), imap)
        typ, _ = imap_login(self.t.ports["imap"], BOB, PASSWORD)  # not yet refused
        self.assertEqual(typ, "OK")
        smtp_results = self.parallel(lambda i: smtp_auth(self.smtp_port, f"other{i}@tern.test", "wrong"), 6)
        self.assertTrue(all(code == 535 for code, _ in smtp_results), smtp_results)
        typ, text = imap_login(self.t.ports["imap"], BOB, PASSWORD)
        self.assertEqual(typ, "NO", text)
        self.assertIn(b"UNAVAILABLE", text)
        self.assertEqual(smtp_auth(self.smtp_port, BOB, PASSWORD)[0], 454)

    def test_an_account_under_attack_slows_down_but_its_owner_gets_in(self):
        # Six failures for bob, each from a different loopback address: no address is refused, but the
        # account is now under attack (five or more recent failures).
        sources = [f"127.0.0.{i}" for i in range(2, 8)]
        results = self.parallel(lambda i: smtp_auth(self.smtp_port, BOB, "wrong", sources[i]), len(sources))
        self.assertTrue(all(code == 535 for code, _ in results), results)
        # The owner, from yet another address, still gets in (later: the attempt waits first) ...
        code, text = smtp_auth(self.smtp_port, BOB, PASSWORD, "127.0.0.9")
        self.assertEqual(code, 235, text)
        self.t.wait_for_log(f": login as '{BOB}' delayed")
        self.assertRegex(self.t.log(), rf"smtp \S+: login as '{re.escape(BOB)}' delayed")
        # ... and so does the owner over IMAP, where the penalty applies too; other accounts do not wait.
        self.assertEqual(imap_login(self.t.ports["imap"], BOB, PASSWORD)[0], "OK")
        self.t.wait_for_log(re.compile(rf"imap \S+: login as '{re.escape(BOB)}' delayed"))  # IMAP's log line
        self.assertEqual(smtp_auth(self.smtp_port, ALICE, PASSWORD)[0], 235)
        self.assertNotIn(f"'{ALICE}' delayed", self.t.log())


class SenderOwnershipTests(TernTestCase):
    """Issue 10 item 8: on the smtp (MX) listener, after STARTTLS and AUTH as alice, MAIL FROM:<bob@...>
    was accepted and relayed."""

    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE))
        self.t.cli_ok("alias", "add", "sales@tern.test", ALICE)

    def authenticated(self):
        s = smtp(self.t.ports["smtp"])
        self.addCleanup(s.close)
        s.ehlo()
        s.starttls(context=tls_context())
        s.ehlo()
        s.login(ALICE, PASSWORD)
        return s

    def test_authenticated_on_smtp_may_not_use_another_users_address(self):
        s = self.authenticated()
        code, text = s.mail(BOB)
        self.assertEqual(code, 553, text)
        self.assertEqual(text, f"5.7.1 Sender address <{BOB}> not owned by user {ALICE}".encode())
        code, text = s.mail("someone@example.test")  # nor a remote one (no relaying forged senders)
        self.assertEqual(code, 553, text)
        code, text = s.mail("")  # nor the null sender, as on submission
        self.assertEqual(code, 553, text)
        with self.assertRaises(smtplib.SMTPSenderRefused):
            s.sendmail(BOB, [ALICE], make_message(BOB, ALICE, unique("forged")))
        self.t.wait_for_log(f"filter at MAIL: sender: <{BOB}> not owned by {ALICE}")
        # the reject line names the refused sender (from=<> before: MAIL had not begun a transaction)
        self.assertIn(f"NOQUEUE: reject: MAIL from 127.0.0.1: 553 5.7.1 Sender address <{BOB}> not owned by user "
                      f"{ALICE}; from=<{BOB}> to=<>", self.t.log())

    def test_authenticated_on_smtp_may_use_own_address_and_aliases(self):
        s = self.authenticated()
        for sender in (ALICE, "sales@tern.test"):
            subj = unique("own")
            msg = make_message(sender, BOB, subj)
            self.assertEqual(s.sendmail(sender, [BOB], msg), {})
            self.assertStored(self.t, BOB, subj, msg, sender)

    def test_unauthenticated_mx_mail_keeps_any_sender(self):
        subj = unique("mx")
        msg = make_message(SENDER, BOB, subj)
        with smtp(self.t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        self.assertStored(self.t, BOB, subj, msg, SENDER)


if __name__ == "__main__":
    main()
