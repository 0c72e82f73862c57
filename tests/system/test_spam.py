"""The spam stage end to end: mail over SMTP from loopback clients (127.0.0.1, and 127.0.0.2/.3 as
listed clients), DNS lists served by zonedns on loopback, the verdicts read back from the mailbox.

DNS lists: the client 127.0.0.2 is listed (2.0.0.127.bl.test answers 127.0.0.2, the list's weight
for that code), 127.0.0.3 answers a low-weight code. A listed client's mail lands in Junk with
X-Spam-Flag: YES and X-Spam-Status naming the rule; above reject_score it is refused with 550 5.7.1,
except to postmaster@, which takes it (into Junk). The allow list beats the score; the deny list
refuses at RCPT, except for postmaster@ and abuse@. A domain's own thresholds apply. X-Spam-* fields a
sender writes are removed. An authenticated user's mail gets no fields and no Junk, and is refused
only at reject_score. Content rules (an executable attachment) score on their own.

Run with Debian's python3 (the CMake test does)."""

import contextlib
import glob
import os
import smtplib
import sqlite3
import time

from harness import HOST, PASSWORD, WAIT, TernTestCase, main, make_message, split_trace, unique
from zonedns import ZoneServer

ZONE = {
    "2.0.0.127.bl.test": [("A", "127.0.0.2")],
    "3.0.0.127.bl.test": [("A", "127.0.0.4")],
    "spammy.test.dbl.test": [("A", "127.0.1.2")],
    "friend.test": [("TXT", "v=spf1 ip4:127.0.0.1 -all")],
}


