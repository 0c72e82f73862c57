"""Never lose what was acknowledged, whatever happens to the data directory behind Tern's back.

- A missing, empty or garbled tern.db is never silently re-created: the server and every command
  refuse to go on when the data directory holds mail, `tern check` reports it, and `tern check
  --repair` restores it from tern.db.bak (written after every change).
- A message file truncated or changed on disk is noticed by `tern check` (size and checksum kept in
  the index), POP3 never sends other bytes than the size it announced, and --repair indexes the file
  again under a new UID. A queue file damaged at the same size is caught by its CHECKSUM: line.
- Everything in the data directory is private to Tern's user.
- Folder names on disk that are not valid encodings never break a mailbox or `tern check`.
"""

import os
import poplib
import smtplib
import stat

from harness import (DOMAIN, HOST, PASSWORD, TernTestCase, main, make_message, unique)

BOB = f"bob@{DOMAIN}"
SENDER = "sender@remote.test"


def smtp(port):
    return smtplib.SMTP(HOST, port, timeout=30)


class DirectoryDatabaseTests(TernTestCase):
    def deliver(self, t, subject):
        msg = make_message(SENDER, BOB, subject)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        self.assertStored(t, BOB, subject, msg, SENDER)

    def db(self, t):
        return os.path.join(t.data, "tern.db")

    def remove_db(self, t):
        for ext in ("", "-wal", "-shm"):
            if os.path.exists(self.db(t) + ext):
                os.remove(self.db(t) + ext)

    def assertRefusedEverywhere(self, t, what, why):
        """serve, a CLI command and check all refuse, and none of them makes a tern.db."""
        before = os.path.exists(self.db(t)) and os.path.getsize(self.db(t))
        r = t.cli("serve")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(why, r.stderr)
        self.assertIn("holds mail", r.stderr)
        self.assertIn("tern check --repair", r.stderr)
        r = t.cli("user", "list")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("holds mail", r.stderr)
        r = t.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"problem: tern.db: {what}", r.stdout)
        self.assertIn("tern check --repair restores it from tern.db.bak", r.stdout)
        # Still exactly as it was: nothing re-created an empty directory.
        self.assertEqual(os.path.exists(self.db(t)) and os.path.getsize(self.db(t)), before)

    def repair_and_serve(self, t, first_subject):
        r = t.cli("check", "--repair")
        self.assertIn("restored tern.db from tern.db.bak", r.stdout, r.stdout + r.stderr)
        self.assertIn("1 mailslot(s)", r.stdout)
        self.assertCheckClean(t)
        t.start()
        self.assertEqual([m["subject"] for m in t.message_list(BOB)], [first_subject])
        self.deliver(t, unique("after-restore"))  # RCPT to the local user is accepted again
        self.assertEqual(len(t.message_list(BOB)), 2)

    def test_missing_directory_database_refused_then_restored(self):
        t = self.make_server(users=(BOB,))
        first = unique("before-loss")
        self.deliver(t, first)
        self.assertEqual(t.stop(), 0)
        self.remove_db(t)
        self.assertRefusedEverywhere(t, "missing", "no directory database")
        self.repair_and_serve(t, first)

    def test_empty_directory_database_refused_then_restored(self):
        t = self.make_server(users=(BOB,))
        first = unique("before-empty")
        self.deliver(t, first)
        self.assertEqual(t.stop(), 0)
        self.remove_db(t)
        open(self.db(t), "wb").close()
        self.assertRefusedEverywhere(t, "empty (0 bytes)", "empty directory database (0 bytes)")
        self.repair_and_serve(t, first)
        kept = [n for n in os.listdir(t.data) if n.startswith("tern.db.damaged-")]
        self.assertEqual(len(kept), 1, os.listdir(t.data))  # the empty file is set aside, not deleted

    def test_garbled_directory_database_restored(self):
        t = self.make_server(users=(BOB,))
        first = unique("before-garble")
        self.deliver(t, first)
        self.assertEqual(t.stop(), 0)
        with open(self.db(t), "r+b") as f:
            f.write(b"\x00garbage" * 512)
        r = t.cli("serve")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        r = t.cli("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("problem: tern.db: damaged", r.stdout)
        self.repair_and_serve(t, first)

    def test_queued_local_mail_is_not_bounced_without_directory(self):
        """The outbox holds mail for a local user when tern.db goes: nothing is routed or bounced."""
        t = self.make_server(users=(BOB,), start=False)
        pending = os.path.join(t.data, "mail", "pending")
        os.makedirs(pending, exist_ok=True)
        self.remove_db(t)
        subject = unique("queued")
        with open(os.path.join(pending, "in.tmp"), "wb") as f:
            f.write(f"FROM: {SENDER}\nRCPT: {BOB}\n".encode() + make_message(SENDER, BOB, subject))
        os.rename(os.path.join(pending, "in.tmp"), os.path.join(pending, "in.msg"))
        r = t.cli("serve")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no directory database", r.stderr)
        self.assertFalse(os.path.exists(self.db(t)))
        # The pending file is untouched (no DSN, no lost+found).
        self.assertEqual(os.listdir(pending), ["in.msg"])
        r = t.cli("check", "--repair")
        self.assertIn("restored tern.db", r.stdout, r.stdout + r.stderr)
        t.start()
        self.assertEqual([m["subject"] for m in t.wait_for_messages(BOB, 1)], [subject])

    def test_fresh_data_directory_needs_init(self):
        t = self.make_server(users=(), domains=(), start=False)
        self.remove_db(t)
        r = t.cli("domain", "add", DOMAIN)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tern init", r.stderr)
        self.assertFalse(os.path.exists(self.db(t)))
        t.cli_ok("init")
        t.cli_ok("domain", "add", DOMAIN)

    def test_init_never_overwrites_and_refuses_over_mail(self):
        t = self.make_server(users=(BOB,))
        self.deliver(t, unique("m"))
        self.assertEqual(t.stop(), 0)
        self.remove_db(t)
        r = t.cli("init")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("tern check --repair", r.stderr)
        self.assertFalse(os.path.exists(self.db(t)))
        open(self.db(t), "wb").close()
        r = t.cli("init")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(os.path.getsize(self.db(t)), 0)


class MessageIntegrityTests(TernTestCase):
    SERVICES = ("smtp", "pop3")

    def server(self):
        return self.make_server(users=(BOB,), services=self.SERVICES, allow_plaintext=True)

    def deliver(self, t, subject, body=b"Hello.\r\n"):
        msg = make_message(SENDER, BOB, subject, body)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        return self.assertStored(t, BOB, subject, msg, SENDER)

    def message_file(self, t, uid):
        d = t.folder_dir(BOB)
        names = [n for n in os.listdir(d) if n.split(".", 1)[0] == str(uid)]
        self.assertEqual(len(names), 1, os.listdir(d))
        return os.path.join(d, names[0])

    def pop3(self, t):
        p = poplib.POP3(HOST, t.ports["pop3"], timeout=30)
        p.user(BOB)
        p.pass_(PASSWORD)
        return p

    def check_damage(self, t, entry, damage):
        path = self.message_file(t, entry["uid"])
        damage(path)
        r = t.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"message {entry['uid']} of folder INBOX is damaged", r.stdout)
        # POP3 announces the indexed size and never sends other bytes: RETR is an error.
        p = self.pop3(t)
        try:
            _, listing, _ = p.list()
            self.assertEqual(listing, [f"1 {entry['size']}".encode()])
            with self.assertRaises(poplib.error_proto) as cm:
                p.retr(1)
            self.assertTrue(cm.exception.args[0].startswith(b"-ERR [SYS/PERM]"), cm.exception.args[0])
            self.assertIn(b"damaged", cm.exception.args[0])
        finally:
            p.quit()
        with open(path, "rb") as f:
            return f.read()

    def repair(self, t, expected):
        self.assertEqual(t.stop(), 0)
        r = t.cli("check", "--repair")
        self.assertIn("indexed again as UID", r.stdout, r.stdout + r.stderr)
        self.assertCheckClean(t)
        t.start()
        msgs = t.message_list(BOB)
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["size"], len(expected))
        p = self.pop3(t)
        try:
            _, lines, octets = p.retr(1)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", expected)
        finally:
            p.quit()
        return msgs[0]

    def test_truncated_message_file(self):
        t = self.server()
        entry, stored = self.deliver(t, unique("truncated"), b"line one\r\n" * 50)

        def truncate(path):
            with open(path, "r+b") as f:
                f.truncate(len(stored) - 100)
        found = self.check_damage(t, entry, truncate)
        self.assertEqual(len(found), len(stored) - 100)
        after = self.repair(t, found)
        self.assertNotEqual(after["uid"], entry["uid"])  # a new UID: IMAP clients fetch it afresh

    def test_message_changed_at_the_same_size(self):
        t = self.server()
        entry, stored = self.deliver(t, unique("changed"), b"The amount is 100 EUR.\r\n")

        def change(path):
            with open(path, "r+b") as f:
                data = f.read()
                f.seek(data.rindex(b"100"))
                f.write(b"900")
        found = self.check_damage(t, entry, change)
        self.assertEqual(len(found), len(stored))
        self.assertIn(b"900 EUR", found)
        self.repair(t, found)

    def test_queue_file_damaged_at_the_same_size_goes_to_lost_found(self):
        # An alias to a remote target: the message waits in the outbox (no DNS answers in tests).
        t = self.make_server(users=(), start=False)
        t.cli_ok("alias", "add", f"fwd@{DOMAIN}", "someone@remote.test")
        t.start()
        subject = unique("queued-remote")
        with smtp(t.ports["smtp"]) as s:
            s.sendmail(SENDER, [f"fwd@{DOMAIN}"], make_message(SENDER, f"fwd@{DOMAIN}", subject, b"Pay 100 EUR.\r\n"))
        deadline_files = []
        import time
        deadline = time.monotonic() + 30
        while not deadline_files and time.monotonic() < deadline:
            deadline_files = t.outbox_files()
            time.sleep(0.05)
        self.assertEqual(len(deadline_files), 1)
        self.assertIn(b"\r\nCHECKSUM: crc32:", deadline_files[0])
        self.assertEqual(t.stop(), 0)
        outbox = os.path.join(t.data, "mail", "outbox")
        name = [n for n in os.listdir(outbox) if n.endswith(".msg")][0]
        path = os.path.join(outbox, name)
        with open(path, "r+b") as f:
            data = f.read()
            f.seek(data.rindex(b"100"))
            f.write(b"900")
        r = t.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("CHECKSUM", r.stdout)
        t.start()
        lost = os.path.join(t.data, "mail", "lost+found")
        t.wait_for_log("CHECKSUM")
        notes = [n for n in os.listdir(lost) if n.endswith(".why")]
        self.assertEqual(len(notes), 1, os.listdir(lost))
        with open(os.path.join(lost, notes[0])) as f:
            self.assertIn("CHECKSUM", f.read())
        self.assertFalse(os.path.exists(path))


