"""Greylisting end to end ([filter] greylisting, [greylist]; docs/spam.md "Greylisting"): mail over
SMTP from loopback clients with smtplib and swaks.

What a sending MTA sees: the first RCPT of an unknown (client network, sender, recipient) gets
`450 4.7.1 ... Greylisted, try again in N seconds`; a retry before the delay gets the same; a retry
after it gets 250 and the message is delivered; later messages of the triplet pass at once. After
[greylist] auto_allow messages that passed from one client network and sender domain, new triplets of
that pair pass at once. Never greylisted: authenticated users, postmaster@ and abuse@, [spam] allow,
a client with forward-confirmed reverse DNS and SPF pass. Triplets survive a restart and a SIGKILL in
the middle of a write (TERN_FAULT greylist.before_commit / greylist.after_commit); the database is
intact afterwards (SQLite's integrity_check).

The retries poll until the delay has passed (a clock condition, bounded by WAIT), never a fixed sleep
for readiness. Run with Debian's python3 (the CMake test does)."""

import os
import smtplib
import sqlite3
import subprocess
import time

from harness import HOST, PASSWORD, WAIT, TernTestCase, main, make_message, unique
from zonedns import ZoneServer

BOB = "bob@tern.test"
SENDER = "news@shop.test"


def greylist_toml(delay="1s", auto_allow=5, skip_if=None, extra=""):
    text = f'[filter]\ngreylisting = true\n\n[greylist]\ndelay = "{delay}"\nauto_allow = {auto_allow}\n'
    if skip_if is not None:
        text += "skip_if = [" + ", ".join(f'"{s}"' for s in skip_if) + "]\n"
    return text + extra


def rcpt(server, rcpt_to=BOB, sender=SENDER, source="127.0.0.1"):
    """(code, text) of RCPT TO in a new session (after MAIL FROM)."""
    with smtplib.SMTP(HOST, server.ports["smtp"], source_address=(source, 0)) as s:
        s.ehlo("client.shop.test")
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        return s.rcpt(rcpt_to)


def send(server, rcpt_to=BOB, sender=SENDER, source="127.0.0.1"):
    """Sends one message; returns (code, text) of the first refused RCPT, or of the end of data."""
    subject = unique("grey")
    with smtplib.SMTP(HOST, server.ports["smtp"], source_address=(source, 0)) as s:
        s.ehlo("client.shop.test")
        s.mail(sender)
        code, text = s.rcpt(rcpt_to)
        if code != 250:
            return code, text
        return s.data(make_message(sender, rcpt_to, subject))


def retry_until_accepted(test, server, **kw):
    """Sends the message again (as an MTA's queue does) until it is accepted; returns how many tries were
    deferred first. Bounded by WAIT."""
    deferred = 0
    deadline = time.monotonic() + WAIT
    while True:
        code, text = send(server, **kw)
        if code == 250:
            return deferred
        test.assertEqual(code, 450, text)
        test.assertIn(b"4.7.1", text)
        deferred += 1
        if time.monotonic() > deadline:
            test.fail(f"still greylisted after {WAIT}s: {text!r}")
        time.sleep(0.1)


def integrity(server):
    with sqlite3.connect(os.path.join(server.data, "greylist.db")) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def triplets(server):
    with sqlite3.connect(os.path.join(server.data, "greylist.db")) as db:
        return dict(db.execute("SELECT key, passed FROM triplet").fetchall())