def exe_attachment(sender, rcpt, subject):
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nPlease see the invoice.\r\n"
            b"--b\r\nContent-Type: application/octet-stream; name=\"invoice.pdf.exe\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n")
    return make_message(sender, rcpt, subject, body,
                        extra_headers=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n")


class DnsListCase(TernTestCase):
    """A server whose [dns] is a zonedns on loopback with the lists of ZONE."""

    def setUp(self):
        self.dns = ZoneServer(ZONE)
        self.addCleanup(self.dns.stop)

    def server_with(self, spam="", users=("bob@tern.test",), **kw):
        extra = (f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n\n[spam]\n{spam}\n'
                 '[[spam.dnsbl]]\nzone = "bl.test"\nweight = 1.0\ncodes = { "127.0.0.2" = 6.0, "127.0.0.4" = 0.5 }\n'
                 '[[spam.dnsbl]]\nzone = "dbl.test"\ntype = "domain"\nweight = 2.0\n')
        return self.make_server(users=users, extra_toml=extra, **kw)

    def send(self, server, source="127.0.0.1", sender="news@sender.test", rcpts=("bob@tern.test",), msg=None,
             subject=None):
        """(code, text) of the end of data, or of the first refused RCPT."""
        subject = subject or unique("spam")
        msg = msg or make_message(sender, rcpts[0], subject)
        with smtplib.SMTP(HOST, server.ports["smtp"], source_address=(source, 0)) as s:
            s.ehlo("client.example.test")
            s.mail(sender)
            for r in rcpts:
                code, text = s.rcpt(r)
                if code != 250:
                    return code, text
            return s.data(msg)

    def newest(self, server, folder="INBOX", address="bob@tern.test", n=1):
        msgs = server.wait_for_messages(address, n, folder=folder)
        m = max(msgs, key=lambda m: m["uid"])
        trace, _ = split_trace(server.message_bytes(address, m["uid"], folder))
        return trace.decode()


class SpamTest(DnsListCase):
    def test_dns_lists_score_into_junk_and_codes_weigh(self):
        server = self.server_with()
        code, _ = self.send(server)  # 127.0.0.1 is not listed
        self.assertEqual(code, 250)
        trace = self.newest(server)
        self.assertIn("X-Spam-Status: No, score=", trace)
        self.assertNotIn("X-Spam-Flag", trace)

        code, _ = self.send(server, source="127.0.0.2")
        self.assertEqual(code, 250)
        trace = self.newest(server, "Junk")
        self.assertIn("X-Spam-Flag: YES", trace)
        self.assertIn("X-Spam-Status: Yes, score=", trace)
        self.assertIn("RBL_BL_TEST=6.0", trace)
        self.assertEqual(len(server.message_list("bob@tern.test")), 1)  # still one in INBOX
        server.wait_for_log("verdict=junk")

        code, _ = self.send(server, source="127.0.0.3")  # 127.0.0.4: the code weighs 0.5
        self.assertEqual(code, 250)
        self.assertIn("RBL_BL_TEST=0.5", self.newest(server, n=2))

        # A domain list: the sender's domain is listed.
        code, _ = self.send(server, sender="x@spammy.test")
        self.assertEqual(code, 250)
        self.assertIn("DBL_DBL_TEST=2.0", self.newest(server, n=3))

    def test_trusted_relays_judge_the_client_they_name(self):
        # 127.0.0.1 and 10/8 are this site's relays: the client judged is the first address of the
        # Received fields outside them (127.0.0.2: listed, no reverse name, a HELO without a dot).
        server = self.server_with('trusted_relays = ["127.0.0.1", "10.0.0.0/8"]')
        fields = (b"Received: from gw.internal (gw.internal [10.1.2.3]) by mx.tern.test (Postfix) with ESMTP id A1;"
                  b" Fri, 4 Dec 2026 10:00:01 +0000\r\n"
                  b"Received: from PC1 (unknown [127.0.0.2]) by gw.internal (Postfix) with SMTP id B2;"
                  b" Fri, 4 Dec 2026 10:00:00 +0000\r\n")
        subject = unique("relayed")
        code, _ = self.send(server, msg=fields + make_message("news@sender.test", "bob@tern.test", subject))
        self.assertEqual(code, 250)
        trace = self.newest(server, "Junk")
        for rule in ("RBL_BL_TEST=6.0", "RDNS_NONE=1.0", "HELO_NOT_FQDN=1.0"):
            self.assertIn(rule, trace)
        server.wait_for_log("RBL_BL_TEST(6.0) 127.0.0.2 via Received from 127.0.0.2")
        # Fields only this site's relays wrote, or one that cannot be read: nobody to judge.
        for top in (b"Received: from gw.internal (gw.internal [10.1.2.3]) by mx.tern.test (Postfix); Fri, 4 Dec 2026 10:00:01 +0000\r\n",
                    b"Received: (qmail 5390 invoked by uid 0); 9 Sep 2002 10:11:56 -0000\r\n" + fields):
            code, _ = self.send(server, msg=top + make_message("news@sender.test", "bob@tern.test", unique("ours")))
            self.assertEqual(code, 250)
        msgs = server.wait_for_messages("bob@tern.test", 2)
        for m in msgs:
            trace, _ = split_trace(server.message_bytes("bob@tern.test", m["uid"]))
            self.assertNotIn(b"RBL_", trace)
            self.assertNotIn(b"RDNS_NONE", trace)

        # Without trusted_relays the connected client (127.0.0.1, not listed) is judged, not the fields.
        plain = self.server_with()
        code, _ = self.send(plain, msg=fields + make_message("news@sender.test", "bob@tern.test", unique("direct")))
        self.assertEqual(code, 250)
        self.assertNotIn("RBL_BL_TEST", self.newest(plain))

    def test_reject_score_refuses_except_postmaster(self):
        server = self.server_with("reject_score = 6.0\n", users=("bob@tern.test", "postmaster@tern.test"))
        code, text = self.send(server, source="127.0.0.2")
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.1", text)
        self.assertEqual(server.message_list("bob@tern.test"), [])
        server.wait_for_log("NOQUEUE: reject: DATA from 127.0.0.2: 550 5.7.1 Message refused as spam (score 7.0); "
                            "from=<news@sender.test> to=<bob@tern.test>")
        self.assertIn("no folder Junk", server.cli("message", "list", "bob@tern.test", "--folder", "Junk").stderr)
        code, _ = self.send(server, source="127.0.0.2", rcpts=("postmaster@tern.test",))
        self.assertEqual(code, 250)
        self.assertIn("X-Spam-Flag: YES", self.newest(server, "Junk", "postmaster@tern.test"))

    def test_contract_filter_table(self):
        """CONTRACT.md's [filter] form: a plain dnsbl zone is a block list (a listing weighs the reject
        threshold), and spam_threshold/reject_threshold are the junk and reject scores."""
        extra = (f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n\n'
                 '[filter]\ndnsbl = ["bl.test"]\nspam_threshold = 0.5\nreject_threshold = 12.0\n')
        server = self.make_server(users=("bob@tern.test",), extra_toml=extra)
        code, text = self.send(server, source="127.0.0.2")  # listed: 12.0 plus no reverse DNS
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.1", text)
        code, _ = self.send(server)  # unlisted, but over the low spam threshold (no reverse DNS)
        self.assertEqual(code, 250)
        self.assertIn("X-Spam-Status: Yes, score=1.0 required=0.5", self.newest(server, "Junk"))

    def test_allow_list_beats_the_score_and_deny_list_refuses_at_rcpt(self):
        server = self.server_with('allow = ["127.0.0.2", "*@friend.test"]\ndeny = ["127.0.0.3/32", "bad.test"]\n',
                                  users=("bob@tern.test", "abuse@tern.test"))
        code, _ = self.send(server, source="127.0.0.2")
        self.assertEqual(code, 250)
        self.assertIn("tests=ALLOWLISTED", self.newest(server))
        server.wait_for_log("allow list: 127.0.0.2")

        code, text = self.send(server, source="127.0.0.3")
        self.assertEqual(code, 554, text)
        self.assertIn(b"5.7.1", text)
        code, text = self.send(server, sender="someone@bad.test")
        self.assertEqual(code, 554, text)
        code, _ = self.send(server, source="127.0.0.3", rcpts=("abuse@tern.test",))
        self.assertEqual(code, 250)  # abuse@ takes mail from anyone
        server.wait_for_messages("abuse@tern.test", 1)

    def test_domain_threshold_and_forged_fields_removed(self):
        server = self.server_with('[[spam.threshold]]\nmatch = "tern.test"\njunk_score = 10.0\nreject_score = 20.0\n')
        msg = make_message("news@sender.test", "bob@tern.test", unique("forged"),
                           extra_headers=b"X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99\r\n")
        code, _ = self.send(server, source="127.0.0.2", msg=msg)
        self.assertEqual(code, 250)
        stored = self.newest(server)  # 7.0 (the list, no reverse DNS) is under tern.test's 10.0: INBOX
        self.assertIn("X-Spam-Status: No, score=7.0 required=10.0\r\n\ttests=RBL_BL_TEST=6.0,RDNS_NONE=1.0", stored)
        uid = server.message_list("bob@tern.test")[0]["uid"]
        whole = server.message_bytes("bob@tern.test", uid)
        self.assertNotIn(b"score=99", whole)
        self.assertNotIn(b"X-Spam-Flag", whole)

    def test_content_rules_and_authenticated_users(self):
        server = self.server_with("reject_score = 7.0\n", users=("bob@tern.test", "alice@tern.test"),
                                  allow_plaintext=True)
        code, _ = self.send(server, msg=exe_attachment("news@sender.test", "bob@tern.test", unique("exe")))
        self.assertEqual(code, 550)  # EXECUTABLE_ATTACHMENT 5.0 + DOUBLE_EXTENSION 3.0

        # Authenticated: scored, never junked or given fields; refused at reject_score.
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            subject = unique("sub")
            s.sendmail("alice@tern.test", ["bob@tern.test"], make_message("alice@tern.test", "bob@tern.test", subject))
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("alice@tern.test", ["bob@tern.test"],
                           exe_attachment("alice@tern.test", "bob@tern.test", unique("exe")))
            self.assertEqual(e.exception.smtp_code, 550)
        trace = self.newest(server)
        self.assertNotIn("X-Spam", trace)

    def test_an_authenticated_users_recipients_are_limited_per_hour(self):
        server = self.server_with(users=("bob@tern.test", "alice@tern.test"), allow_plaintext=True,
                                  limits={"user_recipients_per_hour": 3})
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            s.mail("alice@tern.test")
            for _ in range(3):
                self.assertEqual(s.rcpt("bob@tern.test")[0], 250)
            code, text = s.rcpt("bob@tern.test")
            self.assertEqual(code, 450, text)
            self.assertIn(b"4.7.1 Too many recipients from alice@tern.test this hour", text)
            s.rset()
            s.mail("alice@tern.test")
            self.assertEqual(s.rcpt("bob@tern.test")[0], 450)  # still this hour
        server.wait_for_log("alice@tern.test reached 3 recipients this hour")
        self.assertEqual(self.send(server)[0], 250)  # mail from outside is not counted


HAM_WORDS = ("meeting project schedule budget review quarterly report draft agenda minutes colleague team "
             "deadline invoice attached thanks regards tomorrow afternoon lunch conference slides figures "
             "customer contract proposal update").split()
SPAM_WORDS = ("viagra cheap pills casino winner lottery bitcoin prize claim urgent unsubscribe offer discount "
              "pharmacy replica watches bonus jackpot guaranteed income miracle weight loss exclusive limited").split()


def wordy(words, seed, n=40):
    import random
    r = random.Random(seed)
    return (" ".join(r.choice(words) for _ in range(n)) + "\r\n").encode()


class ReputationTest(DnsListCase):
    """A sender's reputation with a user: whom the user wrote to (submission), and whose mail the user
    learnt as spam. A good reputation counts only for a From address that authentication vouches for
    (here SPF pass for the same domain)."""

    def sent_count(self, server, user, address, kind="sent"):
        found = glob.glob(os.path.join(server.data, "mail", "boxes", "**", "spam.db"), recursive=True)
        if not found:
            return 0
        path = found[0]
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                row = db.execute("SELECT ham FROM tokens WHERE token = ?", (f"r:{kind}:" + address,)).fetchone()
        except sqlite3.OperationalError:  # being made right now
            return 0
        return row[0] if row else 0

    def test_correspondents_and_learnt_senders(self):
        server = self.server_with(users=("bob@tern.test",), allow_plaintext=True)
        self.send(server)  # bob's mailslot folder, where his own classifier file goes, exists from now on
        server.wait_for_messages("bob@tern.test", 1)
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("bob@tern.test", PASSWORD)
            s.sendmail("bob@tern.test", ["Friend@friend.test"], make_message("bob@tern.test", "friend@friend.test", "hi"))
        deadline = time.monotonic() + WAIT
        while self.sent_count(server, "bob@tern.test", "friend@friend.test") < 1:
            self.assertLess(time.monotonic(), deadline, "the correspondent was never recorded")
            time.sleep(0.05)

        # The reply: SPF vouches for friend.test, so the correspondent counts.
        code, _ = self.send(server, sender="friend@friend.test",
                            msg=make_message("friend@friend.test", "bob@tern.test", unique("reply")))
        self.assertEqual(code, 250)
        self.assertIn("KNOWN_CORRESPONDENT=-3.0", self.newest(server, n=2))
        # The same From written by someone else: nothing vouches for it, no credit.
        code, _ = self.send(server, sender="someone@elsewhere.test",
                            msg=make_message("friend@friend.test", "bob@tern.test", unique("forged")))
        self.assertEqual(code, 250)
        self.assertNotIn("KNOWN_CORRESPONDENT", self.newest(server, n=3))

    def test_mail_delivered_into_the_inbox(self):
        """Three messages from a vouched-for sender in the INBOX earn SENDER_REP_INBOX; the same From
        written by someone else earns nothing; once one of its messages is learnt as spam, no more."""
        server = self.server_with(users=("bob@tern.test",))
        self.send(server)  # bob's mailslot folder exists from now on
        server.wait_for_messages("bob@tern.test", 1)
        for i in range(3):
            code, _ = self.send(server, sender="news@friend.test",
                                msg=make_message("news@friend.test", "bob@tern.test", unique("n")))
            self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 4)
        deadline = time.monotonic() + WAIT
        while self.sent_count(server, "bob@tern.test", "news@friend.test", "inbox") < 3:
            self.assertLess(time.monotonic(), deadline, "the deliveries were never recorded")
            time.sleep(0.05)
        self.assertNotIn("SENDER_REP_INBOX", self.newest(server, n=4))  # the third counted after it
        code, _ = self.send(server, sender="news@friend.test",
                            msg=make_message("news@friend.test", "bob@tern.test", unique("n")))
        self.assertIn("SENDER_REP_INBOX=-1.0", self.newest(server, n=5))
        code, _ = self.send(server, sender="someone@elsewhere.test",
                            msg=make_message("news@friend.test", "bob@tern.test", unique("forged")))
        self.assertNotIn("SENDER_REP_INBOX", self.newest(server, n=6))
        # Bob moves its mail to Junk (here: learns the INBOX as spam): deliveries count for nothing now.
        server.cli_ok("spam", "train", "bob@tern.test", "INBOX", "--spam")
        code, _ = self.send(server, sender="news@friend.test",
                            msg=make_message("news@friend.test", "bob@tern.test", unique("n")))
        self.assertNotIn("SENDER_REP_INBOX", self.newest(server, n=7))

    def test_a_sender_learnt_as_spam(self):
        server = self.server_with(users=("bob@tern.test",))
        for i in range(2):
            self.send(server, sender="pest@pest.test", msg=make_message("pest@pest.test", "bob@tern.test", unique("p")))
        server.wait_for_messages("bob@tern.test", 2)
        server.cli_ok("spam", "train", "bob@tern.test", "INBOX", "--spam")
        self.send(server, sender="pest@pest.test", msg=make_message("pest@pest.test", "bob@tern.test", unique("p")))
        self.assertIn("SENDER_REP_SPAM=3.0", self.newest(server, n=3))