class PermissionTests(TernTestCase):
    def test_data_directory_is_private(self):
        t = self.make_server(users=(BOB,))
        msg = make_message(SENDER, BOB, unique("private"))
        with smtp(t.ports["smtp"]) as s:
            s.sendmail(SENDER, [BOB], msg)
        t.wait_for_messages(BOB, 1)
        wide = []
        for root, dirs, files in os.walk(t.data):
            for n in dirs + files:
                p = os.path.join(root, n)
                mode = os.lstat(p).st_mode
                if stat.S_IMODE(mode) & 0o077:
                    wide.append(f"{p} {oct(stat.S_IMODE(mode))}")
        self.assertEqual(wide, [])
        self.assertTrue(os.path.exists(os.path.join(t.data, "tern.db.bak")))


class DirectoryCrashTests(TernTestCase):
    def test_sigkill_during_directory_changes(self):
        """Commands killed at random moments while they change the directory (and write its backup):
        tern.db and tern.db.bak always open and pass the integrity check, every change a command
        reported done is in both, and no temporary copy is left once a later change succeeds."""
        import random
        import subprocess
        import time
        from harness import TERN_BIN
        t = self.make_server(users=(), start=False)
        rng = random.Random(10)
        done = []
        for i in range(40):
            address = f"a{i}@{DOMAIN}"
            p = subprocess.Popen([TERN_BIN, "--config", t.config, "alias", "add", address, "x@remote.test"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0, 0.03))  # the moment of the kill is what this test varies
            p.kill()
            out, _ = p.communicate()
            if p.returncode == 0 and b"added alias" in out:
                done.append(address)
            r = t.cli("check")
            self.assertEqual(r.returncode, 0, f"after kill {i}:\n{r.stdout}{r.stderr}")
            self.assertNotIn("tern.db.bak:", r.stdout)
        t.cli_ok("alias", "add", f"last@{DOMAIN}", "x@remote.test")
        listed = t.cli_ok("alias", "list").stdout
        for a in done:
            self.assertIn(a, listed)
        self.assertEqual([n for n in os.listdir(t.data) if ".bak-tmp." in n], [])
        # The backup has every alias the database has: restore it and compare.
        os.remove(os.path.join(t.data, "tern.db"))
        for ext in ("-wal", "-shm"):
            if os.path.exists(os.path.join(t.data, "tern.db" + ext)):
                os.remove(os.path.join(t.data, "tern.db" + ext))
        t.cli_ok("check", "--repair")
        self.assertEqual(t.cli_ok("alias", "list").stdout, listed)
        print(f"\ndirectory crash test: 40 kills, {len(done)} changes reported done, all kept")


