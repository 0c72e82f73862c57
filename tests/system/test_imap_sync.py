"""IMAP clients in step with the server and with each other: IDLE woken by mail delivered over SMTP,
two sessions on one mailbox seeing each other's changes, UIDVALIDITY/UIDNEXT across a restart and an
index rebuild, and mbsync (isync) syncing a Tern account to a local Maildir and back.

The only time bound asserted is a generous one (IDLE wakes within 5 seconds; the server promises one).
"""

import os
import random
import re
import shutil
import subprocess
import threading
import time

from harness import HOST, PASSWORD, main, unique
from imap_client import Conn, ImapCase, apply_expunges, deliver, message, select_info, seq_set, status_of



class IdleTests(ImapCase):
    def test_idle_woken_by_smtp_delivery(self):
        c = self.conn()
        c.select()
        c.send("i1 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+"), "no continuation for IDLE")
        self.assertEqual(c.pending(0.3), [])
        deliver(self.t, self.user, [message("wake up", to=f"<{self.user}>")])
        start = time.monotonic()  # the spool has put the message in the mailbox (its log line)
        got = []
        while not any(re.match(rb"^\* 1 EXISTS$", g) for g in got):
            remaining = start + 5 - time.monotonic()
            self.assertGreater(remaining, 0, f"IDLE not woken within 5 s of the delivery; got {got}")
            got += c.pending(min(remaining, 0.5))
        c.send("DONE\r\n")
        r = c.read_until_tagged("i1")
        self.assertEqual(r.status, "OK", r)
        f = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").fetches()[1]
        self.assertEqual(f["BODY[HEADER.FIELDS (SUBJECT)]"], b"Subject: wake up\r\n\r\n")

    def test_idle_sees_other_sessions_flags_and_expunges(self):
        a = self.conn()
        for i in range(3):
            self.append(a, message(f"idle {i}"))
        a.select()
        b = self.conn()
        b.select()
        b.send("i2 IDLE\r\n")
        self.assertTrue(b.line().startswith(b"+"))
        a.ok("STORE 2 +FLAGS (\\Flagged)")
        self.wait_for(b, lambda g: any(re.match(rb"^\* 2 FETCH \(.*FLAGS \(\\Flagged\)", x) for x in g))
        a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        self.wait_for(b, lambda g: b"* 1 EXPUNGE" in g)
        b.send("DONE\r\n")
        self.assertEqual(b.read_until_tagged("i2").status, "OK")
        self.assertEqual(select_info(b.ok("EXAMINE INBOX"))["EXISTS"], 2)

    def wait_for(self, c, pred, bound=5):
        got = []
        deadline = time.monotonic() + bound
        while not pred(got):
            self.assertLess(time.monotonic(), deadline, f"not seen within {bound} s: {got}")
            got += c.pending(0.3)
        return got

    def test_idle_with_compression(self):
        c = self.conn()
        c.start_compress()
        c.select()
        c.send("i4 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        deliver(self.t, self.user, [message("compressed wake", to=f"<{self.user}>")])
        self.wait_for(c, lambda g: b"* 1 EXISTS" in g)
        c.send("DONE\r\n")
        self.assertEqual(c.read_until_tagged("i4").status, "OK")

    def test_done_pipelined_with_the_next_command(self):
        c = self.conn()
        c.select()
        c.send("i5 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        c.send("DONE\r\nn5 NOOP\r\nn6 CAPABILITY\r\n")
        self.assertEqual(c.read_until_tagged("i5").status, "OK")
        self.assertEqual(c.read_until_tagged("n5").status, "OK")
        self.assertEqual(c.read_until_tagged("n6").status, "OK")
        # DONE split over several writes
        c.send("i6 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        for ch in "DONE\r\n":
            c.send(ch)
            time.sleep(0.01)
        self.assertEqual(c.read_until_tagged("i6").status, "OK")

    def test_idle_without_done_is_bad(self):
        c = self.conn()
        c.select()
        c.send("i3 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        c.send("NOT-DONE\r\n")
        r = c.read_until_tagged("i3")
        self.assertEqual(r.status, "BAD", r)
        c.ok("NOOP")


class TwoSessionTests(ImapCase):
    def test_each_sees_the_others_expunge_and_flags_at_noop(self):
        a = self.conn()
        uids = [self.append(a, message(f"two {i}")) for i in range(5)]
        a.select()
        b = self.conn()
        b.select()
        # flags: b sees a's change at its next command
        a.ok("STORE 3 +FLAGS (\\Seen \\Answered)")
        r = b.ok("NOOP")
        f = r.fetches()
        self.assertEqual(list(f), [3], r)
        self.assertEqual(sorted(f[3]["FLAGS"]), ["\\Answered", "\\Seen"])
        # expunge: b gets EXPUNGE with right numbers at NOOP, not during FETCH (RFC 9051 7.5.1)
        a.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        r = a.ok("EXPUNGE")
        self.assertEqual(apply_expunges(uids, r.untagged), [uids[0], uids[2], uids[4]])
        r = b.ok("FETCH 1:5 UID")
        self.assertEqual([u for u in r.untagged if u.endswith(b"EXPUNGE")], [], "EXPUNGE during FETCH")
        r = b.ok("NOOP")
        self.assertEqual(apply_expunges(uids, r.untagged), [uids[0], uids[2], uids[4]])
        # new mail: EXISTS in both
        deliver(self.t, self.user, [message("new one", to=f"<{self.user}>")])
        self.assertIn(b"* 4 EXISTS", a.ok("NOOP").untagged)
        self.assertIn(b"* 4 EXISTS", b.ok("NOOP").untagged)
        # b's flag change reaches a, with the new keyword announced
        b.ok("STORE 4 +FLAGS ($Important)")
        r = a.ok("NOOP")
        self.assertTrue(any(u.startswith(b"* FLAGS") and b"$Important" in u for u in r.untagged), r)
        self.assertEqual(r.fetches()[4]["FLAGS"], ["$Important"])
        # QRESYNC session: VANISHED instead of EXPUNGE
        c = self.conn()
        c.ok("ENABLE QRESYNC")
        c.select()
        a.ok(f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
        a.ok(f"UID EXPUNGE {uids[0]}")
        r = c.ok("NOOP")
        self.assertEqual([u for u in r.untagged if u.startswith(b"* VANISHED")], [f"* VANISHED {uids[0]}".encode()])

    def test_fetch_of_a_message_another_session_expunged(self):
        a = self.conn()
        for i in range(3):
            self.append(a, message(f"gone {i}"))
        a.select()
        b = self.conn()
        b.select()
        a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        # b still counts 3 messages (no EXPUNGE during FETCH, RFC 9051 7.5.1). For message 2 the
        # server returns its data, or NO [EXPUNGEISSUED] (RFC 9051 7.1, RFC 2180 4.1.2); an OK with
        # nothing would tell the client the message is there but empty.
        r = b.cmd("FETCH 2 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual([u for u in r.untagged if u.endswith(b"EXPUNGE")], [])
        if r.status == "OK":
            f = r.fetches()
            self.assertIn(2, f, f"FETCH of an expunged message: OK without data: {r}")
            self.assertEqual(f[2]["BODY[HEADER.FIELDS (SUBJECT)]"], b"Subject: gone 1\r\n\r\n")
        else:
            self.assertEqual(r.status, "NO", r)
        f = b.ok("FETCH 1,3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").fetches()
        self.assertEqual(f[3]["BODY[HEADER.FIELDS (SUBJECT)]"], b"Subject: gone 2\r\n\r\n")
        r = b.ok("NOOP")
        self.assertEqual([u for u in r.untagged if u.endswith(b"EXPUNGE")], [b"* 2 EXPUNGE"])

    def test_mailbox_deleted_under_a_session(self):
        a = self.conn()
        a.ok('CREATE "Shared"')
        self.append(a, message("x"), "Shared")
        a.select("Shared")
        b = self.conn()
        b.ok('DELETE "Shared"')
        # RFC 9051 7.1.5 lets the server end the session with BYE (and close the connection);
        # otherwise the session must go on working.
        a.send("n1 NOOP\r\n")
        seen = []
        try:
            while True:
                r = a.response()
                seen.append(r)
                if r.startswith(b"n1 "):
                    break
        except ConnectionError:
            pass
        if any(s.startswith(b"* BYE") for s in seen):
            self.assertTrue(a.closed(), f"BYE but the connection stays open: {seen}")
            return
        self.assertTrue(seen and seen[-1].startswith(b"n1 OK"), seen)
        self.assertEqual(a.cmd("FETCH 1 UID").status, "BAD", "the deleted mailbox is still selected")
        a.ok("SELECT INBOX")


class ViewModel:
    """What a client knows of the selected mailbox, kept from untagged responses only: UIDs in
    sequence order (None for a message announced by EXISTS whose UID it has not seen yet)."""

    def __init__(self, uids):
        self.uids = list(uids)
        self.errors = []

    def apply(self, responses):
        for r in responses:
            m = re.match(rb"^\* (\d+) (EXISTS|EXPUNGE)$", r)
            if m:
                n = int(m.group(1))
                if m.group(2) == b"EXISTS":
                    if n < len(self.uids):
                        self.errors.append(f"EXISTS {n} shrinks the mailbox from {len(self.uids)}")
                    self.uids += [None] * (n - len(self.uids))
                elif 1 <= n <= len(self.uids):
                    del self.uids[n - 1]
                else:
                    self.errors.append(f"EXPUNGE {n} with {len(self.uids)} messages")
                continue
            m = re.match(rb"^\* VANISHED (?!\(EARLIER\))(\S+)$", r)
            if m:
                for uid in seq_set(m.group(1).decode()):
                    self.vanish(uid)
                continue
            m = re.match(rb"^\* (\d+) FETCH \(.*UID (\d+)", r)
            if m:
                n, uid = int(m.group(1)), int(m.group(2))
                if not 1 <= n <= len(self.uids):
                    self.errors.append(f"FETCH {n} with {len(self.uids)} messages")
                elif self.uids[n - 1] not in (None, uid):
                    self.errors.append(f"FETCH {n} says UID {uid}, the client had {self.uids[n - 1]}")
                else:
                    self.uids[n - 1] = uid

    def vanish(self, uid):
        """RFC 7162 3.2.10: VANISHED (without EARLIER) names only messages the client was told of, and
        each UID in it decrements the message count like an EXPUNGE, also the UID of a message the
        client knows only from EXISTS (None here). UIDs ascend with sequence numbers, so such a UID
        takes the place of an unknown one between its known neighbours (which one does not matter:
        they are all unknown)."""
        if uid in self.uids:
            self.uids.remove(uid)
            return
        below = [i for i, u in enumerate(self.uids) if u is not None and u < uid]
        above = [i for i, u in enumerate(self.uids) if u is not None and u > uid]
        lo = below[-1] + 1 if below else 0
        hi = above[0] if above else len(self.uids)
        for i in range(lo, hi):
            if self.uids[i] is None:
                del self.uids[i]
                return
        self.errors.append(f"VANISHED {uid}: not a message the client was told of")


class ConcurrentViewTests(ImapCase):
    def test_vanished_message_known_only_by_exists(self):
        """A QRESYNC client that learned of a message by EXISTS alone (no UID yet) is told of its
        expunge by VANISHED with that UID; its count must drop by one (RFC 7162 3.2.10), or its next
        FETCH n:* names a message number the server no longer has."""
        setup = self.conn()
        first = [self.append(setup, message(f"vk {i}")) for i in range(3)]
        o = self.conn()
        o.ok("ENABLE QRESYNC")
        o.select()
        model = ViewModel([int(v["UID"]) for _, v in sorted(o.ok("FETCH 1:* UID").fetches().items())])
        self.assertEqual(model.uids, first)
        new = self.append(setup, message("vk new"))
        model.apply(o.ok("NOOP").untagged)
        self.assertEqual(model.uids, first + [None])
        setup.select()
        setup.ok(f"UID STORE {new} +FLAGS.SILENT (\\Deleted)")
        setup.ok(f"UID EXPUNGE {new}")
        r = o.ok("NOOP")
        self.assertIn(f"* VANISHED {new}".encode(), r.untagged)
        model.apply(r.untagged)
        self.assertEqual(model.errors, [])
        self.assertEqual(model.uids, first)
        self.assertEqual(o.cmd(f"FETCH {len(model.uids)}:* UID").status, "OK")

    def test_views_stay_consistent_under_concurrent_changes(self):
        """Writers APPEND, flag and EXPUNGE at once while observers (IDLE, NOOP polling, QRESYNC) keep
        a model of the mailbox from the untagged responses only; at the end each model must be the
        mailbox's real UID list (a wrong EXPUNGE number or a missed EXISTS shows up here)."""
        setup = self.conn()
        first = [self.append(setup, message(f"cv {i}")) for i in range(30)]
        observers = []
        for kind in ("idle", "noop", "qresync"):
            o = self.conn()
            if kind == "qresync":
                o.ok("ENABLE QRESYNC")
            o.select()
            model = ViewModel([int(v["UID"]) for _, v in sorted(o.ok("FETCH 1:* UID").fetches().items())])
            self.assertEqual(model.uids, first)
            if kind == "idle":
                o.send("idle IDLE\r\n")
                self.assertTrue(o.line().startswith(b"+"))
            observers.append((kind, o, model))

        errors = []

        def appender():
            c = Conn(self.t.ports["imaps"], tls=True)
            try:
                c.login(self.user)
                for i in range(40):
                    self.append(c, message(f"cv new {i}"))
            except Exception as e:  # reported below
                errors.append(f"appender: {e!r}")
            finally:
                c.close()

        def expunger():
            c = Conn(self.t.ports["imaps"], tls=True)
            rnd = random.Random(5)
            try:
                c.login(self.user)
                c.select()
                for i in range(25):
                    r = c.ok("UID SEARCH ALL")
                    uids = [int(x) for x in r.named("SEARCH")[0].split()[1:]]
                    if len(uids) > 5:
                        pick = rnd.sample(uids, 2)
                        c.ok("UID STORE %d,%d +FLAGS.SILENT (\\Deleted)" % tuple(pick))
                        c.ok("UID EXPUNGE %d,%d" % tuple(pick))
                    c.ok("UID STORE %d +FLAGS (\\Flagged)" % rnd.choice(uids))
            except Exception as e:
                errors.append(f"expunger: {e!r}")
            finally:
                c.close()

        threads = [threading.Thread(target=appender), threading.Thread(target=expunger)]
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            for kind, o, model in observers:
                if kind == "idle":
                    model.apply(o.pending(0.05))
                else:
                    model.apply(o.ok("NOOP").untagged)
                if kind == "qresync" and None in model.uids:  # as a QRESYNC client does
                    model.apply(o.ok(f"FETCH {model.uids.index(None) + 1}:* UID").untagged)
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        time.sleep(1.2)  # the IDLE ticker's period is half a second
        for kind, o, model in observers:
            if kind == "idle":
                model.apply(o.pending(0.3))
                o.send("DONE\r\n")
                model.apply(o.read_until_tagged("idle").untagged)
            model.apply(o.ok("NOOP").untagged)
            r = o.ok("FETCH 1:* UID")
            model.apply([u for u in r.untagged if not re.match(rb"^\* \d+ FETCH", u)])
            real = [int(v["UID"]) for _, v in sorted(r.fetches().items())]
            self.assertEqual(model.errors, [], kind)
            known = [u for u in model.uids if u is not None]
            self.assertEqual(len(model.uids), len(real), f"{kind}: the client counts {len(model.uids)} messages")
            self.assertEqual(known, [u for u, m in zip(real, model.uids) if m is not None], kind)
        truth = [m["uid"] for m in self.t.message_list(self.user)]
        self.assertEqual(real, truth)


class DeliveryRaceTests(ImapCase):
    def test_smtp_deliveries_and_appends_at_once(self):
        """SMTP deliveries and IMAP APPENDs into one INBOX at the same time: every message once, UIDs
        unique and ascending in arrival order, an observer's EXISTS count right."""
        observer = self.conn()
        observer.select()
        to = f"<{self.user}>"
        smtp_msgs = [message(f"race smtp {i}", to=to) for i in range(20)]
        appended = []
        errors = []

        def appender():
            c = Conn(self.t.ports["imaps"], tls=True)
            try:
                c.login(self.user)
                for i in range(20):
                    appended.append(self.append(c, message(f"race imap {i}")))
            except Exception as e:  # reported below
                errors.append(repr(e))
            finally:
                c.close()

        th = threading.Thread(target=appender)
        th.start()
        deliver(self.t, self.user, smtp_msgs, connections=2)
        th.join()
        self.assertEqual(errors, [])
        self.assertEqual(appended, sorted(appended))
        listed = self.t.message_list(self.user)
        subjects = sorted(m["subject"] for m in listed)
        self.assertEqual(subjects, sorted([f"race smtp {i}" for i in range(20)] + [f"race imap {i}" for i in range(20)]))
        uids = [m["uid"] for m in listed]
        self.assertEqual(len(uids), len(set(uids)))
        r = observer.ok("NOOP")
        self.assertIn(b"* 40 EXISTS", r.untagged)
        f = observer.ok("FETCH 1:* UID").fetches()
        self.assertEqual([int(f[n]["UID"]) for n in sorted(f)], sorted(uids))
        self.assertGreater(select_info(observer.ok("EXAMINE INBOX"))["UIDNEXT"], max(uids))
        self.assertCheckClean(self.t)


class RestartTests(ImapCase):
    def test_uidvalidity_and_uidnext_stable_across_restart(self):
        c = self.conn()
        uids = [self.append(c, message(f"r {i}")) for i in range(4)]
        c.ok('CREATE "Sub"')
        self.append(c, message("sub"), "Sub")
        before = select_info(c.select())
        modseq = before["HIGHESTMODSEQ"]
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        st_before = status_of(c.ok('STATUS "Sub" (UIDVALIDITY UIDNEXT MESSAGES)'))["Sub"]
        c.close()
        self.t.stop()
        self.t.start()
        c = self.conn()
        after = select_info(c.select())
        self.assertEqual(after["UIDVALIDITY"], before["UIDVALIDITY"])
        self.assertEqual(after["UIDNEXT"], uids[-1] + 1)
        self.assertEqual(after["EXISTS"], 3)
        self.assertGreater(after["HIGHESTMODSEQ"], modseq, "MODSEQ not persisted")
        f = c.ok("FETCH 1:* UID").fetches()
        self.assertEqual([int(f[n]["UID"]) for n in (1, 2, 3)], uids[1:])
        self.assertEqual(status_of(c.ok('STATUS "Sub" (UIDVALIDITY UIDNEXT MESSAGES)'))["Sub"], st_before)
        # a UID is never reused, even after the highest was expunged and the server restarted
        c.ok(f"UID STORE {uids[-1]} +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.close()
        self.t.stop()
        self.t.start()
        c = self.conn()
        new = self.append(c, message("after restart"))
        self.assertEqual(new, uids[-1] + 1)

    def test_shutdown_says_bye(self):
        idle = self.conn()
        idle.select()
        idle.send("i IDLE\r\n")
        self.assertTrue(idle.line().startswith(b"+"))
        fresh = self.conn(login=False, port="imap")
        self.t.stop()  # SIGTERM
        # RFC 9051 7.1.5: BYE announces that the server closes the connection (shutting down)
        for name, c in (("idling", idle), ("not logged in", fresh)):
            got = c.pending(1.0)
            self.assertTrue(got and got[-1] == b"<closed>", f"{name}: {got}")
            self.assertTrue(any(g.startswith(b"* BYE") for g in got), f"{name} session closed without BYE: {got}")
        self.t.start()

    def test_index_deleted_messages_survive(self):
        c = self.conn()
        uids = [self.append(c, message(f"ix {i}"), flags="\\Seen" if i == 0 else "") for i in range(4)]
        c.ok('CREATE "Keep"')
        kuid = self.append(c, message("kept"), "Keep")
        before = select_info(c.select())
        subjects = self.subjects(c)
        # copies and moves share the message file (hard links): the rebuild must count each once per folder
        c.ok(f"UID COPY {uids[1]}:{uids[2]} Archive")
        c.ok('EXAMINE "Keep"')
        c.ok("UID COPY 1:* Trash")
        c.close()
        self.t.stop()
        box = os.path.dirname(os.path.dirname(self.t.folder_dir(self.user)))
        removed = [n for n in os.listdir(box) if n.startswith("index.db")]
        self.assertTrue(removed, os.listdir(box))
        for n in removed:
            os.remove(os.path.join(box, n))
        self.t.start()
        c = self.conn()
        after = select_info(c.select())
        self.assertEqual(after["EXISTS"], 4)
        self.assertNotEqual(after["UIDVALIDITY"], before["UIDVALIDITY"],
                            "the index was rebuilt: UIDVALIDITY must change (DESIGN.md)")
        f = c.ok("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])").fetches()
        self.assertEqual([int(f[n]["UID"]) for n in range(1, 5)], uids)
        self.assertEqual(self.subjects(c), subjects)
        self.assertGreater(after["UIDNEXT"], uids[-1])
        st = status_of(c.ok('STATUS "Keep" (MESSAGES)'))["Keep"]
        self.assertEqual(st["MESSAGES"], 1)
        c.ok('EXAMINE "Keep"')
        self.assertEqual(int(c.ok("FETCH 1 UID").fetches()[1]["UID"]), kuid)
        self.assertEqual(sorted(m["subject"] for m in self.t.message_list(self.user, "Archive")), ["ix 1", "ix 2"])
        self.assertEqual([m["subject"] for m in self.t.message_list(self.user, "Trash")], ["kept"])
        c.ok("EXAMINE Archive")
        self.assertEqual(sorted(self.subjects(c).values()), ["ix 1", "ix 2"])
        new = self.append(c, message("after rebuild"))
        self.assertGreater(new, uids[-1])
        self.assertCheckClean(self.t)


# --- mbsync -----------------------------------------------------------------------------------------

def maildir_files(root):
    """{relative folder: {message name without the info part: flags}} of a Maildir++/verbatim tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(dirpath), root)
        for n in filenames:
            base, _, info = n.partition(":2,")
            out.setdefault(folder, {})[base] = info
    return out


def maildir_subjects(root, folder):
    """{subject: (path, flags)} of the messages of one local folder."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(root, folder, sub)
        if not os.path.isdir(d):
            continue
        for n in os.listdir(d):
            with open(os.path.join(d, n), "rb") as f:
                data = f.read()
            m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
            out[m.group(1).decode() if m else ""] = (os.path.join(d, n), n.partition(":2,")[2])
    return out


class MbsyncTests(ImapCase):
    def setUp(self):
        super().setUp()
        if not shutil.which("mbsync"):
            self.fail("mbsync is not installed (scripts/install-deps.sh installs isync)")
        self.home = os.path.join(self.t.dir, unique("mbsync"))
        self.local = os.path.join(self.home, "mail")
        os.makedirs(self.local)
        cert = os.path.join(self.t.data, "cert.pem")
        self.assertTrue(os.path.exists(cert), os.listdir(self.t.data))
        self.rc = os.path.join(self.home, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(f"""IMAPAccount tern
Host {HOST}
Port {self.t.ports['imaps']}
User {self.user}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {cert}

IMAPStore tern-remote
Account tern

MaildirStore local
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel sync
Far :tern-remote:
Near :local:
Patterns *
Create Both
Expunge Both
Sync All
SyncState *
""")

    def mbsync(self):
        r = subprocess.run(["mbsync", "-c", self.rc, "-V", "-a"], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, HOME=self.home))
        self.assertEqual(r.returncode, 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr

    def server_state(self, folder="INBOX"):
        return sorted((m["subject"], tuple(sorted(m["flags"]))) for m in self.t.message_list(self.user, folder))

    def test_sync_both_ways(self):
        to = f"<{self.user}>"
        deliver(self.t, self.user, [message(f"mb inbox {i}", to=to) for i in range(3)])
        c = self.conn()
        c.ok('CREATE "Lists/Dev"')
        for i in range(2):
            self.append(c, message(f"mb dev {i}"), "Lists/Dev")
        self.append(c, message("mb sent"), "Sent", flags="\\Seen")
        c.close()

        out1 = self.mbsync()
        local = maildir_files(self.local)
        self.assertEqual(len(local.get("INBOX", {})), 3, (local, out1))
        self.assertEqual(len(local.get("Lists/Dev", {})), 2, (local, out1))
        self.assertEqual(len(local.get("Sent", {})), 1, local)
        self.assertEqual(sorted(maildir_subjects(self.local, "INBOX")), [f"mb inbox {i}" for i in range(3)])
        self.assertIn("S", maildir_subjects(self.local, "Sent")["mb sent"][1])
        # byte for byte: the local copies are the server's messages
        for m in self.t.message_list(self.user):
            path, _ = maildir_subjects(self.local, "INBOX")[m["subject"]]
            with open(path, "rb") as f:
                local_bytes = f.read()
            # mbsync adds an X-TUID: field to what it stores
            local_bytes = re.sub(rb"(?m)^X-TUID: .*\n", b"", local_bytes)
            self.assertEqual(local_bytes.replace(b"\r\n", b"\n"),
                             self.t.message_bytes(self.user, m["uid"]).replace(b"\r\n", b"\n"))

        # A second sync changes nothing on either side.
        server_before = {f: self.server_state(f) for f in ("INBOX", "Lists/Dev", "Sent")}
        out2 = self.mbsync()
        self.assertEqual(maildir_files(self.local), local, out2)
        self.assertEqual({f: self.server_state(f) for f in ("INBOX", "Lists/Dev", "Sent")}, server_before)

        # A flag set locally (the maildir info part) reaches the server.
        path, flags = maildir_subjects(self.local, "INBOX")["mb inbox 0"]
        self.assertNotIn("S", flags)
        os.rename(path, path.partition(":2,")[0] + ":2," + "".join(sorted(flags + "S")))
        # A flag set on the server reaches the local Maildir.
        c = self.conn()
        c.select("Lists/Dev")
        r = c.ok("SEARCH SUBJECT \"mb dev 1\"")
        n = int(r.named("SEARCH")[0].split()[1])
        c.ok(f"STORE {n} +FLAGS (\\Flagged)")
        # A message expunged on the server disappears locally.
        n0 = int(c.ok('SEARCH SUBJECT "mb dev 0"').named("SEARCH")[0].split()[1])
        c.ok(f"STORE {n0} +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.close()
        # A message deleted locally is expunged on the server.
        path, _ = maildir_subjects(self.local, "INBOX")["mb inbox 2"]
        os.remove(path)
        # Messages added locally are uploaded (mbsync sends them as LITERAL+ literals when the server
        # announces LITERAL+; one is larger than LITERAL-'s 4096 octets).
        for subject, body in (("mb local new", b"Hi.\n"), ("mb local big", b"0123456789abcdef\n" * 600)):
            new_path = os.path.join(self.local, "Lists/Dev", "new", f"{int(time.time())}.{unique('loc')}.host")
            with open(new_path, "wb") as f:
                f.write(message(subject).replace(b"\r\n", b"\n").replace(b"Hello.\n", body))

        out3 = self.mbsync()
        inbox = dict((s, f) for s, f in self.server_state("INBOX"))
        self.assertEqual(sorted(inbox), ["mb inbox 0", "mb inbox 1"], out3)
        self.assertIn("\\Seen", inbox["mb inbox 0"], out3)
        self.assertNotIn("\\Seen", inbox["mb inbox 1"])
        self.assertIn("F", maildir_subjects(self.local, "Lists/Dev")["mb dev 1"][1], out3)
        dev = dict(self.server_state("Lists/Dev"))
        self.assertEqual(sorted(dev), ["mb dev 1", "mb local big", "mb local new"], out3)
        self.assertIn("\\Flagged", dev["mb dev 1"])
        self.assertEqual(sorted(maildir_subjects(self.local, "Lists/Dev")), ["mb dev 1", "mb local big", "mb local new"])
        self.assertCheckClean(self.t)

        # and a fourth sync is quiet again
        local = maildir_files(self.local)
        server_before = {f: self.server_state(f) for f in ("INBOX", "Lists/Dev", "Sent")}
        out4 = self.mbsync()
        self.assertEqual(maildir_files(self.local), local, out4)
        self.assertEqual({f: self.server_state(f) for f in ("INBOX", "Lists/Dev", "Sent")}, server_before)

    def test_starttls_sync_and_new_local_folder(self):
        with open(self.rc) as f:
            text = f.read()
        text = text.replace(f"Port {self.t.ports['imaps']}", f"Port {self.t.ports['imap']}").replace(
            "SSLType IMAPS", "SSLType STARTTLS")
        with open(self.rc, "w") as f:
            f.write(text)
        deliver(self.t, self.user, [message("st 1", to=f"<{self.user}>")])
        self.mbsync()
        self.assertEqual(list(maildir_subjects(self.local, "INBOX")), ["st 1"])
        # a folder made locally is created on the server (Create Both)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.local, "Local Made", sub))
        with open(os.path.join(self.local, "Local Made", "cur", f"{int(time.time())}.{unique('l')}.host:2,S"), "wb") as f:
            f.write(message("made locally").replace(b"\r\n", b"\n"))
        out = self.mbsync()
        self.assertEqual(self.server_state("Local Made"), [("made locally", ("\\Seen",))], out)


if __name__ == "__main__":
    main()
