"""Mailbox quotas on SMTP delivery: a mailbox's own quota (`tern user quota`) or `[limits] mailbox_quota`
bounds what delivery stores, as it bounds IMAP APPEND and COPY (test_imap.py QuotaTests).

- At RCPT, a recipient that is one mailbox already at its quota (or past it with the SIZE the client
  declared, RFC 1870) is refused: 552 5.2.2 Mailbox full (as Dovecot's LMTP with lmtp_rcpt_check_quota).
- A message accepted and then too big for what is left fails at delivery, permanently (552 5.2.2, as
  Dovecot's default quota_full_tempfail = no): the sender gets a DSN, the mailbox stays as it was.
- An alias with a full member still reaches the others.

The real server and smtplib; the mailbox is read with `tern message list`, the DSN in the local
sender's INBOX. Run with Debian's python3 (the CMake test does)."""

import os
import smtplib

from harness import HOST, WAIT, TernTestCase, main, make_message, unique

BOB = "bob@tern.test"
CAROL = "carol@tern.test"
ALICE = "alice@tern.test"  # the sender: local, so that her DSNs land in her INBOX
SENDER = "sender@example.test"


def message(subject, octets):
    return make_message(ALICE, BOB, subject, b"q" * 78 + b"\r\n") + (b"x" * 78 + b"\r\n") * (octets // 80)


def used(t, address):
    return sum(m["size"] for m in t.message_list(address))


class QuotaTests(TernTestCase):
    def setUp(self):
        super().setUp()
        self.t = self.make_server(users=(BOB, CAROL, ALICE), limits={"mailbox_quota": 0})

    def send(self, rcpt, msg, sender=ALICE, size=None):
        """(code, text) of the RCPT when refused, else of the end of data."""
        with smtplib.SMTP(HOST, self.t.ports["smtp"], local_hostname="client.test", timeout=WAIT) as s:
            s.ehlo()
            s.mail(sender, [f"SIZE={size}"] if size is not None else [])
            code, text = s.rcpt(rcpt)
            if code != 250:
                return code, text
            return s.data(msg)

    def test_full_mailbox_refused_at_rcpt_and_bounced_at_delivery(self):
        t = self.t
        t.cli_ok("user", "quota", BOB, "20000")
        first = unique("first")
        self.assertEqual(self.send(BOB, message(first, 12000))[0], 250)
        t.wait_for_messages(BOB, 1)

        # Room left at RCPT, none for this message at delivery: a DSN, nothing stored.
        second = unique("second")
        self.assertEqual(self.send(BOB, message(second, 12000))[0], 250)
        t.wait_for_log(f"not delivered to {BOB}: 552 5.2.2")
        dsn = t.wait_for_messages(ALICE, 1)
        self.assertEqual(len(dsn), 1, dsn)
        self.assertEqual([m["subject"] for m in t.message_list(BOB)], [first])
        folder = t.folder_dir(ALICE)
        raw = "".join(open(os.path.join(folder, n), encoding="utf-8", errors="replace").read()
                      for n in os.listdir(folder) if not n.startswith("."))
        self.assertIn("5.2.2", raw)
        self.assertNotIn("octets used", raw, "the quota's figures are for the log, not for the sender")
        self.assertIn("octets used of 20000", t.log())

        # The SIZE the client declares is counted at RCPT.
        code, text = self.send(BOB, b"", size=12000)
        self.assertEqual((code, text[:5]), (552, b"5.2.2"), text)
        self.assertIn(b"Mailbox full", text)
        # A small one still fits.
        small = unique("small")
        self.assertEqual(self.send(BOB, message(small, 1000))[0], 250)
        t.wait_for_messages(BOB, 2)

        # At the quota exactly: refused at RCPT whatever the size.
        t.cli_ok("user", "quota", BOB, str(used(t, BOB)))
        code, text = self.send(BOB, b"")
        self.assertEqual((code, text[:5]), (552, b"5.2.2"), text)
        # Raised again (0: none), the same message goes through.
        t.cli_ok("user", "quota", BOB, "0")
        self.assertEqual(self.send(BOB, message(unique("free"), 12000))[0], 250)
        t.wait_for_messages(BOB, 3)

    def test_alias_with_a_full_member_reaches_the_others(self):
        t = self.t
        t.cli_ok("alias", "add", "team@tern.test", BOB, CAROL)
        t.cli_ok("user", "quota", BOB, "1000")
        subject = unique("team")
        # One recipient, two mailboxes: accepted (Carol has room), Bob's copy bounces.
        self.assertEqual(self.send("team@tern.test", message(subject, 3000))[0], 250)
        self.assertEqual([m["subject"] for m in t.wait_for_messages(CAROL, 1)], [subject])
        t.wait_for_log(f"not delivered to {BOB}: 552 5.2.2")
        self.assertEqual(t.message_list(BOB), [])
        t.wait_for_messages(ALICE, 1)  # the DSN for Bob's copy


class DefaultQuotaTests(TernTestCase):
    def test_limits_mailbox_quota_unless_the_user_has_their_own(self):
        t = self.make_server(users=(BOB, CAROL, ALICE), limits={"mailbox_quota": 5000})
        t.cli_ok("user", "quota", CAROL, "0")  # none for Carol
        send = QuotaTests.send.__get__(self)
        self.t = t
        code, text = send(BOB, b"", size=6000)
        self.assertEqual((code, text[:5]), (552, b"5.2.2"), text)
        self.assertEqual(send(CAROL, message(unique("big"), 6000))[0], 250)
        t.wait_for_messages(CAROL, 1)
        self.assertEqual(send(BOB, message(unique("fits"), 2000))[0], 250)
        t.wait_for_messages(BOB, 1)


if __name__ == "__main__":
    main()