class DeletedUserTests(TernTestCase):
    SERVICES = ("smtp", "pop3")

    def pop3_count(self, t):
        p = poplib.POP3(HOST, t.ports["pop3"], timeout=30)
        p.user(BOB)
        p.pass_(PASSWORD)
        n = p.stat()[0]
        p.quit()
        return n

    def deliver(self, t):
        with smtp(t.ports["smtp"]) as s:
            s.sendmail(SENDER, [BOB], make_message(SENDER, BOB, unique("old-owner")))

    def test_new_owner_never_reads_the_previous_owners_mail(self):
        t = self.make_server(users=(BOB,), services=self.SERVICES, allow_plaintext=True)
        self.deliver(t)
        t.wait_for_messages(BOB, 1)
        self.assertEqual(self.pop3_count(t), 1)
        # While the server runs (the request goes through its control socket): kept under mail/deleted.
        r = t.cli_ok("user", "del", BOB)
        self.assertIn("its mail was moved to", r.stdout)
        kept = r.stdout.rsplit("moved to ", 1)[1].strip()
        self.assertTrue(kept.startswith(os.path.join(t.data, "mail", "deleted")), kept)
        self.assertEqual(len(os.listdir(os.path.join(kept, "folders", "INBOX"))), 2)  # .folder + the message
        t.add_user(BOB)
        self.assertEqual(t.message_list(BOB), [])
        self.assertEqual(self.pop3_count(t), 0)
        # Without a server, and --purge: the mail is gone for good.
        self.deliver(t)
        t.wait_for_messages(BOB, 1)
        self.assertEqual(t.stop(), 0)
        r = t.cli_ok("user", "del", "--purge", BOB)
        self.assertEqual(r.stdout.strip(), f"deleted mailbox {BOB} and its mail")
        t.add_user(BOB)
        self.assertEqual(t.message_list(BOB), [])

    def test_mail_left_without_a_mailslot_is_moved_aside_at_user_add(self):
        """A mailbox left on disk by an older Tern (or a crash during user del) is not inherited."""
        t = self.make_server(users=(BOB,), services=self.SERVICES, allow_plaintext=True)
        self.deliver(t)
        t.wait_for_messages(BOB, 1)
        self.assertEqual(t.stop(), 0)
        # What `user del` did before: the row goes, the files stay.
        import sqlite3
        with sqlite3.connect(os.path.join(t.data, "tern.db")) as db:
            db.execute("DELETE FROM mailslots WHERE address = ?", (BOB,))
        r = t.cli_ok("user", "add", BOB, input=PASSWORD + "\n")
        self.assertIn("mail left by a previous mailslot of this address was moved to", r.stdout)
        self.assertEqual(t.message_list(BOB), [])