class GreylistTest(TernTestCase):
    def test_first_try_is_deferred_then_a_retry_after_the_delay_passes(self):
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="1s"))
        code, text = rcpt(server)
        self.assertEqual(code, 450, text)
        self.assertEqual(text, b"4.7.1 <bob@tern.test>: Greylisted, try again in 1 seconds")
        server.wait_for_log("greylist: deferred 127.0.0.0/24/news@shop.test/bob@tern.test for 1 s")
        self.assertEqual(server.message_list(BOB), [])
        retry_until_accepted(self, server)
        server.wait_for_log("greylist: passed 127.0.0.0/24/news@shop.test/bob@tern.test after")
        server.wait_for_messages(BOB, 1)
        # The triplet passes from now on, at once (addresses compare without case).
        self.assertEqual(send(server)[0], 250)
        self.assertEqual(send(server, sender="News@Shop.test", rcpt_to="Bob@tern.test")[0], 250)
        self.assertEqual(triplets(server), {"127.0.0.0/24/news@shop.test/bob@tern.test": 1})

    def test_a_retry_before_the_delay_is_deferred_for_the_rest_of_it(self):
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="10m"))
        self.assertEqual(rcpt(server), (450, b"4.7.1 <bob@tern.test>: Greylisted, try again in 600 seconds"))
        code, text = rcpt(server)
        self.assertEqual(code, 450)
        waited = int(text.split()[-2])
        self.assertTrue(0 < waited <= 600, text)
        # Another sender, recipient or client network is another triplet.
        self.assertEqual(rcpt(server, sender="other@shop.test")[0], 450)
        self.assertEqual(len(triplets(server)), 2)

    def test_swaks_sees_the_deferral(self):
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="10m"))
        r = subprocess.run(["swaks", "--server", HOST, "--port", str(server.ports["smtp"]), "--from", SENDER,
                            "--to", BOB, "--helo", "client.shop.test", "--timeout", "30"],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("<** 450 4.7.1 <bob@tern.test>: Greylisted, try again in 600 seconds", r.stdout)
        self.assertNotEqual(r.returncode, 0)

    def test_auto_allow_after_passed_messages_from_the_network_and_domain(self):
        users = (BOB, "carol@tern.test", "dave@tern.test")
        server = self.make_server(users=users, extra_toml=greylist_toml(delay="1s", auto_allow=2))
        for user in users[:2]:
            self.assertEqual(send(server, rcpt_to=user)[0], 450)
            retry_until_accepted(self, server, rcpt_to=user)
        # Two messages passed from 127.0.0.0/24 with senders at shop.test: a new recipient passes at once.
        self.assertEqual(send(server, rcpt_to="dave@tern.test")[0], 250)
        self.assertEqual(send(server, rcpt_to="dave@tern.test", sender="someone-else@shop.test")[0], 250)
        server.wait_for_log("greylist: not greylisted: auto-allowed 127.0.0.0/24/shop.test")
        # Another domain from the same network is still unknown.
        self.assertEqual(send(server, rcpt_to="dave@tern.test", sender="x@elsewhere.test")[0], 450)
        server.wait_for_messages("dave@tern.test", 2)

    def test_never_for_authenticated_users_postmaster_or_the_allow_list(self):
        server = self.make_server(users=(BOB, "alice@tern.test", "postmaster@tern.test"), allow_plaintext=True,
                                  extra_toml=greylist_toml(delay="10m", extra='\n[spam]\nallow = ["*@friend.test"]\n'))
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            refused = s.sendmail("alice@tern.test", [BOB], make_message("alice@tern.test", BOB, unique("auth")))
            self.assertEqual(refused, {})
        # Authenticated on the MX listener too (a client that logs in on port 25).
        with smtplib.SMTP(HOST, server.ports["smtp"]) as s:
            s.login("alice@tern.test", PASSWORD)
            self.assertEqual(s.sendmail("alice@tern.test", [BOB], make_message("alice@tern.test", BOB, unique("a"))), {})
        self.assertEqual(send(server, rcpt_to="postmaster@tern.test")[0], 250)
        self.assertEqual(send(server, rcpt_to="abuse@tern.test")[0], 550)  # no such mailbox: not greylisting's 450
        self.assertEqual(send(server, sender="boss@friend.test")[0], 250)
        server.wait_for_log("greylist: not greylisted: allow list: *@friend.test")
        self.assertEqual(send(server)[0], 450)  # the rest is greylisted
        server.wait_for_messages(BOB, 3)
        self.assertEqual(len(triplets(server)), 1)

    def test_a_verified_sender_is_not_greylisted_unless_skip_if_is_empty(self):
        dns = ZoneServer({
            "1.0.0.127.in-addr.arpa": [("PTR", "client.shop.test")],
            "client.shop.test": [("A", "127.0.0.1")],
            "shop.test": [("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
            "2.0.0.127.in-addr.arpa": [("PTR", "liar.shop.test")],
            "liar.shop.test": [("A", "192.0.2.1")],
        })
        self.addCleanup(dns.stop)
        dns_toml = f'\n[dns]\nservers = ["127.0.0.1:{dns.port}"]\n'
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="10m", extra=dns_toml))
        self.assertEqual(send(server)[0], 250)  # forward-confirmed reverse DNS and SPF pass
        server.wait_for_log("greylist: not greylisted: verified: spf=pass fcrdns=client.shop.test")
        self.assertEqual(send(server, source="127.0.0.2")[0], 450)  # SPF passes, reverse DNS not confirmed
        self.assertEqual(send(server, sender="x@unknown.test")[0], 450)  # confirmed, no SPF

        strict = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="10m", skip_if=[], extra=dns_toml))
        self.assertEqual(send(strict)[0], 450)

    def test_off_by_default(self):
        server = self.make_server(users=(BOB,))
        self.assertEqual(send(server)[0], 250)
        self.assertFalse(os.path.exists(os.path.join(server.data, "greylist.db")))

    def test_a_restart_keeps_the_triplets(self):
        server = self.make_server(users=(BOB, "carol@tern.test"), extra_toml=greylist_toml(delay="1s"))
        first_try = time.monotonic()
        self.assertEqual(rcpt(server)[0], 450)
        self.assertEqual(rcpt(server, rcpt_to="carol@tern.test")[0], 450)
        retry_until_accepted(self, server, rcpt_to="carol@tern.test")
        self.assertEqual(server.stop(), 0)
        while time.monotonic() < first_try + 1.5:  # the delay of bob's triplet, counted from its first try
            time.sleep(0.05)
        server.start()
        # Each on its first try after the restart: a lost triplet would be deferred again.
        self.assertEqual(send(server)[0], 250)
        self.assertEqual(send(server, rcpt_to="carol@tern.test")[0], 250)
        self.assertEqual(integrity(server), "ok")
        self.assertCheckClean(server)