class TrainingTest(TernTestCase):
    """A user trains the classifier by moving mail over IMAP: 12 messages moved into Junk (after 12 of
    INBOX learnt as ham with `tern spam train`), then a similar new message lands in Junk (BAYES_99);
    moved back out, it is learnt as ham; the training survives a restart."""

    def setUp(self):
        self.server = self.make_server(users=("bob@tern.test",), allow_plaintext=True,
                                       services=("smtp", "imap"),
                                       extra_toml="[spam]\nclassifier_min_samples = 10\n")

    def deliver(self, words, seed, subject=None):
        subject = subject or unique("t")
        msg = make_message("news@sender.test", "bob@tern.test", subject, body=wordy(words, seed))
        with smtplib.SMTP(HOST, self.server.ports["smtp"]) as s:
            s.sendmail("news@sender.test", ["bob@tern.test"], msg)
        return subject

    def stats(self):
        import json
        return json.loads(self.server.cli_ok("spam", "stats", "bob@tern.test", "--json").stdout)

    def imap(self):
        import imaplib
        c = imaplib.IMAP4(HOST, self.server.ports["imap"])
        c.login("bob@tern.test", PASSWORD)
        return c

    def test_moves_into_and_out_of_junk_train_the_classifier(self):
        for i in range(12):
            self.deliver(HAM_WORDS, f"ham{i}")
        self.server.wait_for_messages("bob@tern.test", 12)
        out = self.server.cli_ok("spam", "train", "bob@tern.test", "INBOX", "--ham").stdout
        self.assertIn("learnt 12 message(s)", out)
        again = self.server.cli_ok("spam", "train", "bob@tern.test", "INBOX", "--ham").stdout
        self.assertIn("learnt 0 message(s) of bob@tern.test INBOX as ham (12 already were)", again)

        spam_subjects = {self.deliver(SPAM_WORDS, f"spam{i}") for i in range(12)}
        self.server.wait_for_messages("bob@tern.test", 24)
        c = self.imap()
        c.select("INBOX")
        uids = [m["uid"] for m in self.server.message_list("bob@tern.test") if m["subject"] in spam_subjects]
        self.assertEqual(len(uids), 12)
        typ, _ = c.uid("MOVE", ",".join(map(str, uids)), "Junk")
        self.assertEqual(typ, "OK")
        self.server.wait_for_log("trained 12 message(s) as spam (INBOX -> Junk)")
        st = self.stats()
        self.assertEqual((st["user"]["spam"], st["user"]["ham"]), (12, 12))
        self.assertEqual((st["shared"]["spam"], st["shared"]["ham"]), (12, 12))

        # A similar new message: the classifier alone puts it into Junk.
        self.deliver(SPAM_WORDS, "new-spam")
        msgs = self.server.wait_for_messages("bob@tern.test", 13, folder="Junk")
        newest = max(msgs, key=lambda m: m["uid"])
        stored = self.server.message_bytes("bob@tern.test", newest["uid"], "Junk")
        self.assertIn(b"BAYES_99=6.0", stored)
        self.assertIn(b"X-Spam-Flag: YES", stored)
        # And a wanted one stays in INBOX, pushed further from Junk.
        ham_subject = self.deliver(HAM_WORDS, "new-ham")
        self.server.wait_for_messages("bob@tern.test", 13)
        m = [m for m in self.server.message_list("bob@tern.test") if m["subject"] == ham_subject][0]
        self.assertIn(b"BAYES_00=-3.0", self.server.message_bytes("bob@tern.test", m["uid"]))

        # The user disagrees about the new one: moved out of Junk, it is learnt as ham.
        c.select("Junk")
        typ, _ = c.uid("MOVE", str(newest["uid"]), "INBOX")
        self.assertEqual(typ, "OK")
        self.server.wait_for_log("trained 1 message(s) as ham (Junk -> INBOX)")
        self.assertEqual(self.stats()["user"]["ham"], 13)
        c.logout()

        # The training is on disk: after a restart, spam still lands in Junk.
        self.server.stop()
        self.server.start()
        self.deliver(SPAM_WORDS, "after-restart")
        self.server.wait_for_messages("bob@tern.test", 13, folder="Junk")

    def test_killed_while_learning_loses_nothing_and_corrupts_nothing(self):
        """SIGKILL inside the learning transaction (fault point spam.learn_before_commit), which comes
        before the move: after a restart nothing is learnt, the message is still in INBOX, the files
        read back; the same MOVE again learns it and moves it."""
        subject = self.deliver(SPAM_WORDS, "crash")
        self.server.wait_for_messages("bob@tern.test", 1)
        self.server.stop()
        self.server.start(fault="spam.learn_before_commit")
        c = self.imap()
        c.select("INBOX")
        uid = self.server.message_list("bob@tern.test")[0]["uid"]
        with self.assertRaises(Exception):  # the server dies under the command
            c.uid("MOVE", str(uid), "Junk")
        self.server.wait_exit()
        self.server.start()
        st = self.stats()
        self.assertEqual((st["user"]["spam"], st["shared"]["spam"]), (0, 0))
        self.assertEqual([m["subject"] for m in self.server.message_list("bob@tern.test")], [subject])
        c = self.imap()
        c.select("INBOX")
        typ, _ = c.uid("MOVE", str(uid), "Junk")
        self.assertEqual(typ, "OK")
        c.logout()
        st = self.stats()
        self.assertEqual((st["user"]["spam"], st["shared"]["spam"]), (1, 1))
        self.assertEqual(len(self.server.message_list("bob@tern.test", "Junk")), 1)
        self.assertCheckClean(self.server)


if __name__ == "__main__":
    main()