class OddNameTests(TernTestCase):
    SERVICES = ("smtp", "pop3", "imap")

    def test_undecodable_folder_names(self):
        t = self.make_server(users=(BOB,), services=self.SERVICES, allow_plaintext=True)
        first = unique("first")
        msg = make_message(SENDER, BOB, first)
        with smtp(t.ports["smtp"]) as s:
            s.sendmail(SENDER, [BOB], msg)
        t.wait_for_messages(BOB, 1)
        self.assertEqual(t.stop(), 0)
        slot = os.path.dirname(os.path.dirname(t.folder_dir(BOB)))
        os.makedirs(os.path.join(slot, "folders", "%zz"))
        os.makedirs(os.path.join(slot, "folders", "odd%"))
        os.makedirs(os.path.join(t.data, "mail", "boxes", "tern.test", "%zz"))
        r = t.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # reported, not an abort (exit 134)
        self.assertIn("folder directory name is not a valid encoded name", r.stdout)
        self.assertIn("mailslot directory name is not a valid encoded address", r.stdout)
        t.start()
        # The mailbox still works: POP3, IMAP and delivery.
        p = poplib.POP3(HOST, t.ports["pop3"], timeout=30)
        p.user(BOB)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        import imaplib
        c = imaplib.IMAP4(HOST, t.ports["imap"], timeout=30)
        c.login(BOB, PASSWORD)
        typ, data = c.select("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data, [b"1"])
        c.logout()
        second = unique("second")
        with smtp(t.ports["smtp"]) as s:
            s.sendmail(SENDER, [BOB], make_message(SENDER, BOB, second))
        self.assertEqual(len(t.wait_for_messages(BOB, 2)), 2)
        self.assertEqual(t.stop(), 0)
        r = t.cli("check", "--repair")
        self.assertIn("moved to", r.stdout, r.stdout + r.stderr)
        self.assertCheckClean(t)
        lost = os.listdir(os.path.join(t.data, "mail", "lost+found"))
        self.assertEqual(len([n for n in lost if n.endswith(".why")]), 3, lost)


if __name__ == "__main__":
    main()