class GreylistCrashTest(TernTestCase):
    """SIGKILL inside a greylist write: the database opens afterwards, intact, and holds exactly what
    was committed."""

    def crash_at(self, point):
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="1s"), start=False)
        server.start(fault=point)
        first_try = time.monotonic()
        with self.assertRaises((smtplib.SMTPServerDisconnected, ConnectionError)):
            rcpt(server)
        self.assertEqual(server.wait_exit(), -9)
        self.assertIn(f"fault injection: SIGKILL at {point}", server.log())
        self.assertEqual(integrity(server), "ok")
        while time.monotonic() < first_try + 1.5:  # past the triplet's delay
            time.sleep(0.05)
        server.start()
        return server

    def test_killed_before_the_commit_the_triplet_is_not_there(self):
        server = self.crash_at("greylist.before_commit")
        self.assertEqual(triplets(server), {})
        self.assertEqual(send(server)[0], 450)  # a first try again
        retry_until_accepted(self, server)
        self.assertFalse(os.path.exists(os.path.join(server.data, "mail", "lost+found", "greylist.db")))
        self.assertEqual(integrity(server), "ok")

    def test_killed_after_the_commit_the_triplet_is_kept(self):
        server = self.crash_at("greylist.after_commit")
        self.assertEqual(send(server)[0], 250)  # the retry after the delay passes on its first try
        server.wait_for_messages(BOB, 1)
        self.assertEqual(integrity(server), "ok")
        self.assertCheckClean(server)

    def test_a_damaged_database_is_set_aside(self):
        server = self.make_server(users=(BOB,), extra_toml=greylist_toml(delay="10m"), start=False)
        with open(os.path.join(server.data, "greylist.db"), "wb") as f:
            f.write(b"not a database" * 1000)
        server.start()
        self.assertEqual(send(server)[0], 450)
        server.wait_for_log("greylist.db was damaged")
        lost = os.path.join(server.data, "mail", "lost+found")
        self.assertIn("greylist.db.why", os.listdir(lost))
        with open(os.path.join(lost, "greylist.db"), "rb") as f:
            self.assertTrue(f.read().startswith(b"not a database"))  # set aside, never deleted
        self.assertEqual(integrity(server), "ok")


if __name__ == "__main__":
    main()
